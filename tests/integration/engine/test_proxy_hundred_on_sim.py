"""Issue 15's done-when run: on the simulator in chain mode (its matches settled on anvil, the same node as the
custody contracts, which are over the venue's own pUSD and ConditionalTokens), a PROXY follower copies 100
signals, BUYs and SELLs on two markets, one with a 2 % taker fee; every copy ends EXECUTED after
settlement, and the chain balances of the proxy, the fleet workers and the treasury equal the ledger and the
commission log to the base unit. The venue's taker fee is reimbursed: each worker's pUSD float ends exactly
where it started (it paid the venue's fees, the proxy paid them back), and its shares at zero.

Each worker is stocked once (its float deposited on the venue: on chain); the venue's CLOB reads its
balances from the chain, so what settlement moves between it and the proxy is what the venue sees. Signals
are fed straight to the engine (no leader trade on the book) and a SELL (which sells the whole position: the
leader held nothing before it) waits for the BUYs before it to settle, since it sells the proxy's shares on
chain.
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
from tests.support.sim_stack import admin, rows

pytestmark = pytest.mark.integration

SIGNALS = 100
FEE = {"taker_fee_rate": "0.02"}


async def test_a_proxy_follower_copies_100_signals_and_the_chain_equals_the_ledger(tmp_path: Path) -> None:
    started = time.monotonic()
    async with proxy_on_sim(tmp_path) as p:
        r = p.rig
        fee_market = p.markets[1]  # the workers pay the venue a taker fee there; the proxy pays it back
        await admin(
            r.http,
            r.sim.urls["admin"],
            "POST",
            "/fee-rate",
            {**FEE, "condition_id": fee_market["condition_id"]},
        )
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
        "SELECT s.worker_wallet_id, s.side, s.asset, s.shares_micro, s.collateral_micro, s.fee_micro, "
        "s.paid_collateral_micro, s.status, c.filled_notional_micro, c.fees_micro "
        "FROM settlements s JOIN copy_trades c ON c.id = s.copy_trade_id",
    )
    assert len(settlements) == SIGNALS
    assert {s["status"] for s in settlements} == {"SETTLED"}
    assert rows(db, "SELECT COUNT(*) AS n FROM debt_records")[0]["n"] == 0
    reimbursements = rows(db, "SELECT copy_trade_id, amount_micro FROM reimbursement_ledger")
    commissions = rows(db, "SELECT copy_trade_id, amount_micro, basis_micro FROM commission_logs")
    buys = {c["id"] for c in copies if c["side"] == "BUY"}
    assert sorted(x["copy_trade_id"] for x in reimbursements) == sorted(buys)  # one per BUY, none twice
    assert sorted(x["copy_trade_id"] for x in commissions) == [c["id"] for c in copies]  # one per copy
    reimbursed = sum(x["amount_micro"] for x in reimbursements)
    commission = sum(x["amount_micro"] for x in commissions)
    proceeds = sum(s["paid_collateral_micro"] for s in settlements if s["side"] == "SELL")
    assert commission > 0
    assert proceeds > 0
    # the venue's fee is in what moved: a BUY reimbursed notional + fee, a SELL paid notional - fee
    venue_fees = [s["fees_micro"] - s["fee_micro"] for s in settlements]
    assert sum(venue_fees) > 0
    for s, venue_fee in zip(settlements, venue_fees, strict=True):
        sign = 1 if s["side"] == "BUY" else -1
        assert s["paid_collateral_micro"] == s["filled_notional_micro"] + sign * venue_fee, s
    # the commission is on the gross notional (fee_bps 50; a SELL's profit share on top)
    assert sum(x["basis_micro"] for x in commissions) == sum(s["filled_notional_micro"] for s in settlements)
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
        # its float is whole: the venue's fees it paid came back with the reimbursements
        assert await rig.usdc(address) == FLOAT, (address, got, gave)
        for token in tokens:
            assert await rig.shares(address, int(token)) == 0, (address, token)
    for token in tokens:
        bought = sum(s["shares_micro"] for s in settlements if s["side"] == "BUY" and s["asset"] == token)
        sold = sum(s["shares_micro"] for s in settlements if s["side"] == "SELL" and s["asset"] == token)
        assert bought > 0
        assert sold > 0
        assert await rig.shares(stack.proxy, int(token)) == bought - sold, token
