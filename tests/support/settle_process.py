"""A settlement process for the SIGKILL tests: `python -m tests.support.settle_process DB_URL RPC_URL
EXECUTOR COLLATERAL` (master key in POLYHUNTER_TEST_MASTER_KEY) loads the fleet workers from the store and
runs `ProxySettler` until it is killed."""

from __future__ import annotations

import asyncio
import os
import sys

from polyhunter.adapters.chain.legacy_tx_signer import TxSigner
from polyhunter.adapters.chain.rpc import JsonRpcClient
from polyhunter.execution.proxy_settlement import ProxySettler, SettlerConfig
from polyhunter.execution.tx_monitor import TxMonitor, WorkerSender
from polyhunter.log import configure_logging
from polyhunter.secretbox import SecretBox
from polyhunter.settings import DbSettings
from polyhunter.store.database import create_engine, create_session_factory, unit_of_work
from polyhunter.store.repos.settlements import SettlementRepository
from polyhunter.store.repos.wallets import WalletRepository


async def main(db_url: str, rpc_url: str, executor: str, collateral: str) -> None:
    engine = create_engine(DbSettings(url=db_url))
    sessions = create_session_factory(engine)
    box = SecretBox(os.environ["POLYHUNTER_TEST_MASTER_KEY"])
    async with JsonRpcClient(rpc_url) as rpc:
        chain_id = await rpc.chain_id()
        workers: dict[int, WorkerSender] = {}
        async with unit_of_work(sessions) as session:
            for w in await SettlementRepository(session).workers():
                wallet = await WalletRepository(session, box).load_by_id(w.wallet_id)
                assert wallet is not None
                assert wallet.private_key is not None
                workers[w.wallet_id] = WorkerSender(rpc, TxSigner(wallet.private_key, chain_id))
        monitor = TxMonitor(rpc, confirmations=1, poll_s=0.01)
        config = SettlerConfig(executor, collateral, batch_max=3, flush_interval_s=0.05, retry_base_s=0.05)
        settler = ProxySettler(sessions, rpc, monitor, workers, config)
        print("ready", flush=True)
        await asyncio.gather(monitor.run(), settler.run())


if __name__ == "__main__":
    configure_logging("WARNING")
    asyncio.run(main(*sys.argv[1:5]))
