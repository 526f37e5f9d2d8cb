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

import time
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from polyhunter.domain.signal import Side
from polyhunter.sim.proxy_stack import ProxyStack
from tests.support.proxy_sim import DEPOSIT, FLOAT, L1, proxy_on_sim, wait_executed
from tests.support.sim_stack import rows

pytestmark = pytest.mark.integration

SIGNALS = 100


async def test_a_proxy_follower_copies_100_signals_and_the_chain_equals_the_ledger(tmp_path: Path) -> None:
    started = time.monotonic()
    async with proxy_on_sim(tmp_path) as p:
        r = p.rig
        for i in range(SIGNALS):  # B B S on market 0, then on market 1, ...
            market, side = (i // 3) % 2, Side.SELL if i % 3 == 2 else Side.BUY
            if side is Side.SELL:  # it sells the proxy's shares: the BUYs before it settled
                await wait_executed(r.db)
            (done,) = await r.feed(await r.signal(L1, market, size=Decimal(20), side=side))
            assert done["state"] in ("SETTLEMENT_PENDING", "EXECUTED"), (i, done)
        copies = await wait_executed(r.db)
        tokens = [str(m["tokens"][0]) for m in p.markets]
        await _check_chain_equals_ledger(r.db, p.stack, copies, tokens)
    print(f"100 PROXY copies on the simulator in chain mode: {time.monotonic() - started:.1f} s")  # noqa: T201


async def _check_chain_equals_ledger(
    db: Path, stack: ProxyStack, copies: list[dict[str, Any]], tokens: list[str]
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
    reimbursements = rows(db, "SELECT copy_trade_id, amount_micro FROM reimbursement_ledger")
    commissions = rows(db, "SELECT copy_trade_id, amount_micro FROM commission_logs")
    buys = {c["id"] for c in copies if c["side"] == "BUY"}
    assert sorted(x["copy_trade_id"] for x in reimbursements) == sorted(buys)  # one per BUY, none twice
    assert sorted(x["copy_trade_id"] for x in commissions) == [c["id"] for c in copies]  # one per copy
    reimbursed = sum(x["amount_micro"] for x in reimbursements)
    commission = sum(x["amount_micro"] for x in commissions)
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
