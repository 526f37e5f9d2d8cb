"""CLOB websocket channels (``/ws/market`` and ``/ws/user``). Protocol reference §2.2, §2.3.

Every numeric value is a decimal string; timestamps are millisecond strings. The market channel
sends the initial snapshot as one JSON array of ``book`` objects (``[]`` for unknown tokens) and
later frames as single objects or arrays: :func:`decode_market_frame` handles both. Book levels are
worst-first (bids ascending, asks descending). ``event_type`` is an ordinary field (not a msgspec
tag) so that encoding keeps the live key order.
"""

from __future__ import annotations

from typing import Literal

import msgspec

from polyhunter.adapters.polymarket.wire_base import (
    MakerOrder,
    PriceLevel,
    SideWire,
    WireCamel,
    WireDecoder,
    WireSnake,
)

# --------------------------------------------------------------------------------------------- market


class WsBook(WireSnake, frozen=True, kw_only=True):
    market: str
    asset_id: str
    timestamp: str
    hash: str
    bids: list[PriceLevel]  # ascending: best bid LAST
    asks: list[PriceLevel]  # descending: best ask LAST
    tick_size: str | None = None  # undocumented, always present live since 2025
    event_type: Literal["book"]
    last_trade_price: str | None = None  # "" on an empty book


class PriceChange(WireSnake, frozen=True, kw_only=True):
    asset_id: str
    price: str
    size: str  # new total size at this level; "0" removes it
    side: SideWire  # BUY = bid level
    hash: str
    best_bid: str
    best_ask: str


class WsPriceChange(WireSnake, frozen=True, kw_only=True):
    market: str
    price_changes: list[PriceChange]
    timestamp: str
    event_type: Literal["price_change"]


class WsPriceChangeLegacy(WireSnake, frozen=True, kw_only=True):
    """Single-level ``price_change`` used before Sept 2025 (no ``price_changes`` array)."""

    asset_id: str
    event_type: Literal["price_change"]
    hash: str
    market: str
    price: str
    side: SideWire
    size: str
    timestamp: str


class WsLastTradePrice(WireSnake, frozen=True, kw_only=True):
    market: str
    asset_id: str
    price: str
    size: str
    fee_rate_bps: str
    side: SideWire  # taker side
    timestamp: str
    event_type: Literal["last_trade_price"]
    transaction_hash: str | None = None  # added live in 2026


class WsTickSizeChange(WireSnake, frozen=True, kw_only=True):
    event_type: Literal["tick_size_change"]
    asset_id: str
    market: str
    old_tick_size: str
    new_tick_size: str
    timestamp: str


class WsBestBidAsk(WireSnake, frozen=True, kw_only=True):
    event_type: Literal["best_bid_ask"]
    market: str
    asset_id: str
    best_bid: str
    best_ask: str
    spread: str
    timestamp: str


class WsEventMessage(WireSnake, frozen=True, kw_only=True):
    id: str
    ticker: str
    slug: str
    title: str
    description: str | None = None


class WsFeeSchedule(WireSnake, frozen=True, kw_only=True):
    exponent: str
    rate: str
    taker_only: bool
    rebate_rate: str | None = None


class WsNewMarket(WireSnake, frozen=True, kw_only=True):
    event_type: Literal["new_market"]
    id: str
    question: str
    market: str
    slug: str
    description: str | None = None
    assets_ids: list[str]
    outcomes: list[str]
    event_message: WsEventMessage | None = None
    timestamp: str
    tags: list[str] | None = None
    condition_id: str
    active: bool
    clob_token_ids: list[str]
    sports_market_type: str | None = None
    line: str | None = None
    game_start_time: str | None = None
    order_price_min_tick_size: str
    group_item_title: str | None = None
    taker_base_fee: str | None = None
    fees_enabled: bool | None = None
    fee_schedule: WsFeeSchedule | None = None


class WsMarketResolved(WireSnake, frozen=True, kw_only=True):
    event_type: Literal["market_resolved"]
    id: str
    market: str
    assets_ids: list[str]
    winning_asset_id: str
    winning_outcome: str
    timestamp: str
    tags: list[str] | None = None


MarketEvent = (
    WsBook
    | WsPriceChange
    | WsLastTradePrice
    | WsTickSizeChange
    | WsBestBidAsk
    | WsNewMarket
    | WsMarketResolved
)

_MARKET_TYPES: dict[str, type[MarketEvent]] = {
    "book": WsBook,
    "price_change": WsPriceChange,
    "last_trade_price": WsLastTradePrice,
    "tick_size_change": WsTickSizeChange,
    "best_bid_ask": WsBestBidAsk,
    "new_market": WsNewMarket,
    "market_resolved": WsMarketResolved,
}


class MarketSubscribe(WireSnake, frozen=True, kw_only=True):
    """First frame on ``/ws/market``; note the plural ``assets_ids``."""

    assets_ids: list[str]
    type: Literal["market"]
    custom_feature_enabled: bool | None = None
    markets: list[str] | None = None
    initial_dump: bool | None = None


class MarketSubscriptionUpdate(WireSnake, frozen=True, kw_only=True):
    operation: Literal["subscribe", "unsubscribe"]
    assets_ids: list[str]
    custom_feature_enabled: bool | None = None


# ----------------------------------------------------------------------------------------------- user


class WsAuth(WireCamel, frozen=True, kw_only=True):
    api_key: str
    secret: str
    passphrase: str


class UserSubscribe(WireSnake, frozen=True, kw_only=True):
    auth: WsAuth
    markets: list[str] | None = None  # omitted or [] = all markets
    type: Literal["user"]


class UserSubscriptionUpdate(WireSnake, frozen=True, kw_only=True):
    operation: Literal["subscribe", "unsubscribe"]
    markets: list[str]


class WsUserOrder(WireSnake, frozen=True, kw_only=True):
    asset_id: str
    associate_trades: list[str] | None
    created_at: str
    event_type: Literal["order"]
    expiration: str
    id: str
    maker_address: str
    market: str
    order_owner: str
    order_type: Literal["GTC", "GTD", "FOK", "FAK"]
    original_size: str
    outcome: str
    owner: str
    price: str
    side: SideWire
    size_matched: str
    status: str  # LIVE, MATCHED, CANCELED, ... plus free-form "CANCELED_<reason>" strings seen live
    timestamp: str
    type: Literal["PLACEMENT", "UPDATE", "CANCELLATION"]


TradeStatus = Literal["MATCHED", "MINED", "CONFIRMED", "RETRYING", "FAILED", "MATCHED_NOT_BROADCASTED"]


class WsUserTrade(WireSnake, frozen=True, kw_only=True):
    asset_id: str
    bucket_index: int
    event_type: Literal["trade"]
    fee_rate_bps: str
    id: str
    last_update: str
    maker_address: str
    maker_orders: list[MakerOrder]
    market: str
    match_time: str  # seconds; the docs' example spells it "matchtime"
    outcome: str
    owner: str
    price: str
    side: SideWire
    size: str
    status: TradeStatus
    taker_order_id: str
    timestamp: str
    trade_owner: str
    trader_side: Literal["MAKER", "TAKER"]
    transaction_hash: str | None = None
    type: Literal["TRADE"]


UserEvent = WsUserOrder | WsUserTrade
_USER_TYPES: dict[str, type[UserEvent]] = {"order": WsUserOrder, "trade": WsUserTrade}

# --------------------------------------------------------------------------------------------- decode


class _EventTypePeek(msgspec.Struct, frozen=True):
    event_type: str


_PEEK = WireDecoder(_EventTypePeek)
_RAW_LIST = WireDecoder(list[msgspec.Raw])
_MARKET_DECODERS = {k: WireDecoder(v) for k, v in _MARKET_TYPES.items()}
_USER_DECODERS = {k: WireDecoder(v) for k, v in _USER_TYPES.items()}
_LEGACY_PRICE_CHANGE = WireDecoder(WsPriceChangeLegacy)


class UnknownEventType(msgspec.ValidationError):
    """A frame whose ``event_type`` this schema does not know."""


def _items(data: bytes | str) -> list[bytes]:
    buf = data.encode() if isinstance(data, str) else data
    if buf.lstrip()[:1] == b"[":
        return [bytes(item) for item in _RAW_LIST.decode(buf)]
    return [buf]


def decode_market_event(raw: bytes | str) -> MarketEvent | WsPriceChangeLegacy:
    buf = raw.encode() if isinstance(raw, str) else raw
    kind = _PEEK.decode(buf).event_type
    dec = _MARKET_DECODERS.get(kind)
    if dec is None:
        raise UnknownEventType(f"unknown market-channel event_type {kind!r}")
    if kind == "price_change" and b'"price_changes"' not in buf:
        return _LEGACY_PRICE_CHANGE.decode(buf)
    return dec.decode(buf)


def decode_market_frame(data: bytes | str) -> list[MarketEvent | WsPriceChangeLegacy]:
    """One market-channel frame (object or array) as a list of events; ``[]`` stays empty."""
    return [decode_market_event(item) for item in _items(data)]


def decode_user_event(raw: bytes | str) -> UserEvent:
    buf = raw
    kind = _PEEK.decode(buf).event_type
    dec = _USER_DECODERS.get(kind)
    if dec is None:
        raise UnknownEventType(f"unknown user-channel event_type {kind!r}")
    return dec.decode(buf)


def decode_user_frame(data: bytes | str) -> list[UserEvent]:
    return [decode_user_event(item) for item in _items(data)]
