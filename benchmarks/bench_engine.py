"""Copy-engine benchmarks against the local simulator: one-follower latency and fan-out.

    uv run --frozen python benchmarks/bench_engine.py [--quick] [--json] [--no-postgres]

* latency: signal -> order submitted for ONE follower over N signals (in-process timestamps: from the
  signal's receipt to the executor call, including recording the signal, prewrite, guardrails,
  pricing and preflight), on SQLite and on PostgreSQL. PAPER and own-wallet (EOA, signed orders posted
  to the simulator); the venue round trip (the `execute` stage) is reported separately.
* fan-out: one signal to 1,000 and 10,000 configs, on SQLite and on PostgreSQL, PAPER (fills against
  the simulator's book, one book fetch for all of them) and own-wallet (every copy signed, journaled in
  `orders` and POSTed to the simulator): wall time until every copy is terminal and persisted, and
  copies/s.
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import gc
import json
import os
import platform
import secrets
import sys
import tempfile
import time
import uuid
from collections.abc import AsyncIterator, Sequence
from contextlib import AsyncExitStack, asynccontextmanager
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import aiohttp
import asyncpg
from sim_subprocess import sim_process
from sqlalchemy import func, insert, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from polyhunter.adapters.polymarket.clob_market_data import ClobMarketData
from polyhunter.adapters.polymarket.clob_trading import ClobTradingClient
from polyhunter.adapters.polymarket.eip712 import address_from_private_key
from polyhunter.adapters.polymarket.http import HttpClient
from polyhunter.adapters.polymarket.order_signer import OrderSigner, SignatureType
from polyhunter.coord.memory import MemoryCoordinator
from polyhunter.domain.copy_config import CustodyMode, SizingMode
from polyhunter.domain.guardrails import GuardrailLimits
from polyhunter.domain.signal import Side, Signal, SourceKind, signal_key
from polyhunter.domain.states import CopyTradeState
from polyhunter.engine.copy_engine import CopyEngine
from polyhunter.engine.guard import Guard
from polyhunter.engine.pricing import Pricer
from polyhunter.engine.spend_seed import seed_guard
from polyhunter.engine.stage_metrics import StageMetrics
from polyhunter.execution.eoa import EoaAccount, EoaExecutor
from polyhunter.execution.paper import PaperExecutor
from polyhunter.log import configure_logging
from polyhunter.ports.venue import Executor
from polyhunter.runtime.gc_tuning import tune_gc
from polyhunter.runtime.order_journal import OrderJournal
from polyhunter.settings import DbSettings, EngineSettings
from polyhunter.store.copy_store import SqlCopyStore
from polyhunter.store.database import create_engine, create_session_factory, unit_of_work
from polyhunter.store.enums import WalletKind
from polyhunter.store.migrate import upgrade
from polyhunter.store.models import CopyConfig, CopyConfigVersion, CopyTrade, Leader, User, Wallet

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


async def engine_for(
    sessions: async_sessionmaker[AsyncSession],
    market: ClobMarketData,
    executors: dict[CustodyMode, Executor],
    concurrency: int,
) -> CopyEngine:
    """The engine as `polyhunter.app` builds it, daily spend counters seeded for every follower at start
    (without the seed, the first copies of each follower rebuild them from the store, as after a Redis
    flush: a path a running supervisor does not take)."""
    settings = EngineSettings(fanout_concurrency=concurrency, quote_cache_ttl_ms=5_000)
    pricer = Pricer(market, quote_ttl_ms=5_000, max_entries=1_000, fallback_ttl_ms=10_000)
    if CustodyMode.PAPER not in executors:
        executors[CustodyMode.PAPER] = PaperExecutor(pricer.book, Decimal(1_000_000))
    big = Decimal(10) ** 12
    guard = Guard(MemoryCoordinator(), GuardrailLimits(big, big, big), 1_000_000, 1_000)
    store = SqlCopyStore(sessions)
    async with sessions() as session:
        users = list(await session.scalars(select(User.id)))
    await seed_guard(guard, store, datetime.now(UTC), users)
    return CopyEngine(store, pricer, executors, guard, settings, StageMetrics(), "bench")


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


@dataclasses.dataclass(frozen=True)
class Sim:
    urls: dict[str, str]


@asynccontextmanager
async def sim_venue() -> AsyncIterator[Sim]:
    """The simulator in its own process, quiet (the benchmark feeds the signals)."""
    async with sim_process(
        "--scenario=quiet", "--seed=3", "--markets=2", "--maker-level-size=100000"
    ) as urls:
        yield Sim(urls)


WALLETS = 16  # real keys the own-wallet followers sign with (round-robin): the per-copy work is the same


@asynccontextmanager
async def own_wallets(
    sim: Sim, sessions: async_sessionmaker[AsyncSession], market: ClobMarketData
) -> AsyncIterator[EoaExecutor]:
    """An own-wallet executor for every seeded user, as the supervisor wires it: orders signed with the
    follower's key, journaled (`orders` row, SUBMITTING) before the POST, posted with its L2 credentials.
    WALLETS funded keys with their API keys are shared round-robin (each user still has its own wallet
    row, so the journal writes one row per copy against the right wallet)."""
    clients: list[ClobTradingClient] = []
    try:
        async with aiohttp.ClientSession() as http:
            for _ in range(WALLETS):
                key = "0x" + secrets.token_hex(32)
                body = {"address": address_from_private_key(key), "collateral": "100000000"}
                async with http.post(sim.urls["admin"] + "/fund", json=body) as resp:
                    resp.raise_for_status()
                client = ClobTradingClient(HttpClient(sim.urls["clob"]), OrderSigner(key), 137)
                clients.append(client)
                await client.ensure_api_key()
        async with unit_of_work(sessions) as session:
            user_ids = list((await session.scalars(select(User.id).order_by(User.id))).all())
            wallet_ids = (
                await session.scalars(
                    insert(Wallet).returning(Wallet.id),
                    [
                        {
                            "user_id": uid,
                            "kind": WalletKind.EOA,
                            "address": f"0x{uid:040x}",
                            "signature_type": 0,
                        }
                        for uid in user_ids
                    ],
                )
            ).all()
        accounts = {
            uid: EoaAccount(clients[i % WALLETS], clients[i % WALLETS].signer.address, SignatureType.EOA)
            for i, uid in enumerate(user_ids)
        }
        journal = OrderJournal(sessions, dict(zip(user_ids, wallet_ids, strict=True)))
        yield EoaExecutor(
            accounts,
            chain_id=137,
            order_version=await market.version(),
            record_submit=journal.record_submit,
            lookup_submit=journal.lookup_submit,
        )
    finally:
        for client in clients:
            await client.close()


async def fanout(
    sim: Sim, token: str, condition: str, kind: str, n: int, custody: CustodyMode
) -> dict[str, Any]:
    async with database(kind) as db:
        await upgrade(db)
        engine_db = create_engine(db)
        sessions = create_session_factory(engine_db)
        await seed_configs(sessions, n, custody)
        market = ClobMarketData.connect(sim.urls["clob"])
        try:
            async with AsyncExitStack() as stack:
                executors: dict[CustodyMode, Executor] = {}
                if custody is CustodyMode.EOA:
                    executors[custody] = await stack.enter_async_context(own_wallets(sim, sessions, market))
                engine = await engine_for(sessions, market, executors, concurrency=256)
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
                    executed = await session.scalar(
                        select(func.count())
                        .select_from(CopyTrade)
                        .where(CopyTrade.state == CopyTradeState.EXECUTED)
                    )
        finally:
            await market.close()
            await engine_db.dispose()
    return {
        "db": kind,
        "custody": str(custody),
        "configs": n,
        "wall_s": round(wall, 3),
        "copies_per_s": round(n / wall),
        "terminal": terminal,
        "executed": executed,
    }


async def latency(
    sim: Sim, token: str, condition: str, custody: CustodyMode, count: int, kind: str = "sqlite"
) -> dict[str, Any]:
    async with database(kind) as db:
        await upgrade(db)
        engine_db = create_engine(db)
        sessions = create_session_factory(engine_db)
        await seed_configs(sessions, 1, custody)
        market = ClobMarketData.connect(sim.urls["clob"])
        try:
            async with AsyncExitStack() as stack:
                executors: dict[CustodyMode, Executor] = {}
                if custody is CustodyMode.EOA:
                    executors[custody] = await stack.enter_async_context(own_wallets(sim, sessions, market))
                engine = await engine_for(sessions, market, executors, concurrency=64)
                for i in range(count):
                    signal = await buy_signal(market, token, condition, i)
                    fresh = dataclasses.replace(signal, seen_at=datetime.now(UTC))
                    await engine.process_signal(fresh)  # records the signal and prewrites in one transaction
                stages = engine.metrics.summary()
        finally:
            await market.close()
            await engine_db.dispose()
    return {
        "db": kind,
        "custody": str(custody),
        "signals": count,
        "signal_to_submit_ms": stages.get("signal_to_submit"),
        "venue_round_trip_ms": stages.get("execute"),
        "stages_ms": stages,
    }


async def run_async(quick: bool, postgres: bool) -> dict[str, Any]:
    async with sim_venue() as sim:
        async with aiohttp.ClientSession() as http, http.get(sim.urls["admin"] + "/scenario") as resp:
            market = (await resp.json())["markets"][0]
        token, condition = market["tokens"][0], market["condition_id"]
        n_latency = 100 if quick else 1000
        results: dict[str, Any] = {"machine": machine(), "latency": [], "fanout": []}
        kinds = ("sqlite", "postgresql") if postgres else ("sqlite",)
        thresholds = gc.get_threshold()
        tune_gc(EngineSettings().gc_gen0_threshold)  # as a started supervisor runs
        try:
            for kind in kinds:
                for custody in (CustodyMode.PAPER, CustodyMode.EOA):
                    results["latency"].append(await latency(sim, token, condition, custody, n_latency, kind))
            sizes = (1000,) if quick else (1000, 10_000)
            for kind in kinds:
                for custody in (CustodyMode.PAPER, CustodyMode.EOA):
                    for n in sizes:
                        results["fanout"].append(await fanout(sim, token, condition, kind, n, custody))
        finally:
            gc.unfreeze()
            gc.set_threshold(*thresholds)
        return results


def run(quick: bool = False, postgres: bool = True) -> dict[str, Any]:
    return asyncio.run(run_async(quick, postgres))


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--quick", action="store_true", help="fewer signals, 1,000 configs only")
    parser.add_argument("--json", action="store_true", help="one JSON document")
    parser.add_argument("--no-postgres", action="store_true", help="SQLite only")
    args = parser.parse_args(argv)
    configure_logging("WARNING")  # logs to stderr: stdout is the figures
    result = run(args.quick, not args.no_postgres)
    if args.json:
        print(json.dumps(result, indent=2))
        return 0
    for row in result["latency"]:
        s2s, venue = row["signal_to_submit_ms"] or {}, row["venue_round_trip_ms"] or {}
        print(
            f"latency {row['db']:<10} {row['custody']:<5} n={row['signals']}: signal->submit p50 {s2s.get('p50_ms')} ms "
            f"p99 {s2s.get('p99_ms')} ms; venue round trip p50 {venue.get('p50_ms')} ms p99 {venue.get('p99_ms')} ms"
        )
    for row in result["fanout"]:
        print(
            f"fan-out {row['db']:<10} {row['custody']:<5} {row['configs']:>6} configs: {row['wall_s']} s, "
            f"{row['copies_per_s']} copies/s, terminal {row['terminal']}, executed {row['executed']}"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
