"""The same contract for the in-memory and the Redis coordinator (Redis over a real connection)."""

from __future__ import annotations

import asyncio
import socket
import uuid
from collections.abc import AsyncIterator

import pytest

from polyhunter.coord.memory import MemoryCoordinator
from polyhunter.coord.redis_coord import RedisCoordinator
from polyhunter.ports.coordinator import Claim, Coordinator, CoordinatorUnavailable


@pytest.fixture(params=["memory", "redis"])
async def coord(request: pytest.FixtureRequest) -> AsyncIterator[Coordinator]:
    c: Coordinator
    if request.param == "memory":
        c = MemoryCoordinator()
    else:
        c = RedisCoordinator("redis://127.0.0.1:6379/0", prefix=f"phtest-{uuid.uuid4().hex[:8]}")
    yield c
    await c.close()


async def test_first_seen_once_under_concurrency(coord: Coordinator) -> None:
    results = await asyncio.gather(*(coord.first_seen("sig-1", 60_000) for _ in range(50)))
    assert results.count(True) == 1
    assert await coord.first_seen("sig-2", 60_000)


async def test_first_seen_expires(coord: Coordinator) -> None:
    assert await coord.first_seen("short", 50)
    await asyncio.sleep(0.12)
    assert await coord.first_seen("short", 50)


async def test_forget_makes_the_next_caller_first(coord: Coordinator) -> None:
    assert await coord.first_seen("sig-f", 60_000)
    assert not await coord.first_seen("sig-f", 60_000)
    await coord.forget("sig-f")
    assert await coord.first_seen("sig-f", 60_000)
    assert not await coord.first_seen("sig-f", 60_000)
    await coord.forget("never-seen")  # harmless


async def test_counters(coord: Coordinator) -> None:
    assert await coord.incr("spent", 5, 60_000) == 5
    totals = await asyncio.gather(*(coord.incr("spent", 1, 60_000) for _ in range(20)))
    assert max(totals) == 25
    assert await coord.get_counter("spent") == 25
    assert await coord.get_counter("nothing") == 0


async def test_locks(coord: Coordinator) -> None:
    assert await coord.acquire("wallet-1", "a", 60_000)
    assert await coord.acquire("wallet-1", "a", 60_000)
    assert not await coord.acquire("wallet-1", "b", 60_000)
    assert not await coord.release("wallet-1", "b")
    assert await coord.release("wallet-1", "a")
    assert await coord.acquire("wallet-1", "b", 60_000)


async def test_queue_fifo_and_timeout(coord: Coordinator) -> None:
    assert await coord.pop("q", 20) is None
    await coord.push("q", b"1")
    await coord.push("q", b"2")
    assert await coord.queue_length("q") == 2
    assert await coord.pop("q", 100) == b"1"
    assert await coord.pop("q", 100) == b"2"
    waiter = asyncio.create_task(coord.pop("q", 2000))
    await asyncio.sleep(0.05)
    await coord.push("q", b"3")
    assert await waiter == b"3"


async def test_add_if_present_never_creates_a_counter(coord: Coordinator) -> None:
    assert await coord.add_if_present(["u", "g"], 5) is None  # missing: nothing changes
    assert await coord.get_counter("u") == 0
    await coord.seed_counters({"u": 10}, 60_000)
    assert await coord.add_if_present(["u", "g"], 5) is None  # one missing: the other is untouched
    assert await coord.get_counter("u") == 10
    await coord.seed_counters({"u": 99, "g": 100}, 60_000)  # "u" exists: it keeps its value
    assert await coord.add_if_present(["u", "g"], 5) == [15, 105]
    assert await coord.add_if_present(["u"], -15) == [0]
    totals = await asyncio.gather(*(coord.add_if_present(["u", "g"], 1) for _ in range(20)))
    assert max(t[0] for t in totals if t is not None) == 20
    assert await coord.get_counter("g") == 125


async def test_dropped_counters_read_missing_and_can_be_seeded_again(coord: Coordinator) -> None:
    await coord.seed_counters({"u": 10, "g": 20, "other": 5}, 60_000)
    await coord.drop_counters(["u", "g"])
    assert await coord.add_if_present(["u"], 1) is None
    assert await coord.add_if_present(["g"], 1) is None
    assert await coord.add_if_present(["other"], 1) == [6]  # untouched
    await coord.drop_counters(["u", "never-there"])  # dropping a missing counter is no error
    await coord.seed_counters({"u": 3}, 60_000)
    assert await coord.add_if_present(["u"], 1) == [4]


async def test_seeded_counters_expire(coord: Coordinator) -> None:
    await coord.seed_counters({"short": 7}, 50)
    assert await coord.add_if_present(["short"], 1) == [8]
    await asyncio.sleep(0.12)
    assert await coord.add_if_present(["short"], 1) is None


async def test_an_unreachable_redis_raises_coordinator_unavailable() -> None:
    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    coord = RedisCoordinator(f"redis://127.0.0.1:{port}/0", prefix="phtest-down")
    try:
        with pytest.raises(CoordinatorUnavailable):
            await coord.add_if_present(["u"], 1)
        with pytest.raises(CoordinatorUnavailable):
            await coord.seed_counters({"u": 1}, 60_000)
        with pytest.raises(CoordinatorUnavailable):
            await coord.drop_counters(["u"])
    finally:
        await coord.close()


async def test_claim_is_mine_then_claimed_for_others_until_final(coord: Coordinator) -> None:
    results = await asyncio.gather(*(coord.claim("c-1", f"owner-{i}", 60_000) for i in range(20)))
    assert results.count(Claim.MINE) == 1
    assert results.count(Claim.CLAIMED) == 19
    owner = f"owner-{results.index(Claim.MINE)}"
    assert await coord.claim("c-1", owner, 60_000) is Claim.MINE  # refreshed, still its own
    await coord.finalize("c-1", 60_000)
    assert await coord.claim("c-1", owner, 60_000) is Claim.FINAL
    assert await coord.claim("c-1", "someone", 60_000) is Claim.FINAL
    assert not await coord.first_seen("c-1", 60_000)


async def test_a_claim_not_made_final_expires_and_the_next_owner_takes_it(coord: Coordinator) -> None:
    assert await coord.claim("c-2", "dead", 80) is Claim.MINE
    assert await coord.claim("c-2", "alive", 60_000) is Claim.CLAIMED
    deadline = asyncio.get_running_loop().time() + 5
    while (found := await coord.claim("c-2", "alive", 60_000)) is Claim.CLAIMED:
        assert asyncio.get_running_loop().time() < deadline
        await asyncio.sleep(0.02)
    assert found is Claim.MINE


async def test_refreshing_a_claim_keeps_it(coord: Coordinator) -> None:
    assert await coord.claim("c-3", "a", 150) is Claim.MINE
    for _ in range(5):
        await asyncio.sleep(0.05)
        assert await coord.claim("c-3", "a", 150) is Claim.MINE
        assert await coord.claim("c-3", "b", 150) is Claim.CLAIMED


async def test_unclaim_drops_only_the_owners_own_claim(coord: Coordinator) -> None:
    assert await coord.claim("c-4", "a", 60_000) is Claim.MINE
    await coord.unclaim("c-4", "b")  # not its claim: kept
    assert await coord.claim("c-4", "b", 60_000) is Claim.CLAIMED
    await coord.unclaim("c-4", "a")
    assert await coord.claim("c-4", "b", 60_000) is Claim.MINE
    await coord.finalize("c-4", 60_000)
    await coord.unclaim("c-4", "b")  # final: kept
    assert await coord.claim("c-4", "a", 60_000) is Claim.FINAL


async def test_a_key_taken_with_first_seen_reads_final(coord: Coordinator) -> None:
    assert await coord.first_seen("c-5", 60_000)
    assert await coord.claim("c-5", "a", 60_000) is Claim.FINAL
    assert await coord.claim("c-6", "a", 60_000) is Claim.MINE
    assert not await coord.first_seen("c-6", 60_000)  # a live claim is not free for first_seen


async def test_finalize_outlives_the_claim_ttl(coord: Coordinator) -> None:
    assert await coord.claim("c-7", "a", 60) is Claim.MINE
    await coord.finalize("c-7", 60_000)
    await asyncio.sleep(0.15)
    assert await coord.claim("c-7", "b", 60_000) is Claim.FINAL
