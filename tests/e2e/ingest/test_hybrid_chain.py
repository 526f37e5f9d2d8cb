"""HYBRID with all three sources on anvil: RTDS (dropped every 15 s), the Data API poller (10 % 429s) and
chain logs of the mirrored matches. Every leader fill is emitted exactly once, and the copies the other
sources offer for the same fill are recognised as duplicates by key (the chain computes the same key)."""

from __future__ import annotations

import asyncio
import json
import time
from pathlib import Path

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from polyhunter.domain.signal import Signal, SourceKind
from polyhunter.ingest.service import IngestService
from polyhunter.ingest.source_deps import IngestClients
from polyhunter.sim.faults import Faults
from polyhunter.sim.server_app import SimServer
from polyhunter.store.database import create_engine, create_session_factory
from polyhunter.store.migrate import upgrade
from tests.support.fill_ledger import FillId, compare, fill_id, sim_settings, wait_for

pytestmark = [pytest.mark.integration, pytest.mark.timeout(300)]

FOLLOWED = 6


async def test_hybrid_with_chain_emits_each_fill_once(
    anvil_url: str, tmp_path: Path, engines: list[AsyncEngine]
) -> None:
    faults = Faults(seed=3, rate_429={"data_api": 0.10}, ws_drop_every_s=15)
    async with SimServer(
        "leaders",
        seed=3,
        port=0,
        faults=faults,
        chain_rpc=anvil_url,
        leaders=FOLLOWED + 2,
        markets=4,
        rate=5.0,
        mined_delay_s=0.05,
        confirmed_delay_s=0.1,
    ) as sim:
        leaders = sim.runner.leaders[:FOLLOWED]
        settings = sim_settings(
            sim.urls,
            f"sqlite+aiosqlite:///{tmp_path}/hybrid.db",
            {
                "mode": "HYBRID",
                "chain_in_hybrid": True,
                "chain_poll_interval_ms": 250,
                "poll_interval_ms": 2_000,
            },
        )
        await upgrade(settings.db)
        engine = create_engine(settings.db)
        engines.append(engine)
        emitted: list[tuple[FillId, str]] = []

        async def sink(signals: list[Signal]) -> None:
            emitted.extend(
                (fill_id(s.tx_hash, s.leader, s.asset, str(s.side), s.size), str(s.source)) for s in signals
            )

        clients = IngestClients.from_settings(settings)
        service = IngestService(
            settings,
            leaders,
            create_session_factory(engine),
            sink,
            clients=clients,
            extra_exchanges=[sim._mirror.address],
        )
        chain, rtds, poller = service.chain, service.rtds, service.poller
        assert chain is not None
        assert rtds is not None
        assert poller is not None
        task = asyncio.create_task(service.run())
        try:
            assert await wait_for(
                lambda: chain.cursor is not None and rtds.connects >= 1 and poller.polls >= FOLLOWED, 30
            )
            from_ms = (int(time.time()) + 1) * 1000
            await asyncio.sleep(45)
            await sim.runner.stop()
            await sim.state.settle(timeout_s=30)
            stats = service.metrics.source

            def done() -> bool:
                result = compare(sim.state.fills, emitted, leaders=leaders, expected_from_ms=from_ms)
                # every source has offered every fill by now (the chain and the poller confirm the rest)
                return not result.lost and min(stats(k).received for k in SourceKind) >= result.emitted - 10

            await wait_for(done, 30, 0.25)
            await asyncio.sleep(3)
        finally:
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)
            await clients.close()
        result = compare(sim.state.fills, emitted, leaders=leaders, expected_from_ms=from_ms)
        snapshot = service.snapshot()
        report = {**result.summary(), "rtds_disconnects": rtds.disconnects, "mux": snapshot}
        print("\nHYBRID+chain:", json.dumps(report, default=str))
    assert result.expected >= 100, report
    assert result.lost == [], report
    assert result.duplicates == {}, report
    assert result.phantoms == [], report
    assert rtds.disconnects >= 2
    chain_stats = service.metrics.source(SourceKind.CHAIN)
    # the chain offered (nearly) every fill; all but those it won were duplicates of the same key
    assert chain_stats.received >= result.emitted - 10, report
    assert chain_stats.duplicates + chain_stats.accepted == chain_stats.received
    assert chain_stats.stale == 0
