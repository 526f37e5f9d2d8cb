"""Leader analytics for the dashboard (`GET /api/v1/leaders/rank`): `leaders rank`'s computation
(analytics/ranking.py) over each leader's history from the Data API. A leader's history is kept for
`ttl_s` (default a minute) and fetched once however many requests want it at the same time, at most
`MAX_READING` leaders at once, so the dashboard cannot hammer the Data API; at most `MAX_ADDRESSES`
leaders a request."""

from __future__ import annotations

import asyncio
import time
from collections import OrderedDict
from collections.abc import Callable
from typing import Any

from polyhunter.adapters.polymarket.data_api_client import DataApiClient
from polyhunter.analytics.ranking import live_history, merged, ranking_json
from polyhunter.domain.history import History
from polyhunter.domain.leader_stats import RankBy

MAX_ADDRESSES = 10
CACHE_TTL_S = 60.0
MAX_CACHED = 512  # leaders' histories kept (oldest dropped first)
MAX_READING = 4  # leaders' histories read from the Data API at the same time, whoever asks


class LeaderRankings:
    def __init__(
        self,
        client: DataApiClient,
        ttl_s: float = CACHE_TTL_S,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._client = client
        self._ttl_s = ttl_s
        self._clock = clock
        self._cache: OrderedDict[str, tuple[float, History]] = OrderedDict()
        self._inflight: dict[str, asyncio.Future[History]] = {}
        self._reading = asyncio.Semaphore(MAX_READING)
        self.fetches = 0  # Data API reads of a leader's history (what the cache saves)

    async def _history(self, leader: str) -> History:
        cached = self._cache.get(leader)
        if cached is not None and self._clock() - cached[0] < self._ttl_s:
            return cached[1]
        running = self._inflight.get(leader)
        if running is not None:
            return await asyncio.shield(running)
        future: asyncio.Future[History] = asyncio.get_running_loop().create_future()
        self._inflight[leader] = future
        try:
            async with self._reading:
                self.fetches += 1
                history = await live_history(self._client, [leader])
        except asyncio.CancelledError:
            future.cancel()
            raise
        except Exception as exc:
            future.set_exception(exc)
            future.exception()  # retrieved: waiters re-raise it, nobody else needs to
            raise
        finally:
            del self._inflight[leader]
        future.set_result(history)
        self._cache[leader] = (self._clock(), history)
        self._cache.move_to_end(leader)
        while len(self._cache) > MAX_CACHED:
            self._cache.popitem(last=False)
        return history

    async def rank(self, leaders: list[str], by: RankBy) -> dict[str, Any]:
        """`leaders rank --json`'s object for `leaders` (valid addresses, at most MAX_ADDRESSES)."""
        names = list(dict.fromkeys(x.lower() for x in leaders))
        histories = [await self._history(name) for name in names]
        return ranking_json(merged(histories), names, by)
