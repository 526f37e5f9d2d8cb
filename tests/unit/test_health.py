"""polyhunter.health: how checks add up to a status and an HTTP code, timeouts and caching."""

from __future__ import annotations

import asyncio

from polyhunter.health import (
    Check,
    CheckResult,
    CheckStatus,
    Health,
    queue_check,
    source_checks,
)
from polyhunter.ports.sources import SourceHealth


def _fixed(status: CheckStatus) -> Check:
    async def probe() -> CheckResult:
        return CheckResult(status, status.value)

    return Check(f"fixed-{status.value}", probe)


async def test_all_ok_is_ok_200() -> None:
    doc, code = await Health([_fixed(CheckStatus.OK)]).report()
    assert (doc["status"], code) == ("ok", 200)
    assert doc["checks"] == {"fixed-ok": {"status": "ok", "detail": "ok"}}


async def test_non_critical_down_is_degraded_200() -> None:
    doc, code = await Health([_fixed(CheckStatus.OK), _fixed(CheckStatus.DOWN)]).report()
    assert (doc["status"], code) == ("degraded", 200)


async def test_critical_down_is_down_503() -> None:
    critical = _fixed(CheckStatus.DOWN)
    critical.critical = True
    doc, code = await Health([critical, _fixed(CheckStatus.OK)]).report()
    assert (doc["status"], code) == ("down", 503)


async def test_a_probe_that_hangs_or_raises_is_down() -> None:
    async def hang() -> CheckResult:
        await asyncio.sleep(10)
        raise AssertionError

    async def boom() -> CheckResult:
        raise ConnectionRefusedError("refused")

    doc, code = await Health(
        [Check("hang", hang, critical=True, timeout_s=0.05), Check("boom", boom)]
    ).report()
    assert code == 503
    assert doc["checks"]["hang"]["status"] == "down"
    assert "within" in doc["checks"]["hang"]["detail"]
    assert doc["checks"]["boom"] == {"status": "down", "detail": "ConnectionRefusedError: refused"}


async def test_results_are_cached_for_cache_s() -> None:
    calls = 0

    async def probe() -> CheckResult:
        nonlocal calls
        calls += 1
        return CheckResult(CheckStatus.OK)

    health = Health([Check("db", probe, cache_s=60)])
    await asyncio.gather(health.report(), health.report())
    await health.report()
    assert calls == 1


async def test_sources_and_queue() -> None:
    states = {"WS": SourceHealth.HEALTHY, "POLL": SourceHealth.DEGRADED}
    checks = [*source_checks(lambda: states, ["WS", "POLL", "CHAIN"]), queue_check(lambda: 4, 4)]
    doc, code = await Health(checks).report()
    assert code == 200
    assert doc["status"] == "degraded"
    assert doc["checks"]["source:WS"]["status"] == "ok"
    assert doc["checks"]["source:POLL"] == {"status": "degraded", "detail": "DEGRADED"}
    assert doc["checks"]["source:CHAIN"]["status"] == "down"
    assert doc["checks"]["queue"]["status"] == "degraded"
    assert "backpressure" in doc["checks"]["queue"]["detail"]
