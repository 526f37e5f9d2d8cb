"""Issue 19 for PROXY custody: a market resolves while a PROXY follower holds it; the running program redeems it
through the executor (the proxy's allowlisted ``redeemPositions``), the payout reaches the proxy (nobody
else), and the realized PnL is payout + proceeds - cost - fees to the base unit, where cost and proceeds are
what the proxy paid and got at settlement and fees the commission it paid."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest

from polyhunter.domain.signal import Side
from tests.support.proxy_sim import L1, proxy_on_sim, wait_executed
from tests.support.sim_stack import admin, rows

pytestmark = pytest.mark.integration


async def test_a_resolved_market_is_redeemed_into_the_proxy_with_exact_pnl(tmp_path: Path) -> None:
    async with proxy_on_sim(tmp_path, markets=1) as p:
        r, stack = p.rig, p.stack
        info = p.markets[0]
        token = str(info["tokens"][0])
        for side in (Side.BUY, Side.BUY, Side.BUY, Side.SELL, Side.BUY):
            if side is Side.SELL:
                await wait_executed(r.db)  # a SELL sells the proxy's settled shares
            (done,) = await r.feed(await r.signal(L1, size=Decimal(20), side=side))
            assert done["state"] in ("SETTLEMENT_PENDING", "EXECUTED"), done
        # the market resolves on the venue, which reports the payouts on its ConditionalTokens
        await admin(
            r.http,
            r.sim.urls["admin"],
            "POST",
            "/resolve",
            {"condition_id": info["condition_id"], "winning_token": token, "auto_redeem": False},
        )
        await wait_executed(r.db)
        held = await stack.rig.shares(stack.proxy, int(token))
        cash_before = await stack.rig.usdc(stack.proxy)
        workers_before = [await stack.rig.usdc(w.address) for w in stack.fleet]
        assert held > 0
        await r.sup.app.lifecycle.poll_once()  # the venue's market record says: resolved
        (redeemed,) = rows(r.db, "SELECT * FROM redemptions")
        assert (redeemed["custody_mode"], redeemed["state"]) == ("PROXY", "REDEEMED"), redeemed
        # the payout reached the proxy (1 USDC per winning share), and only the proxy
        assert redeemed["payout_micro"] == redeemed["shares_micro"] == held
        assert await stack.rig.usdc(stack.proxy) == cash_before + held
        assert await stack.rig.shares(stack.proxy, int(token)) == 0
        assert [await stack.rig.usdc(w.address) for w in stack.fleet] == workers_before
        # realized PnL = payout + proceeds - cost - fees, each as the ledger and the commission log say
        settlements = rows(r.db, "SELECT side, paid_collateral_micro, paid_fee_micro FROM settlements")
        cost = sum(x["amount_micro"] for x in rows(r.db, "SELECT amount_micro FROM reimbursement_ledger"))
        proceeds = sum(s["paid_collateral_micro"] for s in settlements if s["side"] == "SELL")
        fees = sum(x["amount_micro"] for x in rows(r.db, "SELECT amount_micro FROM commission_logs"))
        assert (redeemed["bought_micro"], redeemed["sold_micro"], redeemed["fees_micro"]) == (
            cost,
            proceeds,
            fees,
        )
        assert redeemed["realized_pnl_micro"] == held + proceeds - cost - fees
        # what the proxy's cash moved since its deposit is that PnL plus the cost of nothing left: all of it
        assert await stack.rig.usdc(stack.proxy) - stack.deposit_micro == redeemed["realized_pnl_micro"]
        # heard again: nothing moves
        await r.sup.app.lifecycle.poll_once()
        assert rows(r.db, "SELECT state, payout_micro FROM redemptions") == [
            {"state": "REDEEMED", "payout_micro": held}
        ]
        assert await stack.rig.usdc(stack.proxy) == cash_before + held
