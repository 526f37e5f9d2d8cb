"""The signal stream on Redis Streams: one stream, one consumer group per follower partition.

* ``publish``: a Lua script sets the signal key's publish marker (SET NX PX) and appends the entry (XADD,
  trimmed to about ``cluster.stream_maxlen``) in one step, so a signal key is appended once however many
  ingest workers or sources offer it (a second publish returns None).
* Each partition ``p`` is the consumer group ``p<p>`` of the stream. The group's last-delivered id and its
  pending entries list (delivered, not acknowledged) are the partition's durable position: an owner reads
  new entries (``>``), hands each to the engine and acknowledges it once its copies are prewritten. A new
  owner first takes over what the previous owner had read and not acknowledged (XAUTOCLAIM), reads it again
  (id ``0``: its own pending entries) and then goes on with new entries: nothing published while the
  partition had no owner, or while its owner died, is skipped. A signal handed to the engine twice makes
  no second copy: the copy rows are unique on (signal key, config) and prewritten before anything is sent.
* A Redis that restarted empty (no persistence) has lost the stream and its groups: a consumer that
  finds its group missing (NOGROUP) creates it again (``ensure_group``, from the stream's start); the
  entries lost with it are recovered from the database (store/orphans.py, ``recover_partition``).
* ``positions``: each group's lag (entries not yet delivered) and pending count (XINFO GROUPS).

Keys (Redis Cluster: one hash tag per deployment, so the script's two keys share a slot):
``{<prefix>}:<stream>`` the stream, ``{<prefix>}:pub:<signal key>`` the publish markers.
"""

from __future__ import annotations

from collections.abc import Awaitable
from dataclasses import dataclass
from typing import Any, cast

from redis.asyncio import Redis
from redis.exceptions import ResponseError

from polyhunter.cluster.codec import encode
from polyhunter.domain.signal import Signal

_PUBLISH = """
if redis.call('SET', KEYS[1], '1', 'NX', 'PX', ARGV[1]) then
  return redis.call('XADD', KEYS[2], 'MAXLEN', '~', ARGV[2], '*', 's', ARGV[3])
end
return false
"""

Entry = tuple[str, bytes | None]  # stream id, the signal's bytes (None: deleted by a trim)


def group_name(partition: int) -> str:
    return f"p{partition}"


@dataclass(frozen=True, slots=True)
class Position:
    partition: int
    lag: int | None  # entries not delivered to the group yet (None: Redis cannot tell, after a trim)
    pending: int  # delivered to a consumer, not acknowledged
    last_delivered: str
    consumers: int


def _s(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


class SignalStream:
    def __init__(self, redis: Redis, prefix: str, stream: str, *, maxlen: int, dedup_ttl_ms: int) -> None:
        self.redis = redis
        self.base = "{" + prefix + "}"
        self.key = f"{self.base}:{stream}"
        self._maxlen = maxlen
        self._dedup_ttl_ms = dedup_ttl_ms
        self._publish: Any = redis.register_script(_PUBLISH)

    async def ensure_groups(self, count: int) -> None:
        """Create the stream and every partition's group (reading from the stream's start) if missing."""
        for p in range(count):
            await self.ensure_group(p)

    async def ensure_group(self, partition: int) -> bool:
        """Create the stream and the partition's group (reading from the stream's start) if missing; True
        if it was missing (a new deployment, or a Redis that restarted empty)."""
        try:
            await self.redis.xgroup_create(self.key, group_name(partition), id="0", mkstream=True)
        except ResponseError as exc:
            if "BUSYGROUP" not in str(exc):
                raise
            return False
        return True

    async def publish(self, signal: Signal) -> str | None:
        """Append `signal` once per key; its stream id, or None if the key was published before."""
        found = await self._publish(
            keys=[f"{self.base}:pub:{signal.key}", self.key],
            args=[self._dedup_ttl_ms, self._maxlen, encode(signal)],
        )
        return None if found is None else _s(found)

    async def unpublish(self, signal: Signal) -> None:
        """Forget the publish marker (for tests and tools only: the entry itself stays)."""
        await self.redis.delete(f"{self.base}:pub:{signal.key}")

    async def take_over(self, partition: int, consumer: str) -> int:
        """Move every pending entry of the partition's group to `consumer` (the new owner); how many."""
        start, moved = "0-0", 0
        while True:
            reply: Any = await self.redis.xautoclaim(
                self.key, group_name(partition), consumer, min_idle_time=0, start_id=start, count=500
            )
            if not reply:
                return moved
            start = _s(reply[0])
            moved += len(reply[1])
            if start == "0-0":
                return moved

    async def read(
        self, partition: int, consumer: str, *, pending: bool, count: int, block_ms: int
    ) -> list[Entry]:
        """The consumer's pending entries (`pending`: already delivered, not acknowledged) or new ones
        (waiting up to `block_ms` for them)."""
        reply: Any = await self.redis.xreadgroup(
            group_name(partition),
            consumer,
            {self.key: "0" if pending else ">"},
            count=count,
            block=None if pending else block_ms,
        )
        out: list[Entry] = []
        for _stream, entries in reply or []:
            for entry_id, fields in entries:
                raw = None if not fields else fields.get(b"s", fields.get("s"))
                out.append((_s(entry_id), None if raw is None else bytes(raw)))
        return out

    async def ack(self, partition: int, ids: list[str]) -> None:
        if ids:
            await cast(Awaitable[Any], self.redis.xack(self.key, group_name(partition), *ids))

    async def first_entry_at(self) -> float | None:
        """When (unix seconds, Redis server clock) the oldest entry still in the stream was appended;
        None if the stream is empty or missing (Redis restarted empty). What was published before it is
        no longer in the stream (trimmed, or lost with Redis)."""
        first: Any = await self.redis.xrange(self.key, count=1)
        if not first:
            return None
        return int(_s(first[0][0]).split("-", 1)[0]) / 1000

    async def length(self) -> int:
        return int(await self.redis.xlen(self.key))

    async def positions(self) -> dict[int, Position]:
        """Every partition group's position (missing groups are left out)."""
        try:
            groups = await self.redis.xinfo_groups(self.key)
        except ResponseError:  # no stream yet
            return {}
        out: dict[int, Position] = {}
        for g in groups:
            name = _s(g["name"])
            if not name.startswith("p") or not name[1:].isdigit():
                continue
            p = int(name[1:])
            lag = g.get("lag")
            out[p] = Position(
                p,
                None if lag is None else int(lag),
                int(g.get("pending", 0)),
                _s(g.get("last-delivered-id", "")),
                int(g.get("consumers", 0)),
            )
        return out
