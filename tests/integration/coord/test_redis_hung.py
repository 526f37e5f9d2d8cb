"""A Redis that stops answering (paused: a host cut off without a reset looks the same) fails calls with
the coordinator's and the cluster's retryable errors within the socket timeout; it never holds a call,
and the task awaiting it, forever (a worker that did not stop on SIGTERM was suspected of it)."""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path

import pytest
from redis.exceptions import TimeoutError as RedisTimeoutError

from polyhunter.cluster import worker as cluster_worker
from polyhunter.coord import redis_coord
from polyhunter.coord.redis_coord import RedisCoordinator
from polyhunter.ports.coordinator import CoordinatorUnavailable
from tests.support.own_redis import OwnRedis, free_port

pytestmark = pytest.mark.integration


async def test_a_paused_redis_fails_calls_within_the_socket_timeout(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(redis_coord, "SOCKET_TIMEOUT_S", 1.0)
    server = OwnRedis(free_port(), tmp_path)
    await server.start()
    coord = RedisCoordinator(server.url, "t-hung", max_connections=4, pool_timeout_s=1.0)
    cluster = cluster_worker.cluster_redis(server.url, 1, read_block_ms=200)
    pid = server.pid
    try:
        assert await coord.first_seen("k", 60_000)
        assert await cluster.ping()
        os.kill(pid, signal.SIGSTOP)
        started = time.monotonic()
        with pytest.raises(CoordinatorUnavailable):
            await coord.first_seen("k2", 60_000)
        assert time.monotonic() - started < 8
        started = time.monotonic()
        with pytest.raises(RedisTimeoutError):
            await cluster.xreadgroup("g", "c", {"s": ">"}, count=1, block=200)
        assert time.monotonic() - started < 15  # the read's block + 10 s
    finally:
        os.kill(pid, signal.SIGCONT)
        await coord.close()
        await cluster.aclose()
        server.stop()
