"""The dashboard's leader ranking cache (api/leader_rank.py): requests at the same time read a leader's
history from the Data API once; it is kept for its time to live, then read again; a failed read is
raised to every waiter and not kept."""

from __future__ import annotations

import asyncio
from typing import Any, cast

import pytest

from polyhunter.adapters.polymarket.data_api_client import DataApiClient
from polyhunter.api.leader_rank import LeaderRankings
from polyhunter.domain.errors import PolyHunterError
from polyhunter.domain.leader_stats import RankBy

LEADER = "0x" + "ab" * 20


class _DataApi:
    """No fills, no positions; `activity` waits on `gate` and fails while `fail` is set."""

    def __init__(self) -> None:
        self.reads = 0
        self.fail = False
        self.gate = asyncio.Event()

    async def activity(self, user: str, **_: Any) -> list[Any]:
        self.reads += 1
        await self.gate.wait()
        if self.fail:
            raise PolyHunterError("Data API down")
        return []

    async def positions(self, user: str) -> list[Any]:
        return []


async def test_one_read_at_a_time_kept_for_its_ttl() -> None:
    api, now = _DataApi(), [0.0]
    rankings = LeaderRankings(cast(DataApiClient, api), ttl_s=60, clock=lambda: now[0])
    asked = [
        asyncio.create_task(rankings.rank([LEADER.upper().replace("0X", "0x")], RankBy.PNL)) for _ in range(5)
    ]
    await asyncio.sleep(0)
    api.gate.set()
    results = await asyncio.gather(*asked)
    assert api.reads == 1 == rankings.fetches
    assert all(r["leaders"][0]["leader"] == LEADER for r in results)
    now[0] = 59.0
    await rankings.rank([LEADER], RankBy.PNL)
    assert api.reads == 1
    now[0] = 61.0
    await rankings.rank([LEADER], RankBy.PNL)
    assert api.reads == 2


async def test_a_failed_read_reaches_every_waiter_and_is_not_kept() -> None:
    api = _DataApi()
    api.fail = True
    rankings = LeaderRankings(cast(DataApiClient, api), ttl_s=60)
    asked = [asyncio.create_task(rankings.rank([LEADER], RankBy.PNL)) for _ in range(3)]
    await asyncio.sleep(0)
    api.gate.set()
    for task in asked:
        with pytest.raises(PolyHunterError):
            await task
    assert api.reads == 1
    api.fail = False
    assert (await rankings.rank([LEADER], RankBy.PNL))["leaders"][0]["fills"] == 0
    assert api.reads == 2
