"""The ingest shards an ingest worker holds: leaders' per-leader sources spread over the ingest workers.

A leader's shard is ``shard_of(address, cluster.ingest_shards)`` (partitions.py). Shards are leased exactly
like the execution partitions (membership.py, ``ingest-lease:<s>``, the same TTL) and assigned among the
live members with the ``ingest`` role by the same bounded-load rendezvous. Every beat the worker renews
its shard leases, then

1. stops following the shards it lost (lease not renewed) or should no longer hold (a member joined):
   the ingest service drops their leaders from its per-leader sources at once; the surplus leases are
   released (in the background, not holding the beat) once no poll of a dropped leader is in flight,
   so a leader is never polled by two workers at once on a clean hand-over (a poll stuck longer than a
   lease TTL: the lease expires by itself);
2. takes the free shards it should hold and follows their leaders.

A dead worker's shard leases expire within ``lease_ttl_ms``; the others see it gone within
``member_ttl_ms`` and take its shards at their next beat. The new owner's poller resumes each leader from
its cursor in the database (`signal_cursors`): nothing is lost, and a fill read twice around a
hand-over is dropped by the durable dedup (`signals` keys, the stream's publish dedup).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Iterable

from polyhunter.cluster.membership import Leases
from polyhunter.cluster.partitions import wanted_by
from polyhunter.log import get_logger

log = get_logger(__name__)

Follow = Callable[[frozenset[int]], None]  # follow these shards' leaders from now on (and no others)
Settled = Callable[[], Awaitable[None]]  # returns once no poll of a leader no longer followed is in flight


class IngestShards:
    def __init__(self, leases: Leases, count: int, worker_id: str, *, margin: float) -> None:
        self.leases = leases
        self.count = count
        self.id = worker_id
        self._margin = margin  # a lease counts as held until this share of its TTL after renewal
        self._follow: Follow | None = None
        self._settled: Settled | None = None
        self._held: dict[int, float] = {}  # shard -> valid until (monotonic)
        self._followed: frozenset[int] = frozenset()
        self._handing: set[asyncio.Task[None]] = set()
        self.changes = 0  # times the set of followed shards changed
        self.lost = 0  # leases lost (not renewed in time)

    def attach(self, follow: Follow, settled: Settled) -> None:
        """The ingest service's hooks: shards are taken only once something follows them."""
        self._follow, self._settled = follow, settled

    @property
    def active(self) -> bool:
        return self._follow is not None

    @property
    def owned(self) -> list[int]:
        return sorted(self._held)

    async def rebalance(self, ingesters: Iterable[str]) -> None:
        """One beat: renew, hand over the surplus, take what is ours (see the module docstring)."""
        if self._follow is None:
            return
        now = time.monotonic()
        kept = await self.leases.renew(sorted(self._held), self.id)
        until = now + self.leases.ttl_ms / 1000 * self._margin
        lost = set(self._held) - kept
        if lost:
            self.lost += len(lost)
            log.warning("ingest shard leases lost", shards=sorted(lost))
        want = wanted_by(self.id, self.count, ingesters)
        surplus = kept - want
        self._held = dict.fromkeys(kept - surplus, until)
        self._apply()
        if surplus:  # released once the dropped leaders' polls ended (not in the beat: it must go on)
            task = asyncio.create_task(self._hand_over(sorted(surplus)), name="ingest-shard-handover")
            self._handing.add(task)
            task.add_done_callback(self._handing.discard)
        for s in sorted(want - set(self._held)):
            if await self.leases.acquire(s, self.id):
                self._held[s] = until
        self._apply()

    async def _hand_over(self, shards: list[int]) -> None:
        assert self._settled is not None
        try:  # a lease not released expires by itself within its TTL: no longer wait than that
            await asyncio.wait_for(self._settled(), self.leases.ttl_ms / 1000)
        except TimeoutError:
            log.warning("dropped leaders' polls still in flight; their leases expire", shards=shards)
            return
        for s in shards:
            try:
                await self.leases.release(s, self.id)
            except Exception as exc:  # noqa: BLE001 - it expires by itself
                log.warning("ingest shard lease not released", shard=s, error=repr(exc))
                return
        log.info("ingest shards handed over", worker=self.id, shards=shards)

    def drop_expired(self) -> None:
        """Beats failing (Redis away): shards whose lease is past its validity are no longer followed."""
        now = time.monotonic()
        expired = [s for s, until in self._held.items() if now >= until]
        for s in expired:
            del self._held[s]
        if expired:
            self.lost += len(expired)
            self._apply()

    async def leave(self) -> None:
        """A clean stop (the ingest service has stopped): the leases go now, not after a TTL."""
        for task in list(self._handing):
            task.cancel()
        held, self._held = sorted(self._held), {}
        self._apply()
        for s in held:
            await self.leases.release(s, self.id)

    def _apply(self) -> None:
        shards = frozenset(self._held)
        if shards == self._followed or self._follow is None:
            return
        dropped, added = sorted(self._followed - shards), sorted(shards - self._followed)
        self._followed = shards
        self.changes += 1
        log.info("ingest shards followed", worker=self.id, shards=len(shards), dropped=dropped, added=added)
        self._follow(shards)
