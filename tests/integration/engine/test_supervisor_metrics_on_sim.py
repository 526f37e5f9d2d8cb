"""A running supervisor (ingestion, engine, sweeper, API) on the simulator: the leader trades, the
copy is made, and the supervisor's /metrics endpoint, fetched over HTTP, exports the pipeline's stage
latencies and the ingest metrics; stage latency is also logged at the configured interval."""

from __future__ import annotations

import asyncio
from decimal import Decimal
from pathlib import Path

import pytest
from structlog.testing import capture_logs

from polyhunter.domain.signal import Side
from polyhunter.runtime.run_file import CopySpec, FollowerSpec, RunFile
from tests.support.engine_rig import Sections, leader_address, rig

pytestmark = pytest.mark.integration

L1 = leader_address(1)


async def test_metrics_endpoint_and_interval_log(tmp_path: Path) -> None:
    copy = CopySpec(leader=L1, sizing="FIXED_USDC", sizing_value=Decimal(3))
    run = RunFile(followers=[FollowerSpec(name="paper", custody="PAPER", copies=[copy])])
    copied = asyncio.Event()
    settings: Sections = {"engine": {"metrics_interval_ms": 200}}
    async with rig(tmp_path, run, [], serve_api=True, on_copy=lambda _: copied.set(), **settings) as r:
        assert r.sup.api is not None
        with capture_logs() as logs:
            running = asyncio.create_task(r.sup.run(8.0, stop_after=False))
            await asyncio.sleep(1.0)  # the sources connect
            token = r.token(0)
            r.trade(L1, token, Side.BUY, Decimal(20), await r.best_ask(token))
            await asyncio.wait_for(copied.wait(), 6)  # ingestion saw the fill and the engine copied it
            assert r.sup.engine.stats.signals == 1
            await asyncio.sleep(0.5)  # at least one more log interval
            async with r.http.get(r.sup.api.url + "/metrics") as resp:
                assert resp.status == 200
                text = await resp.text()
            running.cancel()
            await asyncio.gather(running, return_exceptions=True)
        for stage in ("prewrite", "pricing", "execute", "persist", "total", "signal_to_submit"):
            assert f'polyhunter_stage_seconds_count{{stage="{stage}"}} 1.0' in text, stage
        received = [line for line in text.splitlines() if line.startswith("polyhunter_ingest_received_total")]
        assert received
        assert sum(float(line.rsplit(" ", 1)[1]) for line in received) >= 1
        assert "polyhunter_ingest_source_health" in text
        logged = [e for e in logs if e["event"] == "stage latency"]
        assert logged
        assert logged[-1]["total"]["count"] == 1
        assert logged[-1]["execute"]["p50_ms"] > 0
