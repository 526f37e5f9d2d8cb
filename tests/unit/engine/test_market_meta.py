"""The market directory: one lookup per market however many wait, failures remembered briefly."""

from __future__ import annotations

import asyncio

from polyhunter.domain.copy_config import MarketRef
from polyhunter.engine.market_meta import MarketDirectory


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


class Gamma:
    def __init__(self) -> None:
        self.calls = 0
        self.down = False
        self.known = {"0xaa": MarketRef("0xaa", "nba-game", frozenset({"sports"}))}

    async def __call__(self, condition_id: str) -> MarketRef | None:
        self.calls += 1
        await asyncio.sleep(0.01)
        if self.down:
            raise ConnectionError("gamma down")
        return self.known.get(condition_id)


async def test_concurrent_lookups_of_one_market_fetch_once_and_cache() -> None:
    gamma, clock = Gamma(), Clock()
    directory = MarketDirectory(gamma, ttl_ms=1_000, clock=clock)
    found = await asyncio.gather(*(directory.market("0xAA") for _ in range(50)))
    assert found == [gamma.known["0xaa"]] * 50
    assert gamma.calls == 1
    clock.now = 0.5
    assert await directory.market("0xaa") == gamma.known["0xaa"]
    assert gamma.calls == 1
    clock.now = 2.0  # past the TTL: fetched again
    await directory.market("0xaa")
    assert gamma.calls == 2


async def test_failures_and_unknown_markets_answer_none_and_are_retried_after_a_while() -> None:
    gamma, clock = Gamma(), Clock()
    directory = MarketDirectory(gamma, failure_ttl_s=5, clock=clock)
    gamma.down = True
    assert await directory.market("0xaa") is None
    assert await directory.market("0xaa") is None  # remembered: no second request during the outage
    assert (gamma.calls, directory.failures) == (1, 1)
    gamma.down = False
    clock.now = 6.0
    assert await directory.market("0xaa") == gamma.known["0xaa"]
    assert gamma.calls == 2
    assert await directory.market("0xbb") is None  # unknown: not cached as a market
    clock.now = 12.0
    gamma.known["0xbb"] = MarketRef("0xbb", "new-market")
    assert await directory.market("0xbb") == gamma.known["0xbb"]
