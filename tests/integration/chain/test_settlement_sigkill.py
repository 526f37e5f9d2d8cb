"""SIGKILL during settlement: a settlement process killed five times while it settles; after a last run every
copy is EXECUTED, each settled exactly once on chain (one Settled event per copy id), none lost, and the
chain balances equal the ledger to the base unit."""

from __future__ import annotations

import asyncio
import os
import random
import secrets
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import func, select

from polyhunter.adapters.chain.rpc import JsonRpcClient
from polyhunter.execution.proxy_settlement import SETTLED_TOPIC, copy_chain_id
from polyhunter.execution.tx_monitor import TxMonitor
from polyhunter.secretbox import SecretBox, generate_master_key
from polyhunter.settings import DbSettings
from polyhunter.sim.anvil import AnvilProcess
from polyhunter.sim.custody_rig import build_custody_rig
from polyhunter.sim.settlement_queue import TOKEN, USDC, proxy_config, queue_buys, register_worker
from polyhunter.store import migrate
from polyhunter.store.database import create_engine, create_session_factory, unit_of_work
from polyhunter.store.enums import SettlementStatus
from polyhunter.store.models import CopyTrade
from polyhunter.store.models.settlement import SettlementRow
from polyhunter.store.repos.settlements import SettlementRepository
from tests.support.chain_tools import require_chain_tools

pytestmark = pytest.mark.integration

COPIES = 24
ROOT = Path(__file__).resolve().parents[3]


async def _settled_count(sessions: object) -> int:
    async with unit_of_work(sessions) as session:  # type: ignore[arg-type]
        n = await session.scalar(select(func.count()).where(SettlementRow.status == SettlementStatus.SETTLED))
    return int(n or 0)


def _start(db_url: str, rpc_url: str, executor: str, collateral: str, key: str) -> subprocess.Popen[str]:
    env = {**os.environ, "POLYHUNTER_TEST_MASTER_KEY": key}
    return subprocess.Popen(  # noqa: S603 - our own test process
        [sys.executable, "-m", "tests.support.settle_process", db_url, rpc_url, executor, collateral],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )


async def test_five_sigkills_during_settlement_settle_nothing_twice_and_lose_nothing(tmp_path: Path) -> None:
    require_chain_tools()
    db_url = f"sqlite+aiosqlite:///{tmp_path / 'kill.db'}"
    await migrate.upgrade(DbSettings(url=db_url))
    engine = create_engine(DbSettings(url=db_url))
    sessions = create_session_factory(engine)
    master_key = generate_master_key()
    box = SecretBox(master_key)
    rng = random.Random(15)
    with AnvilProcess() as anvil:
        async with JsonRpcClient(anvil.url) as rpc:
            monitor = TxMonitor(rpc, confirmations=1, poll_s=0.02)
            poller = asyncio.create_task(monitor.run())
            try:
                chain = await build_custody_rig(rpc, monitor)
                proxy = await chain.create_proxy("0x" + secrets.token_hex(20))
                await chain.mint(proxy, 500 * USDC)
                worker_ids = []
                for _ in range(2):
                    worker = await chain.add_worker()
                    await chain.mint(worker.sender.address, 0, int(TOKEN), 1_000 * USDC)
                    worker_ids.append(
                        await register_worker(sessions, box, worker.sender.address, worker.key, 10**12)
                    )
                cfg = await proxy_config(sessions, "killed")
                user_id = cfg.user_id
                await queue_buys(sessions, cfg, proxy, worker_ids, COPIES, lambda i: 5_000 + i)
                d = chain.deployment
                kills = 0
                while kills < 5:
                    before = await _settled_count(sessions)
                    child = _start(db_url, anvil.url, d.executor, d.collateral, master_key)
                    assert child.stdout is not None
                    await asyncio.wait_for(asyncio.to_thread(child.stdout.readline), 120)
                    async with asyncio.timeout(120):  # let it settle something, then kill it mid-flight
                        while await _settled_count(sessions) == before and child.poll() is None:  # noqa: ASYNC110 - a row count
                            await asyncio.sleep(0.02)
                    await asyncio.sleep(rng.uniform(0, 0.4))
                    child.send_signal(signal.SIGKILL)
                    child.wait(30)
                    kills += 1
                    if await _settled_count(sessions) == COPIES:
                        break
                final = _start(db_url, anvil.url, d.executor, d.collateral, master_key)
                try:
                    async with asyncio.timeout(180):
                        while await _settled_count(sessions) < COPIES:  # noqa: ASYNC110 - a row count
                            await asyncio.sleep(0.1)
                finally:
                    final.send_signal(signal.SIGKILL)
                    final.wait(30)
                async with unit_of_work(sessions) as session:
                    states = list(
                        await session.scalars(select(CopyTrade.state).where(CopyTrade.user_id == user_id))
                    )
                    rows = list(await session.scalars(select(SettlementRow)))
                    ledger = await SettlementRepository(session).ledger(user_id)
                assert kills >= 1
                assert len(states) == COPIES
                assert set(states) == {"EXECUTED"}
                logs = await rpc.get_logs(
                    from_block=0, to_block="latest", addresses=[d.executor], topics=[SETTLED_TOPIC]
                )
                per_copy: dict[str, int] = {}
                for entry in logs:
                    per_copy[entry["topics"][1]] = per_copy.get(entry["topics"][1], 0) + 1
                expected = {"0x" + copy_chain_id("polyhunter", r.copy_trade_id).hex() for r in rows}
                assert set(per_copy) == expected
                assert set(per_copy.values()) == {1}
                assert ledger.reimbursed_micro == sum(USDC + i for i in range(COPIES))
                assert ledger.commission_micro == sum(5_000 + i for i in range(COPIES))
                assert (
                    await chain.usdc(proxy) == 500 * USDC - ledger.reimbursed_micro - ledger.commission_micro
                )
                assert await chain.usdc(d.treasury) == ledger.commission_micro
                assert await chain.shares(proxy, int(TOKEN)) == COPIES * 2 * USDC
            finally:
                poller.cancel()
                await engine.dispose()
