"""An in-memory Data API /activity that pages like the live one, a recorder of what the poller hands
on, and a poller wired to both (no I/O); and a poller of the real client for a loopback Data API."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from decimal import Decimal
from typing import Any

from polyhunter.adapters.polymarket.data_api_client import (
    ACTIVITY_MAX_LIMIT,
    ACTIVITY_MAX_OFFSET,
    DataApiClient,
)
from polyhunter.adapters.polymarket.http import RetryableError, VenueError
from polyhunter.adapters.polymarket.parse_signals import signals_from_activity
from polyhunter.adapters.polymarket.wire_data_api import DataActivity
from polyhunter.domain.signal import Side, Signal, signal_key, to_micro
from polyhunter.ingest.cursors import CursorStore
from polyhunter.ingest.data_api_poll import DataApiPoller
from polyhunter.ingest.metrics import RejectCounter
from polyhunter.ingest.rate_budget import RequestBudget
from polyhunter.ports.sources import SignalSink

A = "0x" + "a1" * 20
B = "0x" + "b2" * 20
C = "0x" + "c3" * 20
NOW = 1_790_000_000


def row(
    leader: str, ts: int, n: int, *, size: str = "10", asset: str = "111", side: str = "BUY"
) -> DataActivity:
    return DataActivity(
        proxy_wallet=leader,
        timestamp=ts,
        condition_id="0x" + "cd" * 32,
        type="TRADE",
        size=Decimal(size),
        usdc_size=Decimal(size) / 2,
        transaction_hash=f"0x{n:064x}",
        price=Decimal("0.5"),
        asset=asset,
        side="BUY" if side == "BUY" else "SELL",
        outcome_index=0,
    )


def key_of(r: DataActivity, ordinal: int = 0) -> str:
    side = Side.BUY if r.side == "BUY" else Side.SELL
    return signal_key(r.transaction_hash, r.proxy_wallet, r.asset, side, to_micro(r.size), ordinal)


class FakeActivityApi:
    """``DataApiClient.activity`` over a list of rows, with the live paging rules."""

    def __init__(self) -> None:
        self.rows: dict[str, list[DataActivity]] = {}
        self.calls: list[tuple[str, int | None, int]] = []
        self.limits: list[int] = []
        self.failing: set[str] = set()

    def add(self, *rows: DataActivity) -> None:
        for r in rows:
            bucket = self.rows.setdefault(r.proxy_wallet, [])
            bucket.append(r)
            bucket.sort(key=lambda x: x.timestamp)  # stable: insertion order within a second

    async def activity(
        self, user: str, *, start: int | None = None, limit: int = 100, offset: int = 0, **_: object
    ) -> list[DataActivity]:
        self.calls.append((user, start, offset))
        self.limits.append(limit)
        if user in self.failing:
            raise RetryableError("GET /activity: HTTP 429", 429)
        if offset > ACTIVITY_MAX_OFFSET:
            raise VenueError(400, "max historical activity offset of 5000 exceeded")
        rows = [r for r in self.rows.get(user, []) if not start or r.timestamp >= start]
        return rows[offset : offset + min(limit, ACTIVITY_MAX_LIMIT)]


class Recorder:
    """The poller's ``SignalSink``: what it submits goes to ``downstream`` (by default: recorded)."""

    def __init__(self) -> None:
        self.signals: list[Signal] = []
        self.stale: list[Signal] = []
        self.downstream: Callable[[list[Signal]], Awaitable[None]] = self.sink

    async def sink(self, signals: list[Signal]) -> None:
        self.signals.extend(signals)

    def admit(self, signal: Signal) -> bool:
        return True

    async def hand_off_soon(self, admitted: list[Signal]) -> None:
        await self.downstream(admitted)

    async def submit(self, signals: list[Signal]) -> None:
        await self.downstream(signals)

    async def submit_until_taken(self, signal: Signal) -> None:
        await self.downstream([signal])

    def on_stale(self, signals: list[Signal]) -> None:
        self.stale.extend(signals)


class BoundPoller(DataApiPoller):
    """A poller whose rounds go to its recorder unless another sink is given."""

    def __init__(self, rec: Recorder, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.rec = rec

    async def poll_leader(self, leader: str, sink: SignalSink | None = None) -> int:
        return await super().poll_leader(leader, sink or self.rec)

    async def run_round(self, sink: SignalSink | None = None) -> None:
        await super().run_round(sink or self.rec)

    async def run(self, sink: SignalSink | None = None) -> None:
        await super().run(sink or self.rec)


def make_poller(
    api: FakeActivityApi,
    store: CursorStore,
    rec: Recorder,
    leaders: Sequence[str] = (A,),
    *,
    now: float = NOW,
    replay_window_s: int = 600,
    push_healthy: bool = True,
    page_limit: int = ACTIVITY_MAX_LIMIT,
    follow_from_s: int | None = None,
    max_rows: int = 100_000,  # one poll reads everything (the round's bound has its own tests)
) -> BoundPoller:
    return BoundPoller(
        rec,
        api,  # duck-typed: only .activity is used
        leaders,
        store,
        signals_from_activity,
        interval_ms=1_000,
        degraded_interval_ms=50,
        replay_window_s=replay_window_s,
        budget=RequestBudget(100_000),
        page_limit=page_limit,
        push_healthy=lambda: push_healthy,
        on_stale=rec.on_stale,
        follow_from_s=follow_from_s,
        max_rows=max_rows,
        clock=lambda: now,
    )


def loopback_poller(
    client: DataApiClient,
    leaders: Sequence[str],
    store: CursorStore,
    now: float,
    rejects: RejectCounter | None = None,
) -> DataApiPoller:
    """A poller of the real client against a loopback Data API: rounds every 50 ms, a 10-minute replay
    window, ``now`` as its clock."""
    return DataApiPoller(
        client,
        leaders,
        store,
        signals_from_activity,
        interval_ms=50,
        degraded_interval_ms=50,
        replay_window_s=600,
        budget=RequestBudget(1_000),
        clock=lambda: now,
        rejects=rejects,
    )
