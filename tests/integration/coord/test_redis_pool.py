"""The Redis coordinator's pool blocks instead of failing: many more concurrent calls than connections
all succeed (no MaxConnectionsError), and a wait past the pool timeout is retried with backoff."""

from __future__ import annotations

import asyncio
import uuid

from polyhunter.coord.factory import make_coordinator, redis_pool_size
from polyhunter.coord.redis_coord import RedisCoordinator
from polyhunter.settings import CoordSettings, Settings

URL = "redis://127.0.0.1:6379/0"


async def test_two_connections_serve_two_hundred_concurrent_calls() -> None:
    coord = RedisCoordinator(URL, f"phtest-pool-{uuid.uuid4().hex[:8]}", max_connections=2)
    try:
        totals = await asyncio.gather(*(coord.incr("spent", 1, 60_000) for _ in range(200)))
        assert sorted(totals) == list(range(1, 201))
        assert await coord.get_counter("spent") == 200
        assert coord.connections_in_use <= 2
    finally:
        await coord.close()


async def test_a_wait_past_the_pool_timeout_is_retried() -> None:
    coord = RedisCoordinator(
        URL, f"phtest-pool-{uuid.uuid4().hex[:8]}", max_connections=1, pool_timeout_s=0.1
    )
    try:
        held = asyncio.create_task(coord.pop("empty", 400))  # BLPOP holds the only connection 0.4 s
        await asyncio.sleep(0.05)
        assert await coord.incr("n", 5, 60_000) == 5  # waited past 0.1 s at least once, then served
        assert coord.pool_waits_timed_out >= 1
        assert await held is None
    finally:
        await coord.close()


async def test_pool_sized_from_the_engine() -> None:
    s = Settings.model_validate({"engine": {"signals_in_flight": 2, "fanout_concurrency": 3}})
    assert redis_pool_size(s) == 2 * 3 + 256 + 4
    assert redis_pool_size(Settings()) == 512  # capped
    fixed = Settings.model_validate({"coord": {"redis_max_connections": 7}})
    assert redis_pool_size(fixed) == 7
    settings = CoordSettings(backend="redis", redis_url=URL, key_prefix=f"phtest-pool-{uuid.uuid4().hex[:8]}")
    coord = await make_coordinator(settings, max_connections=redis_pool_size(fixed))
    try:
        assert isinstance(coord, RedisCoordinator)
        assert coord.max_connections == 7
    finally:
        await coord.close()
