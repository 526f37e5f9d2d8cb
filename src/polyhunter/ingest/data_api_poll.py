"""The Data API poller: per leader, incremental `/activity?type=TRADE` from a persisted cursor.

* Each leader is read from its cursor (`start = last_ts`, ascending, pages of `ingest.poll_page_limit`
  rows, at most the API's 500, offsets up to the API's 5,000 cap, then the window moves to the last
  timestamp read), at most ``MAX_ROWS_PER_POLL`` rows a round (more the next round). Rows at the
  cursor's own second that were already emitted are skipped by key.
* A ``SignalSource``: ``await poller.run(sink)``. Each leader's new fills go to ``sink.submit``, which
  returns once they are durable (or raises); the cursor is saved only then, so a crash repeats at most
  the last batch (the downstream dedup drops the repeat) and never loses one.
* On start a cursor older than the replay window is clamped: misses older than the window are counted
  and reported as stale, never emitted (copying a 2-hour-old trade is worse than not copying it).
* Leaders are served round-robin within a request budget, several requests in flight at once (one
  after the other a round of 60 leaders at 200 ms would take 12 s, whatever the cadence); the cadence
  speeds up while the push feed is unhealthy. 429/5xx are retried with backoff by the HTTP client; a
  leader whose poll still fails (or whose answer is garbled) is retried next round, the others go on.
* In a cluster each ingest worker polls only the leaders of the ingest shards it holds
  (cluster/ingest_shards.py, through :meth:`set_leaders`): a leader dropped is not polled again, even by
  the round under way, and :meth:`settled` says when no poll of a dropped leader is in flight any more
  (then its shard may go to another worker, which resumes from the same cursor).
* A row that fails validation (``RowQuarantine``: bad size, price, hash, time...) is set aside, counted
  and logged once with its reason, and the cursor moves past it as past an emitted fill.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import UTC, datetime

from polyhunter.adapters.polymarket.data_api_client import (
    ACTIVITY_MAX_LIMIT,
    ACTIVITY_MAX_OFFSET,
    DataApiClient,
)
from polyhunter.adapters.polymarket.http import RetryableError, VenueError
from polyhunter.adapters.polymarket.parse_signals import signals_from_activity
from polyhunter.adapters.polymarket.row_quarantine import RowQuarantine
from polyhunter.adapters.polymarket.wire_data_api import ActivityPage, DataActivity, UndecodableRow
from polyhunter.domain.signal import Signal, SourceKind
from polyhunter.ingest.cursors import Cursor, CursorStore
from polyhunter.ingest.metrics import RejectCounter
from polyhunter.ingest.rate_budget import RequestBudget
from polyhunter.ingest.source_deps import SourceDeps, fill_bounds
from polyhunter.log import get_logger
from polyhunter.ports.sources import SignalSink, SourceHealth
from polyhunter.task_drain import raise_if_cancelled

log = get_logger(__name__)

# Rows read for one leader in one round, then the round ends there (the cursor keeps the place): a
# poller that fell behind, e.g. while the engine applies backpressure and the leaders keep trading,
# catches up over several rounds instead of holding its whole backlog in memory at once. A second of
# more fills than this is still read whole (the cursor could not move past it otherwise).
MAX_ROWS_PER_POLL = 2_000

SOURCE = "poll"
ParseRows = Callable[[Sequence[DataActivity], datetime], list[Signal]]


class DataApiPoller:
    MAX_IN_FLIGHT = 16  # concurrent /activity requests; the request budget still bounds the rate

    def __init__(
        self,
        client: DataApiClient,
        leaders: Sequence[str],
        cursors: CursorStore,
        parse: ParseRows,
        *,
        interval_ms: int,
        degraded_interval_ms: int,
        replay_window_s: int,
        budget: RequestBudget,
        page_limit: int = ACTIVITY_MAX_LIMIT,
        push_healthy: Callable[[], bool] = lambda: True,
        on_stale: Callable[[list[Signal]], None] | None = None,
        follow_from_s: int | None = None,
        clock: Callable[[], float] = time.time,
        quarantine: RowQuarantine | None = None,
        rejects: RejectCounter | None = None,
        max_rows: int = MAX_ROWS_PER_POLL,
    ) -> None:
        if page_limit < 1:
            raise ValueError(f"page_limit must be at least 1, got {page_limit}")
        self._max_rows = max_rows
        self._client = client
        self.page_limit = min(page_limit, ACTIVITY_MAX_LIMIT)  # rows per /activity request
        self._leaders = [leader.lower() for leader in leaders]
        self._following = frozenset(self._leaders)
        self._in_flight: dict[str, int] = {}  # leader -> polls of it under way
        self._poll_ended = asyncio.Event()  # set when a poll ends or the leaders change
        self._cursors = cursors
        self._parse = parse
        self._interval_ms = interval_ms
        self._degraded_ms = degraded_interval_ms
        self._replay_window_s = replay_window_s
        self._budget = budget
        self._push_healthy = push_healthy
        self._on_stale = on_stale
        self._clock = clock
        self._follow_from_s = follow_from_s  # a new leader is followed from here (default: its first poll)
        self._quarantine = quarantine if quarantine is not None else RowQuarantine()
        self.rejects = rejects if rejects is not None else RejectCounter(SOURCE)
        self._added_s: dict[str, int] = {}  # leaders added while running: followed from then
        self._next = 0
        self.polls = 0
        self.errors = 0
        self.stale = 0
        self.skipped_rows = 0
        self.healthy = True
        self._closed = asyncio.Event()

    @property
    def kind(self) -> SourceKind:
        return SourceKind.POLL

    @property
    def health(self) -> SourceHealth:
        return SourceHealth.HEALTHY if self.healthy else SourceHealth.DEGRADED

    def set_leaders(self, leaders: Iterable[str], *, since: Mapping[str, int] | None = None) -> None:
        """Poll exactly these leaders from now on (one dropped is not polled again, even in the round under
        way). A new leader without a cursor is read from ``since[leader]`` (when the caller began to
        follow it: an ingest shard taken over), else from now (not its fills from before it was added)."""
        wanted = sorted({leader.lower() for leader in leaders})
        now_s = int(self._clock())
        for leader in set(wanted) - set(self._leaders):
            self._added_s[leader] = min(now_s, (since or {}).get(leader, now_s))
        self._leaders = wanted
        self._following = frozenset(wanted)
        self._poll_ended.set()

    async def settled(self) -> None:
        """Returns once no poll of a leader no longer followed is in flight."""
        while not self._following.issuperset(self._in_flight):
            self._poll_ended.clear()
            await self._poll_ended.wait()

    async def close(self) -> None:
        """Stop :meth:`run` after the current round (the client is its owner's to close)."""
        self._closed.set()

    async def _cursor(self, leader: str, now_s: int) -> Cursor:
        cursor = await self._cursors.load(leader, SOURCE)
        if cursor is None:
            # A new leader: follow from when following began (the service's start: fills made while the
            # push feed was still connecting are not lost), not its history before that.
            since = self._added_s.get(leader, self._follow_from_s)
            start = now_s if since is None else min(now_s, since)
            cursor = Cursor(leader, SOURCE, start)
            await self._cursors.save(cursor)
        return cursor

    async def _fetch(self, leader: str, start: int, undecodable: list[UndecodableRow]) -> list[DataActivity]:
        rows: list[DataActivity] = []
        offset, limit = 0, self.page_limit
        while True:
            await self._budget.take()
            page = await self._client.activity(leader, start=start, limit=limit, offset=offset)
            rows.extend(page)
            if isinstance(page, ActivityPage):  # rows that did not decode are set aside, not fatal
                undecodable.extend(page.undecodable)
            if (page.served if isinstance(page, ActivityPage) else len(page)) < limit:
                return rows
            if len(rows) >= self._max_rows and rows[-1].timestamp > start:
                return rows  # the rest next round, from the cursor this read leaves (bounded memory)
            offset += limit
            if offset >= ACTIVITY_MAX_OFFSET:
                top = page[-1].timestamp if page else start  # (a page of undecodable rows only)
                if top == start:  # more than 5,000 fills in one second: take what the API allows
                    log.warning("activity window saturated", leader=leader, ts=start)
                    return rows
                # The next window starts at `top` again and returns that whole second: drop its rows read
                # so far, or they come twice (and a repeated leg would get a new ordinal, hence a new key).
                rows = [r for r in rows if r.timestamp < top]
                start, offset = top, 0

    def _usable(
        self, leader: str, rows: list[DataActivity], undecodable: list[UndecodableRow], seen_at: datetime
    ) -> tuple[list[DataActivity], list[tuple[int, str]]]:
        """Set aside rows that fail validation (one bad row must not stall the leader): the good rows, and
        (timestamp, key) of the rejected ones whose time is sane, for the cursor to move past."""
        good, rejected = self._quarantine.split(rows, seen_at)
        rejected += self._quarantine.undecodable(undecodable, seen_at)
        passed: list[tuple[int, str]] = []
        for bad in rejected:
            if bad.ts_s is not None:
                passed.append((bad.ts_s, bad.key))
            if not bad.repeat:
                self.skipped_rows += 1
                self.rejects.reject(bad.reason, bad.detail, leader=leader, tx=bad.tx)
        return good, passed

    async def poll_leader(self, leader: str, sink: SignalSink) -> int:
        """One incremental read of one leader into ``sink``; returns the number of signals emitted."""
        now = self._clock()
        now_s = int(now)
        cursor = await self._cursor(leader, now_s)
        seen_at = datetime.fromtimestamp(now, UTC)
        undecodable: list[UndecodableRow] = []
        fetched = await self._fetch(leader, cursor.last_ts, undecodable)
        rows, passed = self._usable(leader, fetched, undecodable, seen_at)
        self.polls += 1
        fresh: list[Signal] = []
        stale: list[Signal] = []
        emitted: list[tuple[int, str]] = [(ts, key) for ts, key in passed if ts >= cursor.last_ts]
        cutoff = now_s - self._replay_window_s
        unique: set[str] = set()
        for sig in self._parse(rows, seen_at):
            ts = int(sig.fill_time.timestamp())
            if (
                ts < cursor.last_ts
                or (ts == cursor.last_ts and sig.key in cursor.seen_keys)
                or sig.key in unique
            ):
                continue
            unique.add(sig.key)
            emitted.append((ts, sig.key))
            (stale if ts < cutoff else fresh).append(sig)
        if stale:
            self.stale += len(stale)
            if self._on_stale is not None:
                self._on_stale(stale)
        if fresh:
            await sink.submit(fresh)
        moved = cursor.advance(emitted)
        if moved != cursor:  # an idle leader costs no write per poll
            await self._cursors.save(moved)
        return len(fresh)

    async def _poll_guarded(self, leader: str, slots: asyncio.Semaphore, sink: SignalSink) -> bool:
        async with slots:
            if leader not in self._following:  # dropped while the round went on (its shard handed over)
                return True
            self._in_flight[leader] = self._in_flight.get(leader, 0) + 1
            try:
                await self.poll_leader(leader, sink)
            except (RetryableError, VenueError) as exc:
                self.errors += 1
                log.warning("poll failed", leader=leader, error=str(exc))
                return False
            except Exception as exc:  # noqa: BLE001 - e.g. the database: the cursor did not move, next round retries
                self.errors += 1
                log.error("poll round failed; retrying next round", leader=leader, error=repr(exc))
                return False
            finally:
                left = self._in_flight.pop(leader, 1) - 1
                if left:
                    self._in_flight[leader] = left
                self._poll_ended.set()
            return True

    async def run_round(self, sink: SignalSink) -> None:
        """Poll every leader once, up to ``MAX_IN_FLIGHT`` requests at a time (a round must not take
        leaders x latency), starting one further each round so a tight budget stays fair."""
        count = len(self._leaders)
        order = [self._leaders[(self._next + i) % count] for i in range(count)]
        slots = asyncio.Semaphore(self.MAX_IN_FLIGHT)
        async with asyncio.TaskGroup() as group:
            tasks = [group.create_task(self._poll_guarded(leader, slots, sink)) for leader in order]
        self.healthy = all(task.result() for task in tasks)
        self._next = (self._next + 1) % max(count, 1)

    async def run(self, sink: SignalSink) -> None:
        """Poll every leader round after round into ``sink`` until :meth:`close` (or cancelled)."""
        while not self._closed.is_set():
            raise_if_cancelled()  # a cancel swallowed inside the loop
            started = time.monotonic()
            await self.run_round(sink)
            interval = self._interval_ms if self._push_healthy() else self._degraded_ms
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(
                    self._closed.wait(), max(0.0, interval / 1000 - (time.monotonic() - started))
                )


def poll_source(deps: SourceDeps) -> DataApiPoller:
    """The ingest service's factory: the poller over the caller's Data API client."""
    ing = deps.settings.ingest
    return DataApiPoller(
        deps.clients.data_api,
        deps.leaders,
        deps.cursors,
        signals_from_activity,
        interval_ms=ing.poll_interval_ms,
        degraded_interval_ms=ing.poll_interval_degraded_ms,
        replay_window_s=ing.replay_window_s,
        budget=RequestBudget(ing.poll_requests_per_10s),
        page_limit=ing.poll_page_limit,
        push_healthy=deps.push_healthy,
        on_stale=deps.on_stale,
        follow_from_s=deps.follow_from_s,
        quarantine=RowQuarantine(fill_bounds(deps.settings)),
        rejects=deps.metrics.rejected(SourceKind.POLL.value),
    )
