"""Which partition a follower is in, and which live worker should own each partition (pure).

A follower's partition is ``crc32(user id) mod count``: fixed for the deployment's life (the count is
``cluster.partitions``). Owners are chosen by rendezvous (highest random weight) hashing over the live
execution workers: every worker computes the same answer from the same member list, and a member joining
or leaving moves only the partitions it wins or held (about 1/n of them), not a reshuffle of all.
"""

from __future__ import annotations

import hashlib
import zlib
from collections.abc import Iterable


def partition_of(user_id: int, count: int) -> int:
    return zlib.crc32(str(user_id).encode()) % count


def _weight(partition: int, member: str) -> int:
    digest = hashlib.blake2b(f"{partition}|{member}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big")


def owner_of(partition: int, members: Iterable[str]) -> str | None:
    """The member that should own `partition` (None without members)."""
    best: tuple[int, str] | None = None
    for member in members:
        candidate = (_weight(partition, member), member)
        if best is None or candidate > best:
            best = candidate
    return None if best is None else best[1]


def assignment(count: int, members: Iterable[str]) -> dict[int, str | None]:
    live = sorted(set(members))
    return {p: owner_of(p, live) for p in range(count)}


def wanted_by(member: str, count: int, members: Iterable[str]) -> set[int]:
    """The partitions `member` should own among `members` (it counts itself in)."""
    live = sorted({*members, member})
    return {p for p in range(count) if owner_of(p, live) == member}
