"""Issue 15's done-when run: on the simulator in chain mode (its matches mirrored on anvil, the same node as the
custody contracts), a PROXY follower copies 100 signals, BUYs and SELLs on two markets; every copy ends
EXECUTED after settlement, and the chain balances of the proxy, the fleet workers and the treasury equal the
ledger and the commission log to the base unit.

The simulator's CLOB keeps its own balances (it does not settle on chain yet), so the fleet workers are
stocked on both sides by ``sim/proxy_stack.py``. Signals are fed straight to the engine (no leader trade on
the book) and a SELL (which sells the whole position: the leader held nothing before it) waits for the BUYs
before it to settle, since it sells the proxy's shares on chain.
"""

from __future__ import annotations

import asyncio
import time
from decimal import Decimal
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from polyhunter.domain.signal import Side
from polyhunter.runtime.run_file import CopySpec, FollowerSpec, RunFile
from polyhunter.runtime.supervisor import Supervisor
from polyhunter.sim.anvil import AnvilProcess
from polyhunter.sim.proxy_stack import proxy_stack
from polyhunter.sim.server_app import SimServer
from tests.support.chain_tools import require_chain_tools
from tests.support.engine_rig import Rig, leader_address
from tests.support.sim_stack import admin, rows, sim_settings

pytestmark = pytest.mark.integration

L1 = leader_address(1)
USDC = 1_000_000
DEPOSIT, FLOAT, STOCK = 1_000 * USDC, 500 * USDC, 10_000 * USDC
SIGNALS = 100


def _all_executed(db: Path) -> list[dict[str, Any]] | None:
    copies = rows(db, "SELECT id, side, state, filled_size_micro FROM copy_trades ORDER BY id")
    return copies if copies and all(c["state"] == "EXECUTED" for c in copies) else None


async def _wait_executed(db: Path, timeout_s: float = 60) -> list[dict[str, Any]]:
    async with asyncio.timeout(timeout_s):
        while (copies := _all_executed(db)) is None:  # noqa: ASYNC110 - a row count
            await asyncio.sleep(0.02)
    return copies


async def test_a_proxy_follower_copies_100_signals_and_the_chain_equals_the_ledger(tmp_path: Path) -> None:
    require_chain_tools()
    started = time.monotonic()
    db = tmp_path / "hundred.db"
    with AnvilProcess() as anvil:
        async with (
            SimServer("quiet", 7, 0, markets=2, chain_rpc=anvil.url) as sim,
            aiohttp.ClientSession() as http,
        ):
            scenario = await admin(http, sim.urls["admin"], "GET", "/scenario")
            markets = scenario["markets"]
            tokens = [str(m["tokens"][0]) for m in markets]
            async with proxy_stack(
                sim.urls["admin"],
                tokens,
                deposit_micro=DEPOSIT,
                float_micro=FLOAT,
                stock_micro=STOCK,
                rpc_url=anvil.url,  # the simulator's chain: one node for the venue and the custody
            ) as stack:
                settings = sim_settings(
                    sim.urls,
                    db,
                    venue={"chain_rpc_url": anvil.url},
                    proxy=stack.proxy_settings(
                        fee_bps=50,
                        profit_share_bps=1_000,
                        flush_interval_s=0.2,
                        ledger_cap_usdc="10",
                        retry_base_s=0.1,
                        tx_poll_s=0.02,
                    ),
                )
                await _register(settings, stack)
                copy = CopySpec(leader=L1, sizing="FIXED_USDC", sizing_value=Decimal(6))
                run = RunFile(
                    followers=[FollowerSpec(name="p", custody="PROXY", proxy=stack.proxy, copies=[copy])]
                )
                sup = Supervisor(settings, run, serve_api=False)
                await sup.start()
                r = Rig(sim, sup, http, db, markets)
                try:
                    for i in range(SIGNALS):  # B B S on market 0, then on market 1, ...
                        market, side = (i // 3) % 2, Side.SELL if i % 3 == 2 else Side.BUY
                        if side is Side.SELL:  # it sells the proxy's shares: the BUYs before it settled
                            await _wait_executed(db)
                        (done,) = await r.feed(await r.signal(L1, market, size=Decimal(20), side=side))
                        assert done["state"] in ("SETTLEMENT_PENDING", "EXECUTED"), (i, done)
                    copies = await _wait_executed(db)
                    await _check_chain_equals_ledger(db, stack, copies, tokens)
                finally:
                    await sup.stop()
    print(f"100 PROXY copies on the simulator in chain mode: {time.monotonic() - started:.1f} s")  # noqa: T201


async def _register(settings: Any, stack: Any) -> None:
    from polyhunter.runtime.demo import _register_fleet  # the demo's own: fleet wallets before the engine

    await _register_fleet(settings, [(w.address, w.key, w.float_micro) for w in stack.fleet])


async def _check_chain_equals_ledger(
    db: Path, stack: Any, copies: list[dict[str, Any]], tokens: list[str]
) -> None:
    assert len(copies) == SIGNALS
    assert sum(1 for c in copies if c["side"] == "SELL") == SIGNALS // 3
    settlements = rows(
        db,
        "SELECT worker_wallet_id, side, asset, shares_micro, paid_collateral_micro, status FROM settlements",
    )
    assert len(settlements) == SIGNALS
    assert {s["status"] for s in settlements} == {"SETTLED"}
    assert rows(db, "SELECT COUNT(*) AS n FROM debt_records")[0]["n"] == 0
    reimbursed = sum(x["amount_micro"] for x in rows(db, "SELECT amount_micro FROM reimbursement_ledger"))
    commission = sum(x["amount_micro"] for x in rows(db, "SELECT amount_micro FROM commission_logs"))
    proceeds = sum(s["paid_collateral_micro"] for s in settlements if s["side"] == "SELL")
    assert commission > 0
    assert proceeds > 0
    rig = stack.rig
    assert await rig.usdc(stack.proxy) == DEPOSIT - reimbursed + proceeds - commission
    assert await rig.usdc(stack.deployment.treasury) == commission
    wallets = {
        w["id"]: w["address"] for w in rows(db, "SELECT id, address FROM wallets WHERE kind = 'FLEET'")
    }
    for wallet_id, address in wallets.items():
        mine = [s for s in settlements if s["worker_wallet_id"] == wallet_id]
        got = sum(s["paid_collateral_micro"] for s in mine if s["side"] == "BUY")
        gave = sum(s["paid_collateral_micro"] for s in mine if s["side"] == "SELL")
        assert await rig.usdc(address) == FLOAT + got - gave, address
    for token in tokens:
        bought = sum(s["shares_micro"] for s in settlements if s["side"] == "BUY" and s["asset"] == token)
        sold = sum(s["shares_micro"] for s in settlements if s["side"] == "SELL" and s["asset"] == token)
        assert bought > 0
        assert sold > 0
        assert await rig.shares(stack.proxy, int(token)) == bought - sold, token
