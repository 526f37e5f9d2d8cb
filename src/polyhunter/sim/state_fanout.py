"""The simulator's fan-out: each event the matching engine returns, published exactly once (order and
trade events to the user channel, book changes and last trade prices to the market channel, every
fill to RTDS and the Data API log) and, with a chain mirror, each trade settled on the chain first.

`SimFanOut` is a base of `SimState` (state.py), which sets the attributes declared below.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Coroutine, Sequence
from dataclasses import replace
from decimal import Decimal
from typing import TYPE_CHECKING, Any, TypeVar

from polyhunter.adapters.polymarket.eip712 import to_checksum_address
from polyhunter.adapters.polymarket.wire_base import encode
from polyhunter.log import get_logger
from polyhunter.sim.events import (
    BookChange,
    Event,
    MarketResolved,
    OrderEvent,
    SubmitResult,
    TickSizeChanged,
    TradeEvent,
)
from polyhunter.sim.exchange import SimExchange
from polyhunter.sim.price_history import PriceHistory
from polyhunter.sim.scenario_markets import MarketInfo
from polyhunter.sim.server_rtds import RtdsChannel
from polyhunter.sim.server_wire import TradeState, rtds_payload, user_order, user_trade
from polyhunter.sim.server_ws_market import MarketChannel
from polyhunter.sim.server_ws_user import UserChannel
from polyhunter.sim.settlement import Settlement
from polyhunter.sim.state_records import FillRow, UserProfile

if TYPE_CHECKING:
    from polyhunter.sim.chain_venue import ChainVenue

COARSE_TICK, FINE_TICK = Decimal("0.01"), Decimal("0.001")
EXTREME_LOW, EXTREME_HIGH = Decimal("0.04"), Decimal("0.96")

log = get_logger(__name__)
_T = TypeVar("_T")

MatchHook = Callable[[TradeEvent, MarketInfo], Awaitable[str | None]]
"""Settles a trade elsewhere (the chain mirror) and returns the transaction hash to publish."""


class SimFanOut:
    """Publishing the engine's events (see the module doc)."""

    engine: SimExchange
    market_ws: MarketChannel
    user_ws: UserChannel
    rtds: RtdsChannel
    settlement: Settlement
    mirror_hook: MatchHook | None
    chain_venue: ChainVenue | None
    _resolved: set[str]
    _trades: dict[str, TradeState]
    _trades_by_key: dict[str, list[TradeState]]
    _tasks: set[asyncio.Task[Any]]
    _hashing: dict[str, asyncio.Task[str]]
    _fill_seq: int
    _fills: list[FillRow]
    _fills_by_wallet: dict[str, list[FillRow]]
    price_history: PriceHistory

    if TYPE_CHECKING:  # SimState's lookups (state.py)

        def now_ms(self) -> int: ...

        def info_by_condition(self, condition_id: str) -> MarketInfo | None: ...

        def profile(self, wallet: str) -> UserProfile: ...

    def dispatch(self, events: Sequence[Event]) -> None:
        changes: list[BookChange] = []
        traded: dict[str, None] = {}
        for ev in events:
            if isinstance(ev, BookChange):
                changes.append(ev)
            elif isinstance(ev, OrderEvent):
                frame = user_order(ev, to_checksum_address(ev.order.owner))
                self.user_ws.publish(ev.order.api_owner, ev.order.market, encode(frame).decode())
            elif isinstance(ev, TradeEvent):
                self._on_trade(ev)
                traded[ev.market] = None
            elif isinstance(ev, MarketResolved):
                self._resolved.add(ev.market)
                info = self.info_by_condition(ev.market)
                self.market_ws.publish_resolved(ev, info.gamma_id if info else 0)
            elif isinstance(ev, TickSizeChanged):
                self.market_ws.publish_tick_size(ev)
        self.market_ws.publish_book_changes(changes)
        for market in traded:  # live also re-sends the whole book when a trade changed it
            self.market_ws.publish_books(self.engine.market(market).tokens)

    @property
    def mirrored(self) -> bool:
        """True when trades get their transaction hash from a chain mirror (known once the tx is sent)."""
        return self.mirror_hook is not None

    def _spawn(self, work: Coroutine[Any, Any, _T]) -> asyncio.Task[_T]:
        task = asyncio.get_running_loop().create_task(work)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    def _on_trade(self, t: TradeEvent) -> None:
        info = self.info_by_condition(t.market)
        if info is None:
            return
        self.price_history.record(t.token_id, t.timestamp_ms, t.last_price)
        ts = TradeState(trade=t, status="MATCHED", last_update_s=t.timestamp_ms // 1000)
        self._trades[t.trade_id] = ts
        for key in dict.fromkeys([t.taker_api_owner, *(m.api_owner for m in t.makers)]):
            self._trades_by_key.setdefault(key, []).append(ts)
        if self.mirrored:  # the settlement tx goes out at match time; frames wait for its hash
            # chain mode queues the settlement now, in the ledger's order (before any later deposit)
            sending = self.chain_venue.settle(t) if self.chain_venue is not None else None
            hashing = self._spawn(self._mirror(ts, info, sending))
            self._hashing[t.trade_id] = hashing
            hashing.add_done_callback(lambda _: self._hashing.pop(t.trade_id, None))
        else:
            ts.transaction_hash = t.transaction_hash
            self._announce(ts, info)
        self._spawn(self.settlement.progress(ts, info, self._hashing.get(t.trade_id)))
        self._maybe_refine_tick(t)

    def _announce(self, ts: TradeState, info: MarketInfo) -> None:
        """The market channel's last trade price and the MATCHED trade frames, with the tx hash."""
        self.market_ws.publish_trade(ts.trade, ts.transaction_hash or ts.trade.transaction_hash)
        self.publish_trade_status(ts, info)

    async def _mirror(self, ts: TradeState, info: MarketInfo, sending: Awaitable[str] | None) -> str:
        ts.transaction_hash = await self._mined_hash(ts.trade, info, sending)
        self._announce(ts, info)
        return ts.transaction_hash

    async def transaction_hashes(self, result: SubmitResult) -> tuple[str, ...]:
        """The settlement tx hashes of ``result``'s trades (``POST /order``'s ``transactionsHashes``);
        with a chain mirror, the chain's, awaited until the mirror has sent the transaction."""
        if not self.mirrored:
            return result.transaction_hashes
        hashes: list[str] = []
        for trade_id in result.trade_ids:
            hashing = self._hashing.get(trade_id)
            ts = self._trades.get(trade_id)
            known = (
                await asyncio.shield(hashing) if hashing is not None else ts.transaction_hash if ts else None
            )
            if known:
                hashes.append(known)
        return tuple(dict.fromkeys(hashes))

    def _maybe_refine_tick(self, t: TradeEvent) -> None:
        """Live moves a 0.01 market to a 0.001 tick once it trades above 0.96 or below 0.04."""
        market = self.engine.market(t.market)
        if market.tick_size == COARSE_TICK and not EXTREME_LOW <= t.last_price <= EXTREME_HIGH:
            self.dispatch(self.engine.set_tick_size(t.market, FINE_TICK))

    def publish_trade_status(self, ts: TradeState, info: MarketInfo) -> None:
        t = ts.trade
        recipients = dict.fromkeys([t.taker_api_owner, *(m.api_owner for m in t.makers)])
        now = self.now_ms()
        for key in recipients:
            if key and self.user_ws.is_subscribed(key):
                self.user_ws.publish(key, t.market, encode(user_trade(ts, info, key, now)).decode())

    async def _mined_hash(self, t: TradeEvent, info: MarketInfo, sending: Awaitable[str] | None) -> str:
        if self.mirror_hook is None and sending is None:
            return t.transaction_hash
        try:
            if sending is not None:
                return await sending or t.transaction_hash
            assert self.mirror_hook is not None
            return await self.mirror_hook(t, info) or t.transaction_hash
        except Exception as exc:  # a broken mirror must not stop the venue
            log.warning("sim.chain_mirror_failed", trade_id=t.trade_id, error=str(exc))
            return t.transaction_hash

    def publish_fills(self, rows: Sequence[FillRow]) -> None:
        """Add ``rows`` to the Data API log and the price history, and push them on RTDS at once
        (replayed transactions)."""
        for row in rows:
            self.price_history.record(row.asset, row.timestamp_ms, row.price)
        self.push_fills(self.record_fills(rows))

    def record_fills(self, rows: Sequence[FillRow]) -> list[FillRow]:
        """Number ``rows`` on and add them to the Data API log (they show in /trades, /activity)."""
        numbered = [replace(row, seq=self._fill_seq + i) for i, row in enumerate(rows)]
        self._fill_seq += len(numbered)
        self._fills.extend(numbered)
        for row in numbered:
            self._fills_by_wallet.setdefault(row.proxy_wallet, []).append(row)
        return numbered

    def push_fills(self, rows: Sequence[FillRow]) -> None:
        """Push ``rows`` on RTDS."""
        for row in rows:
            if (info := self.info_by_condition(row.condition_id)) is not None:
                self.rtds.publish_trade(
                    rtds_payload(row, info, self.profile(row.proxy_wallet)), self.now_ms()
                )
