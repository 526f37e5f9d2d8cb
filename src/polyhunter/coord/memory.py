"""In-process Coordinator: dicts with expiry, for one process."""

from __future__ import annotations

import asyncio
import time
from collections import OrderedDict, deque
from collections.abc import Mapping, Sequence

from polyhunter.ports.coordinator import Claim


def _now_ms() -> int:
    return time.monotonic_ns() // 1_000_000


class MemoryCoordinator:
    def __init__(self, max_keys: int = 1_000_000) -> None:
        self._max_keys = max_keys
        self._seen: OrderedDict[str, int] = OrderedDict()  # key -> expires at (ms), oldest first
        self._claims: dict[str, str] = {}  # key of `_seen` -> owner of its claim, while not final
        self._pruned_at = -1  # ms: expired keys are dropped at most once a millisecond (lookups check expiry)
        self._counters: dict[str, tuple[int, int]] = {}
        self._locks: dict[str, tuple[str, int]] = {}
        self._queues: dict[str, deque[bytes]] = {}
        self._queue_events: dict[str, asyncio.Event] = {}

    def _prune_seen(self, now: int) -> None:
        if now == self._pruned_at and len(self._seen) <= self._max_keys:
            return
        self._pruned_at = now
        while self._seen:
            key, expires = next(iter(self._seen.items()))
            if expires > now and len(self._seen) <= self._max_keys:
                break
            del self._seen[key]
            self._claims.pop(key, None)

    async def first_seen(self, key: str, ttl_ms: int) -> bool:
        now = _now_ms()
        expires = self._seen.get(key)
        if expires is not None and expires > now:
            return False
        self._seen[key] = now + ttl_ms
        self._seen.move_to_end(key)
        self._prune_seen(now)
        return True

    async def forget(self, key: str) -> None:
        self._seen.pop(key, None)
        self._claims.pop(key, None)

    async def claim(self, key: str, owner: str, ttl_ms: int) -> Claim:
        now = _now_ms()
        expires = self._seen.get(key)
        if expires is not None and expires > now:
            holder = self._claims.get(key)
            if holder is None:
                return Claim.FINAL
            if holder != owner:
                return Claim.CLAIMED
        self._seen[key] = now + ttl_ms
        self._seen.move_to_end(key)
        self._claims[key] = owner
        self._prune_seen(now)
        return Claim.MINE

    async def finalize(self, key: str, ttl_ms: int) -> None:
        self._claims.pop(key, None)
        self._seen[key] = _now_ms() + ttl_ms
        self._seen.move_to_end(key)

    async def unclaim(self, key: str, owner: str) -> None:
        if self._claims.get(key) == owner:
            del self._claims[key]
            self._seen.pop(key, None)

    async def incr(self, key: str, amount: int, ttl_ms: int) -> int:
        now = _now_ms()
        value, expires = self._counters.get(key, (0, 0))
        if expires <= now:
            value, expires = 0, now + ttl_ms
        value += amount
        self._counters[key] = (value, expires)
        return value

    async def get_counter(self, key: str) -> int:
        value, expires = self._counters.get(key, (0, 0))
        return value if expires > _now_ms() else 0

    async def add_if_present(self, keys: Sequence[str], amount: int) -> list[int] | None:
        now = _now_ms()
        if any(self._counters.get(key, (0, 0))[1] <= now for key in keys):
            return None
        totals = []
        for key in keys:
            value, expires = self._counters[key]
            self._counters[key] = (value + amount, expires)
            totals.append(value + amount)
        return totals

    async def seed_counters(self, values: Mapping[str, int], ttl_ms: int) -> None:
        now = _now_ms()
        for key, value in values.items():
            if self._counters.get(key, (0, 0))[1] <= now:
                self._counters[key] = (value, now + ttl_ms)

    async def drop_counters(self, keys: Sequence[str]) -> None:
        for key in keys:
            self._counters.pop(key, None)

    def flush(self) -> None:
        """Forget every key, as a Redis FLUSHDB does (what a restart does to this process's state)."""
        self._seen.clear()
        self._claims.clear()
        self._counters.clear()
        self._locks.clear()

    async def acquire(self, name: str, owner: str, ttl_ms: int) -> bool:
        now = _now_ms()
        held = self._locks.get(name)
        if held is not None and held[1] > now and held[0] != owner:
            return False
        self._locks[name] = (owner, now + ttl_ms)
        return True

    async def release(self, name: str, owner: str) -> bool:
        held = self._locks.get(name)
        if held is None or held[0] != owner:
            return False
        del self._locks[name]
        return True

    async def push(self, queue: str, item: bytes) -> int:
        q = self._queues.setdefault(queue, deque())
        q.append(item)
        self._queue_events.setdefault(queue, asyncio.Event()).set()
        return len(q)

    async def pop(self, queue: str, timeout_ms: int) -> bytes | None:
        q = self._queues.setdefault(queue, deque())
        event = self._queue_events.setdefault(queue, asyncio.Event())
        deadline = _now_ms() + timeout_ms
        while not q:
            event.clear()
            remaining = deadline - _now_ms()
            if remaining <= 0:
                return None
            try:
                await asyncio.wait_for(event.wait(), remaining / 1000)
            except TimeoutError:
                return None
        return q.popleft()

    async def queue_length(self, queue: str) -> int:
        return len(self._queues.get(queue, ()))

    async def close(self) -> None:
        self._queues.clear()
