"""Two settlement processes at once on the same PostgreSQL database and the same fleet: every copy is settled
exactly once (one ``Settled`` event per copy id and no batch sent twice: no ``AlreadySettled`` event), none is
lost, and the chain equals the ledger to the base unit."""

from __future__ import annotations

import asyncio
import signal
from collections.abc import Iterator

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
from tests.support.pg_databases import create_pg_database, drop_pg_database, pg_settings
from tests.support.settle_seed import check_settled_once, seed, settled_count, start_settler

pytestmark = pytest.mark.integration

COPIES = 30


@pytest.fixture
def pg_db() -> Iterator[DbSettings]:
    name = create_pg_database()
    try:
        yield pg_settings(name, pool_size=4)
    finally:
        drop_pg_database(name)


async def test_two_settlement_processes_settle_each_copy_once_and_lose_none(pg_db: DbSettings) -> None:
    require_chain_tools()
    await migrate.upgrade(pg_db)
    engine = create_engine(pg_db)
    sessions = create_session_factory(engine)
    master_key = generate_master_key()
    with AnvilProcess() as anvil:
        async with JsonRpcClient(anvil.url) as rpc:
            monitor = TxMonitor(rpc, confirmations=1, poll_s=0.02)
            poller = asyncio.create_task(monitor.run())
            children = []
            try:
                chain = await build_custody_rig(rpc, monitor)
                seeded = await seed(sessions, SecretBox(master_key), chain, COPIES, with_sells=True)
                d = chain.deployment
                # both started, both running before either may settle anything
                children = [
                    start_settler(pg_db.url, anvil.url, d.executor, d.collateral, master_key)
                    for _ in range(2)
                ]
                for child in children:
                    assert child.stdout is not None
                    assert await asyncio.wait_for(asyncio.to_thread(child.stdout.readline), 120) == "ready\n"
                async with asyncio.timeout(120):
                    while await settled_count(sessions) < COPIES:  # noqa: ASYNC110 - a row count
                        assert all(c.poll() is None for c in children)
                        await asyncio.sleep(0.05)
                events = await check_settled_once(sessions, chain, seeded, COPIES)
                assert events == {"Settled": COPIES, "AlreadySettled": 0}
            finally:
                for child in children:
                    child.send_signal(signal.SIGKILL)
                    child.wait(30)
                poller.cancel()
                await engine.dispose()
