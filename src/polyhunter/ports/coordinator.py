"""The Coordinator port: dedup, counters, locks and queues shared by engine processes.

``polyhunter.coord.memory`` serves one process (the laptop); ``polyhunter.coord.redis_coord`` serves
several supervisors. Both implement this Protocol structurally.

Counters that hold money limits (the guardrails' daily spend) are a cache of what the store
records: `add_if_present` never creates a counter, so one lost with a Redis restart, flush or
eviction reads as missing (not as zero) and is built again from the store with `seed_counters`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Protocol

from polyhunter.domain.errors import RetryableError


class CoordinatorUnavailable(ConnectionError, RetryableError):
    """The coordinator could not be reached (refused, reset, timed out): nothing is known, retry."""


class Coordinator(Protocol):
    async def first_seen(self, key: str, ttl_ms: int) -> bool:
        """True for the first caller with this key within the TTL, False for every later one."""
        ...

    async def forget(self, key: str) -> None:
        """Undo `first_seen` for `key` (its work failed): the next caller is first again."""
        ...

    async def incr(self, key: str, amount: int, ttl_ms: int) -> int:
        """Add to an integer counter (e.g. micro-USDC spent today) and return the new total."""
        ...

    async def get_counter(self, key: str) -> int: ...

    async def add_if_present(self, keys: Sequence[str], amount: int) -> list[int] | None:
        """Add `amount` to every counter of `keys` at once if they all exist and return their new totals;
        None, changing nothing, if any is missing (expired, flushed, evicted, never seeded).
        Raises `CoordinatorUnavailable` when the coordinator cannot be reached."""
        ...

    async def seed_counters(self, values: Mapping[str, int], ttl_ms: int) -> None:
        """Create each counter of `values` that does not exist, with its value and TTL; a counter that
        exists keeps its value (two seeders never add up). Raises `CoordinatorUnavailable`."""
        ...

    async def acquire(self, name: str, owner: str, ttl_ms: int) -> bool:
        """Take a lease-lock; True if `owner` now holds it (re-entrant for the same owner)."""
        ...

    async def release(self, name: str, owner: str) -> bool: ...

    async def push(self, queue: str, item: bytes) -> int: ...

    async def pop(self, queue: str, timeout_ms: int) -> bytes | None: ...

    async def queue_length(self, queue: str) -> int: ...

    async def close(self) -> None: ...
