"""A PROXY follower through the real engine: the simulator's CLOB for the fleet workers' orders, anvil for
the proxy, the executor contract and settlement.

The simulator keeps its own balances (they are not the chain's): each worker gets a stock of collateral and
shares on both sides at the start, standing in for the venue delivering a fill on chain. Every copy must end
EXECUTED after settlement, and the chain balances of the proxy, the workers and the treasury must equal the
ledger and the commission log to the base unit.
"""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from prometheus_client import generate_latest

from polyhunter.adapters.chain.rpc import JsonRpcClient
from polyhunter.domain.copy_config import CustodyMode
from polyhunter.domain.orders import Funds
from polyhunter.domain.signal import Side
from polyhunter.execution.proxy import ProxyExecutor
from polyhunter.execution.tx_monitor import TxMonitor
from polyhunter.runtime.run_file import CopySpec, FollowerSpec, RunFile
from polyhunter.runtime.supervisor import Supervisor
from polyhunter.secretbox import SecretBox, generate_master_key
from polyhunter.settings import DbSettings
from polyhunter.sim.anvil import AnvilProcess
from polyhunter.sim.custody_rig import CustodyRig, build_custody_rig
from polyhunter.sim.server_app import SimServer
from polyhunter.store import migrate
from polyhunter.store.database import create_engine, create_session_factory, unit_of_work
from polyhunter.store.enums import WalletKind
from polyhunter.store.repos.settlements import SettlementRepository
from polyhunter.store.repos.wallets import WalletRepository
from tests.support.chain_tools import require_chain_tools
from tests.support.engine_rig import Rig, leader_address
from tests.support.sim_stack import admin, fund, rows, sim_settings

pytestmark = pytest.mark.integration

L1 = leader_address(1)
USDC = 1_000_000
DEPOSIT = 1_000 * USDC
FLOAT = 500 * USDC
STOCK = 10_000 * USDC  # shares each worker holds on both sides at the start


@dataclass
class ProxyRig:
    rig: Rig
    chain: CustodyRig
    proxy: str
    workers: list[str]


@asynccontextmanager
async def proxy_rig(tmp_path: Path) -> AsyncIterator[ProxyRig]:
    require_chain_tools()
    db = tmp_path / "engine.db"
    master_key = generate_master_key()
    with AnvilProcess() as anvil:
        async with (
            JsonRpcClient(anvil.url) as rpc,
            SimServer("quiet", 7, 0, markets=3) as sim,
            aiohttp.ClientSession() as http,
        ):
            monitor = TxMonitor(rpc, confirmations=1, poll_s=0.02)
            poller = asyncio.create_task(monitor.run())
            chain = await build_custody_rig(rpc, monitor)
            owner = "0x" + secrets.token_hex(20)
            proxy = await chain.create_proxy(owner)
            await chain.mint(proxy, DEPOSIT)
            scenario = await admin(http, sim.urls["admin"], "GET", "/scenario")
            token = int(scenario["markets"][0]["tokens"][0])
            await migrate.upgrade(DbSettings(url=f"sqlite+aiosqlite:///{db}"))
            engine = create_engine(DbSettings(url=f"sqlite+aiosqlite:///{db}"))
            box = SecretBox(master_key)
            for _ in range(2):
                worker = await chain.add_worker(FLOAT)
                address = worker.sender.address
                await chain.mint(address, 0, token, STOCK)
                await fund(http, sim.urls["admin"], address, Decimal(FLOAT) / USDC)
                body = {"address": address, "token_id": str(token), "shares": str(Decimal(STOCK) / USDC)}
                await admin(http, sim.urls["admin"], "POST", "/fund", body)
                async with unit_of_work(create_session_factory(engine)) as session:
                    wallet_id = await WalletRepository(session, box).create(
                        address, WalletKind.FLEET, private_key=worker.key
                    )
                    await SettlementRepository(session).add_worker(wallet_id, FLOAT)
            await engine.dispose()
            d = chain.deployment
            settings = sim_settings(
                sim.urls,
                db,
                venue={"chain_rpc_url": anvil.url},
                secrets={"master_key": master_key},
                proxy={
                    "factory": d.factory,
                    "executor": d.executor,
                    "collateral": d.collateral,
                    "ctf": d.ctf,
                    "fee_bps": 50,
                    "profit_share_bps": 1_000,
                    "confirmations": 1,
                    "flush_interval_s": 600,  # only the ledger cap (and SELLs) flush in this test
                    "ledger_cap_usdc": "10",
                    "retry_base_s": 0.1,
                },
            )
            copy = CopySpec(leader=L1, sizing="FIXED_USDC", sizing_value=Decimal(6))
            run = RunFile(followers=[FollowerSpec(name="p", custody="PROXY", proxy=proxy, copies=[copy])])
            sup = Supervisor(settings, run, serve_api=False)
            await sup.start()
            r = Rig(sim, sup, http, db, scenario["markets"])
            try:
                yield ProxyRig(r, chain, proxy, [w.sender.address for w in chain.workers])
            finally:
                await r.sup.stop()
                poller.cancel()


async def _wait_executed(r: Rig, timeout_s: float = 120) -> list[dict[str, Any]]:
    async with asyncio.timeout(timeout_s):
        while True:
            copies = rows(r.db, "SELECT id, side, state, filled_size_micro FROM copy_trades ORDER BY id")
            if copies and all(c["state"] == "EXECUTED" for c in copies):
                return copies
            await asyncio.sleep(0.1)


async def _copy(r: Rig, side: Side, shares: Decimal) -> dict[str, Any]:
    token = r.token(0)
    price = await r.best_ask(token) if side is Side.BUY else await r.best_bid(token)
    r.trade(L1, token, side, shares, price)
    (done,) = await r.feed(await r.signal(L1, size=shares, price=price, side=side))
    return done


async def test_a_proxy_follower_copies_buys_and_sells_and_the_chain_equals_the_ledger(tmp_path: Path) -> None:
    async with proxy_rig(tmp_path) as p:
        r = p.rig
        executor = r.sup.executors[CustodyMode.PROXY]
        assert isinstance(executor, ProxyExecutor)
        for _ in range(4):
            done = await _copy(r, Side.BUY, Decimal(20))
            assert done["state"] in ("SETTLEMENT_PENDING", "EXECUTED"), done
        await _wait_executed(r)
        for shares in (Decimal(40), Decimal(20)):  # the leader sells half, then half of the rest
            done = await _copy(r, Side.SELL, shares)
            assert done["state"] in ("SETTLEMENT_PENDING", "EXECUTED"), done
            await _wait_executed(r)
        copies = await _wait_executed(r)
        assert [c["side"] for c in copies] == ["BUY"] * 4 + ["SELL"] * 2
        settlements = rows(
            r.db,
            "SELECT worker_wallet_id, side, shares_micro, paid_collateral_micro, status FROM settlements",
        )
        assert len(settlements) == 6
        assert {s["status"] for s in settlements} == {"SETTLED"}
        # the chain equals the ledger and the commission log, to the base unit
        user_id = rows(r.db, "SELECT user_id FROM copy_trades LIMIT 1")[0]["user_id"]
        reimbursed = sum(
            x["amount_micro"] for x in rows(r.db, "SELECT amount_micro FROM reimbursement_ledger")
        )
        commission = sum(x["amount_micro"] for x in rows(r.db, "SELECT amount_micro FROM commission_logs"))
        proceeds = sum(s["paid_collateral_micro"] for s in settlements if s["side"] == "SELL")
        assert commission > 0
        assert proceeds > 0
        assert await p.chain.usdc(p.proxy) == DEPOSIT - reimbursed + proceeds - commission
        assert await p.chain.usdc(p.chain.deployment.treasury) == commission
        wallets = {
            w["id"]: w["address"] for w in rows(r.db, "SELECT id, address FROM wallets WHERE kind = 'FLEET'")
        }
        for wallet_id, address in wallets.items():
            got = sum(
                s["paid_collateral_micro"]
                for s in settlements
                if s["worker_wallet_id"] == wallet_id and s["side"] == "BUY"
            )
            gave = sum(
                s["paid_collateral_micro"]
                for s in settlements
                if s["worker_wallet_id"] == wallet_id and s["side"] == "SELL"
            )
            assert await p.chain.usdc(address) == FLOAT + got - gave, address
        bought = sum(c["filled_size_micro"] for c in copies if c["side"] == "BUY")
        sold = sum(c["filled_size_micro"] for c in copies if c["side"] == "SELL")
        assert await p.chain.shares(p.proxy, int(r.token(0))) == bought - sold
        assert rows(r.db, f"SELECT COUNT(*) AS n FROM debt_records WHERE user_id = {user_id}")[0]["n"] == 0  # noqa: S608
        # /metrics: the settlement queue drained, six copies settled, worker transactions confirmed
        async with asyncio.timeout(30):
            while "polyhunter_settlement_queue_depth 0.0" not in (  # noqa: ASYNC110 - an exported gauge
                text := generate_latest(r.sup.registry).decode()
            ):
                await asyncio.sleep(0.1)
        assert "polyhunter_settlement_settled_total 6.0" in text
        assert "polyhunter_settlement_queue_lag_seconds 0.0" in text
        assert "polyhunter_worker_tx_confirmed_total" in text
        # nothing else reached the venue: one order per copy, each from a fleet worker
        orders = await r.orders()
        assert len(orders) == 6
        assert {str(o["order"]["maker"]).lower() for o in orders} <= {w.lower() for w in p.workers}


async def test_a_copy_no_worker_can_carry_is_skipped(tmp_path: Path) -> None:
    async with proxy_rig(tmp_path) as p:
        r = p.rig
        executor = r.sup.executors[CustodyMode.PROXY]
        assert isinstance(executor, ProxyExecutor)
        for member in executor._fleet.values():  # noqa: SLF001 - the float of every worker is in use
            member.float_limit_micro = 1 * USDC
        done = await _copy(r, Side.BUY, Decimal(20))
        # the preflight sees the follower's spendable funds capped by the fleet's free float
        assert (done["state"], done["reason"]) == ("SKIPPED", "INSUFFICIENT_BALANCE"), done
        assert await executor.collateral(1) == Funds(Decimal(1))
        assert await r.orders() == []
