"""What /health reports: each dependency of a running PolyHunter, checked cheaply and cached.

`Health.report()` runs every check (concurrently, each bounded by its timeout and cached for its
`cache_s`) and returns the document and its HTTP status:

    {"status": "ok" | "degraded" | "down", "checks": {name: {"status": ..., "detail": ...}}}

`down` (HTTP 503) when a critical check (the database) is down; `degraded` (HTTP 200) when any other
check is down or degraded; `ok` (HTTP 200) only when every check is ok. The checks are built in
`polyhunter.app` from the process's own objects; the API only serves the document.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, Protocol

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from polyhunter.ports.sources import SourceHealth


class CheckStatus(StrEnum):
    OK = "ok"
    DEGRADED = "degraded"
    DOWN = "down"


@dataclass(frozen=True)
class CheckResult:
    status: CheckStatus
    detail: str = ""


Probe = Callable[[], Awaitable[CheckResult]]


@dataclass
class Check:
    """One dependency: `probe` is awaited at most once per `cache_s`, for at most `timeout_s`."""

    name: str
    probe: Probe
    critical: bool = False
    timeout_s: float = 1.0
    cache_s: float = 1.0
    _last: CheckResult | None = None
    _at: float = float("-inf")
    _lock: asyncio.Lock | None = None

    async def result(self) -> CheckResult:
        if self._lock is None:
            self._lock = asyncio.Lock()
        async with self._lock:  # concurrent /health calls share one probe
            if self._last is not None and time.monotonic() - self._at < self.cache_s:
                return self._last
            try:
                self._last = await asyncio.wait_for(self.probe(), self.timeout_s)
            except TimeoutError:
                self._last = CheckResult(CheckStatus.DOWN, f"no answer within {self.timeout_s:g}s")
            except Exception as exc:  # noqa: BLE001 - a failing dependency is what the check reports
                self._last = CheckResult(CheckStatus.DOWN, f"{type(exc).__name__}: {exc}"[:300])
            self._at = time.monotonic()
            return self._last


class Health:
    def __init__(self, checks: list[Check]) -> None:
        self.checks = checks

    async def report(self) -> tuple[dict[str, Any], int]:
        """The /health document and its HTTP status (200 ok/degraded, 503 down)."""
        results = await asyncio.gather(*(c.result() for c in self.checks))
        status = CheckStatus.OK
        for check, result in zip(self.checks, results, strict=True):
            if result.status is CheckStatus.DOWN and check.critical:
                status = CheckStatus.DOWN
            elif result.status is not CheckStatus.OK and status is CheckStatus.OK:
                status = CheckStatus.DEGRADED
        doc = {
            "status": status.value,
            "checks": {
                c.name: {"status": r.status.value, "detail": r.detail}
                for c, r in zip(self.checks, results, strict=True)
            },
        }
        return doc, 503 if status is CheckStatus.DOWN else 200


# ----------------------------------------------------------------------------------- the checks


def database_check(db: AsyncEngine, timeout_s: float = 1.0) -> Check:
    """`SELECT 1` on the application's database (critical: without it nothing is recorded)."""

    async def probe() -> CheckResult:
        started = time.perf_counter()
        async with db.connect() as conn:
            await conn.execute(text("SELECT 1"))
        return CheckResult(CheckStatus.OK, f"SELECT 1 in {(time.perf_counter() - started) * 1000:.1f} ms")

    return Check("database", probe, critical=True, timeout_s=timeout_s)


def ping_check(name: str, ping: Callable[[], Awaitable[object]], timeout_s: float = 1.0) -> Check:
    """A PING (Redis): ok when it answers."""

    async def probe() -> CheckResult:
        started = time.perf_counter()
        if not await ping():
            return CheckResult(CheckStatus.DOWN, "PING answered false")
        return CheckResult(CheckStatus.OK, f"PING in {(time.perf_counter() - started) * 1000:.1f} ms")

    return Check(name, probe, timeout_s=timeout_s)


_SOURCE_STATUS = {
    SourceHealth.HEALTHY: CheckStatus.OK,
    SourceHealth.CONNECTING: CheckStatus.DEGRADED,
    SourceHealth.DEGRADED: CheckStatus.DEGRADED,
    SourceHealth.DOWN: CheckStatus.DOWN,
}


def source_checks(health: Callable[[], Mapping[str, SourceHealth]], kinds: list[str]) -> list[Check]:
    """One check per ingestion source (`source:WS`, ...), from the health the source reports (its
    freshness: HEALTHY receives within its cadence, DEGRADED is late, silent or retrying)."""

    def one(kind: str) -> Check:
        async def probe() -> CheckResult:
            state = health().get(kind, SourceHealth.DOWN)
            return CheckResult(_SOURCE_STATUS[state], state.value)

        return Check(f"source:{kind}", probe, cache_s=0.0)

    return [one(kind) for kind in kinds]


def venue_check(get: Callable[[], Awaitable[object]], timeout_s: float = 2.0, cache_s: float = 2.0) -> Check:
    """A cheap GET of the venue (the CLOB's `/time`), without retries."""

    async def probe() -> CheckResult:
        started = time.perf_counter()
        await get()
        return CheckResult(CheckStatus.OK, f"answered in {(time.perf_counter() - started) * 1000:.1f} ms")

    return Check("venue", probe, timeout_s=timeout_s, cache_s=cache_s)


class QueuePressure(Protocol):
    """What the queue check reads of the engine's intake (engine/intake.py IntakePressure)."""

    limit: int
    occupancy: int
    max_occupancy: int
    waiting: int
    waits: int
    wait_s: float

    def applied_within(self, seconds: float) -> bool: ...


def queue_check(
    executing: Callable[[], int], limit: int, pressure: QueuePressure | None = None, recent_s: float = 5.0
) -> Check:
    """Signals executing in the engine against `engine.signals_in_flight`: at the limit the sources
    wait (backpressure), so the check is degraded. With the intake's `pressure`, also degraded while a
    source waits or waited within `recent_s` seconds, and the detail tells how long sources waited."""

    async def probe() -> CheckResult:
        n = executing()
        detail = f"{n}/{limit} signals in flight"
        applied = n >= limit
        if pressure is not None:
            detail += (
                f" (max {pressure.max_occupancy}); {pressure.waiting} waiting; sources waited"
                f" {pressure.wait_s:.1f}s in {pressure.waits} hand-overs"
            )
            applied = applied or pressure.applied_within(recent_s)
        if applied:
            return CheckResult(CheckStatus.DEGRADED, detail + "; backpressure applied")
        return CheckResult(CheckStatus.OK, detail)

    return Check("queue", probe, cache_s=0.0)
