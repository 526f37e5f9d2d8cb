"""A cancel swallowed by a call inside a long-lived loop is honoured at the loop's next round (a dedup
claim keeper refreshed its claims forever after shutdown: `asyncio.run` never returned)."""

from __future__ import annotations

import asyncio
import contextlib

from polyhunter.coord.memory import MemoryCoordinator
from polyhunter.ingest.dedup import CoordinatorDedup
from polyhunter.ports.coordinator import Claim
from polyhunter.task_drain import raise_if_cancelled


class SwallowingCoordinator(MemoryCoordinator):
    """A claim that, like a client call seen in the wild, catches the cancel and answers anyway."""

    def __init__(self) -> None:
        super().__init__()
        self.claims = 0
        self.claiming = asyncio.Event()

    async def claim(self, key: str, owner: str, ttl_ms: int) -> Claim:
        self.claims += 1
        self.claiming.set()
        with contextlib.suppress(asyncio.CancelledError):
            await asyncio.sleep(10)
        return Claim.MINE


async def test_a_claim_keeper_ends_when_its_cancel_was_swallowed() -> None:
    coord = SwallowingCoordinator()
    dedup = CoordinatorDedup(coord, 60.0, claim_ttl_s=0.03)
    keeper = asyncio.create_task(dedup.hold(["k1"]))
    await asyncio.wait_for(coord.claiming.wait(), 5)
    keeper.cancel()
    _, running = await asyncio.wait([keeper], timeout=5)
    assert not running, "the keeper went on refreshing after its cancel was swallowed"
    assert keeper.cancelled()
    assert coord.claims == 1


async def test_raise_if_cancelled_is_quiet_without_a_cancel_and_after_a_timeout() -> None:
    raise_if_cancelled()  # nothing requested
    with contextlib.suppress(TimeoutError):
        async with asyncio.timeout(0.01):  # a timeout's own cancel is taken back by the timeout
            await asyncio.sleep(1)
    raise_if_cancelled()
