"""Overload: 40 leader fills/s across 10 leaders into 300 paper configs (30 per leader), one supervisor.

    uv run --frozen python benchmarks/bench_overload.py [--quick] [--json] [--sqlite] [--seconds S]
        [--tracemalloc]

The simulator runs in its own process (`polyhunter sim --scenario=leaders`); the supervisor (RTDS +
Data API polling, Redis coordination on 127.0.0.1:6379 under a unique key prefix, PostgreSQL, or SQLite
with --sqlite) runs here, so the RSS sampled is the supervisor's. Leader fills flow for 90 s (quick:
15 s); then the simulator's scenario stops (admin POST /scenario/stop) and the run goes on until every
fill the leaders made is recorded (the backlog drains; at most 600 s, quick: 180 s). Printed:

* fills sent (the simulator's Data API record of the leaders' fills since the start), signals recorded
  and lost (a fill of the window never recorded as a signal: must be 0);
* copies by state, and FAILED for an internal reason (`internal: ...`, Redis pool or connection
  errors, database errors: must be 0; a venue refusal such as a FOK kill is not internal);
* signal -> submit p50 / p99 over every copy sent (a constant-memory log histogram, 2 % resolution);
* backpressure: seconds sources waited for the engine (summed over hand-overs), waits, the intake's
  highest occupancy against its limit, how long the push path's reader was held (the mux's background
  hand-offs all outstanding), how often /health's queue check said "backpressure applied";
* RSS at start, at 60 s (quick: 10 s) and at the end of the flow, and its slope after the first
  minute (quick: after 5 s) in MiB per minute (a least-squares fit of the samples, one a second);
* with --tracemalloc (slow: for finding a leak, not for the figures): what grew on the Python heap
  between that first-minute mark and the end of the flow, by allocation site.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import math
import os
import platform
import sys
import tempfile
import time
import tracemalloc
import uuid
from collections import Counter
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from decimal import Decimal
from pathlib import Path
from typing import Any

import aiohttp
import asyncpg
from sim_subprocess import sim_process
from sqlalchemy import text
from sqlalchemy.exc import TimeoutError as SQLAlchemyTimeoutError

from polyhunter.coord.redis_coord import RedisCoordinator
from polyhunter.engine.copy_records import CopyRecord
from polyhunter.log import configure_logging
from polyhunter.runtime.run_file import CopySpec, FollowerSpec, RunFile
from polyhunter.runtime.supervisor import Supervisor
from polyhunter.secretbox import generate_master_key
from polyhunter.settings import Settings

PG_ADMIN = "postgresql://127.0.0.1:5432/test"
REDIS_URL = "redis://127.0.0.1:6379/0"
SEED = 17
LEADERS = 10
RATE = 40.0
CONFIGS_PER_LEADER = 30
INTERNAL = ("internal", "MaxConnections", "No connection available", "QueuePool", "database", "Timeout")


def rss_mib() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def slope_mib_per_min(samples: list[tuple[float, float]], after_s: float) -> float | None:
    points = [(t, v) for t, v in samples if t >= after_s]
    if len(points) < 3:
        return None
    mt = sum(t for t, _ in points) / len(points)
    mv = sum(v for _, v in points) / len(points)
    den = sum((t - mt) ** 2 for t, _ in points)
    return round(60 * sum((t - mt) * (v - mv) for t, v in points) / den, 2) if den else None


def by_minute(samples: list[tuple[float, float]]) -> list[float]:
    """RSS at each whole minute of the run (flow and drain): whether it levels off, not only its slope."""
    out: list[float] = []
    for t, v in samples:
        if t >= 60 * (len(out) + 1):
            out.append(round(v, 1))
    return out


class LogHistogram:
    """Constant-memory quantiles: counts per 2 % wide bin of the value."""

    STEP = math.log(1.02)

    def __init__(self) -> None:
        self.bins: Counter[int] = Counter()
        self.count = 0

    def add(self, ms: float) -> None:
        self.bins[int(math.log(max(ms, 0.01)) / self.STEP)] += 1
        self.count += 1

    def quantile(self, q: float) -> float | None:
        if not self.count:
            return None
        rank, seen = q * (self.count - 1), 0
        for b in sorted(self.bins):
            seen += self.bins[b]
            if seen > rank:
                return round(math.exp((b + 0.5) * self.STEP), 1)
        return None


@asynccontextmanager
async def database(sqlite: bool) -> AsyncIterator[str]:
    if sqlite:
        with tempfile.TemporaryDirectory() as tmp:
            yield f"sqlite+aiosqlite:///{tmp}/overload.db"
        return
    name = f"ph_overload_{uuid.uuid4().hex[:10]}"
    admin = await asyncpg.connect(PG_ADMIN)
    try:
        await admin.execute(f'CREATE DATABASE "{name}"')
        try:
            yield f"postgresql+asyncpg://127.0.0.1:5432/{name}"
        finally:
            await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await admin.close()


def settings_for(urls: dict[str, str], db_url: str, key_file: Path) -> Settings:
    return Settings.model_validate(
        {
            "db": {"url": db_url},
            "venue": {
                "clob_url": urls["clob"],
                "data_api_url": urls["data_api"],
                "gamma_url": urls["gamma"],
                "clob_ws_url": urls["clob_ws"],
                "rtds_ws_url": urls["rtds_ws"],
            },
            "coord": {
                "backend": "redis",
                "redis_url": REDIS_URL,
                "key_prefix": f"phbench-{uuid.uuid4().hex[:8]}",
            },
            "ingest": {"mode": "HYBRID", "chain_in_hybrid": False, "poll_interval_ms": 1000},
            "engine": {"metrics_interval_ms": 3_600_000},
            "guardrails": {"daily_user_cap_usdc": Decimal(10**7), "global_daily_cap_usdc": Decimal(10**9)},
            "api": {"port": 0},
            "logging": {"level": "WARNING"},
            "secrets": {"master_key": generate_master_key(), "master_key_file": str(key_file)},
        }
    )


def run_file(leaders: list[str]) -> RunFile:
    copies = [CopySpec(leader=leader, sizing="FIXED_USDC", sizing_value=Decimal(2)) for leader in leaders]
    return RunFile(
        followers=[
            FollowerSpec(name=f"p{i}", custody="PAPER", starting_cash_usdc=Decimal(10**7), copies=copies)
            for i in range(CONFIGS_PER_LEADER)
        ]
    )


FillKey = tuple[str, str, str, str]  # (tx hash, leader, token, side)


async def leader_fills(http: aiohttp.ClientSession, data_api: str, leaders: list[str]) -> dict[FillKey, int]:
    """Every fill of the leaders the simulator made, with its time (s), from its Data API."""
    out: dict[FillKey, int] = {}
    for leader in leaders:
        async with http.get(data_api + "/trades", params={"user": leader, "limit": "10000"}) as resp:
            for row in await resp.json():
                key = (row["transactionHash"].lower(), leader, str(row["asset"]), str(row["side"]))
                out[key] = int(row["timestamp"])
    return out


async def recorded(sup: Supervisor) -> set[FillKey]:
    """The fills recorded as signals. Read through the supervisor's pool, which the engine keeps busy:
    a read that waited out the pool's timeout is tried again (a run with --tracemalloc died of it)."""
    for _ in range(20):
        try:
            async with sup.db.connect() as conn:
                result = await conn.execute(text("SELECT tx_hash, leader, asset, side FROM signals"))
                return {(r[0].lower(), r[1].lower(), r[2], str(r[3])) for r in result}
        except SQLAlchemyTimeoutError:
            await asyncio.sleep(1.0)
    raise RuntimeError("the benchmark could not read the signals: the pool stayed busy for 20 tries")


def heap_growth(first: tracemalloc.Snapshot, last: tracemalloc.Snapshot, top: int = 15) -> list[str]:
    """What grew on the Python heap between two snapshots, largest first (by allocation site)."""
    lines: list[str] = []
    for stat in last.compare_to(first, "traceback")[:top]:
        lines.append(
            f"+{stat.size_diff / 1024:.0f} KiB, +{stat.count_diff} blocks, allocated at (innermost last):"
        )
        lines.extend("    " + frame for frame in stat.traceback.format(most_recent_first=False))
    return lines


async def run_async(quick: bool, sqlite: bool, seconds: float | None, trace: bool = False) -> dict[str, Any]:
    flow_s = seconds if seconds is not None else (15.0 if quick else 90.0)
    mark_s = 10.0 if quick else 60.0
    slope_after = 5.0 if quick else 60.0
    drain_limit_s = 180.0 if quick else 600.0
    sim_args = (f"--seed={SEED}", f"--leaders={LEADERS}", f"--rate={RATE}", "--markets=8")
    async with (
        sim_process("--scenario=leaders", *sim_args, "--maker-level-size=100000") as urls,
        database(sqlite) as db_url,
        aiohttp.ClientSession() as http,
    ):
        async with http.get(urls["admin"] + "/scenario") as resp:
            leaders = [leader["address"].lower() for leader in (await resp.json())["leaders"]]
        to_submit = LogHistogram()

        def on_copy(record: CopyRecord) -> None:
            if record.signal_to_submit_ms is not None:
                to_submit.add(record.signal_to_submit_ms)

        with tempfile.TemporaryDirectory() as tmp:
            settings = settings_for(urls, db_url, Path(tmp) / "master.key")
            sup = Supervisor(settings, run_file(leaders), on_copy=on_copy, serve_api=True)
            started_s = time.time()  # the supervisor follows the leaders' fills from its start
            await sup.start()
            assert sup.api is not None
            health = Counter[str]()
            samples: list[tuple[float, float]] = []
            t0 = time.monotonic()

            snapshots: list[tracemalloc.Snapshot] = []

            async def sample() -> None:
                while True:
                    samples.append((time.monotonic() - t0, rss_mib()))
                    if len(samples) > 1 and int(samples[-1][0] // 60) > int(samples[-2][0] // 60):
                        print(
                            f"minute {int(samples[-1][0] // 60)}: RSS {samples[-1][1]:.1f} MiB",
                            file=sys.stderr,
                        )
                    if trace and not snapshots and samples[-1][0] >= mark_s:
                        snapshots.append(tracemalloc.take_snapshot())
                    async with http.get(sup.api.url + "/health") as r:  # type: ignore[union-attr]
                        queue = (await r.json())["checks"]["queue"]
                    health["backpressure" if "backpressure applied" in queue["detail"] else "ok"] += 1
                    await asyncio.sleep(1.0)

            runner = asyncio.create_task(sup.run(None, stop_after=False))
            sampler = asyncio.create_task(sample())
            try:
                await asyncio.sleep(flow_s)
                async with http.post(urls["admin"] + "/scenario/stop") as resp:
                    assert resp.status == 200, await resp.text()
                flow_samples = list(samples)
                if trace and snapshots:
                    snapshots.append(tracemalloc.take_snapshot())
                    for line in heap_growth(snapshots[0], snapshots[-1]):  # now: the drain may be long
                        print("heap:", line, file=sys.stderr, flush=True)
                fills = await leader_fills(http, urls["data_api"], leaders)
                window = {k for k, ts in fills.items() if ts >= started_s + 1}
                drain_started = time.monotonic()
                missing = window - await recorded(sup)
                while missing and time.monotonic() - drain_started < drain_limit_s:
                    await asyncio.sleep(1.0)
                    missing -= await recorded(sup)
                drain_s = time.monotonic() - drain_started
                await asyncio.sleep(2.0)  # copies of the last signals finish
            finally:
                sampler.cancel()
                runner.cancel()
                for task in (sampler, runner):
                    with contextlib.suppress(asyncio.CancelledError):
                        await task
            pressure = sup.engine.intake.pressure
            mux = sup.ingest.mux
            coord = sup.coord
            pool = coord.max_connections if isinstance(coord, RedisCoordinator) else None
            pool_timeouts = coord.pool_waits_timed_out if isinstance(coord, RedisCoordinator) else None
            async with sup.db.connect() as conn:
                states: dict[str, int] = {
                    str(k): int(v)
                    for k, v in (
                        await conn.execute(text("SELECT state, count(*) FROM copy_trades GROUP BY state"))
                    ).all()
                }
                failed = (
                    await conn.execute(
                        text("SELECT error, count(*) FROM copy_trades WHERE state = 'FAILED' GROUP BY error")
                    )
                ).all()
                signals = (await conn.execute(text("SELECT count(*) FROM signals"))).scalar_one()
            await sup.stop()
    stages = {k: v for k, v in sup.engine.metrics.summary().items()}
    internal = sum(n for error, n in failed if any(mark in str(error or "") for mark in INTERNAL))
    rss_at = next((v for t, v in flow_samples if t >= mark_s), flow_samples[-1][1] if flow_samples else None)
    return {
        "machine": {"python": platform.python_version(), "cpus": os.cpu_count()},
        "database": "sqlite" if sqlite else "postgresql",
        "flow_s": flow_s,
        "leaders": LEADERS,
        "configs": LEADERS * CONFIGS_PER_LEADER,
        "fills_sent": len(window),
        "fill_rate_per_s": round(len(window) / max(flow_s - 2, 1), 1),
        "signals_recorded": signals,
        "lost": len(missing),
        "drain_s": round(drain_s, 1),
        "copies": {str(k): v for k, v in states.items()},
        "failed_internal": internal,
        "failed_by_error": {str(e)[:80]: n for e, n in failed},
        "signal_to_submit_ms": {
            "count": to_submit.count,
            "p50": to_submit.quantile(0.5),
            "p99": to_submit.quantile(0.99),
        },
        "backpressure": {
            "wait_s_total": round(pressure.wait_s, 1),
            "waits": pressure.waits,
            "max_occupancy": pressure.max_occupancy,
            "limit": pressure.limit,
            "health_samples": dict(health),
            "push_reader_waits": mux.push_waits,
            "push_reader_wait_s": round(mux.push_wait_s, 1),
        },
        "stages_recent_ms": stages,
        "redis_pool": {"max_connections": pool, "waits_timed_out": pool_timeouts},
        "rss_mib": {
            "start": flow_samples[0][1] if flow_samples else None,
            f"at_{int(mark_s)}s": rss_at,
            "end_of_flow": flow_samples[-1][1] if flow_samples else None,
            "end_of_drain": samples[-1][1] if samples else None,
            "peak": max((v for _, v in samples), default=None),
            f"slope_after_{int(slope_after)}s_mib_per_min": slope_mib_per_min(flow_samples, slope_after),
            "by_minute": by_minute(samples),
        },
        **({"heap_growth": heap_growth(snapshots[0], snapshots[-1])} if len(snapshots) == 2 else {}),
    }


def run(
    quick: bool = False, sqlite: bool = False, seconds: float | None = None, trace: bool = False
) -> dict[str, Any]:
    if trace:
        tracemalloc.start(8)
    return asyncio.run(run_async(quick, sqlite, seconds, trace))


def _rss_line(rss: dict[str, Any]) -> str:
    mark = next(k for k in rss if k.startswith("at_"))
    slope = next(k for k in rss if k.startswith("slope_"))
    return (
        f"{rss[mark]} MiB {mark.replace('_', ' ')}, {rss['end_of_flow']} MiB at the end of the flow: "
        f"{rss[slope]} MiB/min {slope.removeprefix('slope_').removesuffix('_mib_per_min').replace('_', ' ')} "
        f"(start {rss['start']}, peak {rss['peak']}, after the drain {rss['end_of_drain']} MiB); "
        f"by minute {rss['by_minute']}"
    )


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--quick", action="store_true", help="15 s of flow instead of 90 s")
    parser.add_argument("--sqlite", action="store_true", help="SQLite instead of PostgreSQL")
    parser.add_argument("--seconds", type=float, default=None, help="seconds of leader flow")
    parser.add_argument("--json", action="store_true")
    parser.add_argument(
        "--tracemalloc",
        action="store_true",
        help="trace the heap (slow): what grew between the first minute's mark and the end of the flow",
    )
    args = parser.parse_args(argv)
    configure_logging("WARNING")  # logs to stderr: stdout is the figures
    result = run(args.quick, args.sqlite, args.seconds, args.tracemalloc)
    if args.json:
        print(json.dumps(result, indent=2))
    else:
        bp, rss, sts = result["backpressure"], result["rss_mib"], result["signal_to_submit_ms"]
        print(
            f"fills sent {result['fills_sent']} ({result['fill_rate_per_s']}/s), signals recorded "
            f"{result['signals_recorded']}, lost {result['lost']} (backlog drained in {result['drain_s']} s)\n"
            f"copies {result['copies']}, FAILED internal {result['failed_internal']}\n"
            f"signal->submit p50 {sts['p50']} ms p99 {sts['p99']} ms ({sts['count']} orders)\n"
            f"backpressure: sources waited {bp['wait_s_total']} s in {bp['waits']} hand-overs, "
            f"max occupancy {bp['max_occupancy']}/{bp['limit']}, push reader held {bp['push_reader_wait_s']} s "
            f"({bp['push_reader_waits']} times), /health {bp['health_samples']}\n"
            f"RSS: {_rss_line(rss)}"
        )
        for line in result.get("heap_growth", []):
            print("  heap:", line)
    return 0


if __name__ == "__main__":
    sys.exit(main())
