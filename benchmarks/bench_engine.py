"""Copy-engine benchmarks against the local simulator: one-follower latency and fan-out.

    uv run --frozen python benchmarks/bench_engine.py [--quick] [--json] [--no-postgres]

* latency: signal -> order submitted for ONE follower over N signals (in-process timestamps: from the
  signal's receipt to the executor call, including recording the signal, prewrite, guardrails,
  pricing and preflight). PAPER and own-wallet (EOA, signed orders posted to the simulator); the
  venue round trip (the `execute` stage) is reported separately.
* fan-out: one signal to 1,000 and 10,000 configs, on SQLite and on PostgreSQL: wall time until every
  copy is terminal and persisted, and copies/s. PAPER fills against the simulator's book (one book
  fetch for all of them).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import secrets
import sys
import tempfile
import time
import uuid
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import aiohttp
import asyncpg
from sqlalchemy import func, insert, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from polyhunter.adapters.polymarket.clob_market_data import ClobMarketData
from polyhunter.adapters.polymarket.clob_trading import ClobTradingClient
from polyhunter.adapters.polymarket.http import HttpClient
from polyhunter.coord.memory import MemoryCoordinator
from polyhunter.domain.copy_config import CustodyMode, SizingMode
from polyhunter.domain.guardrails import GuardrailLimits
from polyhunter.domain.signal import Side, Signal, SourceKind, signal_key
from polyhunter.engine.copy_engine import CopyEngine
from polyhunter.engine.guard import Guard
from polyhunter.engine.ports import Executor
from polyhunter.engine.pricing import Pricer
from polyhunter.engine.stage_metrics import StageMetrics
from polyhunter.execution.eip712 import address_from_private_key
from polyhunter.execution.eoa import EoaAccount, EoaExecutor
from polyhunter.execution.paper import PaperExecutor
from polyhunter.execution.signer import OrderSigner, SignatureType
from polyhunter.settings import DbSettings, EngineSettings
from polyhunter.sim.server_app import SimServer
from polyhunter.store.database import create_engine, create_session_factory, unit_of_work
from polyhunter.store.enums import CopyTradeState
from polyhunter.store.migrate import upgrade
from polyhunter.store.models import CopyConfig, CopyConfigVersion, CopyTrade, Leader, User

PG_ADMIN = "postgresql://127.0.0.1:5432/test"
LEADER = "0x" + "1e" * 20


def machine() -> dict[str, Any]:
    return {"python": platform.python_version(), "cpus": os.cpu_count(), "platform": platform.platform()}


@asynccontextmanager
async def database(kind: str) -> AsyncIterator[DbSettings]:
    if kind == "sqlite":
        with tempfile.TemporaryDirectory() as tmp:
            yield DbSettings(url=f"sqlite+aiosqlite:///{tmp}/bench.db")
        return
    name = f"ph_bench_{uuid.uuid4().hex[:10]}"
    admin = await asyncpg.connect(PG_ADMIN)
    try:
        await admin.execute(f'CREATE DATABASE "{name}"')
        try:
            yield DbSettings(url=f"postgresql+asyncpg://127.0.0.1:5432/{name}", pool_size=20)
        finally:
            await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await admin.close()


async def seed_configs(sessions: async_sessionmaker[AsyncSession], n: int, custody: CustodyMode) -> None:
    """n followers of one leader, inserted in bulk (provisioning speed is not what is measured)."""
    async with unit_of_work(sessions) as session:
        leader_id = (
            await session.execute(insert(Leader).values(address=LEADER).returning(Leader.id))
        ).scalar_one()
        now = datetime.now(UTC)
        for start in range(0, n, 1000):
            chunk = range(start, min(n, start + 1000))
            user_ids = (
                (
                    await session.execute(
                        insert(User).returning(User.id),
                        [{"username": f"bench-{i}", "created_at": now} for i in chunk],
                    )
                )
                .scalars()
                .all()
            )
            config_ids = (
                (
                    await session.execute(
                        insert(CopyConfig).returning(CopyConfig.id),
                        [
                            {
                                "user_id": uid,
                                "leader_id": leader_id,
                                "active": True,
                                "current_version": 1,
                                "created_at": now,
                                "updated_at": now,
                            }
                            for uid in user_ids
                        ],
                    )
                )
                .scalars()
                .all()
            )
            await session.execute(
                insert(CopyConfigVersion),
                [
                    {
                        "config_id": cid,
                        "version": 1,
                        "sizing_mode": SizingMode.FIXED_USDC,
                        "sizing_params": {"value": "2"},
                        "filters": {},
                        "custody_mode": custody,
                        "min_trade_notional_micro": 0,
                        "max_slippage_bps": 500,
                        "created_at": now,
                    }
                    for cid in config_ids
                ],
            )


def engine_for(
    sessions: async_sessionmaker[AsyncSession],
    market: ClobMarketData,
    executors: dict[CustodyMode, Executor],
    concurrency: int,
) -> CopyEngine:
    settings = EngineSettings(fanout_concurrency=concurrency, quote_cache_ttl_ms=5_000)
    pricer = Pricer(market, quote_ttl_ms=5_000, max_entries=1_000, fallback_ttl_ms=10_000)
    if CustodyMode.PAPER not in executors:
        executors[CustodyMode.PAPER] = PaperExecutor(pricer.book, Decimal(1_000_000))
    big = Decimal(10) ** 12
    guard = Guard(MemoryCoordinator(), GuardrailLimits(big, big, big), 1_000_000, 1_000)
    return CopyEngine(sessions, pricer, executors, guard, settings, StageMetrics(), "bench")


async def buy_signal(market: ClobMarketData, token: str, condition: str, n: int) -> Signal:
    book = await market.book(token)
    price = book.best_ask or Decimal("0.5")
    now = datetime.now(UTC)
    tx = "0x" + secrets.token_hex(32)
    return Signal(
        signal_key(tx, LEADER, token, Side.BUY, 10_000_000 + n),
        LEADER,
        token,
        condition,
        Side.BUY,
        Decimal(10),
        price,
        tx,
        now,
        now,
        SourceKind.WS,
    )


async def fanout(sim: SimServer, token: str, condition: str, kind: str, n: int) -> dict[str, Any]:
    async with database(kind) as db:
        await upgrade(db)
        engine_db = create_engine(db)
        sessions = create_session_factory(engine_db)
        await seed_configs(sessions, n, CustodyMode.PAPER)
        market = ClobMarketData.connect(sim.urls["clob"])
        try:
            engine = engine_for(sessions, market, {}, concurrency=256)
            await engine.configs_for(LEADER)  # warm the config cache as a running supervisor has it
            signal = await buy_signal(market, token, condition, n)
            started = time.perf_counter()
            await engine.process_signal(signal)
            wall = time.perf_counter() - started
            async with sessions() as session:
                terminal = await session.scalar(
                    select(func.count())
                    .select_from(CopyTrade)
                    .where(CopyTrade.state != CopyTradeState.PENDING)
                )
        finally:
            await market.close()
            await engine_db.dispose()
    return {
        "db": kind,
        "configs": n,
        "wall_s": round(wall, 3),
        "copies_per_s": round(n / wall),
        "terminal": terminal,
    }


async def latency(
    sim: SimServer, token: str, condition: str, custody: CustodyMode, count: int
) -> dict[str, Any]:
    async with database("sqlite") as db:
        await upgrade(db)
        engine_db = create_engine(db)
        sessions = create_session_factory(engine_db)
        await seed_configs(sessions, 1, custody)
        market = ClobMarketData.connect(sim.urls["clob"])
        executors: dict[CustodyMode, Executor] = {}
        client = None
        if custody is CustodyMode.EOA:
            key = "0x" + secrets.token_hex(32)
            async with aiohttp.ClientSession() as http:
                body = {"address": address_from_private_key(key), "collateral": "1000000"}
                async with http.post(sim.urls["admin"] + "/fund", json=body) as resp:
                    resp.raise_for_status()
            client = ClobTradingClient(HttpClient(sim.urls["clob"]), OrderSigner(key), 137)
            await client.ensure_api_key()
            async with sessions() as session:
                user_id = int(await session.scalar(select(User.id)) or 0)
            account = EoaAccount(client, client.signer.address, SignatureType.EOA)
            executors[CustodyMode.EOA] = EoaExecutor(
                {user_id: account}, chain_id=137, order_version=await market.version()
            )
        try:
            engine = engine_for(sessions, market, executors, concurrency=64)
            for i in range(count):
                signal = await buy_signal(market, token, condition, i)
                fresh = Signal(
                    **{**{f: getattr(signal, f) for f in signal.__slots__}, "seen_at": datetime.now(UTC)}
                )  # type: ignore[attr-defined]
                await engine.process_signal(fresh)  # records the signal and prewrites in one transaction
            stages = engine.metrics.summary()
        finally:
            await market.close()
            if client is not None:
                await client.close()
            await engine_db.dispose()
    return {
        "custody": str(custody),
        "signals": count,
        "signal_to_submit_ms": stages.get("signal_to_submit"),
        "venue_round_trip_ms": stages.get("execute"),
        "stages_ms": stages,
    }


async def run_async(quick: bool, postgres: bool) -> dict[str, Any]:
    async with SimServer("quiet", 3, 0, markets=2, maker_level_size=Decimal(100_000)) as sim:
        async with aiohttp.ClientSession() as http, http.get(sim.urls["admin"] + "/scenario") as resp:
            market = (await resp.json())["markets"][0]
        token, condition = market["tokens"][0], market["condition_id"]
        n_latency = 100 if quick else 1000
        results: dict[str, Any] = {"machine": machine(), "latency": [], "fanout": []}
        for custody in (CustodyMode.PAPER, CustodyMode.EOA):
            results["latency"].append(await latency(sim, token, condition, custody, n_latency))
        sizes = (1000,) if quick else (1000, 10_000)
        kinds = ("sqlite", "postgresql") if postgres else ("sqlite",)
        for kind in kinds:
            for n in sizes:
                results["fanout"].append(await fanout(sim, token, condition, kind, n))
        return results


def run(quick: bool = False, postgres: bool = True) -> dict[str, Any]:
    return asyncio.run(run_async(quick, postgres))


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--quick", action="store_true", help="fewer signals, 1,000 configs only")
    parser.add_argument("--json", action="store_true", help="one JSON document")
    parser.add_argument("--no-postgres", action="store_true", help="SQLite only")
    args = parser.parse_args(argv)
    result = run(args.quick, not args.no_postgres)
    if args.json:
        print(json.dumps(result, indent=2))
        return 0
    for row in result["latency"]:
        s2s, venue = row["signal_to_submit_ms"] or {}, row["venue_round_trip_ms"] or {}
        print(
            f"latency {row['custody']:<5} n={row['signals']}: signal->submit p50 {s2s.get('p50_ms')} ms "
            f"p99 {s2s.get('p99_ms')} ms; venue round trip p50 {venue.get('p50_ms')} ms p99 {venue.get('p99_ms')} ms"
        )
    for row in result["fanout"]:
        print(
            f"fan-out {row['db']:<10} {row['configs']:>6} configs: {row['wall_s']} s, {row['copies_per_s']} copies/s, terminal {row['terminal']}"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
