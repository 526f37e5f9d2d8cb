"""Redis key prefixes of their own for tests on the shared Redis (never flushed: each test deletes only
its keys)."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from redis.asyncio import Redis

SHARED_REDIS = "redis://127.0.0.1:6379/0"


async def delete_keys(url: str, prefix: str) -> int:
    """Delete every key under ``prefix:``; returns how many there were."""
    client = Redis.from_url(url)
    try:
        keys = [k async for k in client.scan_iter(match=f"{prefix}:*", count=1000)]
        return int(await client.delete(*keys)) if keys else 0
    finally:
        await client.aclose()


@asynccontextmanager
async def redis_prefix(tag: str, url: str = SHARED_REDIS) -> AsyncIterator[str]:
    """A fresh ``phtest-<tag>-<random>`` prefix; its keys are deleted on exit."""
    prefix = f"phtest-{tag}-{uuid.uuid4().hex[:8]}"
    try:
        yield prefix
    finally:
        await delete_keys(url, prefix)
