"""Polymarket CTF exchange logs (V1 and V2): topics and decoding of ``OrderFilled`` into one leader fill.

Layouts (protocol reference §5):

* V1 ``OrderFilled(bytes32 indexed orderHash, address indexed maker, address indexed taker, uint256 makerAssetId,
  uint256 takerAssetId, uint256 makerAmountFilled, uint256 takerAmountFilled, uint256 fee)``: 5 data words; asset
  id 0 is collateral. ``makerAssetId == 0``: the maker BUYS ``takerAssetId``, shares = takerAmountFilled, USDC =
  makerAmountFilled. ``takerAssetId == 0``: the maker SELLS ``makerAssetId``, shares = makerAmountFilled.
* V2 ``OrderFilled(bytes32 indexed orderHash, address indexed maker, address indexed taker, uint8 side, uint256
  tokenId, uint256 makerAmountFilled, uint256 takerAmountFilled, uint256 fee, bytes32 builder, bytes32 metadata)``:
  7 data words; side 0 BUY / 1 SELL is the maker's side; amounts from the maker's perspective as in V1.

Every ``OrderFilled`` is one fill of its ``maker``: a resting order (``taker`` = the taker order's maker) or the
taker order itself (``taker`` = the exchange). ``OrdersMatched`` repeats the taker leg and is never decoded as a
fill. Pure functions: a log in, a :class:`DecodedFill` out.

Every decoded field is checked against what the exchange can emit (``wire_validation``): 20-byte addresses,
32-byte hashes, a token id, at least one and at most ``MAX_SIZE_SHARES`` shares, a USDC amount that makes
a price strictly inside (0, 1), non-negative block number and log index. Anything else raises
:class:`LogDecodeError`, an :class:`InvalidMessage` whose ``reason`` says which rule failed.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal

from polyhunter.adapters.chain.abi import AbiError, event_topic, hex_to_bytes, topic_to_address
from polyhunter.adapters.polymarket.wire_validation import (
    BAD_TOKEN_ID,
    LOG_LAYOUT,
    MAX_SIZE_SHARES,
    PRICE_OUT_OF_RANGE,
    SIZE_OUT_OF_RANGE,
    InvalidMessage,
    check_address,
    check_tx_hash,
)
from polyhunter.domain.signal import Side, to_micro

ORDER_FILLED_V1_SIGNATURE = "OrderFilled(bytes32,address,address,uint256,uint256,uint256,uint256,uint256)"
ORDERS_MATCHED_V1_SIGNATURE = "OrdersMatched(bytes32,address,uint256,uint256,uint256,uint256)"
ORDER_FILLED_V2_SIGNATURE = (
    "OrderFilled(bytes32,address,address,uint8,uint256,uint256,uint256,uint256,bytes32,bytes32)"
)
ORDERS_MATCHED_V2_SIGNATURE = "OrdersMatched(bytes32,address,uint8,uint256,uint256,uint256)"

# The values printed in the protocol reference; tests check they equal keccak256 of the signatures above.
ORDER_FILLED_V1_TOPIC = "0xd0a08e8c493f9c94f29311604c9de1b4e8c8d4c06bd0c789af57f2d65bfec0f6"
ORDERS_MATCHED_V1_TOPIC = "0x63bf4d16b7fa898ef4c4b2b6d90fd201e9c56313b65638af6088d149d2ce956c"
ORDER_FILLED_V2_TOPIC = "0xd543adfd945773f1a62f74f0ee55a5e3b9b1a28262980ba90b1a89f2ea84d8ee"
ORDERS_MATCHED_V2_TOPIC = "0x174b3811690657c217184f89418266767c87e4805d09680c39fc9c031c0cab7c"
ORDER_FILLED_TOPICS = (ORDER_FILLED_V1_TOPIC, ORDER_FILLED_V2_TOPIC)

_V1_WORDS = 5
_V2_WORDS = 7
MAX_SHARES_MICRO = to_micro(MAX_SIZE_SHARES)
_MAX_QUANTITY = 2**63 - 1  # block numbers and log indexes the store keeps in BIGINT


class LogDecodeError(InvalidMessage):
    """A log claims to be an OrderFilled but does not have its layout (or holds values it cannot)."""

    def __init__(self, detail: str, reason: str = LOG_LAYOUT) -> None:
        super().__init__(reason, detail)


@dataclass(frozen=True, slots=True)
class DecodedFill:
    """One ``OrderFilled`` log as a fill of its maker (the funder address of the order)."""

    version: Literal[1, 2]
    exchange: str  # lower-case emitting contract
    order_hash: str
    maker: str  # lower-case; the leader when it is followed
    taker: str  # lower-case; == exchange for the taker leg
    side: Side  # the maker's side
    token_id: int
    shares_micro: int
    usdc_micro: int
    fee: int  # raw units of the asset the order receives
    tx_hash: str  # lower-case
    block_number: int
    block_hash: str  # lower-case
    log_index: int
    removed: bool

    @property
    def is_taker_leg(self) -> bool:
        return self.taker == self.exchange


def _data_words(data: str, count: int) -> list[int]:
    raw = hex_to_bytes(data)
    if len(raw) != count * 32:
        raise LogDecodeError(f"expected {count} data words, got {len(raw)} bytes")
    return [int.from_bytes(raw[i : i + 32], "big") for i in range(0, len(raw), 32)]


def _hex_int(value: object) -> int:
    number: int | None = None
    if isinstance(value, int) and not isinstance(value, bool):
        number = value
    elif isinstance(value, str) and value.startswith(("0x", "0X")) and len(value) <= 20:
        try:
            number = int(value, 16)
        except ValueError:
            number = None
    if number is None or not 0 <= number <= _MAX_QUANTITY:
        raise LogDecodeError(f"not a quantity: {str(value)[:80]!r}")
    return number


def _hash(value: object, field: str) -> str:
    try:
        return check_tx_hash(str(value))
    except InvalidMessage as exc:
        raise LogDecodeError(f"{field}: {exc.detail}", exc.reason) from exc


def _check_amounts(token_id: int, shares: int, usdc: int) -> None:
    if token_id == 0:
        raise LogDecodeError("token id 0", BAD_TOKEN_ID)
    if not 0 < shares <= MAX_SHARES_MICRO:
        raise LogDecodeError(f"{shares} micro-shares", SIZE_OUT_OF_RANGE)
    if not 0 < usdc < shares:  # price = usdc / shares strictly inside (0, 1)
        raise LogDecodeError(f"{usdc} micro-USDC for {shares} micro-shares", PRICE_OUT_OF_RANGE)


def _v1_amounts(words: list[int]) -> tuple[Side, int, int, int]:
    maker_asset, taker_asset, maker_amount, taker_amount, _fee = words
    if maker_asset == 0 and taker_asset != 0:
        return Side.BUY, taker_asset, taker_amount, maker_amount
    if taker_asset == 0 and maker_asset != 0:
        return Side.SELL, maker_asset, maker_amount, taker_amount
    raise LogDecodeError(f"V1 fill without exactly one collateral side: {maker_asset} / {taker_asset}")


def _v2_amounts(words: list[int]) -> tuple[Side, int, int, int]:
    side_raw, token_id, maker_amount, taker_amount = words[:4]
    match side_raw:
        case 0:
            return Side.BUY, token_id, taker_amount, maker_amount
        case 1:
            return Side.SELL, token_id, maker_amount, taker_amount
        case _:
            raise LogDecodeError(f"unknown V2 side {side_raw}")


def decode_order_filled(log: Mapping[str, object]) -> DecodedFill:
    """Decode a V1 or V2 ``OrderFilled`` log (``eth_getLogs`` JSON). Raises :class:`LogDecodeError`."""
    topics = log.get("topics")
    if not isinstance(topics, list) or len(topics) != 4:
        raise LogDecodeError("OrderFilled has 4 topics")
    if not all(isinstance(topic, str) for topic in topics):
        raise LogDecodeError("topics are hex strings")
    topic0 = str(topics[0]).lower()
    data = str(log.get("data", "0x"))
    try:
        if topic0 == ORDER_FILLED_V2_TOPIC:
            words = _data_words(data, _V2_WORDS)
            side, token_id, shares, usdc = _v2_amounts(words)
            version: Literal[1, 2] = 2
            fee = words[4]
        elif topic0 == ORDER_FILLED_V1_TOPIC:
            words = _data_words(data, _V1_WORDS)
            side, token_id, shares, usdc = _v1_amounts(words)
            version = 1
            fee = words[4]
        else:
            raise LogDecodeError(f"not an OrderFilled topic: {topic0}")
        maker = topic_to_address(str(topics[2]))
        taker = topic_to_address(str(topics[3]))
    except AbiError as exc:
        raise LogDecodeError(str(exc)) from exc
    _check_amounts(token_id, shares, usdc)
    try:
        exchange = check_address(str(log.get("address", "")))
    except InvalidMessage as exc:
        raise LogDecodeError(f"address: {exc.detail}", exc.reason) from exc
    return DecodedFill(
        version=version,
        exchange=exchange,
        order_hash=_hash(topics[1], "orderHash"),
        maker=maker,
        taker=taker,
        side=side,
        token_id=token_id,
        shares_micro=shares,
        usdc_micro=usdc,
        fee=fee,
        tx_hash=_hash(log.get("transactionHash", ""), "transactionHash"),
        block_number=_hex_int(log.get("blockNumber")),
        block_hash=_hash(log.get("blockHash", ""), "blockHash"),
        log_index=_hex_int(log.get("logIndex")),
        removed=bool(log.get("removed", False)),
    )


def signature_topics() -> dict[str, str]:
    """keccak256 of each signature, for checking the constants above."""
    return {
        ORDER_FILLED_V1_SIGNATURE: event_topic(ORDER_FILLED_V1_SIGNATURE),
        ORDERS_MATCHED_V1_SIGNATURE: event_topic(ORDERS_MATCHED_V1_SIGNATURE),
        ORDER_FILLED_V2_SIGNATURE: event_topic(ORDER_FILLED_V2_SIGNATURE),
        ORDERS_MATCHED_V2_SIGNATURE: event_topic(ORDERS_MATCHED_V2_SIGNATURE),
    }
