"""Redis Coordinator for several supervisor processes: SET NX PX dedup, INCRBY counters, lease locks, lists."""

from __future__ import annotations

from typing import Any, cast

from redis.asyncio import Redis

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


class RedisCoordinator:
    def __init__(self, url: str, prefix: str = "polyhunter") -> None:
        self._redis: Redis = Redis.from_url(url)
        self._p = prefix + ":"
        self._release: Any = self._redis.register_script(_RELEASE)
        self._acquire: Any = self._redis.register_script(_ACQUIRE)
        self._incr: Any = self._redis.register_script(_INCR)

    async def ping(self) -> bool:
        return bool(await self._redis.ping())

    async def first_seen(self, key: str, ttl_ms: int) -> bool:
        return bool(await self._redis.set(self._p + "seen:" + key, b"1", nx=True, px=ttl_ms))

    async def forget(self, key: str) -> None:
        await self._redis.delete(self._p + "seen:" + key)

    async def incr(self, key: str, amount: int, ttl_ms: int) -> int:
        return int(await self._incr(keys=[self._p + "ctr:" + key], args=[amount, ttl_ms]))

    async def get_counter(self, key: str) -> int:
        value = await self._redis.get(self._p + "ctr:" + key)
        return int(value) if value is not None else 0

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
