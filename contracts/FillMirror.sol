// SPDX-License-Identifier: MIT
pragma solidity ^0.8.22;

/// V2 exchange events (CTF Exchange V2 Events.sol), byte-for-byte the same signatures.
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

/// V1 exchange events (CTF Exchange V1 ITrading.sol).
interface IExchangeV1Events {
    event OrderFilled(
        bytes32 indexed orderHash,
        address indexed maker,
        address indexed taker,
        uint256 makerAssetId,
        uint256 takerAssetId,
        uint256 makerAmountFilled,
        uint256 takerAmountFilled,
        uint256 fee
    );
    event OrdersMatched(
        bytes32 indexed takerOrderHash,
        address indexed takerOrderMaker,
        uint256 makerAssetId,
        uint256 takerAssetId,
        uint256 makerAmountFilled,
        uint256 takerAmountFilled
    );
}

/// @title FillMirror
/// @notice Emits the exact OrderFilled / OrdersMatched logs of the Polymarket CTF exchanges (V1 and V2) for
///         matches made by the PolyHunter simulator, so the on-chain signal source can be tested against a
///         real chain. One call = one match = one transaction, like `matchOrders` on the real exchange:
///         every maker leg, then the taker leg (taker = this contract, standing in for the exchange), then
///         OrdersMatched. Moves no tokens. Only the deployer (the simulator operator) may call it.
contract FillMirror {
    /// V2 leg: the event fields of one OrderFilled, from the order maker's perspective.
    struct LegV2 {
        bytes32 orderHash;
        address maker;
        uint8 side; // 0 BUY, 1 SELL
        uint256 tokenId;
        uint256 makerAmountFilled;
        uint256 takerAmountFilled;
        uint256 fee;
        bytes32 builder;
        bytes32 metadata;
    }

    /// V1 leg: asset id 0 is collateral.
    struct LegV1 {
        bytes32 orderHash;
        address maker;
        uint256 makerAssetId;
        uint256 takerAssetId;
        uint256 makerAmountFilled;
        uint256 takerAmountFilled;
        uint256 fee;
    }

    /// A CTF exchange V1 order (`Structs.sol`), as `matchOrders` takes it; side 0 BUY, 1 SELL.
    struct Order {
        uint256 salt;
        address maker;
        address signer;
        address taker;
        uint256 tokenId;
        uint256 makerAmount;
        uint256 takerAmount;
        uint256 expiration;
        uint256 nonce;
        uint256 feeRateBps;
        uint8 side;
        uint8 signatureType;
        bytes signature;
    }

    /// A CTF exchange V2 order (`Structs.sol`: the signed struct of CLOB V2, plus the signature).
    struct OrderV2 {
        uint256 salt;
        address maker;
        address signer;
        uint256 tokenId;
        uint256 makerAmount;
        uint256 takerAmount;
        uint8 side;
        uint8 signatureType;
        uint256 timestamp;
        bytes32 metadata;
        bytes32 builder;
        bytes signature;
    }

    error NotOperator();
    error MismatchedArrays();
    error OrderExpired();

    address public immutable operator;

    constructor() {
        operator = msg.sender;
    }

    modifier onlyOperator() {
        if (msg.sender != operator) revert NotOperator();
        _;
    }

    /// @notice One V2 match: maker legs (taker = taker order's maker), the taker leg (taker = this contract),
    ///         then OrdersMatched with the taker leg's side, token and amounts.
    function matchV2(LegV2[] calldata makers, LegV2 calldata taker) external onlyOperator {
        for (uint256 i = 0; i < makers.length; ++i) {
            _filledV2(makers[i], taker.maker);
        }
        _filledV2(taker, address(this));
        emit IExchangeV2Events.OrdersMatched(
            taker.orderHash, taker.maker, taker.side, taker.tokenId, taker.makerAmountFilled, taker.takerAmountFilled
        );
    }

    /// @notice One V1 match, same emission order as V1 `matchOrders`.
    function matchV1(LegV1[] calldata makers, LegV1 calldata taker) external onlyOperator {
        for (uint256 i = 0; i < makers.length; ++i) {
            _filledV1(makers[i], taker.maker);
        }
        _filledV1(taker, address(this));
        emit IExchangeV1Events.OrdersMatched(
            taker.orderHash,
            taker.maker,
            taker.makerAssetId,
            taker.takerAssetId,
            taker.makerAmountFilled,
            taker.takerAmountFilled
        );
    }

    /// @notice The exchange's own entry point, with its calldata shape: the taker order, the maker orders it
    ///         crosses and the fill amounts (in each order's maker asset). Emits V1 logs with the amounts
    ///         `Trading.sol` computes: a maker takes `making * takerAmount / makerAmount`; the taker takes that
    ///         or, if more, what the makers left the exchange of its asset (the surplus). The order hash in
    ///         the logs is the salt (the simulator's order id). Reverts on an expired taker order.
    function matchOrders(
        Order calldata takerOrder,
        Order[] calldata makerOrders,
        uint256 takerFillAmount,
        uint256[] calldata makerFillAmounts
    ) external onlyOperator {
        if (makerOrders.length != makerFillAmounts.length) revert MismatchedArrays();
        if (takerOrder.expiration != 0 && takerOrder.expiration < block.timestamp) revert OrderExpired();
        uint256 received = 0;
        for (uint256 i = 0; i < makerOrders.length; ++i) {
            received += _fillMaker(makerOrders[i], makerFillAmounts[i], takerOrder);
        }
        uint256 taking = takerFillAmount * takerOrder.takerAmount / takerOrder.makerAmount;
        if (received > taking) taking = received;
        (uint256 makerAsset, uint256 takerAsset) = _assets(takerOrder);
        emit IExchangeV1Events.OrderFilled(
            bytes32(takerOrder.salt), takerOrder.maker, address(this), makerAsset, takerAsset, takerFillAmount, taking, 0
        );
        emit IExchangeV1Events.OrdersMatched(
            bytes32(takerOrder.salt), takerOrder.maker, makerAsset, takerAsset, takerFillAmount, taking
        );
    }

    /// @notice The V2 exchange's `matchOrders`: V2 orders, and the fees the operator charges passed in. Emits
    ///         V2 logs with the amounts computed as in the V1 overload; the fee fields are the fees passed.
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
        uint256 received = 0;
        for (uint256 i = 0; i < makerOrders.length; ++i) {
            received += _fillMakerV2(makerOrders[i], makerFillAmounts[i], makerFeeAmounts[i], takerOrder);
        }
        uint256 taking = takerFillAmount * takerOrder.takerAmount / takerOrder.makerAmount;
        _takerFilledV2(takerOrder, takerFillAmount, received > taking ? received : taking, takerFeeAmount);
    }

    function _takerFilledV2(OrderV2 calldata order, uint256 making, uint256 taking, uint256 fee) private {
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

    function _fillMakerV2(OrderV2 calldata order, uint256 making, uint256 fee, OrderV2 calldata takerOrder)
        private
        returns (uint256)
    {
        uint256 taking = making * order.takerAmount / order.makerAmount;
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
        if (order.side != takerOrder.side) return making;
        if (order.side == 0) return taking;
        return making > taking ? making - taking : 0;
    }

    function _fillMaker(Order calldata order, uint256 making, Order calldata takerOrder) private returns (uint256) {
        uint256 taking = making * order.takerAmount / order.makerAmount;
        (uint256 makerAsset, uint256 takerAsset) = _assets(order);
        emit IExchangeV1Events.OrderFilled(
            bytes32(order.salt), order.maker, takerOrder.maker, makerAsset, takerAsset, making, taking, 0
        );
        if (order.side != takerOrder.side) return making; // complementary: the maker's asset is the taker's
        if (order.side == 0) return taking; // MINT: the sets minted
        return making > taking ? making - taking : 0; // MERGE: the collateral left after paying the maker
    }

    function _assets(Order calldata order) private pure returns (uint256, uint256) {
        return order.side == 0 ? (uint256(0), order.tokenId) : (order.tokenId, uint256(0));
    }

    function _filledV2(LegV2 calldata leg, address takerAddress) private {
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

    function _filledV1(LegV1 calldata leg, address takerAddress) private {
        emit IExchangeV1Events.OrderFilled(
            leg.orderHash,
            leg.maker,
            takerAddress,
            leg.makerAssetId,
            leg.takerAssetId,
            leg.makerAmountFilled,
            leg.takerAmountFilled,
            leg.fee
        );
    }
}
