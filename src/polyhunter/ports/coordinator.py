"""The Coordinator port: dedup, counters, locks and queues shared by engine processes.

``polyhunter.coord.memory`` serves one process (the laptop); ``polyhunter.coord.redis_coord`` serves
several supervisors. Both implement this Protocol structurally.

Counters that hold money limits (the guardrails' daily spend) are a cache of what the store
records: `add_if_present` never creates a counter, so one lost with a Redis restart, flush or
eviction reads as missing (not as zero) and is built again from the store with `seed_counters`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from enum import StrEnum
from typing import Protocol

from polyhunter.domain.errors import RetryableError


class CoordinatorUnavailable(ConnectionError, RetryableError):
    """The coordinator could not be reached (refused, reset, timed out): nothing is known, retry."""


class Claim(StrEnum):
    """What `Coordinator.claim` found for a key.

    MINE: the caller holds the claim (just taken, or its own claim refreshed). CLAIMED: another owner
    holds a claim that is not final yet (its work may still fail or its process die: ask again until
    it is FINAL, or expires and the caller gets it). FINAL: the key's work is durable; a later copy is
    a duplicate."""

    MINE = "mine"
    CLAIMED = "claimed"
    FINAL = "final"


class Coordinator(Protocol):
    async def first_seen(self, key: str, ttl_ms: int) -> bool:
        """True for the first caller with this key within the TTL, False for every later one."""
        ...

    async def forget(self, key: str) -> None:
        """Undo `first_seen` for `key` (its work failed): the next caller is first again."""
        ...

    async def claim(self, key: str, owner: str, ttl_ms: int) -> Claim:
        """Take `key` for `owner` for `ttl_ms` (a short claim), or refresh it if `owner` holds it.
        A key made final (or taken with `first_seen`) reads FINAL; another owner's live claim CLAIMED.
        Raises `CoordinatorUnavailable` when the coordinator cannot be reached."""
        ...

    async def finalize(self, key: str, ttl_ms: int) -> None:
        """Make `key` final for `ttl_ms` (its work is durable), whoever holds or held its claim.
        Raises `CoordinatorUnavailable`."""
        ...

    async def unclaim(self, key: str, owner: str) -> None:
        """Drop `owner`'s claim on `key` (its work failed): the next caller gets it. A key that is
        final or claimed by another owner is left as it is. Raises `CoordinatorUnavailable`."""
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

    async def drop_counters(self, keys: Sequence[str]) -> None:
        """Delete these counters (the next `add_if_present` finds them missing, and they are seeded again
        from the store). Raises `CoordinatorUnavailable`."""
        ...

    async def acquire(self, name: str, owner: str, ttl_ms: int) -> bool:
        """Take a lease-lock; True if `owner` now holds it (re-entrant for the same owner)."""
        ...

    async def release(self, name: str, owner: str) -> bool: ...

    async def push(self, queue: str, item: bytes) -> int: ...

    async def pop(self, queue: str, timeout_ms: int) -> bytes | None: ...

    async def queue_length(self, queue: str) -> int: ...

    async def close(self) -> None: ...
