"""An async TTL cache with in-flight de-duplication and size-bounded (LRU) eviction.

However many followers wait on the same token's book at once, the loader runs once and all of
them get its result (or its exception). Used for quotes (books) and preflight balances.
"""

from __future__ import annotations

import asyncio
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Generic, TypeVar

K = TypeVar("K")
V = TypeVar("V")


@dataclass(slots=True)
class CacheStats:
    hits: int = 0
    misses: int = 0
    inflight_joins: int = 0
    evictions: int = 0
    expirations: int = 0


class TtlCache(Generic[K, V]):
    def __init__(self, ttl_ms: int, max_entries: int, clock: Callable[[], float] = time.monotonic) -> None:
        self._ttl = ttl_ms / 1000
        self._max = max_entries
        self._clock = clock
        self._data: OrderedDict[K, tuple[float, V]] = OrderedDict()
        self._inflight: dict[K, asyncio.Future[V]] = {}
        self.stats = CacheStats()

    def peek(self, key: K) -> V | None:
        item = self._data.get(key)
        if item is None or self._clock() - item[0] > self._ttl:
            return None
        return item[1]

    def put(self, key: K, value: V) -> None:
        self._data[key] = (self._clock(), value)
        self._data.move_to_end(key)
        while len(self._data) > self._max:
            self._data.popitem(last=False)
            self.stats.evictions += 1

    def now(self) -> float:
        """The cache's clock."""
        return self._clock()

    def stored_at(self, key: K) -> float | None:
        """When the live entry of `key` was loaded or put (the cache's clock), or None."""
        item = self._data.get(key)
        if item is None or self._clock() - item[0] > self._ttl:
            return None
        return item[0]

    def replace(self, key: K, value: V) -> bool:
        """Change a live entry's value without renewing it (it still expires when it would have);
        False (and nothing stored) if there is no live entry."""
        item = self._data.get(key)
        if item is None or self._clock() - item[0] > self._ttl:
            return False
        self._data[key] = (item[0], value)
        return True

    def invalidate(self, key: K) -> None:
        self._data.pop(key, None)

    def invalidate_where(self, pred: Callable[[K], bool]) -> int:
        """Drop every entry whose key `pred` accepts; how many."""
        gone = [k for k in self._data if pred(k)]
        for k in gone:
            del self._data[k]
        return len(gone)

    async def get(self, key: K, load: Callable[[], Awaitable[V]]) -> V:
        item = self._data.get(key)
        if item is not None:
            if self._clock() - item[0] <= self._ttl:
                self.stats.hits += 1
                self._data.move_to_end(key)
                return item[1]
            del self._data[key]
            self.stats.expirations += 1
        pending = self._inflight.get(key)
        if pending is not None:
            self.stats.inflight_joins += 1
            return await asyncio.shield(pending)
        self.stats.misses += 1
        future: asyncio.Future[V] = asyncio.get_running_loop().create_future()
        self._inflight[key] = future
        try:
            value = await load()
        except BaseException as exc:
            future.set_exception(exc)
            future.exception()  # mark retrieved: joiners re-raise it themselves
            raise
        else:
            future.set_result(value)
            self.put(key, value)
            return value
        finally:
            del self._inflight[key]

    def __len__(self) -> int:
        return len(self._data)
