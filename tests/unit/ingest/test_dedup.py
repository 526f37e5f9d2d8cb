"""DedupSet: first source wins, late duplicates counted per source, TTL and size bounds."""

from __future__ import annotations

import asyncio

import pytest

from polyhunter.coord.memory import MemoryCoordinator
from polyhunter.domain.signal import SourceKind
from polyhunter.ingest.dedup import CoordinatorDedup, DedupSet

WS, POLL, CHAIN = SourceKind.WS, SourceKind.POLL, SourceKind.CHAIN


class FakeClock:
    def __init__(self) -> None:
        self.t = 1_000.0

    def __call__(self) -> float:
        return self.t


def test_first_source_wins_and_late_copies_are_counted_per_source() -> None:
    d = DedupSet(ttl_s=60, max_keys=1_000)
    assert d.check("k1", WS) is True
    assert d.check("k1", POLL) is False
    assert d.check("k1", CHAIN) is False
    assert d.check("k1", POLL) is False
    assert d.check("k2", POLL) is True
    assert d.stats.first == {WS: 1, POLL: 1, CHAIN: 0, SourceKind.MEMPOOL: 0}
    assert d.stats.late == {WS: 0, POLL: 2, CHAIN: 1, SourceKind.MEMPOOL: 0}
    assert d.stats.late_by_winner == {(POLL, WS): 2, (CHAIN, WS): 1}


async def test_async_first_seen_is_the_same_gate() -> None:
    d = DedupSet(ttl_s=60)
    assert await d.first_seen("k", CHAIN) is True
    assert await d.first_seen("k", WS) is False
    assert d.stats.late[WS] == 1


def test_keys_live_at_least_ttl_then_expire() -> None:
    clock = FakeClock()
    d = DedupSet(ttl_s=10, max_keys=1_000, clock=clock)
    d.check("old", WS)
    clock.t += 9.9
    assert d.check("old", POLL) is False  # within the TTL
    clock.t += 0.2  # first rotation: "old" moves to the previous generation, still remembered
    assert d.check("other", WS) is True
    assert "old" in d
    clock.t += 10.0  # second rotation: the previous generation is dropped
    assert d.check("old", POLL) is True
    assert d.evicted_early == 0


def test_memory_is_bounded_under_a_flood_of_new_keys() -> None:
    clock = FakeClock()
    d = DedupSet(ttl_s=3_600, max_keys=1_000, clock=clock)
    for i in range(50_000):
        assert d.check(f"k{i}", WS) is True
        assert len(d) <= 1_000
    assert d.rotations >= 98
    assert d.evicted_early > 0  # the size bound, not the TTL, evicted: reported
    # the most recent keys are still deduplicated
    assert d.check("k49999", POLL) is False


def test_rejects_bad_bounds() -> None:
    with pytest.raises(ValueError, match="ttl_s"):
        DedupSet(ttl_s=0)
    with pytest.raises(ValueError, match="max_keys"):
        DedupSet(ttl_s=1, max_keys=1)


async def test_coordinator_dedup_shares_one_winner_between_processes() -> None:
    coord = MemoryCoordinator()
    a = CoordinatorDedup(coord, ttl_s=60, prefix="t:")
    b = CoordinatorDedup(coord, ttl_s=60, prefix="t:")
    assert await a.first_seen("k", WS) is True
    await a.finalize(["k"])  # a's signal is durable
    assert await b.first_seen("k", POLL) is False
    assert a.stats.first[WS] == 1
    assert b.stats.late[POLL] == 1


async def test_a_claim_waits_until_final_or_expired() -> None:
    """A key claimed by another process is not a duplicate yet: the second source waits; the claim
    turns final (duplicate), or its holder dies and the claim expires (the second source takes it)."""
    coord = MemoryCoordinator()
    a = CoordinatorDedup(coord, ttl_s=60, prefix="t:", claim_ttl_s=0.2)
    b = CoordinatorDedup(coord, ttl_s=60, prefix="t:", claim_ttl_s=0.2)
    assert await a.first_seen("k1", WS) is True
    waiting = asyncio.create_task(b.first_seen("k1", POLL))
    holding = asyncio.create_task(a.hold(["k1"]))  # a still hands it on: its claim is kept alive
    while b.claim_waits < 3:  # noqa: ASYNC110 - waits for a counter of b's
        await asyncio.sleep(0.02)
    assert not waiting.done()
    holding.cancel()
    await a.finalize(["k1"])
    assert await waiting is False

    assert await a.first_seen("k2", WS) is True  # ... and a dies here: never made final
    assert await b.first_seen("k2", POLL) is True  # after the claim expired
    assert b.claim_waits > 3


async def test_forget_drops_only_the_own_claim() -> None:
    coord = MemoryCoordinator()
    a = CoordinatorDedup(coord, ttl_s=60, prefix="t:", claim_ttl_s=60)
    b = CoordinatorDedup(coord, ttl_s=60, prefix="t:", claim_ttl_s=60)
    assert await a.first_seen("k", WS) is True
    await b.forget("k")  # not b's claim
    await a.forget("k")  # a's hand-off failed
    assert await b.first_seen("k", POLL) is True
