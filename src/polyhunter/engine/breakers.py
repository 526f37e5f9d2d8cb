"""Circuit breakers per config, shared by every process through the Coordinator.

The rule is `domain.guardrails.CircuitBreaker` (opens after `threshold` consecutive failures, closes
after `cooldown_ms`, half-open: one try). Each process keeps the breakers of the configs it runs in
memory (the hot path reads no coordinator), and writes what another process needs to know to the
Coordinator (Redis for a cluster; in memory for one process):

* a failure adds to `breaker:fails:<config>` (TTL the cooldown: failures older than that are forgotten);
* a breaker that opens sets `breaker:open:<config>` to the time it opened, with the cooldown as TTL
  (it expires when the breaker would close);
* a success after failures deletes both.

A config's breaker is read from the Coordinator the first time this process runs it, and again after
`forget` (a cluster worker took the partition of its follower: another worker may have opened it;
engine/handover.py). So an open breaker stays open when its partition moves to another worker, until
its cooldown ends. Best effort: a Coordinator that cannot be reached leaves the local state as it is
(logged). A Redis restarted empty forgets open breakers: a partition's new owner (every worker takes its
partitions again after that) rebuilds them from the store (`rebuild`: configs whose last `threshold`
copies that ended within the cooldown all FAILED; conservative: a FAILED copy that never reached the
venue counts too).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime

from polyhunter.domain.guardrails import CircuitBreaker
from polyhunter.log import get_logger
from polyhunter.ports.coordinator import Coordinator, CoordinatorUnavailable

log = get_logger(__name__)


def _fails_key(config_id: int) -> str:
    return f"breaker:fails:{config_id}"


def _open_key(config_id: int) -> str:
    return f"breaker:open:{config_id}"


class SharedBreakers:
    def __init__(self, coord: Coordinator, threshold: int, cooldown_ms: int) -> None:
        self._coord = coord
        self._threshold = threshold
        self._cooldown_ms = cooldown_ms
        self._local: dict[int, CircuitBreaker] = {}
        self._user: dict[int, int] = {}  # config id -> its follower (for `forget`)
        self.loads = 0  # breakers read from the coordinator

    @property
    def threshold(self) -> int:
        return self._threshold

    @property
    def cooldown_ms(self) -> int:
        return self._cooldown_ms

    def local(self, config_id: int) -> CircuitBreaker:
        """This process's breaker of the config (a new, closed one if it has none)."""
        b = self._local.get(config_id)
        if b is None:
            b = self._local[config_id] = CircuitBreaker(self._threshold, self._cooldown_ms)
        return b

    async def is_open(self, config_id: int, user_id: int, now_ms: int) -> bool:
        self._user[config_id] = user_id
        b = self._local.get(config_id)
        if b is None:
            b = await self._load(config_id)
        return b.is_open(now_ms)

    async def _load(self, config_id: int) -> CircuitBreaker:
        b = CircuitBreaker(self._threshold, self._cooldown_ms)
        try:
            failures = await self._coord.get_counter(_fails_key(config_id))
            opened = await self._coord.get_counter(_open_key(config_id))
        except CoordinatorUnavailable as exc:
            log.warning("breaker state unreadable; starting it closed", config=config_id, error=str(exc))
        else:
            b.restore(failures, opened or None)
            self.loads += 1
            if opened:
                log.info("breaker open elsewhere; kept open here", config=config_id, opened_at_ms=opened)
        return self._local.setdefault(config_id, b)

    async def failed(self, config_id: int, now_ms: int) -> bool:
        """A copy of the config failed at the venue; True if this opened its breaker."""
        opened = self.local(config_id).record_failure(now_ms)
        try:
            await self._coord.incr(_fails_key(config_id), 1, self._cooldown_ms)
            if opened:
                await self._coord.drop_counters([_open_key(config_id)])
                await self._coord.seed_counters({_open_key(config_id): now_ms}, self._cooldown_ms)
        except CoordinatorUnavailable as exc:
            log.warning("breaker state not shared", config=config_id, error=str(exc))
        if opened:
            log.warning("circuit breaker opened", config=config_id)
        return opened

    async def succeeded(self, config_id: int) -> None:
        b = self.local(config_id)
        had = b.consecutive_failures > 0 or b.opened_at_ms is not None
        b.record_success()
        if not had:
            return
        try:
            await self._coord.drop_counters([_fails_key(config_id), _open_key(config_id)])
        except CoordinatorUnavailable as exc:
            log.warning("breaker state not shared", config=config_id, error=str(exc))

    async def rebuild(self, opened: Mapping[int, datetime], now: datetime) -> None:
        """Open breakers the store says should be open ({config id: when its last failure ended}),
        where the coordinator knows none (created if absent: what it knows wins). For a Redis that lost
        them (restarted empty): a partition's new owner reads its followers' recent copies on take."""
        for config_id, at in opened.items():
            at_ms = int(at.timestamp() * 1000)
            left_ms = at_ms + self._cooldown_ms - int(now.timestamp() * 1000)
            if left_ms <= 0:
                continue
            values = {_open_key(config_id): at_ms, _fails_key(config_id): self._threshold}
            try:
                await self._coord.seed_counters(values, left_ms)
            except CoordinatorUnavailable as exc:
                log.warning("breaker state not rebuilt", config=config_id, error=str(exc))

    def forget(self, users: Callable[[int], bool]) -> int:
        """Drop the local breakers of these followers' configs: read from the coordinator at next use."""
        gone = [c for c, u in self._user.items() if users(u)]
        for config_id in gone:
            self._local.pop(config_id, None)
            del self._user[config_id]
        return len(gone)
