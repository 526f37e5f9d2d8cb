"""Redis Coordinator for several supervisor processes: SET NX PX dedup, INCRBY counters, lease locks, lists.

The counters' calls raise `CoordinatorUnavailable` when Redis cannot be reached (refused, reset,
timed out, still loading after a restart), so the guardrails retry instead of guessing.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Any, cast

from redis.asyncio import Redis
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

from polyhunter.ports.coordinator import CoordinatorUnavailable

_RELEASE = """
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) else return 0 end
"""
_ACQUIRE = """
local cur = redis.call('GET', KEYS[1])
if cur == false or cur == ARGV[1] then
  redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2]) return 1
end
return 0
"""
_INCR = """
local v = redis.call('INCRBY', KEYS[1], ARGV[1])
if redis.call('PTTL', KEYS[1]) < 0 then redis.call('PEXPIRE', KEYS[1], ARGV[2]) end
return v
"""
# all the counters exist: add to each and return the totals; any missing: change nothing, return nil
_ADD_IF_PRESENT = """
for _, key in ipairs(KEYS) do
  if redis.call('EXISTS', key) == 0 then return false end
end
local totals = {}
for i, key in ipairs(KEYS) do totals[i] = redis.call('INCRBY', key, ARGV[1]) end
return totals
"""
_SEED = """
for i, key in ipairs(KEYS) do redis.call('SET', key, ARGV[i + 1], 'NX', 'PX', ARGV[1]) end
return 1
"""


@contextmanager
def _reachable() -> Iterator[None]:
    try:
        yield
    except (RedisConnectionError, RedisTimeoutError, OSError) as exc:
        raise CoordinatorUnavailable(f"redis unreachable: {exc}") from exc


class RedisCoordinator:
    def __init__(self, url: str, prefix: str = "polyhunter") -> None:
        self._redis: Redis = Redis.from_url(url)
        self._p = prefix + ":"
        self._release: Any = self._redis.register_script(_RELEASE)
        self._acquire: Any = self._redis.register_script(_ACQUIRE)
        self._incr: Any = self._redis.register_script(_INCR)
        self._add_if_present: Any = self._redis.register_script(_ADD_IF_PRESENT)
        self._seed: Any = self._redis.register_script(_SEED)

    async def ping(self) -> bool:
        return bool(await self._redis.ping())

    async def first_seen(self, key: str, ttl_ms: int) -> bool:
        return bool(await self._redis.set(self._p + "seen:" + key, b"1", nx=True, px=ttl_ms))

    async def forget(self, key: str) -> None:
        await self._redis.delete(self._p + "seen:" + key)

    async def incr(self, key: str, amount: int, ttl_ms: int) -> int:
        with _reachable():
            return int(await self._incr(keys=[self._p + "ctr:" + key], args=[amount, ttl_ms]))

    async def get_counter(self, key: str) -> int:
        with _reachable():
            value = await self._redis.get(self._p + "ctr:" + key)
        return int(value) if value is not None else 0

    async def add_if_present(self, keys: Sequence[str], amount: int) -> list[int] | None:
        with _reachable():
            totals = await self._add_if_present(keys=[self._p + "ctr:" + k for k in keys], args=[amount])
        return None if totals is None else [int(t) for t in totals]

    async def seed_counters(self, values: Mapping[str, int], ttl_ms: int) -> None:
        if values:
            with _reachable():
                await self._seed(keys=[self._p + "ctr:" + k for k in values], args=[ttl_ms, *values.values()])

    async def acquire(self, name: str, owner: str, ttl_ms: int) -> bool:
        return bool(await self._acquire(keys=[self._p + "lock:" + name], args=[owner, ttl_ms]))

    async def release(self, name: str, owner: str) -> bool:
        return bool(await self._release(keys=[self._p + "lock:" + name], args=[owner]))

    async def push(self, queue: str, item: bytes) -> int:
        return int(await cast(Any, self._redis.rpush(self._p + "q:" + queue, item)))

    async def pop(self, queue: str, timeout_ms: int) -> bytes | None:
        result = await cast(
            Any, self._redis.blpop([self._p + "q:" + queue], timeout=max(timeout_ms, 1) / 1000)
        )
        return None if result is None else bytes(result[1])

    async def queue_length(self, queue: str) -> int:
        return int(await cast(Any, self._redis.llen(self._p + "q:" + queue)))

    async def close(self) -> None:
        await self._redis.aclose()
