"""RTDS (``wss://ws-live-data.polymarket.com``) frames. Protocol reference §2.1.

Server frames are JSON envelopes ``{connection_id, payload, timestamp (ms), topic, type}`` with keys
in alphabetical order (as captured); the text ``"ping"`` keep-alive and an empty first frame are
not JSON. ``activity``/``trades`` (and ``orders_matched``) carry the Data API trade row (camelCase)
plus an optional ``fee``; ``proxyWallet`` is checksummed mixed case there.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Literal

import msgspec

from polyhunter.adapters.polymarket.wire_base import SideWire, WireCamel, WireSnake, decoder_for

ACTIVITY_TOPIC = "activity"
ACTIVITY_TRADE_TYPES: frozenset[str] = frozenset({"trades", "orders_matched"})
PING_TEXT = "ping"

FrameKind = Literal["empty", "ping", "json"]


class RtdsTradePayload(WireCamel, frozen=True, kw_only=True):
    """``activity`` payload: one fill. ``payload.timestamp`` is epoch seconds (the envelope's is ms)."""

    asset: str
    bio: str | None = None
    condition_id: str
    event_slug: str | None = None
    fee: Decimal | None = None  # USDC paid by this fill, present only when a fee was charged
    icon: str | None = None
    name: str | None = None
    outcome: str | None = None
    outcome_index: int | None = None
    price: Decimal
    profile_image: str | None = None
    profile_image_optimized: str | None = None
    proxy_wallet: str  # checksummed mixed case: compare lower-cased
    pseudonym: str | None = None
    side: SideWire
    size: Decimal
    slug: str | None = None
    timestamp: int
    title: str | None = None
    transaction_hash: str


class RtdsActivityFrame(WireSnake, frozen=True, kw_only=True):
    """A whole ``activity`` trade frame, envelope included."""

    connection_id: str | None = None
    payload: RtdsTradePayload
    timestamp: int  # ms
    topic: Literal["activity"]
    type: Literal["trades", "orders_matched"]


class RtdsEnvelope(WireSnake, frozen=True, kw_only=True):
    """Any server message with a payload; the payload is left raw for a topic-specific decode."""

    connection_id: str | None = None
    payload: msgspec.Raw
    timestamp: int
    topic: str
    type: str


class RtdsCryptoPrice(WireSnake, frozen=True, kw_only=True):
    """``crypto_prices``/``update`` payload."""

    symbol: str
    timestamp: int  # ms
    value: Decimal
    full_accuracy_value: str | None = None


class RtdsClobAuth(WireSnake, frozen=True, kw_only=True):
    key: str
    secret: str
    passphrase: str


class RtdsGammaAuth(WireSnake, frozen=True, kw_only=True):
    address: str


class RtdsSubscription(WireSnake, frozen=True, kw_only=True):
    topic: str
    type: str  # "*" = every type of the topic; a subscription without type is rejected
    filters: str | None = None  # a JSON *string*, e.g. '{"market_slug":"..."}'
    clob_auth: RtdsClobAuth | None = None
    gamma_auth: RtdsGammaAuth | None = None


class RtdsSubscribeRequest(WireSnake, frozen=True, kw_only=True):
    action: Literal["subscribe", "unsubscribe"]
    subscriptions: list[RtdsSubscription]


class RtdsErrorMessage(WireCamel, frozen=True, kw_only=True):
    message: str


class RtdsStatusError(WireCamel, frozen=True, kw_only=True):
    """``{"body":{"message":"leger GetTopics error: ..."},"statusCode":401}`` (unknown topic)."""

    body: RtdsErrorMessage
    status_code: int


ACTIVITY_FRAME_DECODER = decoder_for(RtdsActivityFrame)
ENVELOPE_DECODER = decoder_for(RtdsEnvelope)
TRADE_PAYLOAD_DECODER = decoder_for(RtdsTradePayload)


def frame_kind(data: bytes | str) -> FrameKind:
    """Tell the non-JSON frames (empty first frame, text ``ping``) from JSON ones."""
    text = data.strip() if isinstance(data, str) else data.strip().decode("utf-8", "replace")
    if not text or text == '""':
        return "empty"
    if text.lower() == PING_TEXT:
        return "ping"
    return "json"


def decode_activity_frame(data: bytes | str) -> RtdsActivityFrame:
    return ACTIVITY_FRAME_DECODER.decode(data)


def decode_envelope(data: bytes | str) -> RtdsEnvelope:
    return ENVELOPE_DECODER.decode(data)


def subscribe_activity_trades(filters: str | None = None) -> RtdsSubscribeRequest:
    """The subscribe frame for the global trade firehose (optionally narrowed by slug filters): both
    activity types that carry fills, ``trades`` and ``orders_matched`` (reported to replace it); a
    fill sent as both maps to one signal key, so the mux's dedup keeps one."""
    return RtdsSubscribeRequest(
        action="subscribe",
        subscriptions=[
            RtdsSubscription(topic=ACTIVITY_TOPIC, type=kind, filters=filters)
            for kind in sorted(ACTIVITY_TRADE_TYPES, reverse=True)  # trades, orders_matched
        ],
    )
