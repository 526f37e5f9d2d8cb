"""Members of the cluster and the leases on partitions, in Redis (times from the Redis server's clock).

* A member beats every ``cluster.heartbeat_ms``: its entry in the ``members`` hash says until when it is
  alive (server time + ``member_ttl_ms``) and what it is (roles, host, when it started). A member whose
  entry expired is gone (SIGKILLed, cut off, paused): ``live`` drops it.
* A partition's lease is the key ``lease:<p>`` holding its owner, with a TTL (``lease_ttl_ms``): taken
  with SET NX PX, renewed by its owner (all at once, one script a beat), released by its owner on a clean
  hand-over. A lease not renewed expires by itself, so a dead owner's partitions are free within a TTL.
* The ingest shards (leaders' sources spread over the ingest workers, cluster/ingest_shards.py) are leased
  the same way under ``ingest-lease:<s>`` (:class:`Leases` with its own namespace).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from redis.asyncio import Redis

# 1 if the member's entry was missing (its first beat, or the hash was lost: Redis restarted empty)
_BEAT = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local new = redis.call('HSET', KEYS[1], ARGV[1], now + tonumber(ARGV[2]))
redis.call('HSET', KEYS[2], ARGV[1], ARGV[3])
return new
"""
# the live members' ids and infos; the expired ones are removed
_LIVE = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local all = redis.call('HGETALL', KEYS[1])
local out = {}
for i = 1, #all, 2 do
  if tonumber(all[i + 1]) > now then
    table.insert(out, all[i])
    table.insert(out, redis.call('HGET', KEYS[2], all[i]) or '{}')
  else
    redis.call('HDEL', KEYS[1], all[i])
    redis.call('HDEL', KEYS[2], all[i])
  end
end
return out
"""
# renew each lease the caller owns; 1 per key renewed, 0 per key lost
_RENEW = """
local out = {}
for i, key in ipairs(KEYS) do
  if redis.call('GET', key) == ARGV[1] then
    redis.call('PEXPIRE', key, ARGV[2]) out[i] = 1
  else
    out[i] = 0
  end
end
return out
"""
_RELEASE = """
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
"""


@dataclass(frozen=True, slots=True)
class Member:
    id: str
    roles: tuple[str, ...]
    host: str
    started: float  # unix seconds


def _s(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


class Leases:
    """Leases with a TTL on numbered things (`<base>:<name>:<n>`): partitions, ingest shards."""

    def __init__(self, redis: Redis, base: str, name: str, ttl_ms: int) -> None:
        self.redis = redis
        self._key = f"{base}:{name}"
        self.ttl_ms = ttl_ms
        self._renew: Any = redis.register_script(_RENEW)
        self._release: Any = redis.register_script(_RELEASE)

    def key(self, n: int) -> str:
        return f"{self._key}:{n}"

    async def acquire(self, n: int, owner: str) -> bool:
        return bool(await self.redis.set(self.key(n), owner, nx=True, px=self.ttl_ms))

    async def renew(self, numbers: Sequence[int], owner: str) -> set[int]:
        """Renew the leases of `numbers` held by `owner`; the numbers whose lease it still holds."""
        if not numbers:
            return set()
        kept = await self._renew(keys=[self.key(n) for n in numbers], args=[owner, self.ttl_ms])
        return {n for n, ok in zip(numbers, kept, strict=True) if int(ok)}

    async def release(self, n: int, owner: str) -> bool:
        return bool(await self._release(keys=[self.key(n)], args=[owner]))

    async def owners(self, count: int) -> dict[int, str | None]:
        values = await self.redis.mget([self.key(n) for n in range(count)])
        return {n: None if v is None else _s(v) for n, v in enumerate(values)}


class Membership:
    def __init__(self, redis: Redis, prefix: str, *, member_ttl_ms: int, lease_ttl_ms: int) -> None:
        self.redis = redis
        self.base = "{" + prefix + "}"
        self._members = f"{self.base}:members"
        self._infos = f"{self.base}:member-info"
        self.member_ttl_ms = member_ttl_ms
        self.lease_ttl_ms = lease_ttl_ms
        self._beat: Any = redis.register_script(_BEAT)
        self._live: Any = redis.register_script(_LIVE)
        self.leases = Leases(redis, self.base, "lease", lease_ttl_ms)  # execution partitions
        self.shard_leases = Leases(redis, self.base, "ingest-lease", lease_ttl_ms)  # ingest shards

    def lease_key(self, partition: int) -> str:
        return self.leases.key(partition)

    async def beat(self, member: Member) -> bool:
        """Say `member` is alive; True if its entry was missing (its first beat, or the membership was
        lost: Redis restarted empty, or the member's entry expired while it was cut off)."""
        info = json.dumps({"roles": list(member.roles), "host": member.host, "started": member.started})
        new = await self._beat(keys=[self._members, self._infos], args=[member.id, self.member_ttl_ms, info])
        return bool(int(new))

    async def leave(self, member_id: str) -> None:
        await self.redis.hdel(self._members, member_id)
        await self.redis.hdel(self._infos, member_id)

    async def live(self) -> list[Member]:
        flat = await self._live(keys=[self._members, self._infos])
        out = []
        for i in range(0, len(flat), 2):
            info = json.loads(_s(flat[i + 1]) or "{}")
            out.append(
                Member(
                    _s(flat[i]),
                    tuple(info.get("roles", ())),
                    str(info.get("host", "")),
                    float(info.get("started", 0.0)),
                )
            )
        return sorted(out, key=lambda m: m.id)

    async def acquire(self, partition: int, owner: str) -> bool:
        return await self.leases.acquire(partition, owner)

    async def renew(self, partitions: Sequence[int], owner: str) -> set[int]:
        """Renew the leases of `partitions` held by `owner`; the partitions whose lease it still holds."""
        return await self.leases.renew(partitions, owner)

    async def release(self, partition: int, owner: str) -> bool:
        return await self.leases.release(partition, owner)

    async def owners(self, count: int) -> dict[int, str | None]:
        return await self.leases.owners(count)
