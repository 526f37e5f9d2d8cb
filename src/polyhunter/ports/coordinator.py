"""The Coordinator port: dedup, counters, locks and queues shared by engine processes.

``polyhunter.coord.memory`` serves one process (the laptop); ``polyhunter.coord.redis_coord`` serves
several supervisors. Both implement this Protocol structurally.
"""

from __future__ import annotations

from typing import Protocol


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

    async def acquire(self, name: str, owner: str, ttl_ms: int) -> bool:
        """Take a lease-lock; True if `owner` now holds it (re-entrant for the same owner)."""
        ...

    async def release(self, name: str, owner: str) -> bool: ...

    async def push(self, queue: str, item: bytes) -> int: ...

    async def pop(self, queue: str, timeout_ms: int) -> bytes | None: ...

    async def queue_length(self, queue: str) -> int: ...

    async def close(self) -> None: ...
