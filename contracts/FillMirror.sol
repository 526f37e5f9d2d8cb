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

    error NotOperator();

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
