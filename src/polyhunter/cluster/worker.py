"""A cluster worker: its roles, its membership, its partitions' leases and consumers.

* ``ingest`` role: the ingest service's sink is :meth:`ClusterWorker.publish`: each accepted signal is
  recorded in ``signals`` (so copy rows can refer to it) and appended to the stream once per key.
  Its leaders' per-leader sources (the Data API poller) follow only the ingest shards it holds
  (``IngestShards``, cluster/ingest_shards.py: leased and rebalanced every beat like the partitions).
* ``execute`` role: every beat (``cluster.heartbeat_ms``) the worker renews its leases, computes the
  partitions it should own among the live execution workers (rendezvous hashing, partitions.py), releases
  those it should no longer own (after stopping their consumers) and takes the free ones it should own
  (a lease with a TTL), starting a consumer for each (consumer.py). A lease it could not renew within
  its TTL is dropped at once (its consumer stops at the next entry). A worker that dies stops beating:
  its membership and its leases expire and the others take its partitions within about
  ``member_ttl_ms`` + ``heartbeat_ms``.

A Redis that restarted empty loses the members, the leases, the stream and its groups: every worker's
next beat finds its own entry gone and its leases not renewed, so it stops its consumers and takes
partitions again; each new consumer creates its group again and first hands on what the database says
its partition still owes (consumer.py). For two member TTLs after its entry was found gone a worker
counts the members it knew before as alive (their unsent copies are in flight, not orphans to release).
"""

from __future__ import annotations

import asyncio
import socket
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime

from redis.asyncio import BlockingConnectionPool, Redis

from polyhunter.cluster.consumer import REDIS_ERRORS, Handle, PartitionConsumer, Take
from polyhunter.cluster.ingest_shards import IngestShards
from polyhunter.cluster.membership import Member, Membership
from polyhunter.cluster.partitions import wanted_by
from polyhunter.cluster.stream import Position, SignalStream
from polyhunter.domain.signal import Signal
from polyhunter.engine.intake import ConfigScope
from polyhunter.log import get_logger
from polyhunter.settings import ClusterSettings
from polyhunter.task_drain import raise_if_cancelled

log = get_logger(__name__)

ROLES = ("ingest", "execute")
STOP_WAIT_S = 5.0  # how long a stopping consumer may take to end
LEASE_MARGIN = 0.8  # a lease counts as held until this share of its TTL after the last renewal
RecordSignals = Callable[[list[Signal]], Awaitable[object]]
# (the live members, the partition's followers, until when signals may be missing from the stream) ->
# the signals the partition still owes: unsent copies released to us, recorded signals without copies
ReleaseOrphans = Callable[[set[str], ConfigScope, datetime], Awaitable[list[Signal]]]
CLOCK_SKEW_S = 5.0  # between the Redis server's clock (stream ids) and the database's (seen_at)


def parse_roles(text: str) -> tuple[str, ...]:
    roles = tuple(dict.fromkeys(r.strip().lower() for r in text.split(",") if r.strip()))
    unknown = [r for r in roles if r not in ROLES]
    if unknown or not roles:
        raise ValueError(f"roles must be a comma-separated subset of {', '.join(ROLES)}; got {text!r}")
    return roles


def cluster_prefix(redis_prefix: str) -> str:
    return f"{redis_prefix}:cluster"


def cluster_redis(url: str, partitions: int, read_block_ms: int = 60_000) -> Redis:
    """A client of its own: each owned partition's consumer holds a connection in a blocking read. The
    socket timeout outlasts that read (``read_block_ms``) by 10 s: a broker that stopped answering fails
    the call (retried) instead of holding a consumer, a beat or a stop forever."""
    pool = BlockingConnectionPool.from_url(
        url,
        max_connections=partitions + 16,
        timeout=10,
        socket_connect_timeout=5,
        socket_timeout=read_block_ms / 1000 + 10,
    )
    return Redis.from_pool(pool)


@dataclass
class _Held:
    consumer: PartitionConsumer
    task: asyncio.Task[None]
    valid_until: float  # monotonic


@dataclass
class ClusterCounters:
    published: int = 0
    duplicates: int = 0  # publishes dropped: the key was in the stream already
    rebalances: int = 0
    leases_lost: int = 0
    acquired_at: dict[int, float] = field(default_factory=dict)  # partition -> unix seconds


class ClusterWorker:
    def __init__(
        self,
        settings: ClusterSettings,
        redis: Redis,
        prefix: str,
        worker_id: str,
        roles: Sequence[str],
        *,
        handle: Handle | None = None,
        record: RecordSignals | None = None,
        release_orphans: ReleaseOrphans | None = None,
        take: Take | None = None,
        release: Callable[[ConfigScope], None] | None = None,
    ) -> None:
        """`take` / `release`: the engine's state of a partition's followers is read again when the
        partition is taken, before its first signal, and dropped when it is given up (engine/handover.py)."""
        self.settings = settings
        self.redis = redis
        self.id = worker_id
        self.roles = tuple(roles)
        self.member = Member(worker_id, self.roles, socket.gethostname(), time.time())
        self.stream = SignalStream(
            redis,
            prefix,
            settings.stream,
            maxlen=settings.stream_maxlen,
            dedup_ttl_ms=settings.publish_dedup_ttl_s * 1000,
        )
        self.membership = Membership(
            redis, prefix, member_ttl_ms=settings.member_ttl_ms, lease_ttl_ms=settings.lease_ttl_ms
        )
        self.shards = IngestShards(
            self.membership.shard_leases, settings.ingest_shards, worker_id, margin=LEASE_MARGIN
        )
        self._handle = handle
        self._record = record
        self._release_orphans = release_orphans
        self._take = take
        self._release = release
        self._held: dict[int, _Held] = {}
        self.positions: dict[int, Position] = {}
        self.members: list[Member] = []
        self.counters = ClusterCounters()
        self._beaten = False
        # the members known when the membership was found lost (Redis restarted empty), and until when
        # (monotonic) they count as alive while they have not beaten again
        self._known_before_reset: tuple[set[str], float] = (set(), 0.0)
        self._tick_lock = asyncio.Lock()  # one beat at a time (run's loop, a status read, a test)

    @property
    def executes(self) -> bool:
        return "execute" in self.roles and self._handle is not None

    @property
    def owned(self) -> list[int]:
        return sorted(self._held)

    def consumers(self) -> dict[int, PartitionConsumer]:
        return {p: h.consumer for p, h in self._held.items()}

    async def start(self) -> None:
        await self.stream.ensure_groups(self.settings.partitions)
        await self.membership.beat(self.member)
        self._beaten = True

    # ------------------------------------------------------------------------------------ ingest role

    async def publish(self, signals: list[Signal]) -> None:
        """The ingest sink: record the signals (the copy rows refer to them), then append each to the
        stream once per key. Raises if either failed: the mux forgets the keys, the source offers again."""
        if self._record is not None:
            await self._record(signals)
        for signal in signals:
            if await self.stream.publish(signal) is None:
                self.counters.duplicates += 1
            else:
                self.counters.published += 1

    # ----------------------------------------------------------------------------------- execute role

    async def run(self) -> None:
        interval = self.settings.heartbeat_ms / 1000
        try:
            while True:
                try:
                    await self.tick()
                except REDIS_ERRORS as exc:
                    log.warning("cluster beat failed; retrying", error=repr(exc))
                    self._drop_expired()
                    self.shards.drop_expired()
                raise_if_cancelled()
                await asyncio.sleep(interval)
        finally:
            await self._stop_consumers(list(self._held))

    async def tick(self) -> None:
        async with self._tick_lock:
            if await self.membership.beat(self.member) and self._beaten:
                self._membership_lost()
            self._beaten = True
            self.members = await self.membership.live()
            if self.executes:
                await self._rebalance()
            if "ingest" in self.roles and self.shards.active:
                await self.shards.rebalance([m.id for m in self.members if "ingest" in m.roles])
            self.positions = await self.stream.positions()

    async def _rebalance(self) -> None:
        p_count = self.settings.partitions
        now = time.monotonic()
        kept = await self.membership.renew(sorted(self._held), self.id)
        until = now + self.settings.lease_ttl_ms / 1000 * LEASE_MARGIN
        for p in list(self._held):
            held = self._held[p]
            if p in kept and held.task.done():  # a bug ended the consumer: log it, start another
                exc = None if held.task.cancelled() else held.task.exception()
                log.error("partition consumer ended; restarting it", partition=p, error=repr(exc))
                del self._held[p]
                self._start_consumer(p, until)
            elif p in kept:
                held.valid_until = until
            else:
                self.counters.leases_lost += 1
                log.warning("partition lease lost", partition=p)
                await self._stop_consumers([p], release=False)
        executors = [m.id for m in self.members if "execute" in m.roles]
        want = wanted_by(self.id, p_count, executors)
        surplus = [p for p in self._held if p not in want]
        if surplus:
            await self._stop_consumers(surplus)
        for p in sorted(want - set(self._held)):
            if await self.membership.acquire(p, self.id):
                self._start_consumer(p, until)
        if surplus or len(self._held) != len(kept):
            self.counters.rebalances += 1

    def _start_consumer(self, p: int, valid_until: float) -> None:
        assert self._handle is not None
        holder: list[_Held] = []

        def still_owned() -> bool:
            return (
                bool(holder) and time.monotonic() < holder[0].valid_until and self._held.get(p) is holder[0]
            )

        consumer = PartitionConsumer(
            p,
            self.settings.partitions,
            self.id,
            self.stream,
            self._handle,
            still_owned,
            read_count=self.settings.read_count,
            block_ms=self.settings.read_block_ms,
            recover=None if self._release_orphans is None else self._orphans_of,
            take=self._take,
        )
        held = _Held(consumer, asyncio.create_task(consumer.run(), name=f"partition-{p}"), valid_until)
        holder.append(held)
        self._held[p] = held
        self.counters.acquired_at[p] = time.time()
        log.info("partition owned", partition=p, worker=self.id)

    def _membership_lost(self) -> None:
        """Our entry was gone at a beat: the others' entries may be gone too (Redis restarted empty) and
        come back only as each beats again. Until they have had the time to (2 member TTLs), the members
        known before count as alive: their prewritten copies are in flight, not a dead owner's orphans."""
        known = {m.id for m in self.members} - {self.id}
        self._known_before_reset = (known, time.monotonic() + 2 * self.settings.member_ttl_ms / 1000)
        log.warning("cluster membership was lost (Redis restarted empty?); joining again", known=len(known))

    def live_ids(self) -> set[str]:
        """The members alive as far as this worker can tell (itself included)."""
        known, until = self._known_before_reset
        live = {m.id for m in self.members} | {self.id}
        return live | known if time.monotonic() < until else live

    async def _orphans_of(self, scope: ConfigScope) -> list[Signal]:
        """What the database says a partition still owes: the signals recorded before the oldest entry
        still in the stream (all of them, if the stream is empty: Redis restarted empty) may be missing
        from it; those without copies are handed on again, with the dead owners' unsent ones."""
        assert self._release_orphans is not None
        first = await self.stream.first_entry_at()
        until = time.time() if first is None else first + CLOCK_SKEW_S
        return await self._release_orphans(self.live_ids(), scope, datetime.fromtimestamp(until, UTC))

    def _drop_expired(self) -> None:
        """Beats failing (Redis away): leases past their validity are no longer ours."""
        now = time.monotonic()
        for p, held in list(self._held.items()):
            if now >= held.valid_until:
                held.task.cancel()
                del self._held[p]
                self.counters.leases_lost += 1
                self._dropped(held.consumer)

    async def _stop_consumers(self, partitions: list[int], *, release: bool = True) -> None:
        stopping = [self._held.pop(p) for p in partitions if p in self._held]
        for held in stopping:
            held.task.cancel()
        if stopping:  # bounded: a consumer stuck in a client call must not hold the beat (or the exit)
            _, stuck = await asyncio.wait([h.task for h in stopping], timeout=STOP_WAIT_S)
            for task in stuck:
                log.error("partition consumer did not stop in time; left behind", task=task.get_name())
        for held in stopping:
            p = held.consumer.partition
            self._dropped(held.consumer)
            if release:
                try:
                    await self.membership.release(p, self.id)
                except REDIS_ERRORS as exc:  # it expires by itself
                    log.warning("partition lease not released", partition=p, error=repr(exc))
            log.info("partition handed over", partition=p, worker=self.id)

    def _dropped(self, consumer: PartitionConsumer) -> None:
        if self._release is not None:
            self._release(consumer.scope)

    async def leave(self) -> None:
        """A clean stop: consumers stopped, leases released, membership removed (others take over now)."""
        await self._stop_consumers(list(self._held))
        try:
            await self.shards.leave()
        except REDIS_ERRORS as exc:
            log.warning("ingest shard leases not released; they expire", error=repr(exc))
        try:
            await self.membership.leave(self.id)
        except REDIS_ERRORS as exc:
            log.warning("cluster membership not removed; it expires", error=repr(exc))

    async def close(self) -> None:
        await self.redis.aclose()
