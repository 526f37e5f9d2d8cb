"""SIGKILL during settlement: a settlement process killed five times while it settles; after a last run every
copy is EXECUTED, each settled exactly once on chain (one Settled event per copy id), none lost, and the
chain balances equal the ledger to the base unit."""

from __future__ import annotations

import asyncio
import random
import signal
from pathlib import Path

import pytest

from polyhunter.adapters.chain.rpc import JsonRpcClient
from polyhunter.execution.tx_monitor import TxMonitor
from polyhunter.secretbox import SecretBox, generate_master_key
from polyhunter.settings import DbSettings
from polyhunter.sim.anvil import AnvilProcess
from polyhunter.sim.custody_rig import build_custody_rig
from polyhunter.store import migrate
from polyhunter.store.database import create_engine, create_session_factory
from tests.support.chain_tools import require_chain_tools
from tests.support.settle_seed import check_settled_once, seed, settled_count, start_settler

pytestmark = pytest.mark.integration

COPIES = 24


async def test_five_sigkills_during_settlement_settle_nothing_twice_and_lose_nothing(tmp_path: Path) -> None:
    require_chain_tools()
    db_url = f"sqlite+aiosqlite:///{tmp_path / 'kill.db'}"
    await migrate.upgrade(DbSettings(url=db_url))
    engine = create_engine(DbSettings(url=db_url))
    sessions = create_session_factory(engine)
    master_key = generate_master_key()
    rng = random.Random(15)
    with AnvilProcess() as anvil:
        async with JsonRpcClient(anvil.url) as rpc:
            monitor = TxMonitor(rpc, confirmations=1, poll_s=0.02)
            poller = asyncio.create_task(monitor.run())
            try:
                chain = await build_custody_rig(rpc, monitor)
                seeded = await seed(sessions, SecretBox(master_key), chain, COPIES)
                d = chain.deployment
                kills = 0
                while kills < 5:
                    before = await settled_count(sessions)
                    child = start_settler(db_url, anvil.url, d.executor, d.collateral, master_key)
                    assert child.stdout is not None
                    await asyncio.wait_for(asyncio.to_thread(child.stdout.readline), 120)
                    async with asyncio.timeout(120):  # let it settle something, then kill it mid-flight
                        while await settled_count(sessions) == before and child.poll() is None:  # noqa: ASYNC110 - a row count
                            await asyncio.sleep(0.02)
                    await asyncio.sleep(rng.uniform(0, 0.4))
                    child.send_signal(signal.SIGKILL)
                    child.wait(30)
                    kills += 1
                    if await settled_count(sessions) == COPIES:
                        break
                final = start_settler(db_url, anvil.url, d.executor, d.collateral, master_key)
                try:
                    async with asyncio.timeout(180):
                        while await settled_count(sessions) < COPIES:  # noqa: ASYNC110 - a row count
                            await asyncio.sleep(0.1)
                finally:
                    final.send_signal(signal.SIGKILL)
                    final.wait(30)
                assert kills >= 1
                events = await check_settled_once(sessions, chain, seeded, COPIES)
                assert events["Settled"] == COPIES
            finally:
                poller.cancel()
                await engine.dispose()
