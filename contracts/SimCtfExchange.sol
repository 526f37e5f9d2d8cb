// SPDX-License-Identifier: MIT
pragma solidity ^0.8.22;

/// V2 exchange events (CTF Exchange V2 Events.sol), byte-for-byte the same signatures as FillMirror's.
interface IExchangeV2Events {
    event OrderFilled(
        bytes32 indexed orderHash,
        address indexed maker,
        address indexed taker,
        uint8 side,
        uint256 tokenId,
        uint256 makerAmountFilled,
        uint256 takerAmountFilled,
        uint256 fee,
        bytes32 builder,
        bytes32 metadata
    );
    event OrdersMatched(
        bytes32 indexed takerOrderHash,
        address indexed takerOrderMaker,
        uint8 side,
        uint256 tokenId,
        uint256 makerAmountFilled,
        uint256 takerAmountFilled
    );
}

interface ISimCollateral {
    function transfer(address to, uint256 amount) external returns (bool);
    function transferFrom(address from, address to, uint256 amount) external returns (bool);
    function approve(address spender, uint256 amount) external returns (bool);
}

/// The Gnosis ConditionalTokens calls the exchange makes (the npm package of the Gnosis conditional tokens).
interface IConditionalTokens {
    function splitPosition(
        address collateralToken,
        bytes32 parentCollectionId,
        bytes32 conditionId,
        uint256[] calldata partition,
        uint256 amount
    ) external;
    function mergePositions(
        address collateralToken,
        bytes32 parentCollectionId,
        bytes32 conditionId,
        uint256[] calldata partition,
        uint256 amount
    ) external;
    function safeTransferFrom(address from, address to, uint256 id, uint256 value, bytes calldata data) external;
}

/// @title SimCtfExchange
/// @notice The simulator's exchange in chain mode: every match it makes is settled here, on chain, with the
///         collateral (pUSD stand-in, 6 decimals) and the real ConditionalTokens' ERC-1155 positions moved
///         between the makers and the taker through their approvals of this contract, as the CTF exchange
///         does: the taker's side is pulled in, each maker order is filled against the exchange (NORMAL:
///         assets swapped; MINT: two BUYs of complementary outcomes, collateral split into full sets;
///         MERGE: two SELLs, full sets merged back into collateral), then the taker is paid what the
///         makers left, less its fee. Logs are the V2 exchange's `OrderFilled` (one per maker, then the
///         taker's with taker = this contract) and `OrdersMatched`. The calldata is the V2 exchange's
///         `matchOrders`, so a mempool reader decodes what it would on Polygon. Signatures are checked by
///         the simulator's CLOB before matching; only the operator (the simulator) may call.
///         `matchV2` emits the logs of recorded transactions (replays) without moving anything.
///         The simulator places the runtime code at the CTF Exchange V2 address (immutables survive).
contract SimCtfExchange {
    struct OrderV2 {
        uint256 salt;
        address maker;
        address signer;
        uint256 tokenId;
        uint256 makerAmount;
        uint256 takerAmount;
        uint8 side; // 0 BUY, 1 SELL
        uint8 signatureType;
        uint256 timestamp;
        bytes32 metadata;
        bytes32 builder;
        bytes signature;
    }

    struct LegV2 {
        bytes32 orderHash;
        address maker;
        uint8 side;
        uint256 tokenId;
        uint256 makerAmountFilled;
        uint256 takerAmountFilled;
        uint256 fee;
        bytes32 builder;
        bytes32 metadata;
    }

    error NotOperator();
    error MismatchedArrays();
    error UnknownToken(uint256 tokenId);
    error NotComplementary(uint256 a, uint256 b);
    error TransferFailed();
    error FeeExceedsProceeds();

    address public immutable operator;
    address public immutable collateral;
    address public immutable ctf;
    address public immutable feeReceiver;

    mapping(uint256 => bytes32) public conditionOf; // position id -> condition id
    mapping(uint256 => uint256) public complementOf; // position id -> the other outcome's position id

    constructor(address collateral_, address ctf_, address feeReceiver_) {
        operator = msg.sender;
        collateral = collateral_;
        ctf = ctf_;
        feeReceiver = feeReceiver_;
    }

    modifier onlyOperator() {
        if (msg.sender != operator) revert NotOperator();
        _;
    }

    /// @notice Once placed: let the CTF pull collateral for splits.
    function init() external onlyOperator {
        ISimCollateral(collateral).approve(ctf, type(uint256).max);
    }

    /// @notice A binary market's two positions (index sets 1 and 2 of `conditionId`).
    function registerMarket(bytes32 conditionId, uint256 token0, uint256 token1) external onlyOperator {
        conditionOf[token0] = conditionId;
        conditionOf[token1] = conditionId;
        complementOf[token0] = token1;
        complementOf[token1] = token0;
    }

    /// @notice Give `to` `amount` full sets of `conditionId` from collateral already sent to this contract.
    function splitTo(address to, uint256 token0, uint256 amount) external onlyOperator {
        _split(token0, amount);
        IConditionalTokens(ctf).safeTransferFrom(address(this), to, token0, amount, "");
        IConditionalTokens(ctf).safeTransferFrom(address(this), to, complementOf[token0], amount, "");
    }

    /// @notice The V2 exchange's `matchOrders`, settled: see the contract's notice.
    function matchOrders(
        OrderV2 calldata takerOrder,
        OrderV2[] calldata makerOrders,
        uint256 takerFillAmount,
        uint256[] calldata makerFillAmounts,
        uint256 takerFeeAmount,
        uint256[] calldata makerFeeAmounts
    ) external onlyOperator {
        if (makerOrders.length != makerFillAmounts.length || makerOrders.length != makerFeeAmounts.length) {
            revert MismatchedArrays();
        }
        _pull(takerOrder, takerFillAmount);
        uint256 received = 0;
        for (uint256 i = 0; i < makerOrders.length; ++i) {
            received += _fillMaker(makerOrders[i], makerFillAmounts[i], makerFeeAmounts[i], takerOrder);
        }
        uint256 taking = takerFillAmount * takerOrder.takerAmount / takerOrder.makerAmount;
        if (received > taking) taking = received;
        _pay(takerOrder, taking, takerFeeAmount);
        _takerFilled(takerOrder, takerFillAmount, taking, takerFeeAmount);
    }

    function _takerFilled(OrderV2 calldata order, uint256 making, uint256 taking, uint256 fee) private {
        emit IExchangeV2Events.OrderFilled(
            bytes32(order.salt),
            order.maker,
            address(this),
            order.side,
            order.tokenId,
            making,
            taking,
            fee,
            order.builder,
            order.metadata
        );
        emit IExchangeV2Events.OrdersMatched(bytes32(order.salt), order.maker, order.side, order.tokenId, making, taking);
    }

    /// @notice Logs of a recorded (replayed) transaction: maker legs, the taker leg, OrdersMatched; moves nothing.
    function matchV2(LegV2[] calldata makers, LegV2 calldata taker) external onlyOperator {
        for (uint256 i = 0; i < makers.length; ++i) {
            _filled(makers[i], taker.maker);
        }
        _filled(taker, address(this));
        emit IExchangeV2Events.OrdersMatched(
            taker.orderHash, taker.maker, taker.side, taker.tokenId, taker.makerAmountFilled, taker.takerAmountFilled
        );
    }

    function _fillMaker(OrderV2 calldata order, uint256 making, uint256 fee, OrderV2 calldata takerOrder)
        private
        returns (uint256 received)
    {
        uint256 taking = making * order.takerAmount / order.makerAmount;
        _pull(order, making);
        if (order.side != takerOrder.side) {
            received = making; // NORMAL: the maker's asset is what the taker takes
        } else {
            if (complementOf[order.tokenId] != takerOrder.tokenId) {
                revert NotComplementary(order.tokenId, takerOrder.tokenId);
            }
            if (order.side == 0) {
                _split(order.tokenId, taking); // MINT: the sets; the taker's outcome stays here for it
                received = taking;
            } else {
                _merge(order.tokenId, making); // MERGE: collateral; the maker is paid out of it
                received = making - taking;
            }
        }
        _pay(order, taking, fee);
        emit IExchangeV2Events.OrderFilled(
            bytes32(order.salt),
            order.maker,
            takerOrder.maker,
            order.side,
            order.tokenId,
            making,
            taking,
            fee,
            order.builder,
            order.metadata
        );
    }

    /// @dev The order's maker asset into the exchange: collateral for a BUY, its outcome for a SELL.
    function _pull(OrderV2 calldata order, uint256 amount) private {
        if (amount == 0) return;
        if (order.side == 0) {
            if (!ISimCollateral(collateral).transferFrom(order.maker, address(this), amount)) revert TransferFailed();
        } else {
            IConditionalTokens(ctf).safeTransferFrom(order.maker, address(this), order.tokenId, amount, "");
        }
    }

    /// @dev The order's taker asset out of the exchange, and its fee in collateral: a BUY pays the fee on
    ///      top (from its own collateral), a SELL out of its proceeds.
    function _pay(OrderV2 calldata order, uint256 amount, uint256 fee) private {
        if (order.side == 0) {
            if (amount > 0) IConditionalTokens(ctf).safeTransferFrom(address(this), order.maker, order.tokenId, amount, "");
            if (fee > 0 && !ISimCollateral(collateral).transferFrom(order.maker, feeReceiver, fee)) {
                revert TransferFailed();
            }
            return;
        }
        if (fee > amount) revert FeeExceedsProceeds();
        if (amount > fee && !ISimCollateral(collateral).transfer(order.maker, amount - fee)) revert TransferFailed();
        if (fee > 0 && !ISimCollateral(collateral).transfer(feeReceiver, fee)) revert TransferFailed();
    }

    function _partition(uint256 tokenId) private view returns (bytes32 conditionId, uint256[] memory partition) {
        conditionId = conditionOf[tokenId];
        if (conditionId == bytes32(0)) revert UnknownToken(tokenId);
        partition = new uint256[](2);
        partition[0] = 1;
        partition[1] = 2;
    }

    function _split(uint256 tokenId, uint256 amount) private {
        (bytes32 conditionId, uint256[] memory partition) = _partition(tokenId);
        IConditionalTokens(ctf).splitPosition(collateral, bytes32(0), conditionId, partition, amount);
    }

    function _merge(uint256 tokenId, uint256 amount) private {
        (bytes32 conditionId, uint256[] memory partition) = _partition(tokenId);
        IConditionalTokens(ctf).mergePositions(collateral, bytes32(0), conditionId, partition, amount);
    }

    function _filled(LegV2 calldata leg, address takerAddress) private {
        emit IExchangeV2Events.OrderFilled(
            leg.orderHash,
            leg.maker,
            takerAddress,
            leg.side,
            leg.tokenId,
            leg.makerAmountFilled,
            leg.takerAmountFilled,
            leg.fee,
            leg.builder,
            leg.metadata
        );
    }

    function onERC1155Received(address, address, uint256, uint256, bytes calldata) external pure returns (bytes4) {
        return this.onERC1155Received.selector;
    }

    function onERC1155BatchReceived(address, address, uint256[] calldata, uint256[] calldata, bytes calldata)
        external
        pure
        returns (bytes4)
    {
        return this.onERC1155BatchReceived.selector;
    }
}
