"""Signal-key dedup: the first source to offer a key wins, later copies are counted per source.

:class:`DedupSet` is the in-process set, built for the hot path (hundreds of thousands of checks
per second on one core): two generations of plain dicts. New keys go into the current generation;
when it is ``ttl_s`` old (or holds half of ``max_keys``) the previous generation is dropped whole and
the current one becomes the previous. A key is therefore remembered for at least ``ttl_s`` (between
one and two TTLs) unless the size bound forces an early rotation, which is counted in
``evicted_early``; memory never exceeds ``max_keys`` entries. No per-key timestamps, no heap.

:class:`CoordinatorDedup` puts the same contract on a shared ``Coordinator`` (Redis for several
supervisors); the mux checks the local set first so that repeats seen by this process never cost a
round trip. A shared key is first only a short claim (``claim_ttl_s``), kept alive while the signal is
handed on and made final (``ttl_s``) once it is durable: a process killed in between (e.g. while its
database is stalled) leaves a claim that expires, and another supervisor's source records the fill. A
source that meets another process's live claim waits until it turns final (a duplicate) or expires
(then it takes the key).
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from polyhunter.domain.signal import SourceKind
from polyhunter.log import get_logger
from polyhunter.ports.coordinator import Claim, Coordinator
from polyhunter.task_drain import raise_if_cancelled

log = get_logger(__name__)

SOURCES: tuple[SourceKind, ...] = tuple(SourceKind)


@dataclass(slots=True)
class DedupStats:
    """Per-source accounting: how many keys each source offered first, and how many it offered late."""

    first: dict[SourceKind, int] = field(default_factory=lambda: dict.fromkeys(SOURCES, 0))
    late: dict[SourceKind, int] = field(default_factory=lambda: dict.fromkeys(SOURCES, 0))
    # (late source, source that had won) -> count; e.g. (POLL, WS) = polling confirmed a pushed fill
    late_by_winner: dict[tuple[SourceKind, SourceKind], int] = field(default_factory=dict)

    def record(self, source: SourceKind, winner: SourceKind | None) -> None:
        if winner is None:
            self.first[source] += 1
            return
        self.late[source] += 1
        pair = (source, winner)
        self.late_by_winner[pair] = self.late_by_winner.get(pair, 0) + 1


class DedupSet:
    """In-memory, TTL- and size-bounded set of signal keys (see module doc). Not thread-safe: one per
    event loop, which is where every source of a process delivers."""

    __slots__ = (
        "_clock",
        "_cur",
        "_half",
        "_old",
        "_rotated_at",
        "_ttl",
        "evicted_early",
        "rotations",
        "stats",
    )

    def __init__(
        self, ttl_s: float, max_keys: int = 2_000_000, clock: Callable[[], float] = time.monotonic
    ) -> None:
        if ttl_s <= 0 or max_keys < 2:
            raise ValueError("ttl_s must be > 0 and max_keys >= 2")
        self._ttl = float(ttl_s)
        self._half = max_keys // 2
        self._clock = clock
        self._cur: dict[str, SourceKind] = {}
        self._old: dict[str, SourceKind] = {}
        self._rotated_at = clock()
        self.evicted_early = 0
        self.rotations = 0
        self.stats = DedupStats()

    def _rotate(self, now: float) -> None:
        if len(self._cur) >= self._half and now - self._rotated_at < self._ttl:
            self.evicted_early += len(self._old)
        self._old = self._cur
        self._cur = {}
        self._rotated_at = now
        self.rotations += 1

    def check(self, key: str, source: SourceKind) -> bool:
        """True if ``key`` is new (and now remembered as ``source``'s); False for a repeat."""
        cur = self._cur
        if len(cur) >= self._half or self._clock() - self._rotated_at >= self._ttl:
            self._rotate(self._clock())
            cur = self._cur
        winner = cur.get(key)
        if winner is None:
            winner = self._old.get(key)
        if winner is None:
            cur[key] = source
            self.stats.first[source] += 1
            return True
        self.stats.record(source, winner)
        return False

    async def first_seen(self, key: str, source: SourceKind) -> bool:
        return self.check(key, source)

    def discard(self, key: str) -> None:
        self._cur.pop(key, None)
        self._old.pop(key, None)

    async def forget(self, key: str) -> None:
        self.discard(key)

    async def hold(self, keys: Sequence[str]) -> None:
        """Nothing to keep alive in one process's own set."""

    async def finalize(self, keys: Sequence[str]) -> None:
        """A key of this set is final once accepted."""

    def __len__(self) -> int:
        return len(self._cur) + len(self._old)

    def __contains__(self, key: object) -> bool:
        return key in self._cur or key in self._old


class CoordinatorDedup:
    """``SignalDedup`` over a shared ``Coordinator`` (e.g. Redis): one winner across processes, final
    only once its signal is durable (see the module doc)."""

    def __init__(
        self,
        coord: Coordinator,
        ttl_s: float,
        prefix: str = "sig:",
        *,
        claim_ttl_s: float = 5.0,
        owner: str | None = None,
    ) -> None:
        self._coord = coord
        self._ttl_ms = int(ttl_s * 1000)
        self._claim_ms = max(int(claim_ttl_s * 1000), 1)
        self._prefix = prefix
        self.owner = owner or uuid.uuid4().hex
        self.stats = DedupStats()
        self.claim_waits = 0  # times a key was found claimed by another process, not final yet

    async def first_seen(self, key: str, source: SourceKind) -> bool:
        """True once this process holds the key's claim; False once the key is final. While another
        process holds a live claim, waits (that process may still fail, or die and let it expire)."""
        while True:
            raise_if_cancelled()  # a cancel swallowed inside the loop
            found = await self._coord.claim(self._prefix + key, self.owner, self._claim_ms)
            if found is Claim.MINE:
                self.stats.first[source] += 1
                return True
            if found is Claim.FINAL:
                # the shared store keeps no winner; attribute the late copy to this source only
                self.stats.late[source] += 1
                return False
            self.claim_waits += 1
            await asyncio.sleep(min(0.5, self._claim_ms / 4000))

    async def forget(self, key: str) -> None:
        await self._coord.unclaim(self._prefix + key, self.owner)

    async def hold(self, keys: Sequence[str]) -> None:
        """Refresh this process's claims on `keys` every third of their TTL until cancelled."""
        while True:
            raise_if_cancelled()  # a cancel swallowed inside the loop
            await asyncio.sleep(self._claim_ms / 3000)
            try:
                async with asyncio.timeout(self._claim_ms / 1000):  # a round outliving the claims is moot
                    for key in keys:
                        await self._coord.claim(self._prefix + key, self.owner, self._claim_ms)
            except Exception as exc:  # noqa: BLE001 - Redis away: try again at the next round
                log.warning("shared dedup claims not refreshed", keys=len(keys), error=repr(exc))

    async def finalize(self, keys: Sequence[str]) -> None:
        for key in keys:
            await self._coord.finalize(self._prefix + key, self._ttl_ms)
