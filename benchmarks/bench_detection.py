"""Detection latency on the simulator: leader fill (match time in the simulator) -> signal accepted.

    uv run --frozen python benchmarks/bench_detection.py [--quick] [--json]

Push (RTDS, WS_ONLY) and polling (Data API every 1 s, POLLING_ONLY) run side by side against the
same simulator and the same leaders; each signal is matched to the simulator's own record of the
fill (same transaction, leader, token and side) and its lag is `accepted_at - match_time` in ms.
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
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import Any

import aiohttp

from polyhunter.domain.signal import Signal
from polyhunter.ingest.service import IngestService
from polyhunter.ingest.source_deps import IngestClients
from polyhunter.log import configure_logging
from polyhunter.settings import Settings
from polyhunter.sim.server_app import SimServer
from polyhunter.store.database import create_engine, create_session_factory
from polyhunter.store.migrate import upgrade


def _settings(urls: dict[str, str], mode: str, db: str) -> Settings:
    return Settings.model_validate(
        {
            "db": {"url": f"sqlite+aiosqlite:///{db}"},
            "venue": {
                "clob_url": urls["clob"],
                "data_api_url": urls["data_api"],
                "gamma_url": urls["gamma"],
                "clob_ws_url": urls["clob_ws"],
                "rtds_ws_url": urls["rtds_ws"],
            },
            "ingest": {
                "mode": mode,
                "poll_interval_ms": 1000,
                "poll_interval_degraded_ms": 1000,
                "chain_in_hybrid": False,
            },
        }
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


async def run_async(quick: bool) -> dict[str, Any]:
    seconds = 20 if quick else 60
    async with SimServer("leaders", 11, 0, leaders=5, markets=4, rate=4.0) as sim:
        async with aiohttp.ClientSession() as http, http.get(sim.urls["admin"] + "/scenario") as resp:
            leaders = [leader["address"] for leader in (await resp.json())["leaders"]]
        seen: dict[str, dict[tuple[str, str, str, str], float]] = {"WS_ONLY": {}, "POLLING_ONLY": {}}
        services = []
        clients: list[IngestClients] = []
        engines = []
        with tempfile.TemporaryDirectory() as tmp:
            for mode in seen:
                settings = _settings(sim.urls, mode, f"{tmp}/{mode}.db")
                await upgrade(settings.db)
                engine = create_engine(settings.db)
                engines.append(engine)

                def sink_for(bucket: dict[tuple[str, str, str, str], float]) -> Any:
                    async def sink(signals: list[Signal]) -> None:
                        now_ms = time.time() * 1000
                        for s in signals:
                            bucket.setdefault((s.tx_hash, s.leader, s.asset, str(s.side)), now_ms)

                    return sink

                clients.append(IngestClients.from_settings(settings))
                services.append(
                    IngestService(
                        settings,
                        leaders,
                        create_session_factory(engine),
                        sink_for(seen[mode]),
                        clients=clients[-1],
                    )
                )
            started_ms = time.time() * 1000
            tasks = [asyncio.create_task(s.run()) for s in services]
            await asyncio.sleep(seconds)
            ended_ms = time.time() * 1000
            await asyncio.sleep(3)  # fills of the last seconds still arrive; they are not counted
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            for c in clients:
                await c.close()
            for engine in engines:
                await engine.dispose()
        lowered = {a.lower() for a in leaders}
        fills = {
            (f.transaction_hash.lower(), f.proxy_wallet.lower(), f.asset, f.side): f.timestamp_ms
            for f in sim.state.fills
            if f.proxy_wallet.lower() in lowered and started_ms + 2000 <= f.timestamp_ms <= ended_ms - 1500
        }
        out: dict[str, Any] = {
            "machine": {"python": platform.python_version(), "cpus": os.cpu_count()},
            "seconds": seconds,
            "leader_fills": len(fills),
            "at": datetime.now(UTC).isoformat(),
        }
        for mode, bucket in seen.items():
            lags = [bucket[k] - ts for k, ts in fills.items() if k in bucket]
            out[mode] = {**_quantiles(lags), "missed": sum(1 for k in fills if k not in bucket)}
        return out


def run(quick: bool = False) -> dict[str, Any]:
    return asyncio.run(run_async(quick))


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    configure_logging("WARNING")  # logs to stderr: stdout is the figures
    result = run(args.quick)
    if args.json:
        print(json.dumps(result, indent=2))
    else:
        for mode in ("WS_ONLY", "POLLING_ONLY"):
            r = result[mode]
            print(
                f"{mode:<13} fills {r['count']}/{result['leader_fills']}: p50 {r.get('p50_ms')} ms  p99 {r.get('p99_ms')} ms"
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())
