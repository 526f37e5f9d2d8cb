"""One simulator match as the exchange's calldata: ``MirrorMatch`` (the taker's leg and the maker legs,
amounts in base units) encoded as ``matchOrders`` (V2 orders with the fees, or V1's; each order sized to
its leg, so the amounts the exchange computes are the simulator's) or as the older event-field calls
``matchV2`` / ``matchV1`` (a replayed transaction's recorded amounts)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Literal

from polyhunter.adapters.chain.abi import encode_call
from polyhunter.adapters.chain.match_orders import Order, encode_match_orders
from polyhunter.domain.signal import Side


class MatchEncodingError(ValueError):
    pass


ZERO_BYTES32 = "0x" + "00" * 32
LEG_V2 = "(bytes32,address,uint8,uint256,uint256,uint256,uint256,bytes32,bytes32)"
LEG_V1 = "(bytes32,address,uint256,uint256,uint256,uint256,uint256)"
MATCH_V2_SIGNATURE = f"matchV2({LEG_V2}[],{LEG_V2})"
MATCH_V1_SIGNATURE = f"matchV1({LEG_V1}[],{LEG_V1})"


@dataclass(frozen=True, slots=True)
class MirrorLeg:
    """One resting (maker) order filled by the match, amounts from that maker's perspective, micro-units."""

    order_hash: str  # 0x + 64 hex
    maker: str  # funder address
    side: Side
    token_id: int | str
    maker_amount_filled: int  # what the maker gives: USDC for BUY, shares for SELL
    taker_amount_filled: int  # what the maker gets
    fee: int = 0


@dataclass(frozen=True, slots=True)
class MirrorMatch:
    """One simulator match: the taker order's leg (aggregated over its makers) and the maker legs."""

    taker_order_hash: str
    taker: str  # the taker order's maker (funder address)
    taker_side: Side
    token_id: int | str
    taker_maker_amount_filled: int  # what the taker gives
    taker_taker_amount_filled: int  # what the taker gets
    maker_legs: Sequence[MirrorLeg] = field(default_factory=tuple)
    taker_fee: int = 0
    builder: str = ZERO_BYTES32
    metadata: str = ZERO_BYTES32


def _side_code(side: Side) -> int:
    match side:
        case Side.BUY:
            return 0
        case Side.SELL:
            return 1
        case _:
            raise MatchEncodingError(f"unknown side {side!r}")


def _v1_assets(side: Side, token_id: int) -> tuple[int, int]:
    """(makerAssetId, takerAssetId): a BUY gives collateral (id 0) for the token, a SELL the reverse."""
    return (0, token_id) if _side_code(side) == 0 else (token_id, 0)


def _order(order_hash: str, maker: str, side: Side, token_id: int | str, making: int, taking: int) -> Order:
    return Order(
        salt=int(order_hash, 16),
        maker=maker,
        signer=maker,
        token_id=int(token_id),
        maker_amount=making,
        taker_amount=taking,
        side=side,
    )


def encode_match_orders_of(match: MirrorMatch, layout: Literal[1, 2] = 2) -> bytes:
    """Call data of the exchange's ``matchOrders`` for one match (each order sized to its leg): the V2
    exchange's (with the fees) for layout 2, V1's for layout 1."""
    taker = _order(
        match.taker_order_hash,
        match.taker,
        match.taker_side,
        match.token_id,
        match.taker_maker_amount_filled,
        match.taker_taker_amount_filled,
    )
    makers = [
        _order(
            leg.order_hash,
            leg.maker,
            leg.side,
            leg.token_id,
            leg.maker_amount_filled,
            leg.taker_amount_filled,
        )
        for leg in match.maker_legs
    ]
    fills = [leg.maker_amount_filled for leg in match.maker_legs]
    return encode_match_orders(
        taker,
        makers,
        match.taker_maker_amount_filled,
        fills,
        version=layout,
        taker_fee=match.taker_fee,
        maker_fees=[leg.fee for leg in match.maker_legs],
    )


def encode_match(match: MirrorMatch, layout: Literal[1, 2] = 2) -> bytes:
    """Call data of ``matchV2`` (or ``matchV1``) for one match."""
    taker_token = int(match.token_id)
    if layout == 2:
        makers_v2 = [
            (
                leg.order_hash,
                leg.maker,
                _side_code(leg.side),
                int(leg.token_id),
                leg.maker_amount_filled,
                leg.taker_amount_filled,
                leg.fee,
                match.builder,
                match.metadata,
            )
            for leg in match.maker_legs
        ]
        taker_v2 = (
            match.taker_order_hash,
            match.taker,
            _side_code(match.taker_side),
            taker_token,
            match.taker_maker_amount_filled,
            match.taker_taker_amount_filled,
            match.taker_fee,
            match.builder,
            match.metadata,
        )
        return encode_call(MATCH_V2_SIGNATURE, [makers_v2, taker_v2])
    makers_v1 = [
        (
            leg.order_hash,
            leg.maker,
            *_v1_assets(leg.side, int(leg.token_id)),
            leg.maker_amount_filled,
            leg.taker_amount_filled,
            leg.fee,
        )
        for leg in match.maker_legs
    ]
    taker_v1 = (
        match.taker_order_hash,
        match.taker,
        *_v1_assets(match.taker_side, taker_token),
        match.taker_maker_amount_filled,
        match.taker_taker_amount_filled,
        match.taker_fee,
    )
    return encode_call(MATCH_V1_SIGNATURE, [makers_v1, taker_v1])
