"""The database and Redis checks of /health against real servers: ok when they answer, down (with a
reason, within the check's timeout) when the server is unreachable. PostgreSQL on 5432 (database
`test`), Redis on 6379; port 1 stands for a stopped server."""

from __future__ import annotations

import time

import pytest

from polyhunter.coord.redis_coord import RedisCoordinator
from polyhunter.health import Health, database_check, ping_check
from polyhunter.settings import DbSettings
from polyhunter.store.database import create_engine

pytestmark = pytest.mark.integration


async def test_postgres_up_then_unreachable() -> None:
    up = create_engine(DbSettings(url="postgresql+asyncpg://127.0.0.1:5432/test"))
    down = create_engine(DbSettings(url="postgresql+asyncpg://127.0.0.1:1/test"))
    try:
        doc, code = await Health([database_check(up)]).report()
        assert (doc["status"], code) == ("ok", 200), doc
        started = time.monotonic()
        doc, code = await Health([database_check(down)]).report()
        assert (doc["status"], code) == ("down", 503), doc
        assert doc["checks"]["database"]["status"] == "down"
        assert doc["checks"]["database"]["detail"]
        assert time.monotonic() - started < 3
    finally:
        await up.dispose()
        await down.dispose()


async def test_redis_up_then_unreachable() -> None:
    up = RedisCoordinator("redis://127.0.0.1:6379/0", prefix="phtest-health")
    down = RedisCoordinator("redis://127.0.0.1:1/0", prefix="phtest-health")
    try:
        doc, code = await Health([ping_check("redis", up.ping)]).report()
        assert (doc["status"], code) == ("ok", 200), doc
        doc, code = await Health([ping_check("redis", down.ping)]).report()
        assert (doc["status"], code) == ("degraded", 200), doc  # not critical: signals still flow
        assert doc["checks"]["redis"]["status"] == "down"
    finally:
        await up.close()
        await down.close()
