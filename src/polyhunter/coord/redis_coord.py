"""Redis Coordinator for several supervisor processes: SET NX PX dedup, INCRBY counters, lease locks, lists.

The counters' calls raise `CoordinatorUnavailable` when Redis cannot be reached (refused, reset,
timed out, still loading after a restart), so the guardrails retry instead of guessing.

Connections come from a *blocking* pool of `max_connections` (sized from the engine's concurrency,
see coord/factory.py): when every connection is busy a call waits for one, up to `pool_timeout_s`,
instead of failing at once (redis-py's plain pool raises `MaxConnectionsError` there, which failed
copies under load). A wait past the timeout is retried here with bounded backoff (`POOL_ATTEMPTS` in
all); only then is it an error (for the counters, `CoordinatorUnavailable`). `pool_waits_timed_out`
counts those timed-out waits.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Any, TypeVar, cast

from redis.asyncio import BlockingConnectionPool, Redis
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

from polyhunter.log import get_logger
from polyhunter.ports.coordinator import Claim, CoordinatorUnavailable

log = get_logger(__name__)

T = TypeVar("T")

DEFAULT_MAX_CONNECTIONS = 64
DEFAULT_POOL_TIMEOUT_S = 10.0
POOL_ATTEMPTS = 4  # waits for a connection in all (each up to the pool timeout) before the error is raised
POOL_BACKOFF_S = (0.05, 0.2, 1.0)  # between them

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

# a dedup key's value: b"1" once final (also what `first_seen` sets), b"c:" + owner while claimed
_CLAIM = """
local cur = redis.call('GET', KEYS[1])
if cur == false or cur == ARGV[1] then
  redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2]) return 'mine'
end
if string.sub(cur, 1, 2) == 'c:' then return 'claimed' end
return 'final'
"""
_UNCLAIM = """
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
"""


@contextmanager
def _reachable() -> Iterator[None]:
    try:
        yield
    except (RedisConnectionError, RedisTimeoutError, OSError) as exc:
        raise CoordinatorUnavailable(f"redis unreachable: {exc}") from exc


def pool_exhausted(exc: BaseException) -> bool:
    """The blocking pool gave no connection within its timeout (redis-py raises a ConnectionError with
    this text): every connection was busy, Redis itself may be fine."""
    return isinstance(exc, RedisConnectionError) and "No connection available" in str(exc)


SOCKET_CONNECT_TIMEOUT_S = 5.0
SOCKET_TIMEOUT_S = 15.0  # far above any command's time here (scripts touch a few keys)


class RedisCoordinator:
    def __init__(
        self,
        url: str,
        prefix: str = "polyhunter",
        *,
        max_connections: int = DEFAULT_MAX_CONNECTIONS,
        pool_timeout_s: float = DEFAULT_POOL_TIMEOUT_S,
    ) -> None:
        self.max_connections = max_connections
        # socket timeouts: a Redis that stopped answering (a host cut off, a paused server) fails the
        # call as CoordinatorUnavailable instead of holding it, and the task awaiting it, forever
        self.pool = BlockingConnectionPool.from_url(
            url,
            max_connections=max_connections,
            timeout=pool_timeout_s,
            socket_connect_timeout=SOCKET_CONNECT_TIMEOUT_S,
            socket_timeout=SOCKET_TIMEOUT_S,
        )
        self._redis: Redis = Redis.from_pool(self.pool)  # closes the pool with the client
        self._p = prefix + ":"
        self._release: Any = self._redis.register_script(_RELEASE)
        self._acquire: Any = self._redis.register_script(_ACQUIRE)
        self._incr: Any = self._redis.register_script(_INCR)
        self._add_if_present: Any = self._redis.register_script(_ADD_IF_PRESENT)
        self._seed: Any = self._redis.register_script(_SEED)
        self._claim: Any = self._redis.register_script(_CLAIM)
        self._unclaim: Any = self._redis.register_script(_UNCLAIM)
        self.pool_waits_timed_out = 0

    @property
    def connections_in_use(self) -> int:
        return len(self.pool._in_use_connections)

    async def _call(self, op: Callable[[], Awaitable[T]]) -> T:
        """Run `op`; a connection wait past the pool timeout is retried after a short backoff. Redis
        unreachable, or not answering within the socket timeout: `CoordinatorUnavailable` (retryable)."""
        for attempt in range(POOL_ATTEMPTS):
            try:
                with _reachable():
                    return await op()
            except CoordinatorUnavailable as unavailable:
                exc = unavailable.__cause__
                if exc is None or not pool_exhausted(exc) or attempt == POOL_ATTEMPTS - 1:
                    raise
                self.pool_waits_timed_out += 1
                log.warning("redis pool busy; waiting again", attempt=attempt + 1, size=self.max_connections)
                await asyncio.sleep(POOL_BACKOFF_S[min(attempt, len(POOL_BACKOFF_S) - 1)])
        raise AssertionError("unreachable")

    async def ping(self) -> bool:
        return bool(await self._call(lambda: cast(Awaitable[Any], self._redis.ping())))

    async def first_seen(self, key: str, ttl_ms: int) -> bool:
        name = self._p + "seen:" + key
        return bool(await self._call(lambda: self._redis.set(name, b"1", nx=True, px=ttl_ms)))

    async def forget(self, key: str) -> None:
        name = self._p + "seen:" + key
        await self._call(lambda: self._redis.delete(name))

    async def claim(self, key: str, owner: str, ttl_ms: int) -> Claim:
        name = self._p + "seen:" + key
        with _reachable():
            found = await self._call(lambda: self._claim(keys=[name], args=["c:" + owner, ttl_ms]))
        return Claim(found.decode() if isinstance(found, bytes) else str(found))

    async def finalize(self, key: str, ttl_ms: int) -> None:
        name = self._p + "seen:" + key
        with _reachable():
            await self._call(lambda: self._redis.set(name, b"1", px=ttl_ms))

    async def unclaim(self, key: str, owner: str) -> None:
        name = self._p + "seen:" + key
        with _reachable():
            await self._call(lambda: self._unclaim(keys=[name], args=["c:" + owner]))

    async def incr(self, key: str, amount: int, ttl_ms: int) -> int:
        name = self._p + "ctr:" + key
        with _reachable():
            return int(await self._call(lambda: self._incr(keys=[name], args=[amount, ttl_ms])))

    async def get_counter(self, key: str) -> int:
        name = self._p + "ctr:" + key
        with _reachable():
            value = await self._call(lambda: self._redis.get(name))
        return int(value) if value is not None else 0

    async def add_if_present(self, keys: Sequence[str], amount: int) -> list[int] | None:
        names = [self._p + "ctr:" + k for k in keys]
        with _reachable():
            totals = await self._call(lambda: self._add_if_present(keys=names, args=[amount]))
        return None if totals is None else [int(t) for t in totals]

    async def seed_counters(self, values: Mapping[str, int], ttl_ms: int) -> None:
        if values:
            names = [self._p + "ctr:" + k for k in values]
            with _reachable():
                await self._call(lambda: self._seed(keys=names, args=[ttl_ms, *values.values()]))

    async def drop_counters(self, keys: Sequence[str]) -> None:
        if keys:
            names = [self._p + "ctr:" + k for k in keys]
            with _reachable():
                await self._call(lambda: self._redis.delete(*names))

    async def acquire(self, name: str, owner: str, ttl_ms: int) -> bool:
        lock = self._p + "lock:" + name
        return bool(await self._call(lambda: self._acquire(keys=[lock], args=[owner, ttl_ms])))

    async def release(self, name: str, owner: str) -> bool:
        lock = self._p + "lock:" + name
        return bool(await self._call(lambda: self._release(keys=[lock], args=[owner])))

    async def push(self, queue: str, item: bytes) -> int:
        name = self._p + "q:" + queue
        return int(await self._call(lambda: cast(Awaitable[Any], self._redis.rpush(name, item))))

    async def pop(self, queue: str, timeout_ms: int) -> bytes | None:
        name = self._p + "q:" + queue
        result = await self._call(
            lambda: cast(Awaitable[Any], self._redis.blpop([name], timeout=max(timeout_ms, 1) / 1000))
        )
        return None if result is None else bytes(result[1])

    async def queue_length(self, queue: str) -> int:
        name = self._p + "q:" + queue
        return int(await self._call(lambda: cast(Awaitable[Any], self._redis.llen(name))))

    async def close(self) -> None:
        await self._redis.aclose()
