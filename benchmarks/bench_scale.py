"""Scale-out: copies/s and signal -> submit with 1, 2 and 3 `polyhunter worker` processes, and failover.

    uv run --frozen python benchmarks/bench_scale.py [--quick] [--json]

For each worker count: a fresh PostgreSQL database, the shared Redis (a key prefix of its own, removed
after), the simulator in its own process with its `leaders` scenario (20 leaders, a fixed fill rate),
1,000 PAPER followers (50 configs per leader) and `polyhunter worker` processes (12 partitions): the first
with both roles, the others `--roles execute`. Once every worker owns partitions, the leaders trade for a window; then the flow stops
and the workers drain the backlog. Reported:

* copies/s: copy rows of the window's signals, over the time from the first signal's receipt to the
  end of the 99th percentile copy (the last percent are copies a sweep settles later); the fill rate
  is set above what one worker copies, so the backlog measures capacity, not the fill rate;
* signal -> submit p50 / p99: from every worker's `polyhunter_stage_seconds{stage="signal_to_submit"}`
  histogram (/metrics), the buckets added up and the percentile interpolated inside its bucket (None:
  past the last bucket, 10 s); signal -> done p50 / p99 exactly, from the database (the signal's
  receipt to its copy's terminal write);
* failover (2 and 3 workers): one worker SIGKILLed after the drain; seconds until every partition is
  owned by a live worker again (`polyhunter cluster status`' view, polled).

All processes share this machine's cores with the simulator and the database: the figures say what
this machine does, not what hosts of their own would.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
import sys
import tempfile
import time
import urllib.request
import uuid
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import asyncpg
from redis.asyncio import Redis
from sim_subprocess import sim_process

from polyhunter.cluster.status import cluster_status
from polyhunter.cluster.worker import cluster_prefix, cluster_redis
from polyhunter.log import configure_logging
from polyhunter.secretbox import generate_master_key
from polyhunter.settings import ClusterSettings

PG_ADMIN = "postgresql://127.0.0.1:5432/test"
REDIS_URL = "redis://127.0.0.1:6379/0"
LEADERS = 20
FOLLOWERS = 1000
PARTITIONS = 12
READY_S = 240


def _get(url: str) -> Any:
    with urllib.request.urlopen(url, timeout=30) as resp:  # noqa: S310 - the local simulator / workers
        body = resp.read()
    return json.loads(body) if body[:1] in (b"{", b"[") else body.decode()


def _post(url: str, body: Any) -> None:
    req = urllib.request.Request(  # noqa: S310 - the local simulator
        url, data=json.dumps(body).encode(), headers={"Content-Type": "application/json"}
    )
    with urllib.request.urlopen(req, timeout=30):  # noqa: S310 - the local simulator
        pass


def _run_file(leaders: list[str]) -> str:
    return "\n".join(
        f'[[followers]]\nname = "b{i}"\ncustody = "PAPER"\n[[followers.copies]]\nleader = "{leaders[i % LEADERS]}"\n'
        f'sizing = "FIXED_USDC"\nsizing_value = "{5 + i % 3}"\n'
        for i in range(FOLLOWERS)
    )


def _histogram(metrics: str, stage: str) -> dict[float, float]:
    """Cumulative bucket counts of `polyhunter_stage_seconds` for `stage` from a /metrics text."""
    out: dict[float, float] = {}
    for line in metrics.splitlines():
        if line.startswith("polyhunter_stage_seconds_bucket") and f'stage="{stage}"' in line:
            le = line.split('le="', 1)[1].split('"', 1)[0]
            out[float("inf") if le == "+Inf" else float(le)] = float(line.rsplit(" ", 1)[1])
    return out


def _percentile(buckets: dict[float, float], q: float) -> float | None:
    """The q-quantile (ms) of cumulative buckets, linear inside its bucket."""
    bounds = sorted(buckets)
    total = buckets[bounds[-1]] if bounds else 0
    if not total:
        return None
    rank, lower, below = q * total, 0.0, 0.0
    for bound in bounds:
        count = buckets[bound]
        if count >= rank:
            if bound == float("inf"):
                return None  # past the last bound (10 s): unknown how far
            share = (rank - below) / (count - below) if count > below else 1.0
            return round((lower + (bound - lower) * share) * 1000, 1)
        lower, below = bound, count
    return None


async def _pg(dsn: str, sql: str) -> list[asyncpg.Record]:
    conn = await asyncpg.connect(dsn)
    try:
        return list(await conn.fetch(sql))
    finally:
        await conn.close()


async def _start(env: dict[str, str], run_file: Path, log: Path, roles: str) -> asyncio.subprocess.Process:
    with log.open("wb") as out:
        return await asyncio.create_subprocess_exec(
            sys.executable, "-c", "from polyhunter.cli import main; main()",
            "worker", "--roles", roles, "--config", str(run_file),
            env=env, stdout=out, stderr=out, cwd=str(run_file.parent),
        )  # fmt: skip


async def _ready(proc: asyncio.subprocess.Process, log: Path) -> dict[str, Any]:
    deadline = time.monotonic() + READY_S
    while True:
        text = await asyncio.to_thread(log.read_text, errors="replace")
        for line in text.splitlines():
            if line.startswith('{"event": "worker ready"'):
                return dict(json.loads(line))
        if proc.returncode is not None or time.monotonic() > deadline:
            raise RuntimeError(f"worker not ready (exit {proc.returncode}); see {log}")
        await asyncio.sleep(0.2)


async def _owners(redis: Redis, prefix: str) -> dict[int, str | None]:
    status = await cluster_status(redis, prefix, ClusterSettings(partitions=PARTITIONS))
    return {p["partition"]: p["owner"] for p in status["partitions"]}


async def _drained(dsn: str) -> tuple[int, int, int]:
    """Wait until the backlog drained: no copy PENDING and nothing new for 3 s. (signals, copies, pending)"""
    last: tuple[int, int, int] | None = None
    since = time.monotonic()
    while True:
        row = (
            await _pg(
                dsn,
                "SELECT (SELECT count(*) FROM signals), count(*), "
                "count(*) FILTER (WHERE state = 'PENDING') FROM copy_trades",
            )
        )[0]
        now = (int(row[0]), int(row[1]), int(row[2]))
        if now != last:
            last, since = now, time.monotonic()
        elif now[2] == 0 and time.monotonic() - since >= 3:
            return now
        await asyncio.sleep(0.5)


async def _failover(victim: asyncio.subprocess.Process, victim_id: str, redis: Redis, prefix: str) -> float:
    """SIGKILL `victim`; seconds until every partition has a live owner again."""
    victim.send_signal(signal.SIGKILL)
    await victim.wait()
    killed = time.monotonic()
    while time.monotonic() - killed < 60:
        owners = await _owners(redis, prefix)
        if victim_id not in owners.values() and None not in owners.values():
            break
        await asyncio.sleep(0.05)
    return round(time.monotonic() - killed, 2)


async def one_run(workers: int, rate: float, window_s: float, tmp: Path) -> dict[str, Any]:
    name = f"ph_bench_scale_{uuid.uuid4().hex[:8]}"
    key_prefix = f"bench-scale-{uuid.uuid4().hex[:8]}"
    admin = await asyncpg.connect(PG_ADMIN)
    await admin.execute(f'CREATE DATABASE "{name}"')
    dsn = f"postgresql://127.0.0.1:5432/{name}"
    redis = cluster_redis(REDIS_URL, 1)
    procs: list[asyncio.subprocess.Process] = []
    try:
        async with sim_process(
            "--port", "0", "--scenario", "leaders", "--leaders", str(LEADERS), "--rate", str(rate),
            "--markets", "4", "--seed", "7",
        ) as urls:  # fmt: skip
            leaders = [x["address"].lower() for x in _get(urls["admin"] + "/scenario")["leaders"]]
            run_file = tmp / f"run-{workers}.toml"
            run_file.write_text(_run_file(leaders))
            settings = {
                "venue.clob_url": urls["clob"],
                "venue.data_api_url": urls["data_api"],
                "venue.gamma_url": urls["gamma"],
                "venue.clob_ws_url": urls["clob_ws"],
                "venue.rtds_ws_url": urls["rtds_ws"],
                "db.url": f"postgresql+asyncpg://127.0.0.1:5432/{name}",
                "coord.backend": "redis",
                "coord.redis_url": REDIS_URL,
                "coord.key_prefix": key_prefix,
                "cluster.partitions": PARTITIONS,
                "ingest.mode": "HYBRID",
                "ingest.chain_in_hybrid": "false",
                "ingest.poll_interval_ms": 2000,
                "engine.pending_ttl_s": 10,
                "engine.expiry_scan_interval_ms": 1000,
                "engine.aggregation_window_ms": 1000,
                "api.port": 0,
                "secrets.master_key": generate_master_key(),
                "logging.level": "WARNING",
            }
            env = {k: v for k, v in os.environ.items() if not k.upper().startswith("POLYHUNTER")}
            env.update({"POLYHUNTER__" + k.replace(".", "__").upper(): str(v) for k, v in settings.items()})
            logs = [tmp / f"worker-{workers}-{i}.log" for i in range(workers)]
            # the first worker ingests too (one set of sources, as a deployment runs a few ingest workers);
            # each one executes
            procs = [
                await _start(env, run_file, log, "ingest,execute" if i == 0 else "execute")
                for i, log in enumerate(logs)
            ]
            ready = [await _ready(p, log) for p, log in zip(procs, logs, strict=True)]
            deployment = (await _pg(dsn, "SELECT deployment_id FROM deployment"))[0][0]
            prefix = cluster_prefix(f"{key_prefix}:{deployment}")
            ids = {r["worker"] for r in ready}
            deadline = time.monotonic() + 60
            while set((await _owners(redis, prefix)).values()) != ids:
                if time.monotonic() > deadline:
                    raise RuntimeError("partitions not spread over the workers")
                await asyncio.sleep(0.2)
            start_signals = (await _pg(dsn, "SELECT count(*) FROM signals"))[0][0]
            start_at = time.time()
            await asyncio.sleep(window_s)
            _post(urls["admin"] + "/scenario/stop", {})
            last = await _drained(dsn)
            span = (
                await _pg(
                    dsn,
                    "SELECT min(extract(epoch FROM s.seen_at)), "
                    "percentile_cont(0.99) WITHIN GROUP (ORDER BY extract(epoch FROM c.updated_at)), count(*), "
                    "percentile_cont(0.5) WITHIN GROUP (ORDER BY extract(epoch FROM c.updated_at - s.seen_at)), "
                    "percentile_cont(0.99) WITHIN GROUP (ORDER BY extract(epoch FROM c.updated_at - s.seen_at)) "
                    "FROM copy_trades c JOIN signals s ON s.key = c.signal_key "
                    f"WHERE s.seen_at >= to_timestamp({start_at})",
                )
            )[0]
            copies = int(span[2])
            wall = float(span[1]) - float(span[0]) if copies else 0.0  # to the 99th percentile copy's end
            merged: dict[float, float] = {}
            for r in ready:
                for bound, count in _histogram(str(_get(r["api"] + "/metrics")), "signal_to_submit").items():
                    merged[bound] = merged.get(bound, 0) + count
            result: dict[str, Any] = {
                "workers": workers,
                "fill_rate_per_s": rate,
                "window_s": window_s,
                "signals": int(last[0]) - int(start_signals),
                "copies": copies,
                "copies_per_s": round(copies / wall, 1) if wall else None,
                "signal_to_submit_ms": {"p50": _percentile(merged, 0.5), "p99": _percentile(merged, 0.99)},
                "signal_to_done_ms": {
                    "p50": round(float(span[3]) * 1000) if copies else None,
                    "p99": round(float(span[4]) * 1000) if copies else None,
                },
            }
            if workers > 1:
                result["failover_s"] = await _failover(procs[-1], ready[-1]["worker"], redis, prefix)
            return result
    finally:
        for p in procs:
            if p.returncode is None:
                p.terminate()
        for p in procs:
            try:
                await asyncio.wait_for(p.wait(), 30)
            except TimeoutError:
                p.kill()
                await p.wait()
        keys = [k async for k in redis.scan_iter(match=f"*{key_prefix}:*", count=1000)]
        for i in range(0, len(keys), 500):
            await redis.delete(*keys[i : i + 500])
        await redis.aclose()
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()


async def run_async(quick: bool) -> dict[str, Any]:
    rate, window = (4.0, 6.0) if quick else (6.0, 12.0)
    runs = []
    with tempfile.TemporaryDirectory() as tmp:
        for workers in (1, 2, 3):
            runs.append(await one_run(workers, rate, window, Path(tmp)))
    return {
        "followers": FOLLOWERS,
        "leaders": LEADERS,
        "partitions": PARTITIONS,
        "cpus": os.cpu_count(),
        "load_average_1m": round(os.getloadavg()[0], 2),
        "runs": runs,
    }


def run(quick: bool = False) -> dict[str, Any]:
    return asyncio.run(run_async(quick))


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--quick", action="store_true", help="a shorter window at a lower fill rate")
    parser.add_argument("--json", action="store_true", help="one JSON document")
    args = parser.parse_args(argv)
    configure_logging("WARNING")
    result = run(args.quick)
    if args.json:
        print(json.dumps(result, indent=2))
        return 0
    for r in result["runs"]:
        s2s, done = r["signal_to_submit_ms"], r["signal_to_done_ms"]
        print(
            f"{r['workers']} worker(s): {r['copies']} copies of {r['signals']} signals, {r['copies_per_s']} copies/s, "
            f"signal->submit p50 {s2s['p50']} ms p99 {s2s['p99']} ms, signal->done p50 {done['p50']} ms "
            f"p99 {done['p99']} ms, failover {r.get('failover_s', '-')} s"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
