"""Which partition a follower is in, and which live worker should own each partition (pure).

A follower's partition is ``crc32(user id) mod count``: fixed for the deployment's life (the count is
``cluster.partitions``). Owners are chosen by rendezvous (highest random weight) hashing with a bound on
the load: every (partition, member) pair has a weight, and the pairs are taken heaviest first, each
partition going to the first member still under ``ceil(count / members)`` partitions. Every worker
computes the same answer from the same member list; no member owns more than its even share rounded up,
so none is left without a partition while there are at least as many partitions as members (plain
rendezvous gave a third member none of 12 partitions in about 1 run in 130); and a member joining or
leaving moves mostly the partitions it wins or held (about 1/n of them), not a reshuffle of all.

Leaders are spread over the ingest workers the same way: a leader's ingest shard is ``crc32(lower-case
address) mod cluster.ingest_shards`` and the shards are assigned among the live ingest workers by the
same bounded-load rendezvous (cluster/ingest_shards.py).
"""

from __future__ import annotations

import hashlib
import zlib
from collections.abc import Iterable


def partition_of(user_id: int, count: int) -> int:
    return zlib.crc32(str(user_id).encode()) % count


def shard_of(leader: str, count: int) -> int:
    """A leader's ingest shard: fixed for the deployment's life, whatever the address's case."""
    return zlib.crc32(leader.strip().lower().encode()) % count


def _weight(partition: int, member: str) -> int:
    digest = hashlib.blake2b(f"{partition}|{member}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big")


def assignment(count: int, members: Iterable[str]) -> dict[int, str | None]:
    """Each partition's owner among `members` (None for all without members)."""
    live = sorted(set(members))
    out: dict[int, str | None] = dict.fromkeys(range(count))
    if not live:
        return out
    cap = -(-count // len(live))
    load = dict.fromkeys(live, 0)
    pairs = sorted(((_weight(p, m), m, p) for p in range(count) for m in live), reverse=True)
    left = count
    for _, member, p in pairs:
        if out[p] is None and load[member] < cap:
            out[p] = member
            load[member] += 1
            left -= 1
            if not left:
                break
    return out


def wanted_by(member: str, count: int, members: Iterable[str]) -> set[int]:
    """The partitions `member` should own among `members` (it counts itself in)."""
    return {p for p, owner in assignment(count, {*members, member}).items() if owner == member}
