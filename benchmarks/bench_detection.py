"""Detection latency on the simulator: leader fill (match time in the simulator) -> signal accepted, per source.

    uv run --frozen python benchmarks/bench_detection.py [--quick] [--json] [--timing live|fast]
        [--duration S] [--hybrid]

The simulator runs with live-like timing by default (``sim/timing.py``: matches settled by a ``matchOrders``
transaction on anvil, 2 s blocks, RTDS 0.8 s p50 / 1.4 s p99 after the block, the Data API 10 s after it).
Four single-source ingest services run side by side against it and the same leaders: the mempool
(MEMPOOL_ONLY, a ``newPendingTransactions`` subscription), RTDS push (WS_ONLY), chain logs (CHAIN_ONLY, polled
every 0.5 s) and the Data API poller (POLLING_ONLY, every 1 s). Each accepted signal is matched to the
simulator's record of the fill (transaction, leader, token, side); its lag is ``accepted_at - match_time`` in
ms, and ``accepted_at - block`` (the wall time the fill's block was mined) tells whether the source saw it
before its block. A fill a source never reported is *missed*.

``--hybrid`` adds a fifth service in HYBRID mode with all four sources at once and reports how many signals it
handed on per distinct fill: 0 duplicates means every fill had one key across the four sources (the issue's
10-minute run is ``--hybrid --duration 600``).

``--timing fast`` is the old simulator (MINED 0.2 s after the match, RTDS and the Data API at once, a block
per transaction): the figures the README's older rows were measured with, push vs polling only.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import statistics
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import Any

import aiohttp

from polyhunter.domain.signal import Signal
from polyhunter.ingest.service import IngestService
from polyhunter.ingest.source_deps import IngestClients
from polyhunter.log import configure_logging
from polyhunter.settings import Settings
from polyhunter.sim.anvil import AnvilProcess
from polyhunter.sim.server_app import SimServer
from polyhunter.store.database import create_engine, create_session_factory
from polyhunter.store.migrate import upgrade

FillId = tuple[str, str, str, str]  # tx hash, leader, token, side
SOURCES = {  # label -> ingest mode
    "mempool": "MEMPOOL_ONLY",
    "rtds": "WS_ONLY",
    "chain": "CHAIN_ONLY",
    "poll_1s": "POLLING_ONLY",
}


def _settings(urls: dict[str, str], mode: str, db: str, chain: tuple[str, str] | None) -> Settings:
    ingest: dict[str, Any] = {
        "mode": mode,
        "poll_interval_ms": 1000,
        "poll_interval_degraded_ms": 1000,
        "chain_in_hybrid": chain is not None,
        "chain_poll_interval_ms": 500,
    }
    venue: dict[str, Any] = {
        "clob_url": urls["clob"],
        "data_api_url": urls["data_api"],
        "gamma_url": urls["gamma"],
        "clob_ws_url": urls["clob_ws"],
        "rtds_ws_url": urls["rtds_ws"],
    }
    if chain is not None:
        rpc, exchange = chain
        venue["chain_rpc_url"] = rpc
        ingest["chain_exchange_addresses"] = [exchange]
        ingest["mempool_url"] = rpc.replace("http://", "ws://")
        ingest["mempool_poll_interval_ms"] = 100
    return Settings.model_validate(
        {"db": {"url": f"sqlite+aiosqlite:///{db}"}, "venue": venue, "ingest": ingest}
    )


def _quantiles(values: list[float]) -> dict[str, Any]:
    if not values:
        return {"count": 0}
    data = sorted(values)
    pick: Callable[[float], float] = lambda q: round(data[min(len(data) - 1, int(q * (len(data) - 1)))], 1)  # noqa: E731
    return {
        "count": len(data),
        "p50_ms": pick(0.5),
        "p99_ms": pick(0.99),
        "mean_ms": round(statistics.fmean(data), 1),
    }


class _Recorder:
    """The sink of one service: when each fill was accepted, and how often each key was handed on."""

    def __init__(self) -> None:
        self.accepted: dict[FillId, float] = {}
        self.keys: Counter[str] = Counter()
        self.keys_of: dict[FillId, set[str]] = {}

    async def __call__(self, signals: list[Signal]) -> None:
        now_ms = time.time() * 1000
        for s in signals:
            fill: FillId = (s.tx_hash, s.leader, s.asset, str(s.side))
            self.accepted.setdefault(fill, now_ms)
            self.keys[s.key] += 1
            self.keys_of.setdefault(fill, set()).add(s.key)


async def _leaders(sim: SimServer) -> list[str]:
    async with aiohttp.ClientSession() as http, http.get(sim.urls["admin"] + "/scenario") as resp:
        return [leader["address"] for leader in (await resp.json())["leaders"]]


async def _run_services(
    sim: SimServer, modes: dict[str, str], chain: tuple[str, str] | None, seconds: float, tail_s: float
) -> tuple[dict[str, _Recorder], dict[str, Any], float, float]:
    leaders = await _leaders(sim)
    recorders = {label: _Recorder() for label in modes}
    services: list[IngestService] = []
    clients: list[IngestClients] = []
    engines = []
    with tempfile.TemporaryDirectory() as tmp:
        for label, mode in modes.items():
            settings = _settings(sim.urls, mode, f"{tmp}/{label}.db", chain)
            await upgrade(settings.db)
            engine = create_engine(settings.db)
            engines.append(engine)
            clients.append(IngestClients.from_settings(settings))
            services.append(
                IngestService(
                    settings, leaders, create_session_factory(engine), recorders[label], clients=clients[-1]
                )
            )
        tasks = [asyncio.create_task(s.run()) for s in services]
        await asyncio.sleep(3)  # connections up, first poll done
        started_ms = time.time() * 1000
        await asyncio.sleep(seconds)
        ended_ms = time.time() * 1000
        await asyncio.sleep(tail_s)  # the last fills still arrive (the Data API's lag); counted if in window
        snapshots = {label: service.snapshot() for label, service in zip(modes, services, strict=True)}
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        for c in clients:
            await c.close()
        for engine in engines:
            await engine.dispose()
    return recorders, snapshots, started_ms, ended_ms


def _fills(sim: SimServer, leaders: set[str], started_ms: float, ended_ms: float) -> dict[FillId, float]:
    return {
        (f.transaction_hash.lower(), f.proxy_wallet.lower(), f.asset, f.side): f.timestamp_ms
        for f in sim.state.fills
        if f.proxy_wallet.lower() in leaders and started_ms <= f.timestamp_ms <= ended_ms
    }


def _per_source(rec: _Recorder, fills: dict[FillId, float], mined_at: dict[str, float]) -> dict[str, Any]:
    lags = [rec.accepted[k] - ts for k, ts in fills.items() if k in rec.accepted]
    to_block = [
        rec.accepted[k] - mined_at[k[0]] * 1000 for k in fills if k in rec.accepted and k[0] in mined_at
    ]
    out = {**_quantiles(lags), "missed": sum(1 for k in fills if k not in rec.accepted)}
    if to_block:
        block = _quantiles(to_block)
        out["vs_block_p50_ms"] = block["p50_ms"]
        out["vs_block_p99_ms"] = block["p99_ms"]
        out["before_block"] = sum(1 for d in to_block if d < 0)
    return out


async def run_async(
    quick: bool, timing: str = "live", duration_s: float | None = None, hybrid: bool = False
) -> dict[str, Any]:
    seconds = duration_s if duration_s is not None else (20 if quick else 60)
    live = timing == "live"
    anvil = AnvilProcess(chain_id=31337) if live else None
    url = anvil.start() if anvil is not None else None
    try:
        async with SimServer(
            "leaders",
            11,
            0,
            leaders=5,
            markets=4,
            rate=4.0,
            chain_rpc=url,
            chain_id=31337 if live else 137,
            timing=timing,
        ) as sim:
            chain = (url, sim.mirror_address) if url is not None and sim.mirror_address else None
            modes = dict(SOURCES) if chain is not None else {"rtds": "WS_ONLY", "poll_1s": "POLLING_ONLY"}
            if hybrid and chain is not None:
                modes["hybrid"] = "HYBRID"
            tail = sim.timing.data_api_lag_s + sim.timing.rtds_p99_s + 5
            recorders, snapshots, started_ms, ended_ms = await _run_services(sim, modes, chain, seconds, tail)
            leaders = {a.lower() for a in await _leaders(sim)}
            fills = _fills(sim, leaders, started_ms, ended_ms - 1500)
            mined_at = dict(sim.state.settlement.mined_at)
            timing_doc = {
                k: getattr(sim.timing, k)
                for k in ("name", "block_time_s", "rtds_p50_s", "rtds_p99_s", "data_api_lag_s")
            }
    finally:
        if anvil is not None:
            anvil.stop()
    out: dict[str, Any] = {
        "machine": {"python": platform.python_version(), "cpus": os.cpu_count()},
        "seconds": seconds,
        "timing": timing_doc,
        "leader_fills": len(fills),
        "at": datetime.now(UTC).isoformat(),
        "sources": {
            label: _per_source(recorders[label], fills, mined_at) for label in modes if label != "hybrid"
        },
    }
    if "hybrid" in recorders:
        rec = recorders["hybrid"]
        out["hybrid"] = {
            "fills": len(fills),
            "recorded": sum(rec.keys.values()),
            "duplicates": sum(n - 1 for n in rec.keys.values()),
            "fills_with_several_keys": sum(1 for k in fills if len(rec.keys_of.get(k, ())) > 1),
            "missed": sum(1 for k in fills if k not in rec.accepted),
            "first_by_source": {
                src: snap["accepted"]
                for src, snap in snapshots["hybrid"].items()
                if isinstance(snap, dict) and "accepted" in snap
            },
        }
    return out


def run(
    quick: bool = False, timing: str = "live", duration_s: float | None = None, hybrid: bool = False
) -> dict[str, Any]:
    return asyncio.run(run_async(quick, timing, duration_s, hybrid))


def _print(result: dict[str, Any]) -> None:
    t = result["timing"]
    print(
        f"timing {t['name']} (block {t['block_time_s']} s, RTDS {t['rtds_p50_s']}/{t['rtds_p99_s']} s, Data API {t['data_api_lag_s']} s), {result['leader_fills']} leader fills in {result['seconds']} s"
    )
    for label, r in result["sources"].items():
        block = (
            f"  vs block p50 {r['vs_block_p50_ms']} ms ({r['before_block']}/{r['count']} before it)"
            if "vs_block_p50_ms" in r
            else ""
        )
        print(f"{label:<8} p50 {r.get('p50_ms')} ms  p99 {r.get('p99_ms')} ms  missed {r['missed']}{block}")
    if "hybrid" in result:
        h = result["hybrid"]
        print(
            f"hybrid   {h['recorded']} recorded for {h['fills']} fills: {h['duplicates']} duplicates, {h['fills_with_several_keys']} fills with several keys, {h['missed']} missed; first by {h['first_by_source']}"
        )


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--timing", choices=("live", "fast"), default="live")
    parser.add_argument(
        "--duration", type=float, default=None, help="seconds of leader fills (default 60, --quick 20)"
    )
    parser.add_argument(
        "--hybrid", action="store_true", help="also run HYBRID with all four sources; count duplicates"
    )
    args = parser.parse_args(argv)
    configure_logging("WARNING")  # logs to stderr: stdout is the figures
    result = run(args.quick, args.timing, args.duration, args.hybrid)
    if args.json:
        print(json.dumps(result, indent=2))
    else:
        _print(result)
    return 0


if __name__ == "__main__":
    sys.exit(main())
