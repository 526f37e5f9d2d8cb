"""``matchOrders`` calldata of the CTF exchanges: encoding, and decoding into the fills the transaction will
emit as ``OrderFilled`` logs once mined.

* V1 (``Trading.sol``, protocol reference §5): ``matchOrders(Order takerOrder, Order[] makerOrders, uint256
  takerFillAmount, uint256[] makerFillAmounts)`` with ``Order = (salt, maker, signer, taker, tokenId,
  makerAmount, takerAmount, expiration, nonce, feeRateBps, side, signatureType, signature)``;
* V2: the V2 order (the signed struct of CLOB V2, ``order_signer.ORDER_TYPE_STRING``, plus the signature:
  ``(salt, maker, signer, tokenId, makerAmount, takerAmount, side, signatureType, timestamp, metadata,
  builder, signature)``) and the fees the operator charges passed in (reference §3.6: ``takerFeeAmount``,
  ``makerFeeAmounts``) after the fill amounts. The reference does not print the V2 function itself: this
  shape follows its description and the fee module's ``matchOrders``; check it against the deployed contract
  before relying on it on Polygon (a transaction of another shape is ignored, never misread: the selector
  differs).

The amounts each ``OrderFilled`` will carry follow from the calldata the way the exchange computes them:

* maker order ``i``: ``making = makerFillAmounts[i]``, ``taking = making * takerAmount / makerAmount`` (floor);
* the taker order: ``making = takerFillAmount``, ``taking = max(making * takerAmount / makerAmount, received)``
  where ``received`` is what the makers leave the exchange of the taker's asset (``_updateTakingWithSurplus``):
  a complementary maker (opposite side) gives its ``making``, a MINT maker (both BUY) its ``taking`` (the sets
  minted), a MERGE maker (both SELL) ``making - taking`` (the collateral left after paying it).

Amounts are read from the maker's perspective: a BUY gives collateral (``making`` = USDC) for shares, a SELL the
reverse. The leader of a fill is the order's ``maker`` (the funder), as in the log. Fees are left out (they do
not enter the signal key). Everything decoded is bounded like a log (``exchange_events``): a malformed call,
amounts the exchange could not have matched (zero, a price outside (0, 1), more than ``MAX_SIZE_SHARES``),
or more orders than ``MAX_MAKER_ORDERS`` raise :class:`CalldataError`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from polyhunter.adapters.chain.abi import AbiError, decode, encode_call, function_selector, hex_to_bytes
from polyhunter.adapters.polymarket.wire_validation import (
    BAD_TOKEN_ID,
    LOG_LAYOUT,
    MAX_SIZE_SHARES,
    PRICE_OUT_OF_RANGE,
    SIZE_OUT_OF_RANGE,
    InvalidMessage,
)
from polyhunter.domain.signal import Side, to_micro

ORDER_V1 = (
    "(uint256,address,address,address,uint256,uint256,uint256,uint256,uint256,uint256,uint8,uint8,bytes)"
)
ORDER_V2 = "(uint256,address,address,uint256,uint256,uint256,uint8,uint8,uint256,bytes32,bytes32,bytes)"
MATCH_ORDERS_SIGNATURE = f"matchOrders({ORDER_V1},{ORDER_V1}[],uint256,uint256[])"
MATCH_ORDERS_V2_SIGNATURE = f"matchOrders({ORDER_V2},{ORDER_V2}[],uint256,uint256[],uint256,uint256[])"
MATCH_ORDERS_SELECTOR = function_selector(MATCH_ORDERS_SIGNATURE)
MATCH_ORDERS_V2_SELECTOR = function_selector(MATCH_ORDERS_V2_SIGNATURE)
_ARG_TYPES: dict[bytes, list[str]] = {
    MATCH_ORDERS_SELECTOR: [ORDER_V1, f"{ORDER_V1}[]", "uint256", "uint256[]"],
    MATCH_ORDERS_V2_SELECTOR: [ORDER_V2, f"{ORDER_V2}[]", "uint256", "uint256[]", "uint256", "uint256[]"],
}
ZERO_BYTES32 = b"\0" * 32

MAX_MAKER_ORDERS = 200  # far above what one operator transaction matches (gas)
MAX_CALLDATA_BYTES = 256 * 1024  # a larger call is not a match the operator sends: rejected unread
_MAX_SHARES_MICRO = to_micro(MAX_SIZE_SHARES)
ZERO_ADDRESS = "0x" + "00" * 20


class CalldataError(InvalidMessage):
    """Call data that is not a ``matchOrders`` the exchange could execute."""

    def __init__(self, detail: str, reason: str = LOG_LAYOUT) -> None:
        super().__init__(reason, detail)


@dataclass(frozen=True, slots=True)
class Order:
    """A signed CTF order (V1 fields); ``side`` 0 BUY / 1 SELL."""

    salt: int
    maker: str
    signer: str
    token_id: int
    maker_amount: int
    taker_amount: int
    side: Side
    taker: str = ZERO_ADDRESS
    expiration: int = 0
    nonce: int = 0
    fee_rate_bps: int = 0
    signature_type: int = 0
    signature: bytes = b""
    timestamp_ms: int = 0  # V2
    metadata: bytes = ZERO_BYTES32  # V2
    builder: bytes = ZERO_BYTES32  # V2

    def as_tuple_v2(self) -> tuple[object, ...]:
        return (
            self.salt,
            self.maker,
            self.signer,
            self.token_id,
            self.maker_amount,
            self.taker_amount,
            0 if self.side is Side.BUY else 1,
            self.signature_type,
            self.timestamp_ms,
            self.metadata,
            self.builder,
            self.signature,
        )

    def as_tuple(self) -> tuple[object, ...]:
        return (
            self.salt,
            self.maker,
            self.signer,
            self.taker,
            self.token_id,
            self.maker_amount,
            self.taker_amount,
            self.expiration,
            self.nonce,
            self.fee_rate_bps,
            0 if self.side is Side.BUY else 1,
            self.signature_type,
            self.signature,
        )


@dataclass(frozen=True, slots=True)
class PendingFill:
    """One ``OrderFilled`` the call will emit: a fill of ``maker`` (lower-case funder)."""

    maker: str
    side: Side
    token_id: int
    shares_micro: int
    usdc_micro: int
    order_salt: int
    taker_leg: bool


def encode_match_orders(
    taker: Order,
    makers: Sequence[Order],
    taker_fill: int,
    maker_fills: Sequence[int],
    *,
    version: int = 1,
    taker_fee: int = 0,
    maker_fees: Sequence[int] | None = None,
) -> bytes:
    """Call data of ``matchOrders``, V1 or V2 (with the operator's fees)."""
    if version == 2:
        fees = list(maker_fees) if maker_fees is not None else [0] * len(makers)
        return encode_call(
            MATCH_ORDERS_V2_SIGNATURE,
            [
                taker.as_tuple_v2(),
                [m.as_tuple_v2() for m in makers],
                taker_fill,
                list(maker_fills),
                taker_fee,
                fees,
            ],
        )
    return encode_call(
        MATCH_ORDERS_SIGNATURE,
        [taker.as_tuple(), [m.as_tuple() for m in makers], taker_fill, list(maker_fills)],
    )


def _order(raw: object) -> Order:
    if isinstance(raw, tuple) and len(raw) == 12:  # V2
        salt, maker, signer, token, m_amount, t_amount, side, sig_type, _stamp, _meta, _builder, sig = raw
        raw = (salt, maker, signer, ZERO_ADDRESS, token, m_amount, t_amount, 0, 0, 0, side, sig_type, sig)
    if not isinstance(raw, tuple) or len(raw) != 13:
        raise CalldataError("order is not a 13-field tuple")
    salt, maker, signer, taker, token, m_amount, t_amount, expiration, nonce, fee, side, sig_type, sig = raw
    if side not in (0, 1):
        raise CalldataError(f"unknown order side {side}")
    return Order(
        salt=int(str(salt)),
        maker=str(maker).lower(),
        signer=str(signer).lower(),
        token_id=int(str(token)),
        maker_amount=int(str(m_amount)),
        taker_amount=int(str(t_amount)),
        side=Side.BUY if side == 0 else Side.SELL,
        taker=str(taker).lower(),
        expiration=int(str(expiration)),
        nonce=int(str(nonce)),
        fee_rate_bps=int(str(fee)),
        signature_type=int(str(sig_type)),
        signature=sig if isinstance(sig, bytes) else b"",
    )


def _taking(order: Order, making: int) -> int:
    if order.maker_amount == 0:
        raise CalldataError("order with makerAmount 0", SIZE_OUT_OF_RANGE)
    return making * order.taker_amount // order.maker_amount


def _fill(order: Order, making: int, taking: int, *, taker_leg: bool) -> PendingFill:
    if order.token_id == 0:
        raise CalldataError("token id 0", BAD_TOKEN_ID)
    shares, usdc = (taking, making) if order.side is Side.BUY else (making, taking)
    if not 0 < shares <= _MAX_SHARES_MICRO:
        raise CalldataError(f"{shares} micro-shares", SIZE_OUT_OF_RANGE)
    if not 0 < usdc < shares:
        raise CalldataError(f"{usdc} micro-USDC for {shares} micro-shares", PRICE_OUT_OF_RANGE)
    return PendingFill(order.maker, order.side, order.token_id, shares, usdc, order.salt, taker_leg)


def _received(taker: Order, maker: Order, making: int, taking: int) -> int:
    """What this maker leaves the exchange of the taker's asset (see the module doc)."""
    if maker.side is not taker.side:
        return making
    if maker.side is Side.BUY:
        return taking
    return max(0, making - taking)


def is_match_orders(calldata: bytes) -> bool:
    return calldata[:4] in _ARG_TYPES


def decode_match_orders(calldata: bytes | str) -> list[PendingFill]:
    """The fills of a ``matchOrders`` call, in the order the exchange emits them: every maker order, then the
    taker order. Raises :class:`CalldataError` for anything else."""
    try:
        raw = hex_to_bytes(calldata) if isinstance(calldata, str) else calldata
    except AbiError as exc:
        raise CalldataError(str(exc)) from exc
    if len(raw) > MAX_CALLDATA_BYTES:
        raise CalldataError(f"{len(raw)} bytes of call data")
    types = _ARG_TYPES.get(raw[:4])
    if types is None:
        raise CalldataError(f"not matchOrders: selector {raw[:4].hex()}")
    try:
        taker_raw, makers_raw, taker_fill, maker_fills, *_fees = decode(types, raw[4:])
    except (AbiError, ValueError) as exc:
        raise CalldataError(f"undecodable matchOrders: {exc}") from exc
    if not isinstance(makers_raw, list) or not isinstance(maker_fills, list):
        raise CalldataError("maker orders and fill amounts are arrays")
    if len(makers_raw) != len(maker_fills):
        raise CalldataError(f"{len(makers_raw)} maker orders, {len(maker_fills)} fill amounts")
    if not 0 < len(makers_raw) <= MAX_MAKER_ORDERS:
        raise CalldataError(f"{len(makers_raw)} maker orders")
    taker = _order(taker_raw)
    fills: list[PendingFill] = []
    received = 0
    for maker_raw, making_raw in zip(makers_raw, maker_fills, strict=True):
        maker = _order(maker_raw)
        making = int(str(making_raw))
        taking = _taking(maker, making)
        fills.append(_fill(maker, making, taking, taker_leg=False))
        received += _received(taker, maker, making, taking)
    making = int(str(taker_fill))
    fills.append(_fill(taker, making, max(_taking(taker, making), received), taker_leg=True))
    return fills
