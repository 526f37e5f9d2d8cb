"""CHAIN_ONLY on anvil: the simulator mirrors every match as V2 ``OrderFilled`` logs; ingestion in CHAIN_ONLY
mode (the mirror contract added to the exchange list) sees every leader fill exactly once, and under the
same signal keys as the RTDS (WS_ONLY) and Data API (POLLING_ONLY) paths compute for the same fills."""

from __future__ import annotations

import asyncio
import json
import time
from pathlib import Path

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from polyhunter.domain.signal import Signal
from polyhunter.ingest.service import IngestService
from polyhunter.ingest.source_deps import IngestClients
from polyhunter.sim.server_app import SimServer
from polyhunter.store.database import create_engine, create_session_factory
from polyhunter.store.migrate import upgrade
from tests.support.fill_ledger import FillId, compare, fill_id, sim_settings, wait_for

pytestmark = [pytest.mark.integration, pytest.mark.timeout(300)]

FOLLOWED = 5
MODES = ("CHAIN_ONLY", "WS_ONLY", "POLLING_ONLY")


async def test_chain_only_sees_every_mirrored_fill_once_with_the_shared_keys(
    anvil_url: str, tmp_path: Path, engines: list[AsyncEngine]
) -> None:
    async with SimServer(
        "leaders",
        seed=9,
        port=0,
        chain_rpc=anvil_url,
        leaders=FOLLOWED + 1,
        markets=4,
        rate=4.0,
        mined_delay_s=0.05,
        confirmed_delay_s=0.1,
    ) as sim:
        leaders = sim.runner.leaders[:FOLLOWED]
        mirror_address = sim._mirror.address  # the FillMirror contract stands in for the exchange
        got: dict[str, list[Signal]] = {mode: [] for mode in MODES}
        services: dict[str, IngestService] = {}
        clients: list[IngestClients] = []
        for mode in MODES:
            settings = sim_settings(
                sim.urls,
                f"sqlite+aiosqlite:///{tmp_path}/{mode}.db",
                {"mode": mode, "chain_poll_interval_ms": 250, "poll_interval_ms": 1_000},
            )
            await upgrade(settings.db)
            engine = create_engine(settings.db)
            engines.append(engine)

            async def sink(signals: list[Signal], bucket: list[Signal] = got[mode]) -> None:
                bucket.extend(signals)

            clients.append(IngestClients.from_settings(settings))
            services[mode] = IngestService(
                settings,
                leaders,
                create_session_factory(engine),
                sink,
                clients=clients[-1],
                extra_exchanges=[mirror_address],
            )
        chain = services["CHAIN_ONLY"].chain
        rtds = services["WS_ONLY"].rtds
        poller = services["POLLING_ONLY"].poller
        assert chain is not None
        assert rtds is not None
        assert poller is not None
        assert services["CHAIN_ONLY"].rtds is None
        assert services["CHAIN_ONLY"].poller is None
        tasks = [asyncio.create_task(s.run(), name=m) for m, s in services.items()]
        began = time.monotonic()
        try:
            assert await wait_for(
                lambda: chain.cursor is not None and rtds.connects >= 1 and poller.polls >= 1, 30
            )
            from_ms = (int(time.time()) + 1) * 1000
            await asyncio.sleep(40)
            await sim.runner.stop()
            await sim.state.settle(timeout_s=30)

            def ids(mode: str) -> list[tuple[FillId, str]]:
                return [(fill_id(s.tx_hash, s.leader, s.asset, str(s.side), s.size), mode) for s in got[mode]]

            def all_caught_up() -> bool:
                return all(
                    not compare(sim.state.fills, ids(m), leaders=leaders, expected_from_ms=from_ms).lost
                    for m in MODES
                )

            await wait_for(all_caught_up, 30, 0.25)
            await asyncio.sleep(2)
        finally:
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            for c in clients:
                await c.close()
        results = {
            m: compare(sim.state.fills, ids(m), leaders=leaders, expected_from_ms=from_ms) for m in MODES
        }
        expected = {
            fid
            for fid, _ in ids("CHAIN_ONLY")
            if fid in {fill_id(f.transaction_hash, f.proxy_wallet, f.asset, f.side, f.size) for f in sim.state.fills
                       if f.timestamp_ms >= from_ms}
        }  # fmt: skip
        keys = {
            m: {fill_id(s.tx_hash, s.leader, s.asset, str(s.side), s.size): s.key for s in got[m]}
            for m in MODES
        }
        mismatched = [fid for fid in expected if not keys["CHAIN_ONLY"][fid] == keys["WS_ONLY"].get(fid)
                      == keys["POLLING_ONLY"].get(fid)]  # fmt: skip
        report = {
            m: {**r.summary(), "sources": sorted({str(s.source) for s in got[m]})} for m, r in results.items()
        }
        report["keys"] = {"compared": len(expected), "mismatched": len(mismatched)}
        report["chain"] = {"mirrored": sim._mirror.sent_count, "seconds": round(time.monotonic() - began, 1)}
        print("\nCHAIN_ONLY:", json.dumps(report))
    chain_result = results["CHAIN_ONLY"]
    assert chain_result.expected >= 80, report
    assert chain_result.lost == [], report
    assert chain_result.duplicates == {}, report
    assert chain_result.phantoms == [], report
    assert report["CHAIN_ONLY"]["sources"] == ["chain"]
    for mode in ("WS_ONLY", "POLLING_ONLY"):
        assert results[mode].lost == [], report
        assert results[mode].duplicates == {}, report
    assert len(expected) == chain_result.expected
    assert mismatched == [], report
