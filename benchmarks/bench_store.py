"""Copy-trade prewrite throughput and latency: the write every signal pays before anything is sent.

    uv run --frozen python benchmarks/bench_store.py [--quick] [--json] [--backends sqlite,postgresql]

For each backend (a temp-file SQLite; a fresh PostgreSQL database on 127.0.0.1:5432, dropped after)
and each concurrency level, N prewrites of distinct signals through the copy store the engine runs
(`SqlCopyStore.prewrite`: the signal and its copy in one unit of work; on PostgreSQL one autocommit
statement, on a SQLite file one transaction on the hot-path thread), then the same N again (all
duplicates: the signal is already recorded, nothing is written). Reports prewrites/s and
per-prewrite latency p50/p99 in ms.
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
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import asyncpg

from polyhunter.domain.copy_config import CopyConfig, CustodyMode, SizingMode
from polyhunter.domain.signal import Side, Signal, SourceKind
from polyhunter.log import configure_logging
from polyhunter.ports.store import NewCopy
from polyhunter.settings import DbSettings
from polyhunter.store import migrate
from polyhunter.store.copy_store import SqlCopyStore
from polyhunter.store.database import create_engine, create_session_factory, unit_of_work
from polyhunter.store.repos.accounts import UserRepository
from polyhunter.store.repos.copy_configs import CopyConfigRepository

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
        store = SqlCopyStore(sessions)
        cfg = stored.config
        copy = NewCopy(cfg.id, cfg.version, user_id, Side.BUY, "1", 10, 500_000, 5)
        at = datetime.now(UTC)
        signals = [
            Signal(
                secrets.token_hex(16),
                cfg.leader,
                "1",
                "0x" + "cd" * 32,
                Side.BUY,
                Decimal(10),
                Decimal("0.5"),
                "0x" + secrets.token_hex(32),
                at,
                at,
                SourceKind.WS,
            )
            for _ in range(n)
        ]
        results: dict[str, Any] = {}
        for phase in ("new", "duplicate"):
            queue = list(signals)
            latencies: list[float] = []
            outcomes: dict[str, int] = {}

            async def worker(
                queue: list[Signal] = queue,
                latencies: list[float] = latencies,
                outcomes: dict[str, int] = outcomes,
            ) -> None:
                while queue:
                    signal = queue.pop()
                    t = time.perf_counter()
                    created = await store.prewrite(signal, [copy], "bench", datetime.now(UTC))
                    latencies.append((time.perf_counter() - t) * 1000)
                    status = "duplicate" if created is None else "new" if created else "none"
                    outcomes[status] = outcomes.get(status, 0) + 1

            start = time.perf_counter()
            await asyncio.gather(*(worker() for _ in range(concurrency)))
            elapsed = time.perf_counter() - start
            assert outcomes == {phase: n}, outcomes
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
        print(
            "latencies in ms per prewrite (the signal and its copy: one unit of work, as the engine writes)"
        )
    return 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main(sys.argv[1:])))
