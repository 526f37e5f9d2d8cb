"""Polling cursors and the Data API poller, against an in-memory /activity that pages like the live one.

No I/O: the "API" is a list of rows served with the live paging rules (ascending by time then insertion,
``start`` inclusive, ``limit`` clamped to 500, ``offset`` past 5,000 rejected with a 400).
"""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from decimal import Decimal
from typing import Any

import pytest

from polyhunter.adapters.polymarket.data_api_client import ACTIVITY_MAX_LIMIT, ACTIVITY_MAX_OFFSET
from polyhunter.adapters.polymarket.wire_data_api import DataActivity
from polyhunter.domain.signal import Signal
from polyhunter.ingest.cursors import Cursor, MemoryCursorStore
from polyhunter.ingest.data_api_poll import SOURCE, DataApiPoller
from polyhunter.ingest.rate_budget import RequestBudget
from tests.support.fill_ledger import wait_for
from tests.support.poller_fakes import NOW, A, B, C, FakeActivityApi, Recorder, key_of, make_poller, row

# -- Cursor.advance ----------------------------------------------------------------------------------


def test_advance_keeps_every_key_of_the_top_second() -> None:
    cursor = Cursor(A, SOURCE, 100)
    moved = cursor.advance([(101, "k1"), (102, "k2"), (102, "k3"), (101, "k4")])
    assert moved.last_ts == 102
    assert moved.seen_keys == frozenset({"k2", "k3"})


def test_advance_within_the_same_second_adds_keys() -> None:
    cursor = Cursor(A, SOURCE, 102, frozenset({"k2"}))
    assert cursor.advance([(102, "k3")]).seen_keys == frozenset({"k2", "k3"})


def test_advance_to_a_newer_second_forgets_older_keys() -> None:
    cursor = Cursor(A, SOURCE, 102, frozenset({"k2"}))
    moved = cursor.advance([(102, "k3"), (103, "k5")])
    assert (moved.last_ts, moved.seen_keys) == (103, frozenset({"k5"}))


def test_advance_never_moves_back() -> None:
    cursor = Cursor(A, SOURCE, 102, frozenset({"k2"}))
    assert cursor.advance([(100, "old")]) is cursor
    assert cursor.advance([]) is cursor


# -- poller: resume, replay window, offsets ---------------------------------------------------------


async def test_new_leader_starts_from_now() -> None:
    api, store, rec = FakeActivityApi(), MemoryCursorStore(), Recorder()
    api.add(row(A, NOW - 50, 1))  # history before we followed the leader
    await make_poller(api, store, rec).poll_leader(A)
    assert rec.signals == []
    cursor = await store.load(A, SOURCE)
    assert cursor is not None
    assert cursor.last_ts == NOW


async def test_new_leader_is_followed_from_when_following_began() -> None:
    api, store, rec = FakeActivityApi(), MemoryCursorStore(), Recorder()
    api.add(row(A, NOW - 50, 1))  # before the service started: history
    api.add(row(A, NOW - 3, 2, size="20"))  # after it started, before its first poll (push still connecting)
    await make_poller(api, store, rec, follow_from_s=NOW - 5).poll_leader(A)
    assert [s.size for s in rec.signals] == [Decimal(20)]
    cursor = await store.load(A, SOURCE)
    assert cursor is not None
    assert cursor.last_ts == NOW - 3


async def test_restart_skips_exactly_the_keys_emitted_at_the_cursor_second() -> None:
    api, store, rec = FakeActivityApi(), MemoryCursorStore(), Recorder()
    await store.save(Cursor(A, SOURCE, NOW - 10))
    first = [row(A, NOW - 5, 1), row(A, NOW - 3, 2), row(A, NOW - 3, 3, size="7")]
    # two identical legs of one transaction: ordinals 0 and 1
    twins = [row(A, NOW - 3, 4), row(A, NOW - 3, 4)]
    api.add(*first, *twins)
    assert await make_poller(api, store, rec, now=NOW).poll_leader(A) == 5
    cursor = await store.load(A, SOURCE)
    assert cursor is not None
    assert cursor.last_ts == NOW - 3
    assert len(cursor.seen_keys) == 4

    # more fills land in the cursor's own second and later; a new process resumes from the store
    late = [row(A, NOW - 3, 5), row(A, NOW - 1, 6)]
    api.add(*late)
    rec2 = Recorder()
    assert await make_poller(api, store, rec2, now=NOW + 2).poll_leader(A) == 2
    assert [s.key for s in rec2.signals] == [key_of(r) for r in late]
    all_keys = [s.key for s in rec.signals + rec2.signals]
    assert len(all_keys) == len(set(all_keys)) == 7
    assert key_of(twins[1], 1) in all_keys

    rec3 = Recorder()
    assert await make_poller(api, store, rec3, now=NOW + 4).poll_leader(A) == 0


async def test_misses_older_than_the_replay_window_are_stale_not_emitted() -> None:
    api, store, rec = FakeActivityApi(), MemoryCursorStore(), Recorder()
    await store.save(Cursor(A, SOURCE, NOW - 3_000))  # down for 50 minutes
    old = [row(A, NOW - 2_000, 1), row(A, NOW - 601, 2)]
    fresh = [row(A, NOW - 599, 3), row(A, NOW - 10, 4)]
    api.add(*old, *fresh)
    poller = make_poller(api, store, rec, now=NOW, replay_window_s=600)
    assert await poller.poll_leader(A) == 2
    assert [s.key for s in rec.signals] == [key_of(r) for r in fresh]
    assert [s.key for s in rec.stale] == [key_of(r) for r in old]
    assert poller.stale == 2
    # the cursor moved past the stale ones too: they are never reported again
    again = Recorder()
    assert await make_poller(api, store, again, now=NOW + 1).poll_leader(A) == 0
    assert again.stale == []


async def test_a_failing_sink_costs_a_round_not_the_poller_or_the_fill() -> None:
    """The engine's write failed (e.g. the database timed out): the poller logs it, keeps its cursor and
    hands the same fill on in the next round."""
    api, store, rec = FakeActivityApi(), MemoryCursorStore(), Recorder()
    await store.save(Cursor(A, SOURCE, NOW - 10))
    api.add(row(A, NOW - 5, 7))
    failures = [TimeoutError("QueuePool limit reached")]

    async def flaky(signals: list[Signal]) -> None:
        if failures:
            raise failures.pop()
        await rec.sink(signals)

    poller = make_poller(api, store, rec)
    rec.downstream = flaky  # the engine's sink, failing once
    await poller.run_round()
    assert rec.signals == []
    assert not poller.healthy
    assert poller.errors == 1
    cursor = await store.load(A, SOURCE)
    assert cursor is not None
    assert cursor.last_ts == NOW - 10
    await poller.run_round()
    assert len(rec.signals) == 1
    assert poller.healthy


@pytest.mark.parametrize("per_second", [7, 500, 1_200])
async def test_more_than_the_offset_cap_is_read_once_each(per_second: int) -> None:
    """5,600 fills since the cursor: past offset 5,000 the window moves; no fill lost or repeated."""
    api, store, rec = FakeActivityApi(), MemoryCursorStore(), Recorder()
    await store.save(Cursor(A, SOURCE, NOW - 100))
    total = 5_600
    rows = []
    for n in range(total):
        twin = n % 10 in (0, 1)  # every 10th fill has an identical twin leg in its transaction
        ts = NOW - 99 + (n - n % 10 if twin else n) // per_second
        rows.append(row(A, ts, n // 2 if twin else n + 100_000))
    api.add(*rows)
    # the last fills are 700 s after the cursor: the poll runs after them (a fill from the future is rejected)
    poller = make_poller(api, store, rec, now=NOW + 800, replay_window_s=3_600)
    assert await poller.poll_leader(A) == total
    keys = Counter(s.key for s in rec.signals)
    assert len(keys) == total
    assert max(keys.values()) == 1
    assert all(offset <= ACTIVITY_MAX_OFFSET for _, _, offset in api.calls)


async def test_more_than_the_cap_in_one_second_takes_what_the_api_allows() -> None:
    api, store, rec = FakeActivityApi(), MemoryCursorStore(), Recorder()
    await store.save(Cursor(A, SOURCE, NOW - 1))
    api.add(*(row(A, NOW - 1, n) for n in range(ACTIVITY_MAX_OFFSET + 700)))
    poller = make_poller(api, store, rec)
    emitted = await asyncio.wait_for(poller.poll_leader(A), 10)
    assert emitted == ACTIVITY_MAX_OFFSET
    assert len({s.key for s in rec.signals}) == emitted


@pytest.mark.parametrize("per_second", [7, 500, 3_000])
async def test_a_poller_behind_reads_a_bounded_number_of_rows_a_round(per_second: int) -> None:
    """5,600 fills since the cursor and at most 2,000 rows a round: three rounds or more read them all,
    each once, none holds more than the bound and a page (a second of 3,000 fills is read whole)."""
    api, store, rec = FakeActivityApi(), MemoryCursorStore(), Recorder()
    await store.save(Cursor(A, SOURCE, NOW - 100))
    api.add(*(row(A, NOW - 99 + n // per_second, n) for n in range(5_600)))
    poller = make_poller(api, store, rec, now=NOW + 800, replay_window_s=3_600, max_rows=2_000)
    reads = []
    while len(rec.signals) < 5_600:
        before = len(api.calls)
        reads.append(await poller.poll_leader(A))
        assert len(reads) < 10, reads
        assert reads[-1] > 0
        if per_second < 2_000:
            assert (len(api.calls) - before) * ACTIVITY_MAX_LIMIT <= 2_000 + ACTIVITY_MAX_LIMIT
    assert len(reads) >= 3 if per_second < 2_000 else len(reads) >= 2
    assert len({s.key for s in rec.signals}) == len(rec.signals) == 5_600


@pytest.mark.parametrize(("page_limit", "sent"), [(100, 100), (500, 500), (2_000, ACTIVITY_MAX_LIMIT)])
async def test_pages_have_the_configured_size_clamped_to_the_api_max(page_limit: int, sent: int) -> None:
    api, store, rec = FakeActivityApi(), MemoryCursorStore(), Recorder()
    await store.save(Cursor(A, SOURCE, NOW - 100))
    api.add(*(row(A, NOW - 99 + n // 10, n) for n in range(250)))
    poller = make_poller(api, store, rec, page_limit=page_limit)
    assert poller.page_limit == sent
    assert await poller.poll_leader(A) == 250
    assert set(api.limits) == {sent}
    assert [offset for _, _, offset in api.calls] == list(range(0, 250 // sent * sent + 1, sent))
    assert len({s.key for s in rec.signals}) == 250


@pytest.mark.parametrize("per_second", [7, 1_200])
async def test_small_pages_still_read_past_the_offset_cap_once_each(per_second: int) -> None:
    api, store, rec = FakeActivityApi(), MemoryCursorStore(), Recorder()
    await store.save(Cursor(A, SOURCE, NOW - 100))
    api.add(*(row(A, NOW - 99 + n // per_second, n) for n in range(5_600)))
    poller = make_poller(api, store, rec, now=NOW + 800, replay_window_s=3_600, page_limit=300)
    assert await poller.poll_leader(A) == 5_600
    assert len({s.key for s in rec.signals}) == len(rec.signals) == 5_600
    assert all(offset <= ACTIVITY_MAX_OFFSET for _, _, offset in api.calls)
    assert set(api.limits) == {300}


def test_a_page_limit_below_one_is_refused() -> None:
    with pytest.raises(ValueError, match="page_limit"):
        make_poller(FakeActivityApi(), MemoryCursorStore(), Recorder(), page_limit=0)


# -- round-robin, failures, cadence -----------------------------------------------------------------


async def test_round_robin_starts_one_further_each_round() -> None:
    api, store, rec = FakeActivityApi(), MemoryCursorStore(), Recorder()
    poller = make_poller(api, store, rec, leaders=(A, B, C))
    for _ in range(4):
        await poller.run_round()
    order = [user for user, _, _ in api.calls]
    assert order == [A, B, C, B, C, A, C, A, B, A, B, C]
    assert Counter(order) == {A: 4, B: 4, C: 4}


async def test_a_failing_leader_does_not_stop_the_others() -> None:
    api, store, rec = FakeActivityApi(), MemoryCursorStore(), Recorder()
    for leader in (A, B, C):
        await store.save(Cursor(leader, SOURCE, NOW - 10))
        api.add(row(leader, NOW - 5, int(leader[2:6], 16)))
    api.failing.add(B)
    poller = make_poller(api, store, rec, leaders=(A, B, C))
    await poller.run_round()
    assert {s.leader for s in rec.signals} == {A, C}
    assert not poller.healthy
    assert poller.errors == 1
    b_cursor = await store.load(B, SOURCE)
    assert b_cursor is not None
    assert b_cursor.last_ts == NOW - 10  # not advanced: retried next round

    api.failing.clear()
    await poller.run_round()
    assert {s.leader for s in rec.signals} == {A, B, C}
    assert len(rec.signals) == 3
    assert poller.healthy


@pytest.mark.parametrize(("push_healthy", "fast"), [(True, False), (False, True)])
async def test_cadence_speeds_up_while_push_is_unhealthy(push_healthy: bool, fast: bool) -> None:
    api, store, rec = FakeActivityApi(), MemoryCursorStore(), Recorder()
    poller = make_poller(api, store, rec, push_healthy=push_healthy)
    task = asyncio.create_task(poller.run())
    # interval 1,000 ms healthy, 50 ms degraded: 4 polls take ~0.15 s fast, 3 s slow. The fast case waits
    # up to 2.5 s for the 4th poll (a busy machine stretches 50 ms steps); the slow one gets 0.4 s.
    await wait_for(lambda: poller.polls >= 4, 2.5 if fast else 0.4, 0.01)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert (poller.polls >= 4) is fast
    assert poller.polls >= 1


class CountingStore(MemoryCursorStore):
    def __init__(self) -> None:
        super().__init__()
        self.saves = 0

    async def save(self, cursor: Cursor) -> None:
        self.saves += 1
        await super().save(cursor)


async def test_an_idle_leader_is_not_written_every_poll() -> None:
    api, store, rec = FakeActivityApi(), CountingStore(), Recorder()
    await store.save(Cursor(A, SOURCE, NOW - 10))
    poller = make_poller(api, store, rec)
    for _ in range(5):
        await poller.poll_leader(A)
    assert store.saves == 1
    api.add(row(A, NOW - 2, 1))
    await poller.poll_leader(A)
    assert store.saves == 2
    await poller.poll_leader(A)  # the same row again: skipped by key, nothing new to save
    assert store.saves == 2
    assert len(rec.signals) == 1


class SlowApi(FakeActivityApi):
    """Every answer takes ``delay_s`` (the live Data API: ~100-300 ms per request)."""

    def __init__(self, delay_s: float) -> None:
        super().__init__()
        self.delay_s = delay_s
        self.in_flight = 0
        self.max_in_flight = 0

    async def activity(self, user: str, **kwargs: Any) -> list[DataActivity]:
        self.in_flight += 1
        self.max_in_flight = max(self.max_in_flight, self.in_flight)
        try:
            await asyncio.sleep(self.delay_s)
            return await super().activity(user, **kwargs)
        finally:
            self.in_flight -= 1


async def test_a_round_is_not_bound_by_request_latency() -> None:
    """40 leaders at 200 ms a request: one after the other a round would take 8 s, so a fill waits
    that long whatever the cadence; in flight together (within the budget) it takes about 200 ms."""
    api, store, rec = SlowApi(0.2), MemoryCursorStore(), Recorder()
    leaders = [f"0x{i:040x}" for i in range(1, 41)]
    for leader in leaders:
        await store.save(Cursor(leader, SOURCE, NOW - 10))
        api.add(row(leader, NOW - 5, int(leader, 16)))
    poller = make_poller(api, store, rec, leaders=leaders)
    started = time.monotonic()
    await poller.run_round()
    assert time.monotonic() - started < 4.0  # one after the other: 8 s (loose: a busy CI core is slow)
    assert len(rec.signals) == 40
    assert 1 < api.max_in_flight <= DataApiPoller.MAX_IN_FLIGHT


async def test_the_request_budget_still_bounds_a_round() -> None:
    api, store, rec = FakeActivityApi(), MemoryCursorStore(), Recorder()
    leaders = [f"0x{i:040x}" for i in range(1, 21)]
    poller = make_poller(api, store, rec, leaders=leaders)
    poller._budget = RequestBudget(10, per_seconds=1.0)  # 10 now, then 10 a second
    started = time.monotonic()
    await poller.run_round()
    assert 0.8 < time.monotonic() - started < 5.0  # the budget's wait; the upper bound only catches a hang
    assert len(api.calls) == 20
