"""CLOB market channel (``<clob_ws>/market``), protocol reference §2.2.

* First frame ``{"assets_ids": [...], "type": "market"}`` → one JSON **array** with a ``book`` per
  known token (``[]`` when none is known).
* ``{"operation": "subscribe"|"unsubscribe", "assets_ids": [...]}`` changes the subscription on the
  open socket (a subscribe answers with the new tokens' books, again as an array).
* Text ``PING`` → ``PONG``.
* Pushed: ``price_change`` (``price_changes[]`` with ``best_bid``/``best_ask``; one frame per market
  and engine step), ``last_trade_price`` (with ``transaction_hash``), ``tick_size_change``, and with
  ``custom_feature_enabled`` also ``best_bid_ask`` and ``market_resolved``.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from aiohttp import web

from polyhunter.adapters.polymarket.wire_base import encode
from polyhunter.adapters.polymarket.wire_clob_ws import WsBestBidAsk, WsMarketResolved, WsTickSizeChange
from polyhunter.sim.events import BookChange, BookSnapshot, MarketResolved, TickSizeChanged, TradeEvent
from polyhunter.sim.faults import Faults
from polyhunter.sim.server_wire import last_trade_price, price_change, ws_book
from polyhunter.sim.server_ws_common import WsConnection, WsRegistry, json_messages
from polyhunter.sim.units import fmt_decimal

__all__ = ["MarketChannel"]

BookLookup = Callable[[str], BookSnapshot | None]


class _Sub:
    __slots__ = ("assets", "conn", "custom")

    def __init__(self, conn: WsConnection) -> None:
        self.conn = conn
        self.assets: set[str] = set()
        self.custom = False


class MarketChannel:
    """Subscriptions by token id and the fan-out of book, trade and market events."""

    def __init__(self, books: BookLookup, faults: Faults, registry: WsRegistry) -> None:
        self._books = books
        self._faults = faults
        self._registry = registry
        self._subs: set[_Sub] = set()

    @property
    def subscriber_count(self) -> int:
        return len(self._subs)

    def subscribed(self, token_id: str) -> bool:
        """Whether any open socket follows `token_id`."""
        return any(token_id in sub.assets for sub in self._subs)

    def _snapshot_frame(self, assets: list[str]) -> str:
        books = [ws_book(snap) for a in assets if (snap := self._books(a)) is not None]
        return encode(books).decode()

    def _handle_json(self, sub: _Sub, data: Any) -> None:
        if not isinstance(data, dict) or not isinstance(data.get("assets_ids", []), list):
            sub.conn.send(json.dumps({"error": "Invalid request body"}))
            return
        assets = [str(a) for a in data.get("assets_ids", [])]
        if data.get("custom_feature_enabled") is not None:
            sub.custom = bool(data["custom_feature_enabled"])
        operation = data.get("operation")
        if operation == "unsubscribe":
            sub.assets.difference_update(assets)
            return
        if operation not in (None, "subscribe"):
            sub.conn.send(json.dumps({"error": "Invalid request body"}))
            return
        new = [a for a in dict.fromkeys(assets) if a not in sub.assets]
        sub.assets.update(assets)
        sub.conn.send(self._snapshot_frame(new))

    async def handler(self, request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse(autoping=True)
        await ws.prepare(request)
        conn = WsConnection(ws, self._faults)
        sub = _Sub(conn)
        self._registry.add(conn)
        self._subs.add(sub)
        try:
            async for data in json_messages(ws, conn):
                self._handle_json(sub, data)
        finally:
            self._subs.discard(sub)
            self._registry.discard(conn)
            await conn.finish()
        return ws

    # -- fan-out ----------------------------------------------------------------------------------

    def _broadcast(self, tokens: set[str], text: str, custom_only: bool = False) -> None:
        for sub in list(self._subs):
            if sub.assets & tokens and (sub.custom or not custom_only):
                sub.conn.send(text)

    def publish_book_changes(self, changes: list[BookChange]) -> None:
        if not changes or self._faults.stale_books:
            return
        by_market: dict[str, list[BookChange]] = {}
        for ch in changes:
            by_market.setdefault(ch.market, []).append(ch)
        for market, group in by_market.items():
            tokens = {ch.token_id for ch in group}
            self._broadcast(tokens, encode(price_change(market, group)).decode())
            last: dict[str, BookChange] = {ch.token_id: ch for ch in group}
            for token, ch in last.items():
                if ch.best_bid is None or ch.best_ask is None:
                    continue
                bba = WsBestBidAsk(
                    event_type="best_bid_ask",
                    market=market,
                    asset_id=token,
                    best_bid=fmt_decimal(ch.best_bid),
                    best_ask=fmt_decimal(ch.best_ask),
                    spread=fmt_decimal(ch.best_ask - ch.best_bid),
                    timestamp=str(ch.timestamp_ms),
                )
                self._broadcast({token}, encode(bba).decode(), custom_only=True)

    def publish_books(self, tokens: tuple[str, ...]) -> None:
        """One ``book`` frame per token to its subscribers (sent live after a trade moved the book)."""
        if self._faults.stale_books:
            return
        for token in tokens:
            snap = self._books(token)
            if snap is not None and any(token in sub.assets for sub in self._subs):
                self._broadcast({token}, encode(ws_book(snap)).decode())

    def publish_trade(self, trade: TradeEvent, transaction_hash: str) -> None:
        self._broadcast({trade.token_id}, encode(last_trade_price(trade, transaction_hash)).decode())

    def publish_tick_size(self, event: TickSizeChanged) -> None:
        frame = WsTickSizeChange(
            event_type="tick_size_change",
            asset_id=event.token_id,
            market=event.market,
            old_tick_size=fmt_decimal(event.old_tick_size),
            new_tick_size=fmt_decimal(event.new_tick_size),
            timestamp=str(event.timestamp_ms),
        )
        self._broadcast({event.token_id}, encode(frame).decode())

    def publish_resolved(self, event: MarketResolved, gamma_id: int) -> None:
        frame = WsMarketResolved(
            event_type="market_resolved",
            id=str(gamma_id),
            market=event.market,
            assets_ids=list(event.tokens),
            winning_asset_id=event.winning_token,
            winning_outcome=event.winning_outcome,
            timestamp=str(event.timestamp_ms),
        )
        self._broadcast(set(event.tokens), encode(frame).decode(), custom_only=True)
