"""Ingest shards leased on the real Redis (own key prefix): two workers split them, never both following
one; a worker that stops beating loses its shards to the other within a lease TTL."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import AsyncIterator

import pytest
from redis.asyncio import Redis

from polyhunter.cluster.ingest_shards import IngestShards
from polyhunter.cluster.membership import Leases
from polyhunter.cluster.worker import cluster_redis

pytestmark = pytest.mark.integration

URL = "redis://127.0.0.1:6379/0"
SHARDS = 8
TTL_MS = 400


@pytest.fixture
async def redis() -> AsyncIterator[tuple[Redis, str]]:
    prefix = "{" + f"phtest-shards-{uuid.uuid4().hex[:8]}" + "}"
    client = cluster_redis(URL, 4)
    try:
        yield client, prefix
    finally:
        keys = [k async for k in client.scan_iter(match=prefix + ":*", count=1000)]
        if keys:
            await client.delete(*keys)
        await client.aclose()


class Follower:
    """An ingest service's side: the shards followed, and a poll in flight it can hold."""

    def __init__(self) -> None:
        self.shards: frozenset[int] = frozenset()
        self.busy = asyncio.Event()
        self.busy.set()  # set: nothing of a dropped leader in flight

    def follow(self, shards: frozenset[int]) -> None:
        self.shards = shards

    async def settled(self) -> None:
        await self.busy.wait()


def _shards(redis: Redis, prefix: str, worker: str, follower: Follower) -> IngestShards:
    shards = IngestShards(Leases(redis, prefix, "ingest-lease", TTL_MS), SHARDS, worker, margin=0.8)
    shards.attach(follower.follow, follower.settled)
    return shards


async def test_two_workers_split_the_shards_and_a_silent_one_loses_them(redis: tuple[Redis, str]) -> None:
    client, prefix = redis
    fa, fb = Follower(), Follower()
    a, b = _shards(client, prefix, "a", fa), _shards(client, prefix, "b", fb)
    await a.rebalance(["a"])
    assert fa.shards == set(range(SHARDS))
    fa.busy.clear()  # a poll of one of a's leaders is in flight: its surplus leases stay
    await a.rebalance(["a", "b"])
    assert len(fa.shards) == SHARDS // 2  # a stopped following b's share at once
    await b.rebalance(["a", "b"])
    assert not fb.shards, "b followed shards a still held a poll of"
    fa.busy.set()
    deadline = time.monotonic() + 5
    while len(fb.shards) < SHARDS // 2:
        assert time.monotonic() < deadline, fb.shards
        await asyncio.sleep(0.02)  # a's hand-over releases once settled; b takes at its next beat
        await b.rebalance(["a", "b"])
        assert not fa.shards & fb.shards
    assert fa.shards | fb.shards == set(range(SHARDS))
    owners = await Leases(client, prefix, "ingest-lease", TTL_MS).owners(SHARDS)
    assert {n for n, o in owners.items() if o == "b"} == fb.shards
    killed = time.monotonic()  # a stops beating (SIGKILLed): b alone, its leases not renewed
    while len(fb.shards) < SHARDS:
        assert time.monotonic() - killed < 3 * TTL_MS / 1000, fb.shards
        await asyncio.sleep(0.05)
        await b.rebalance(["b"])
    await b.leave()
    assert not fb.shards
    assert set((await Leases(client, prefix, "ingest-lease", TTL_MS).owners(SHARDS)).values()) == {None}
