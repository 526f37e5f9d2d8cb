"""HYBRID with all four sources (mempool, RTDS, chain logs, Data API polling) against the simulator with
live-like timing on anvil, for about a minute, the mempool's websocket cut once mid-run: every leader fill has
one key whichever source offered it, each fill seen pending was offered again by RTDS, the chain and the
poller under that key, and nothing was handed on twice. (The issue's 10-minute run is the benchmark:
``benchmarks/bench_detection.py --hybrid --duration 600``.)"""

from __future__ import annotations

import asyncio
import time
from collections import Counter, defaultdict
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import aiohttp
import pytest

from polyhunter.domain.signal import Signal, SourceKind
from polyhunter.ingest.mempool_feeds import WsPendingFeed
from polyhunter.ingest.mux import Verdict
from polyhunter.ingest.service import IngestService
from polyhunter.ingest.source_deps import IngestClients
from polyhunter.ports.sources import SourceHealth
from polyhunter.settings import Settings
from polyhunter.sim.server_app import SimServer
from polyhunter.sim.timing import SimTiming
from polyhunter.store.database import create_engine, create_session_factory
from polyhunter.store.migrate import upgrade
from tests.support.tcp_proxy import StallingTcpProxy

pytestmark = pytest.mark.integration

TIMING = SimTiming(
    name="live", block_time_s=1.0, confirmed_delay_s=2.0, rtds_p50_s=0.3, rtds_p99_s=0.6, data_api_lag_s=2.0
)
FLOW_S = 22  # seconds of leader fills on each side of the cut
WS, POLL, CHAIN, MEMPOOL = SourceKind.WS, SourceKind.POLL, SourceKind.CHAIN, SourceKind.MEMPOOL
Fill = tuple[str, str, str, str]


def _fill(signal: Signal) -> Fill:
    return (signal.tx_hash, signal.leader, signal.asset, str(signal.side))


async def _until(check: Callable[[], Any], limit_s: float) -> None:
    async with asyncio.timeout(limit_s):
        while not check():  # noqa: ASYNC110 - polls counters of the service under test
            await asyncio.sleep(0.2)


async def test_four_sources_one_key_per_fill_no_duplicates_through_a_cut(
    anvil_url: str, tmp_path: Path
) -> None:
    node = urlparse(anvil_url)
    proxy = StallingTcpProxy(str(node.hostname), int(node.port or 0))
    await proxy.start()
    try:
        async with SimServer(
            "leaders",
            5,
            0,
            leaders=2,
            markets=2,
            rate=1.5,
            chain_rpc=anvil_url,
            chain_id=31337,
            timing=TIMING,
        ) as sim:
            assert sim.mirror_address is not None
            async with aiohttp.ClientSession() as http, http.get(sim.urls["admin"] + "/scenario") as resp:
                leaders = [leader["address"].lower() for leader in (await resp.json())["leaders"]]
            db = tmp_path / "hybrid.db"
            settings = Settings.model_validate(
                {
                    "db": {"url": f"sqlite+aiosqlite:///{db}"},
                    "venue": {
                        "clob_url": sim.urls["clob"],
                        "data_api_url": sim.urls["data_api"],
                        "gamma_url": sim.urls["gamma"],
                        "clob_ws_url": sim.urls["clob_ws"],
                        "rtds_ws_url": sim.urls["rtds_ws"],
                        "chain_rpc_url": anvil_url,
                        "chain_id": 31337,
                    },
                    "ingest": {
                        "mode": "HYBRID",
                        "poll_interval_ms": 1000,
                        "poll_interval_degraded_ms": 1000,
                        "chain_in_hybrid": True,
                        "chain_poll_interval_ms": 300,
                        "chain_exchange_addresses": [sim.mirror_address],
                        "mempool_url": f"ws://127.0.0.1:{proxy.port}",
                        "mempool_poll_interval_ms": 50,
                        "reconnect_backoff_max_ms": 500,
                    },
                }
            )
            await upgrade(settings.db)
            engine = create_engine(settings.db)
            handed: Counter[str] = Counter()

            async def sink(signals: list[Signal]) -> None:
                handed.update(s.key for s in signals)

            clients = IngestClients.from_settings(settings)
            service = IngestService(settings, leaders, create_session_factory(engine), sink, clients=clients)
            keys_of: dict[Fill, set[str]] = defaultdict(set)
            offered_by: dict[str, set[SourceKind]] = defaultdict(set)
            first_by: dict[str, SourceKind] = {}
            offer = service.mux.offer

            def watched(signal: Signal) -> Verdict:  # observes every offer; the gate itself is untouched
                verdict = offer(signal)
                keys_of[_fill(signal)].add(signal.key)
                offered_by[signal.key].add(signal.source)
                if verdict is Verdict.ACCEPTED:
                    first_by.setdefault(signal.key, signal.source)
                return verdict

            service.mux.offer = watched  # type: ignore[method-assign]
            running = asyncio.create_task(service.run())
            try:
                mempool = service.mempool
                assert mempool is not None
                await _until(lambda: mempool.health is SourceHealth.HEALTHY, 30)
                started_ms = time.time() * 1000
                await asyncio.sleep(FLOW_S)
                assert proxy.drop_connections() >= 1  # the node's websocket is cut mid-run
                await _until(lambda: mempool.stats.feed_errors >= 1, 10)
                await _until(lambda: mempool.health is SourceHealth.HEALTHY, 30)
                await asyncio.sleep(FLOW_S)
                await sim.runner.stop()  # no more fills; the last ones settle on every surface
                ended_ms = time.time() * 1000
                fills = {
                    (f.transaction_hash.lower(), f.proxy_wallet.lower(), f.asset, f.side)
                    for f in sim.state.fills
                    if f.proxy_wallet.lower() in leaders and started_ms <= f.timestamp_ms <= ended_ms
                }

                def all_reported() -> bool:
                    current = {
                        (f.transaction_hash.lower(), f.proxy_wallet.lower(), f.asset, f.side)
                        for f in sim.state.fills
                        if f.proxy_wallet.lower() in leaders and started_ms <= f.timestamp_ms <= ended_ms
                    }
                    fills.update(current)
                    return all(
                        {WS, POLL, CHAIN} <= offered_by[key]
                        for fill in fills
                        for key in keys_of.get(fill, {""})
                    )

                await _until(all_reported, 40)
            finally:
                await service.close()
                await running
                await clients.close()
                await engine.dispose()
        assert len(fills) >= 20
        several = {fill: keys for fill, keys in keys_of.items() if len(keys) > 1}
        assert not several  # one key per fill, whichever source computed it
        assert [key for key, n in handed.items() if n > 1] == []  # nothing handed on twice
        fill_keys = {next(iter(keys_of[fill])) for fill in fills}
        assert fill_keys <= set(handed)  # every fill handed on (once)
        pending_first = [key for key in fill_keys if first_by.get(key) is MEMPOOL]
        assert len(pending_first) >= len(fills) // 2  # most were seen pending, before their block
        assert all({WS, CHAIN, POLL} <= offered_by[key] for key in pending_first)
        # every one of them mined: confirmed (by the mempool's block read or a mined source's duplicate)
        assert service.metrics.source(MEMPOOL).confirmed >= len(pending_first)
        assert isinstance(mempool.feed, WsPendingFeed)
        assert mempool.feed.connects >= 2  # reconnected after the cut
    finally:
        await proxy.stop()
