"""CLOB REST (``https://clob.polymarket.com``) bodies. Protocol reference §3.1, §3.4, §7.

Live deviations kept here: ``/midpoint`` answers ``{"mid"}``; ``/price`` values are strings;
``/tick-size`` is a JSON number; ``POST /order`` amounts are human decimals (``"2.65"``); the book is
worst-first and its keys come in a fixed order (the struct's declaration order reproduces it).
"""

from __future__ import annotations

from decimal import Decimal
from typing import Literal

import msgspec

from polyhunter.adapters.polymarket.wire_base import (
    MakerOrder,
    PriceLevel,
    SideWire,
    WireCamel,
    WireSnake,
    decoder_for,
)

OrderType = Literal["GTC", "GTD", "FOK", "FAK"]
START_CURSOR = "MA=="
END_CURSOR = "LTE="

# ---------------------------------------------------------------------------------------- market data


class ClobBook(WireSnake, frozen=True, kw_only=True):
    """``GET /book``; key order as served: market, asset_id, timestamp, hash, bids, asks,
    min_order_size, tick_size, neg_risk, last_trade_price (the last four absent in 2024 captures)."""

    market: str
    asset_id: str
    timestamp: str  # 13-digit ms
    hash: str  # 40 hex, no 0x
    bids: list[PriceLevel]  # ascending: best bid LAST
    asks: list[PriceLevel]  # descending: best ask LAST
    min_order_size: str | None = None
    tick_size: str | None = None
    neg_risk: bool | None = None
    last_trade_price: str | None = None


class BookRequest(WireSnake, frozen=True, kw_only=True):
    """One item of ``POST /books``, ``/midpoints``, ``/prices``, ``/last-trades-prices``."""

    token_id: str
    side: SideWire | None = None


class Midpoint(WireSnake, frozen=True, kw_only=True):
    mid: str  # the docs say mid_price: live is mid


class Price(WireSnake, frozen=True, kw_only=True):
    price: str  # BUY -> best bid, SELL -> best ask


class Spread(WireSnake, frozen=True, kw_only=True):
    spread: str


class LastTradePrice(WireSnake, frozen=True, kw_only=True):
    price: str
    side: Literal["BUY", "SELL", ""]  # "" (with price "0.5") when the token never traded


class TickSize(WireSnake, frozen=True, kw_only=True):
    minimum_tick_size: Decimal  # a JSON number


class NegRisk(WireSnake, frozen=True, kw_only=True):
    neg_risk: bool


class FeeRate(WireSnake, frozen=True, kw_only=True):
    base_fee: int | str  # bps; a number per the SDKs, a string in recorded fixtures

    @property
    def bps(self) -> int:
        return int(self.base_fee) if self.base_fee != "" else 0


class PriceHistoryPoint(WireSnake, frozen=True, kw_only=True):
    t: int  # unix seconds
    p: Decimal  # a JSON number (float) on the wire


class PricesHistory(WireSnake, frozen=True, kw_only=True):
    """``GET /prices-history``: ``{"history": [{"t", "p"}, ...]}``, oldest first, a "now" point last."""

    history: list[PriceHistoryPoint]


class ServerVersion(WireSnake, frozen=True, kw_only=True):
    version: int  # which order version (2 or 3) to sign


class ClobError(WireCamel, frozen=True, kw_only=True):
    """``{"error": "..."}``; a rejected order may add ``orderID``."""

    error: str
    order_id: str | None = msgspec.field(default=None, name="orderID")


# -------------------------------------------------------------------------------------------- markets


class RewardRate(WireSnake, frozen=True, kw_only=True):
    asset_address: str
    rewards_daily_rate: Decimal


class Rewards(WireSnake, frozen=True, kw_only=True):
    rates: list[RewardRate] | None
    min_size: Decimal
    max_spread: Decimal


class ClobToken(WireSnake, frozen=True, kw_only=True):
    token_id: str
    outcome: str
    price: Decimal
    winner: bool


class ClobMarket(WireSnake, frozen=True, kw_only=True):
    """``GET /markets/{condition_id}`` and the items of ``GET /markets`` pages."""

    enable_order_book: bool
    active: bool
    closed: bool
    archived: bool
    accepting_orders: bool
    accepting_order_timestamp: str | None
    minimum_order_size: Decimal
    minimum_tick_size: Decimal
    condition_id: str
    question_id: str
    question: str
    description: str
    market_slug: str
    end_date_iso: str | None
    game_start_time: str | None
    seconds_delay: int
    fpmm: str
    maker_base_fee: int
    taker_base_fee: int
    notifications_enabled: bool
    neg_risk: bool
    neg_risk_market_id: str
    neg_risk_request_id: str
    icon: str
    image: str
    rewards: Rewards | None
    is_50_50_outcome: bool
    tokens: list[ClobToken]
    tags: list[str] | None


class MarketsPage(WireSnake, frozen=True, kw_only=True):
    data: list[ClobMarket]
    next_cursor: str  # "LTE=" = end
    limit: int
    count: int


class CompactToken(WireSnake, frozen=True, kw_only=True):
    t: str  # token id
    o: str  # outcome label


class CompactFeeDetails(WireSnake, frozen=True, kw_only=True):
    r: Decimal  # rate
    e: Decimal  # exponent
    to: bool | None = None  # taker only


class ClobMarketInfo(WireSnake, frozen=True, kw_only=True):
    """V2 ``GET /clob-markets/{condition_id}`` compact shape (``nr`` omitted when false)."""

    c: str
    t: list[CompactToken | None]
    mts: Decimal
    nr: bool | None = None
    fd: CompactFeeDetails | None = None
    mbf: int | None = None
    tbf: int | None = None
    r: Rewards | None = None
    ao: bool | None = None
    mos: Decimal | None = None
    sd: int | None = None
    gst: str | None = None
    cbos: bool | None = None
    aot: str | None = None
    v: str | None = None


class MarketByToken(WireSnake, frozen=True, kw_only=True):
    condition_id: str
    primary_token_id: str  # not always the Yes token
    secondary_token_id: str


# --------------------------------------------------------------------------------------------- orders


class SignedOrderV2(WireCamel, frozen=True, kw_only=True):
    """V2/V3 order as sent in ``POST /order`` (PCC2 ``order_to_json_v2`` key order)."""

    salt: int
    maker: str  # funder
    signer: str
    token_id: str
    maker_amount: str  # 6-decimal fixed point
    taker_amount: str
    side: SideWire
    expiration: str  # "0" unless GTD; in the body, not signed
    signature_type: int
    timestamp: str  # creation ms
    metadata: str
    builder: str
    signature: str


class PostOrderV2(WireCamel, frozen=True, kw_only=True, omit_defaults=False):
    """The SDK always sends ``deferExec`` and ``postOnly``, so defaults are encoded too."""

    order: SignedOrderV2
    owner: str  # API key
    order_type: OrderType
    defer_exec: bool = False
    post_only: bool = False


class SignedOrderV1(WireCamel, frozen=True, kw_only=True):
    """V1 order body (pre 2026-04-28), kept to read recorded exchanges."""

    salt: int
    maker: str
    signer: str
    taker: str
    token_id: str
    maker_amount: str
    taker_amount: str
    expiration: str
    nonce: str
    fee_rate_bps: str
    side: SideWire
    signature_type: int
    signature: str


class PostOrderV1(WireCamel, frozen=True, kw_only=True):
    order: SignedOrderV1
    owner: str
    order_type: OrderType
    post_only: bool | None = None


class PostOrderResponse(WireCamel, frozen=True, kw_only=True):
    """Live key order: errorMsg, orderID, takingAmount, makingAmount, status, transactionsHashes, success."""

    error_msg: str
    order_id: str = msgspec.field(name="orderID")
    taking_amount: str  # human decimals: shares for a BUY
    making_amount: str  # human decimals: USDC for a BUY
    status: str  # "matched" | "live" | "delayed" | ...
    transactions_hashes: list[str] | None = None
    trade_ids: list[str] | None = msgspec.field(default=None, name="tradeIDs")
    success: bool


class CancelOrderRequest(WireCamel, frozen=True, kw_only=True):
    order_id: str = msgspec.field(name="orderID")


class CancelMarketOrdersRequest(WireSnake, frozen=True, kw_only=True):
    market: str
    asset_id: str


class CancelResponse(WireSnake, frozen=True, kw_only=True):
    canceled: list[str]
    not_canceled: dict[str, str]


class OpenOrder(WireSnake, frozen=True, kw_only=True):
    """``GET /data/order/{id}`` and ``/data/orders`` rows."""

    id: str
    status: str
    owner: str
    maker_address: str
    market: str
    asset_id: str
    side: SideWire
    original_size: str
    size_matched: str
    price: str
    outcome: str
    expiration: str
    order_type: OrderType
    associate_trades: list[str] | None
    created_at: int  # seconds (a number here, a string on the user channel)


class OrdersPage(WireSnake, frozen=True, kw_only=True):
    data: list[OpenOrder]
    next_cursor: str
    limit: int
    count: int


class ClobTrade(WireSnake, frozen=True, kw_only=True):
    """``GET /data/trades`` row."""

    id: str
    taker_order_id: str
    market: str
    asset_id: str
    side: SideWire
    size: str
    fee_rate_bps: str
    price: str
    status: Literal["MATCHED", "MINED", "CONFIRMED", "RETRYING", "FAILED", "MATCHED_NOT_BROADCASTED"]
    match_time: str  # seconds
    match_time_nano: str | None = None
    last_update: str
    outcome: str
    bucket_index: int
    owner: str
    maker_address: str
    transaction_hash: str | None = None
    maker_orders: list[MakerOrder]
    trader_side: Literal["MAKER", "TAKER"]
    err_msg: str | None = None


class TradesPage(WireSnake, frozen=True, kw_only=True):
    data: list[ClobTrade]
    next_cursor: str
    limit: int
    count: int


# -------------------------------------------------------------------------------------- account, auth


class BalanceAllowance(WireSnake, frozen=True, kw_only=True):
    """``GET /balance-allowance``: 6-decimal integer strings; ``allowances`` keyed by spender."""

    balance: str
    allowances: dict[str, str] | None = None
    allowance: str | None = None  # single-value form seen in older payloads


class ApiCreds(WireCamel, frozen=True, kw_only=True):
    """``POST /auth/api-key`` / ``GET /auth/derive-api-key`` answer."""

    api_key: str
    secret: str
    passphrase: str


class HeartbeatRequest(WireSnake, frozen=True, kw_only=True):
    heartbeat_id: str


BOOK_DECODER = decoder_for(ClobBook)
POST_ORDER_RESPONSE_DECODER = decoder_for(PostOrderResponse)
MARKET_DECODER = decoder_for(ClobMarket)


def decode_book(data: bytes | str) -> ClobBook:
    return BOOK_DECODER.decode(data)
