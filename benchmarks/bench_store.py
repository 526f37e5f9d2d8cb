"""Copy-trade prewrite throughput and latency: the INSERT every copy pays before anything is sent.

    uv run --frozen python benchmarks/bench_store.py [--quick] [--json] [--backends sqlite,postgresql]

For each backend (a temp-file SQLite; a fresh PostgreSQL database on 127.0.0.1:5432, dropped after)
and each concurrency level, N prewrites (one unit of work each: BEGIN, INSERT, COMMIT) of distinct
signal keys, then the same N again (all duplicates, refused by the UNIQUE constraint). Reports
prewrites/s and per-prewrite latency p50/p99 in ms.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import secrets
import sys
import tempfile
import time
import uuid
from decimal import Decimal
from pathlib import Path
from typing import Any

import asyncpg

from polyhunter.domain.copy_config import CopyConfig, CustodyMode, SizingMode
from polyhunter.domain.signal import Side
from polyhunter.log import configure_logging
from polyhunter.settings import DbSettings
from polyhunter.store import migrate
from polyhunter.store.database import create_engine, create_session_factory, unit_of_work
from polyhunter.store.repos.accounts import UserRepository
from polyhunter.store.repos.copy_configs import CopyConfigRepository
from polyhunter.store.repos.copy_trades import CopyTradeRepository, PrewriteRequest, PrewriteStatus

PG_ADMIN = "postgresql://127.0.0.1:5432/test"


def _pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


async def _run(db: DbSettings, n: int, concurrency: int) -> dict[str, Any]:
    await migrate.upgrade(db)
    engine = create_engine(db)
    sessions = create_session_factory(engine)
    try:
        async with unit_of_work(sessions) as s:
            user_id = await UserRepository(s).create(f"bench-{secrets.token_hex(4)}")
            cfg = CopyConfig(
                id=0,
                version=0,
                user_id=user_id,
                leader="0x" + secrets.token_hex(20),
                sizing=SizingMode.FIXED_USDC,
                sizing_value=Decimal(5),
                custody=CustodyMode.PAPER,
            )
            stored = await CopyConfigRepository(s).create(cfg)
        keys = [secrets.token_hex(16) for _ in range(n)]
        results: dict[str, Any] = {}
        for phase in ("new", "duplicate"):
            queue = list(keys)
            latencies: list[float] = []
            outcomes: dict[PrewriteStatus, int] = {}

            async def worker(
                queue: list[str] = queue,
                latencies: list[float] = latencies,
                outcomes: dict[PrewriteStatus, int] = outcomes,
            ) -> None:
                while queue:
                    key = queue.pop()
                    req = PrewriteRequest(key, stored.config.id, 1, user_id, Side.BUY, "1", 10, 500_000, 5)
                    t = time.perf_counter()
                    async with unit_of_work(sessions) as s:
                        status = (await CopyTradeRepository(s).prewrite(req)).status
                    latencies.append((time.perf_counter() - t) * 1000)
                    outcomes[status] = outcomes.get(status, 0) + 1

            start = time.perf_counter()
            await asyncio.gather(*(worker() for _ in range(concurrency)))
            elapsed = time.perf_counter() - start
            expected = PrewriteStatus.CREATED if phase == "new" else PrewriteStatus.DUPLICATE
            assert outcomes == {expected: n}, outcomes
            results[phase] = {
                "per_s": round(n / elapsed),
                "p50_ms": round(_pct(latencies, 0.5), 2),
                "p99_ms": round(_pct(latencies, 0.99), 2),
            }
        return results
    finally:
        await engine.dispose()


async def _pg(sql: str) -> None:
    conn = await asyncpg.connect(PG_ADMIN)
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


async def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="200 prewrites instead of 2000")
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--backends", default="sqlite,postgresql")
    args = parser.parse_args(argv)
    configure_logging("WARNING")  # logs to stderr: stdout is the figures
    n = 200 if args.quick else 2000
    report: list[dict[str, Any]] = []
    for backend in args.backends.split(","):
        for concurrency in (1, 16):
            if backend == "sqlite":
                with tempfile.TemporaryDirectory() as tmp:
                    db = DbSettings(url=f"sqlite+aiosqlite:///{Path(tmp) / 'bench.db'}")
                    res = await _run(db, n, concurrency)
            else:
                name = f"ph_bench_{uuid.uuid4().hex[:10]}"
                await _pg(f'CREATE DATABASE "{name}"')
                try:
                    db = DbSettings(url=f"postgresql+asyncpg://127.0.0.1:5432/{name}", pool_size=concurrency)
                    res = await _run(db, n, concurrency)
                finally:
                    await _pg(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            report.append({"backend": backend, "concurrency": concurrency, "n": n, **res})
    if args.json:
        print(json.dumps(report, indent=2))
    else:
        print(
            f"{'backend':<11}{'conc':>5}{'n':>6}  {'new/s':>7}{'p50':>8}{'p99':>8}  {'dup/s':>7}{'p50':>8}{'p99':>8}"
        )
        for r in report:
            new, dup = r["new"], r["duplicate"]
            print(
                f"{r['backend']:<11}{r['concurrency']:>5}{r['n']:>6}  {new['per_s']:>7}{new['p50_ms']:>8}"
                f"{new['p99_ms']:>8}  {dup['per_s']:>7}{dup['p50_ms']:>8}{dup['p99_ms']:>8}"
            )
        print("latencies in ms per prewrite (one unit of work: BEGIN, INSERT, COMMIT)")
    return 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main(sys.argv[1:])))
