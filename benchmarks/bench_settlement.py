"""PROXY settlement on a local anvil: copies settled per second and gas per copy, batched vs one per transaction.

    uv run --frozen python benchmarks/bench_settlement.py [--copies N] [--quick] [--json]

A fresh anvil and SQLite store per mode; one proxy (funded), one fleet worker holding the shares it bought;
N BUY copies queued for settlement, then ``ProxySettler`` drains the queue (``batch_max`` 50, then 1). The
time is from the first flush to the last copy EXECUTED (one confirmation, anvil mining each transaction at
once), so it measures the settlement path (planning, estimating, signing, sending, confirming, recording).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import secrets
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from polyhunter.adapters.chain.rpc import JsonRpcClient
from polyhunter.domain.commission import FeeSchedule
from polyhunter.execution.proxy_settlement import ProxySettler, SettlerConfig
from polyhunter.execution.tx_monitor import TxMonitor
from polyhunter.log import configure_logging
from polyhunter.secretbox import SecretBox, generate_master_key
from polyhunter.settings import DbSettings
from polyhunter.sim.anvil import AnvilProcess
from polyhunter.sim.custody_rig import build_custody_rig
from polyhunter.sim.settlement_queue import TOKEN, USDC, proxy_config, queue_copies, register_worker
from polyhunter.store import migrate
from polyhunter.store.database import create_engine, create_session_factory, unit_of_work
from polyhunter.store.enums import WalletKind
from polyhunter.store.repos.wallets import WalletRepository

FEES = FeeSchedule(fee_bps=50)


async def run_once(copies: int, batch_max: int) -> dict[str, Any]:
    with AnvilProcess() as anvil, tempfile.TemporaryDirectory() as tmp:
        db = DbSettings(url=f"sqlite+aiosqlite:///{Path(tmp) / 'bench.db'}")
        await migrate.upgrade(db)
        engine = create_engine(db)
        sessions = create_session_factory(engine)
        box = SecretBox(generate_master_key())
        async with JsonRpcClient(anvil.url, timeout_ms=30_000) as rpc:
            monitor = TxMonitor(rpc, confirmations=1, poll_s=0.005)
            poller = asyncio.create_task(monitor.run())
            try:
                rig = await build_custody_rig(rpc, monitor)
                owner = (await rpc.accounts())[1].lower()
                proxy = await rig.create_proxy(owner)
                await rig.mint(proxy, copies * 2 * USDC)
                worker = await rig.add_worker()
                await rig.mint(worker.sender.address, 0, int(TOKEN), copies * 3 * USDC)
                wallet_id = await register_worker(sessions, box, worker.sender.address, worker.key, 10**12)
                cfg = await proxy_config(sessions, f"bench-{secrets.token_hex(4)}")
                async with unit_of_work(sessions) as session:
                    await WalletRepository(session, box).create(proxy, WalletKind.PROXY, user_id=cfg.user_id)
                await queue_copies(
                    sessions,
                    cfg,
                    proxy,
                    [wallet_id],
                    copies,
                    lambda i: FEES.on_notional(USDC + i),
                    worker_id="b",
                )
                settler = ProxySettler(
                    sessions,
                    rpc,
                    monitor,
                    {wallet_id: worker.sender},
                    SettlerConfig(rig.deployment.executor, rig.deployment.collateral, batch_max=batch_max),
                )
                started = time.perf_counter()
                while await settler.flush_once():
                    pass
                elapsed = time.perf_counter() - started
                if settler.metrics.settled != copies:
                    raise AssertionError(f"settled {settler.metrics.settled} of {copies}")
            finally:
                poller.cancel()
                await engine.dispose()
        return {
            "batch_max": batch_max,
            "copies": copies,
            "transactions": settler.metrics.batches,
            "wall_s": round(elapsed, 2),
            "copies_per_s": round(copies / elapsed, 1),
            "gas_per_copy": settler.metrics.gas_used // copies,
        }


def run(quick: bool = False, copies: int | None = None) -> dict[str, Any]:
    n = copies or (40 if quick else 200)
    batched = asyncio.run(run_once(n, 50))
    single = asyncio.run(run_once(n if not quick else 20, 1))
    return {
        "batched": batched,
        "one_per_tx": single,
        "speedup": round(batched["copies_per_s"] / single["copies_per_s"], 1),
        "quick": quick,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--copies", type=int, default=None)
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    configure_logging("WARNING")
    result = run(args.quick, args.copies)
    if args.json:
        print(json.dumps(result, sort_keys=True))
        return 0
    for mode in ("batched", "one_per_tx"):
        r = result[mode]
        print(
            f"{mode:<11} {r['copies']} copies in {r['transactions']} tx: {r['copies_per_s']} copies/s, "
            f"{r['gas_per_copy']:,} gas per copy"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
