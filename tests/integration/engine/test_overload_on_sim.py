"""Overload is backpressure, not failure (issue 13 item 6), on a supervisor against the simulator.

Leaders trade fast while the engine is deliberately narrow: two signals in flight, two copies at once
per signal and a Redis pool of two connections shared by the guardrail counters and the shared dedup.
The sources are slowed (the intake fills up and /health's queue check says "backpressure applied"),
and still: no copy FAILED for an internal reason (no MaxConnectionsError, no pool timeout, no database
error) and every fill the simulator made for a leader is recorded as exactly one signal.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
import uuid
from decimal import Decimal
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from polyhunter.coord.redis_coord import RedisCoordinator
from polyhunter.runtime.run_file import CopySpec, FollowerSpec, RunFile
from polyhunter.runtime.supervisor import Supervisor
from polyhunter.sim.server_app import SimServer
from tests.support.fill_ledger import compare, fill_id
from tests.support.sim_stack import admin, quiesce, rows, sim_settings

pytestmark = pytest.mark.integration

FLOW_S = 10.0
FOLLOWERS = 6  # each copies every leader


async def _queue_checks(http: aiohttp.ClientSession, url: str, seen: list[dict[str, Any]]) -> None:
    while True:
        async with http.get(url + "/health") as resp:
            seen.append((await resp.json())["checks"]["queue"])
        await asyncio.sleep(0.1)


async def test_overload_slows_sources_and_fails_nothing(tmp_path: Path) -> None:
    db_path = tmp_path / "overload.db"
    prefix = f"phtest-overload-{uuid.uuid4().hex[:8]}"
    async with (
        SimServer("leaders", 31, 0, leaders=4, markets=4, rate=25) as sim,
        aiohttp.ClientSession() as http,
    ):
        scenario = await admin(http, sim.urls["admin"], "GET", "/scenario")
        leaders = [leader["address"].lower() for leader in scenario["leaders"]]
        copies = [CopySpec(leader=leader, sizing="FIXED_USDC", sizing_value=Decimal(2)) for leader in leaders]
        run = RunFile(
            followers=[
                FollowerSpec(name=f"p{i}", custody="PAPER", starting_cash_usdc=Decimal(10**6), copies=copies)
                for i in range(FOLLOWERS)
            ]
        )
        settings = sim_settings(
            sim.urls,
            db_path,
            coord={"backend": "redis", "key_prefix": prefix, "redis_max_connections": 2},
            engine={"signals_in_flight": 2, "fanout_concurrency": 2},
            guardrails={"daily_user_cap_usdc": Decimal(10**6), "global_daily_cap_usdc": Decimal(10**7)},
        )
        sup = Supervisor(settings, run, serve_api=True)
        followed_from_ms = int(time.time() * 1000)
        await sup.start()
        checks: list[dict[str, Any]] = []
        try:
            assert isinstance(sup.coord, RedisCoordinator)
            assert sup.coord.max_connections == 2
            assert sup.api is not None
            runner = asyncio.create_task(sup.run(120, stop_after=False))
            poller = asyncio.create_task(_queue_checks(http, sup.api.url, checks))
            await asyncio.sleep(FLOW_S)
            await sim.runner.stop()  # no more leader fills
            await quiesce(db_path, quiet_s=2.0, limit_s=60)
            poller.cancel()
            runner.cancel()
            for task in (poller, runner):
                with contextlib.suppress(asyncio.CancelledError):
                    await task
            async with http.get(sup.api.url + "/metrics") as resp:
                metrics = await resp.text()
            pressure = sup.engine.intake.pressure
            pool_timeouts = sup.coord.pool_waits_timed_out
        finally:
            await sup.stop()
    signals = rows(db_path, "SELECT tx_hash, leader, asset, side, size_micro, source FROM signals")
    ledger = compare(
        sim.state.fills,
        [
            (
                fill_id(r["tx_hash"], r["leader"], r["asset"], r["side"], Decimal(r["size_micro"]) / 10**6),
                r["source"],
            )
            for r in signals
        ],
        leaders=leaders,
        expected_from_ms=followed_from_ms,
    )
    states = {
        r["state"]: r["n"] for r in rows(db_path, "SELECT state, count(*) AS n FROM copy_trades GROUP BY 1")
    }
    failed = rows(db_path, "SELECT error, count(*) AS n FROM copy_trades WHERE state = 'FAILED' GROUP BY 1")
    internal = [f for f in failed if str(f["error"] or "").startswith("internal")]
    applied = [c for c in checks if "backpressure applied" in c["detail"]]
    print(  # noqa: T201 - the test reports what it measured
        f"\noverload: leader fills {sim.runner.fills}, {ledger.summary()}, copies {states}, failed {failed}, "
        f"waits {pressure.waits} ({pressure.wait_s:.1f}s), max occupancy {pressure.max_occupancy}, "
        f"redis pool timeouts {pool_timeouts}, health backpressure {len(applied)}/{len(checks)}"
    )
    assert ledger.expected > 50
    assert ledger.summary()["lost"] == 0, ledger.lost
    assert ledger.duplicates == {}
    assert internal == [], internal
    assert sum(states.values()) == len(signals) * FOLLOWERS, states  # one copy per config and signal
    assert pressure.waits > 0
    assert pressure.max_occupancy == 2
    assert applied, checks[-3:]
    assert applied[0]["status"] == "degraded"
    assert "polyhunter_engine_intake_occupancy" in metrics
    assert "polyhunter_engine_backpressure_wait_seconds_sum" in metrics
    assert "polyhunter_ingest_push_backpressure_seconds_total" in metrics
