"""Simulated-exchange objects → live wire structs (books, user-channel events, ``/data`` rows, RTDS payloads).

Pure functions; every timestamp comes from the event or the caller. Shapes follow the recorded
fixtures: book levels worst-first, ms-string timestamps, 40-hex SHA-1 ``hash`` over the compact book
JSON (protocol §3.1), human-decimal amounts, mixed-case ``proxyWallet`` on RTDS.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from decimal import Decimal

from polyhunter.adapters.polymarket.eip712 import to_checksum_address
from polyhunter.adapters.polymarket.wire_base import MakerOrder, PriceLevel
from polyhunter.adapters.polymarket.wire_clob_rest import ClobBook, ClobTrade, OpenOrder
from polyhunter.adapters.polymarket.wire_clob_ws import (
    PriceChange,
    WsBook,
    WsLastTradePrice,
    WsPriceChange,
    WsUserOrder,
    WsUserTrade,
)
from polyhunter.adapters.polymarket.wire_rtds import RtdsTradePayload
from polyhunter.domain.signal import Side
from polyhunter.sim.events import BookChange, BookSnapshot, Level, MakerFill, OrderEvent, TradeEvent
from polyhunter.sim.orders import OrderView
from polyhunter.sim.scenario_markets import MarketInfo
from polyhunter.sim.server_data_api import number
from polyhunter.sim.state_records import FillRow, UserProfile
from polyhunter.sim.units import fmt_decimal, fmt_micro

__all__ = [
    "TradeState",
    "book_hash",
    "clob_book",
    "clob_trade",
    "last_trade_price",
    "open_order",
    "price_change",
    "rtds_payload",
    "user_order",
    "user_trade",
    "ws_book",
]


def _side(side: Side) -> str:
    return "BUY" if side is Side.BUY else "SELL"


def _levels(levels: tuple[Level, ...]) -> list[PriceLevel]:
    return [PriceLevel(price=fmt_decimal(lv.price), size=fmt_micro(lv.size)) for lv in levels]


def _last_trade(snap: BookSnapshot) -> str:
    return "" if snap.last_trade_price is None else f"{snap.last_trade_price:.3f}"


def book_hash(snap: BookSnapshot) -> str:
    """SHA-1 of the compact book JSON with ``hash: ""`` (PCC ``generate_orderbook_summary_hash``)."""
    body = {
        "market": snap.market,
        "asset_id": snap.asset_id,
        "timestamp": str(snap.timestamp_ms),
        "hash": "",
        "bids": [{"price": fmt_decimal(lv.price), "size": fmt_micro(lv.size)} for lv in snap.bids],
        "asks": [{"price": fmt_decimal(lv.price), "size": fmt_micro(lv.size)} for lv in snap.asks],
        "min_order_size": fmt_decimal(snap.min_order_size),
        "tick_size": fmt_decimal(snap.tick_size),
        "neg_risk": snap.neg_risk,
        "last_trade_price": _last_trade(snap),
    }
    return hashlib.sha1(json.dumps(body, separators=(",", ":")).encode(), usedforsecurity=False).hexdigest()


def clob_book(snap: BookSnapshot) -> ClobBook:
    return ClobBook(
        market=snap.market,
        asset_id=snap.asset_id,
        timestamp=str(snap.timestamp_ms),
        hash=book_hash(snap),
        bids=_levels(snap.bids),
        asks=_levels(snap.asks),
        min_order_size=fmt_decimal(snap.min_order_size),
        tick_size=fmt_decimal(snap.tick_size),
        neg_risk=snap.neg_risk,
        last_trade_price=_last_trade(snap),
    )


def ws_book(snap: BookSnapshot) -> WsBook:
    return WsBook(
        market=snap.market,
        asset_id=snap.asset_id,
        timestamp=str(snap.timestamp_ms),
        hash=book_hash(snap),
        bids=_levels(snap.bids),
        asks=_levels(snap.asks),
        tick_size=fmt_decimal(snap.tick_size),
        event_type="book",
        last_trade_price=_last_trade(snap),
    )


def price_change(market: str, changes: list[BookChange]) -> WsPriceChange:
    entries = []
    for ch in changes:
        digest = hashlib.sha1(
            f"{ch.token_id}|{ch.side}|{ch.price}|{ch.size}|{ch.timestamp_ms}".encode(), usedforsecurity=False
        ).hexdigest()
        entries.append(
            PriceChange(
                asset_id=ch.token_id,
                price=fmt_decimal(ch.price),
                size=fmt_micro(ch.size),
                side="BUY" if ch.side is Side.BUY else "SELL",
                hash=digest,
                best_bid="0" if ch.best_bid is None else fmt_decimal(ch.best_bid),
                best_ask="0" if ch.best_ask is None else fmt_decimal(ch.best_ask),
            )
        )
    ts = max(ch.timestamp_ms for ch in changes)
    return WsPriceChange(market=market, price_changes=entries, timestamp=str(ts), event_type="price_change")


def last_trade_price(trade: TradeEvent, transaction_hash: str) -> WsLastTradePrice:
    return WsLastTradePrice(
        market=trade.market,
        asset_id=trade.token_id,
        price=fmt_decimal(trade.last_price),
        size=fmt_micro(trade.size),
        fee_rate_bps=str(int(trade.fee_rate * 10_000)),
        side="BUY" if trade.side is Side.BUY else "SELL",
        timestamp=str(trade.timestamp_ms),
        event_type="last_trade_price",
        transaction_hash=transaction_hash,
    )


def _expiration(order: OrderView) -> str:
    return str(order.expiration)


def user_order(event: OrderEvent, maker_address: str) -> WsUserOrder:
    o = event.order
    return WsUserOrder(
        asset_id=o.token_id,
        associate_trades=list(o.associate_trades) or None,
        created_at=str(o.created_ms // 1000),
        event_type="order",
        expiration=_expiration(o),
        id=o.order_id,
        maker_address=maker_address,
        market=o.market,
        order_owner=o.api_owner,
        order_type=o.order_type.value,
        original_size=fmt_micro(o.original_size),
        outcome=o.outcome,
        owner=o.api_owner,
        price=fmt_decimal(o.price),
        side=_side(o.side),  # type: ignore[arg-type]
        size_matched=fmt_micro(o.size_matched),
        status=o.status.value,
        timestamp=str(event.timestamp_ms),
        type=event.kind.value,
    )


def open_order(o: OrderView, maker_address: str) -> OpenOrder:
    return OpenOrder(
        id=o.order_id,
        status=o.status.value,
        owner=o.api_owner,
        maker_address=maker_address,
        market=o.market,
        asset_id=o.token_id,
        side=_side(o.side),  # type: ignore[arg-type]
        original_size=fmt_micro(o.original_size),
        size_matched=fmt_micro(o.size_matched),
        price=fmt_decimal(o.price),
        outcome=o.outcome,
        expiration=_expiration(o),
        order_type=o.order_type.value,
        associate_trades=list(o.associate_trades),
        created_at=o.created_ms // 1000,
    )


def _maker_order(m: MakerFill) -> MakerOrder:
    return MakerOrder(
        order_id=m.order_id,
        owner=m.api_owner,
        maker_address=to_checksum_address(m.owner),
        matched_amount=fmt_micro(m.size),
        price=fmt_decimal(m.price),
        fee_rate_bps="0",
        asset_id=m.token_id,
        outcome=m.outcome,
        side=_side(m.side),  # type: ignore[arg-type]
    )


@dataclass(slots=True)
class TradeState:
    """A trade as the CLOB reports it over time: status moves MATCHED → MINED → CONFIRMED."""

    trade: TradeEvent
    status: str = "MATCHED"
    last_update_s: int = 0
    transaction_hash: str | None = None  # the settlement tx (the chain's, once the mirror sent it)


def _trade_fields(ts: TradeState, info: MarketInfo, recipient: str | None) -> dict[str, object]:
    t = ts.trade
    is_maker = recipient is not None and recipient != t.taker_api_owner
    makers = [m for m in t.makers if not is_maker or m.api_owner == recipient] if is_maker else list(t.makers)
    return {
        "id": t.trade_id,
        "taker_order_id": t.taker_order_id,
        "market": t.market,
        "asset_id": t.token_id,
        "side": _side(t.side),
        "size": fmt_micro(t.size),
        "fee_rate_bps": str(int(t.fee_rate * 10_000)),
        "price": fmt_decimal(t.price),
        "status": ts.status,
        "match_time": str(t.timestamp_ms // 1000),
        "last_update": str(ts.last_update_s or t.timestamp_ms // 1000),
        "outcome": t.outcome,
        "bucket_index": 0,
        "owner": recipient if recipient is not None else t.taker_api_owner,
        "maker_address": to_checksum_address(makers[0].owner if is_maker and makers else t.taker_owner),
        "transaction_hash": ts.transaction_hash,
        "maker_orders": [_maker_order(m) for m in makers],
        "trader_side": "MAKER" if is_maker else "TAKER",
    }


def user_trade(ts: TradeState, info: MarketInfo, recipient: str, now_ms: int) -> WsUserTrade:
    f = _trade_fields(ts, info, recipient)
    return WsUserTrade(
        asset_id=str(f["asset_id"]),
        bucket_index=0,
        event_type="trade",
        fee_rate_bps=str(f["fee_rate_bps"]),
        id=str(f["id"]),
        last_update=str(f["last_update"]),
        maker_address=str(f["maker_address"]),
        maker_orders=f["maker_orders"],  # type: ignore[arg-type]
        market=str(f["market"]),
        match_time=str(f["match_time"]),
        outcome=str(f["outcome"]),
        owner=recipient,
        price=str(f["price"]),
        side=f["side"],  # type: ignore[arg-type]
        size=str(f["size"]),
        status=ts.status,  # type: ignore[arg-type]
        taker_order_id=ts.trade.taker_order_id,
        timestamp=str(now_ms),
        trade_owner=ts.trade.taker_api_owner,
        trader_side=f["trader_side"],  # type: ignore[arg-type]
        transaction_hash=ts.transaction_hash,
        type="TRADE",
    )


def clob_trade(ts: TradeState, info: MarketInfo, recipient: str) -> ClobTrade:
    return ClobTrade(**_trade_fields(ts, info, recipient))  # type: ignore[arg-type]


def rtds_payload(row: FillRow, info: MarketInfo, profile: UserProfile) -> RtdsTradePayload:
    index = info.market.index_of(row.asset)
    return RtdsTradePayload(
        asset=row.asset,
        bio=profile.bio,
        condition_id=row.condition_id,
        event_slug=info.event_slug,
        fee=number(row.fee) if row.fee > 0 else None,
        icon=info.icon,
        name=profile.name,
        outcome=info.market.outcomes[index],
        outcome_index=index,
        price=number(row.price, 10),
        profile_image=profile.profile_image,
        proxy_wallet=to_checksum_address(row.proxy_wallet),
        pseudonym=profile.pseudonym,
        side=row.side,
        size=number(row.size),
        slug=info.slug,
        timestamp=row.timestamp_s,
        title=info.title,
        transaction_hash=row.transaction_hash,
    )


def micro_decimal(micro: int) -> Decimal:
    return Decimal(micro) / Decimal(1_000_000)
