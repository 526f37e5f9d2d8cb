"""The ingestion done-when: HYBRID on the simulator with faults on emits every leader fill exactly once.

1,000+ fills of 20 followed leaders (24 trade; 4 are not followed), the websocket dropped every 20 s and
silent for 10 s once, 10 % of Data API calls answered 429. Every signal is matched to the simulator's
own record of the fill (``sim.state.fills``) by tx hash, leader, token, side and size: 0 lost,
0 duplicates, 0 invented. Time is compressed (about 13 fills/s), so the run takes about 100 s.
"""

from __future__ import annotations

import asyncio
import json
import time
from pathlib import Path

import aiohttp
import pytest

from polyhunter.domain.signal import Signal
from polyhunter.ingest.service import IngestService
from polyhunter.ingest.source_deps import IngestClients
from polyhunter.sim.faults import Faults
from polyhunter.sim.server_app import SimServer
from polyhunter.store.database import create_engine, create_session_factory
from polyhunter.store.migrate import upgrade
from tests.support.fill_ledger import FillId, compare, fill_id, sim_settings, wait_for

pytestmark = [pytest.mark.integration, pytest.mark.timeout(420)]

TARGET_FILLS = 1_000
FOLLOWED = 20


async def test_hybrid_emits_every_fill_once_under_faults(tmp_path: Path) -> None:
    faults = Faults(seed=5, rate_429={"data_api": 0.10}, ws_drop_every_s=20)
    began = time.monotonic()
    async with SimServer(
        "leaders", seed=5, port=0, faults=faults, leaders=FOLLOWED + 4, markets=8, rate=13.0
    ) as sim:
        leaders = sim.runner.leaders[:FOLLOWED]
        settings = sim_settings(
            sim.urls,
            f"sqlite+aiosqlite:///{tmp_path}/ingest.db",
            {
                "mode": "HYBRID",
                "chain_in_hybrid": False,
                "poll_interval_ms": 2_000,
                "poll_interval_degraded_ms": 500,
                "ws_silence_timeout_ms": 4_000,  # below the 10 s silence, so it is detected
            },
        )
        await upgrade(settings.db)
        engine = create_engine(settings.db)
        emitted: list[tuple[FillId, str]] = []

        async def sink(signals: list[Signal]) -> None:
            emitted.extend(
                (fill_id(s.tx_hash, s.leader, s.asset, str(s.side), s.size), str(s.source)) for s in signals
            )

        clients = IngestClients.from_settings(settings)
        service = IngestService(settings, leaders, create_session_factory(engine), sink, clients=clients)
        assert service.rtds is not None
        assert service.poller is not None
        assert service.chain is None
        rtds, poller = service.rtds, service.poller
        task = asyncio.create_task(service.run())
        try:
            assert await wait_for(lambda: rtds.connects >= 1 and poller.polls >= FOLLOWED, 20)
            t0 = time.time()
            from_ms = (int(t0) + 1) * 1000
            followed = {leader.lower() for leader in leaders}

            def counted() -> int:
                return sum(
                    1 for f in sim.state.fills if f.proxy_wallet in followed and f.timestamp_ms >= from_ms
                )

            # one 10 s silence, a third of the way in (through the admin API, like an operator would)
            await wait_for(lambda: counted() >= TARGET_FILLS // 3, 120)
            async with (
                aiohttp.ClientSession() as http,
                http.post(sim.urls["admin"] + "/faults", json={"ws_silence_s": 10}) as resp,
            ):
                assert resp.status == 200
            assert await wait_for(lambda: counted() >= TARGET_FILLS, 240, 0.05)
            await sim.runner.stop()  # no new fills from here on
            await sim.state.settle(timeout_s=10)
            produced_s = time.time() - t0

            def result_lost() -> int:
                return len(compare(sim.state.fills, emitted, leaders=leaders, expected_from_ms=from_ms).lost)

            caught_up = await wait_for(lambda: result_lost() == 0, 30, 0.25)
            caught_up_s = time.time() - t0 - produced_s
            await asyncio.sleep(3)  # late copies would arrive now
        finally:
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)
            await clients.close()
            await engine.dispose()
        result = compare(sim.state.fills, emitted, leaders=leaders, expected_from_ms=from_ms)
        http_stats = clients.data_api.http
        report = {
            **result.summary(),
            "produce_s": round(produced_s, 1),
            "catch_up_s": round(caught_up_s, 1),
            "total_s": round(time.monotonic() - began, 1),
            "rtds": {"connects": rtds.connects, "disconnects": rtds.disconnects, "silences": rtds.silences},
            "poll": {"polls": poller.polls, "errors": poller.errors},
            "data_api": {"requests": http_stats.requests, "retries": http_stats.retries},
            "mux": service.snapshot(),
        }
        print("\nHYBRID faults:", json.dumps(report, default=str))
    assert caught_up, report
    assert result.expected >= TARGET_FILLS
    assert result.lost == [], report
    assert result.duplicates == {}, report
    assert result.phantoms == [], report
    # the faults really happened, and both sources carried fills
    assert rtds.disconnects >= 3
    assert rtds.silences >= 1
    assert http_stats.retries >= 10
    assert result.by_source["ws"] > 0
    assert result.by_source["poll"] > 0
