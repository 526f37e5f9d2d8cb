"""Issue 15's done-when in DIRECT mode: on the simulator in chain mode, a DIRECT follower (its proxy is the
maker of its own orders, signature type 3, a fleet worker's signature accepted by the proxy's EIP-1271)
copies 100 signals, BUYs and SELLs on two markets: every copy ends EXECUTED as the venue answers, the
proxy's pUSD and outcome shares on chain move exactly by the fills, their fees and the platform's
commission (to the base unit), the workers' pUSD does not move at all (no float: they only sign, and send
the commission batches), nothing is reimbursed or owed, and the commission (50 bps of the notional, 10 % of
a SELL's profit) is logged once per copy and reaches the treasury in batches of copies.

Signals are fed straight to the engine (no leader trade on the book); before a SELL the chain catches up
with the BUYs before it (the preflight reads the proxy's shares on chain).
"""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from polyhunter.adapters.chain import custody_calls as cc
from polyhunter.adapters.chain.legacy_tx_signer import TxSigner
from polyhunter.domain.copy_config import CustodyMode
from polyhunter.domain.signal import Side
from polyhunter.execution.tx_monitor import WorkerSender
from polyhunter.sim.chain_tokens import PUSD
from polyhunter.sim.chain_venue import EXCHANGE
from polyhunter.sim.proxy_stack import ProxyStack
from tests.support.engine_rig import Rig
from tests.support.proxy_sim import DEPOSIT, L1, proxy_on_sim
from tests.support.sim_stack import admin, rows

pytestmark = pytest.mark.integration

SIGNALS = 100
SWEEP = {"pending_ttl_s": 1, "expiry_scan_interval_ms": 60_000}  # the test runs the sweep itself
FEE = {"taker_fee_rate": "0.02"}


async def test_a_direct_follower_copies_100_signals_from_its_proxy_with_no_float(tmp_path: Path) -> None:
    started = time.monotonic()
    async with proxy_on_sim(tmp_path, direct=True) as p:
        r, stack = p.rig, p.stack
        fee_market = p.markets[1]  # a taker fee on one market: the proxy pays it, to the base unit
        await admin(
            r.http,
            r.sim.urls["admin"],
            "POST",
            "/fee-rate",
            {**FEE, "condition_id": fee_market["condition_id"]},
        )
        workers = {w.address: await stack.rig.usdc(w.address) for w in stack.fleet}
        for i in range(SIGNALS):  # B B S on market 0, then on market 1, ...
            market, side = (i // 3) % 2, Side.SELL if i % 3 == 2 else Side.BUY
            if side is Side.SELL:  # it sells the proxy's shares: the BUYs before it are on chain
                await r.sim.state.chain_caught_up()
            (done,) = await r.feed(await r.signal(L1, market, size=Decimal(20), side=side))
            assert done["state"] == "EXECUTED", (i, done)
        await r.sim.state.chain_caught_up()
        await _commissions_settled(r.db)
        copies = rows(
            r.db,
            "SELECT id, side, state, asset, filled_size_micro, filled_notional_micro, fees_micro "
            "FROM copy_trades ORDER BY id",
        )
        await _check_chain_moved_by_the_fills(stack, copies, [str(m["tokens"][0]) for m in p.markets])
        for address, before in workers.items():  # no float: the workers' pUSD never moves
            assert await stack.rig.usdc(address) == before, address
        await _check_commission_only(r.db, stack, copies)
        await _check_orders_were_the_proxys(r, stack)
    print(f"100 DIRECT copies on the simulator in chain mode: {time.monotonic() - started:.1f} s")  # noqa: T201


async def _check_chain_moved_by_the_fills(
    stack: ProxyStack, copies: list[dict[str, Any]], tokens: list[str]
) -> None:
    assert len(copies) == SIGNALS
    assert {c["state"] for c in copies} == {"EXECUTED"}
    assert sum(1 for c in copies if c["side"] == "SELL") == SIGNALS // 3
    buys = [c for c in copies if c["side"] == "BUY"]
    sells = [c for c in copies if c["side"] == "SELL"]
    paid = sum(c["filled_notional_micro"] + c["fees_micro"] for c in buys)
    got = sum(c["filled_notional_micro"] - c["fees_micro"] for c in sells)
    assert paid > 0
    assert sum(c["fees_micro"] for c in copies) > 0
    assert got > 0
    assert await stack.rig.usdc(stack.proxy) == DEPOSIT - paid + got
    for token in tokens:
        bought = sum(c["filled_size_micro"] for c in buys if c["asset"] == token)
        sold = sum(c["filled_size_micro"] for c in sells if c["asset"] == token)
        assert bought > 0
        assert sold > 0
        assert await stack.rig.shares(stack.proxy, int(token)) == bought - sold, token


async def _commissions_settled(db: Path, timeout_s: float = 60) -> None:
    query = "SELECT COUNT(*) AS n FROM settlements WHERE status != 'SETTLED'"
    async with asyncio.timeout(timeout_s):
        while rows(db, query)[0]["n"]:  # noqa: ASYNC110 - a row count
            await asyncio.sleep(0.05)


async def _check_commission_only(db: Path, stack: ProxyStack, copies: list[dict[str, Any]]) -> None:
    """One commission-only settlement per copy, sent in batches; each copy's commission logged once, on its
    gross notional; the treasury holds exactly their sum; nothing reimbursed, nothing owed."""
    settlements = rows(
        db,
        "SELECT copy_trade_id, commission_only, shares_micro, fee_micro, paid_collateral_micro, "
        "paid_fee_micro, tx_hash FROM settlements ORDER BY copy_trade_id",
    )
    assert [s["copy_trade_id"] for s in settlements] == [c["id"] for c in copies]
    assert {s["commission_only"] for s in settlements} == {1}
    assert {s["paid_collateral_micro"] for s in settlements} == {0}  # no collateral moved by settlement
    assert all(s["paid_fee_micro"] == s["fee_micro"] for s in settlements)
    per_tx = Counter(s["tx_hash"] for s in settlements)  # batches: what queued within a flush interval
    assert len(per_tx) < len(settlements)
    assert max(per_tx.values()) > 1
    print(f"DIRECT commissions: {len(settlements)} copies in {len(per_tx)} transactions")  # noqa: T201
    commissions = rows(db, "SELECT copy_trade_id, amount_micro, basis_micro FROM commission_logs")
    assert sorted(x["copy_trade_id"] for x in commissions) == [c["id"] for c in copies]  # once per copy
    notional = {c["id"]: c["filled_notional_micro"] for c in copies}
    assert all(x["basis_micro"] == notional[x["copy_trade_id"]] for x in commissions)
    side = {c["id"]: c["side"] for c in copies}
    for x in commissions:  # 50 bps of the notional; a SELL adds 10 % of its profit, if any
        on_notional = x["basis_micro"] * 50 // 10_000
        assert x["amount_micro"] == on_notional or (
            side[x["copy_trade_id"]] == "SELL" and x["amount_micro"] > on_notional
        ), x
    total = sum(x["amount_micro"] for x in commissions)
    assert total == sum(s["fee_micro"] for s in settlements) > 0
    assert await stack.rig.usdc(stack.deployment.treasury) == total
    for table in ("reimbursement_ledger", "debt_records"):
        assert rows(db, f"SELECT COUNT(*) AS n FROM {table}")[0]["n"] == 0, table  # noqa: S608
    (proxy_wallet,) = rows(db, "SELECT id, signature_type FROM wallets WHERE kind = 'PROXY'")
    assert proxy_wallet["signature_type"] == 3
    journaled = rows(db, "SELECT copy_trade_id, wallet_id FROM orders")
    assert sorted(o["copy_trade_id"] for o in journaled) == [c["id"] for c in copies]  # one order each
    assert {o["wallet_id"] for o in journaled} == {proxy_wallet["id"]}  # the proxy's: it is the maker


async def _check_orders_were_the_proxys(r: Rig, stack: ProxyStack) -> None:
    """Every order the venue received for the proxy was taken: maker and signer the proxy, signature type
    3, a plain 65-byte signature by a listed worker (the workers took turns)."""
    mine = [o for o in await r.orders() if str(o["order"].get("maker", "")).lower() == stack.proxy]
    assert len(mine) == SIGNALS
    assert all(o["accepted"] for o in mine), [o["error"] for o in mine if not o["accepted"]]
    assert {str(o["order"]["signer"]).lower() for o in mine} == {stack.proxy}
    assert {o["order"]["signatureType"] for o in mine} == {3}
    assert {len(o["order"]["signature"]) for o in mine} == {2 + 130}
    assert len({o["owner"] for o in mine}) == len(stack.fleet)  # each worker's API key posted some


async def _owner(stack: ProxyStack, data: bytes) -> None:
    """The proxy's owner calls its proxy (its own transaction): pause, resume, approve."""
    rig = stack.rig
    owner = WorkerSender(rig.rpc, TxSigner(stack.owner_key, await rig.rpc.chain_id()))
    await rig.worker_call(owner, stack.proxy, data)


async def test_a_direct_order_answered_late_is_reconciled_re_signed_on_a_mismatch_refused_while_paused(
    tmp_path: Path,
) -> None:
    """An order refused for its exchange version is signed again (for the proxy, by the same worker) and
    taken; a DIRECT order the venue answers ``delayed`` stays PENDING and the sweep finds it filled (through
    the worker that posted it: the other one); while the owner has the proxy paused, its EIP-1271 check
    refuses the workers' signatures and the venue refuses the order (the copy FAILED with its error), and
    after the pause the next one fills; with the exchange's allowance revoked by the owner, the preflight
    skips the copy (INSUFFICIENT_ALLOWANCE) and posts nothing."""
    async with proxy_on_sim(tmp_path, direct=True, engine=SWEEP) as p:
        r, stack = p.rig, p.stack
        await r.faults({"order_version_mismatch": 1})
        (resigned,) = await r.feed(await r.signal(L1, 0, size=Decimal(20)))
        assert resigned["state"] == "EXECUTED", resigned

        await r.faults({"delayed_s": 0.3})
        late = await r.signal(L1, 0, size=Decimal(20))
        (pending,) = await r.feed(late)
        assert pending["state"] == "PENDING", pending
        await r.faults({"delayed_s": None})
        async with asyncio.timeout(60):
            while r.copies(late.key)[0]["state"] == "PENDING":
                await r.sup.sweeper.sweep_once()
                await asyncio.sleep(0.2)
        (reconciled,) = r.copies(late.key)
        assert reconciled["state"] == "EXECUTED", reconciled
        journaled = f"SELECT venue_order_id FROM orders WHERE copy_trade_id = {pending['id']}"  # noqa: S608
        assert [o["venue_order_id"] for o in rows(r.db, journaled)] == [reconciled["venue_order_id"]]

        await _owner(stack, cc.proxy_set_paused(True))
        (refused,) = await r.feed(await r.signal(L1, 0, size=Decimal(20)))
        assert refused["state"] == "FAILED", refused
        assert "invalid signature" in refused["error"]
        await _owner(stack, cc.proxy_set_paused(False))
        (after,) = await r.feed(await r.signal(L1, 0, size=Decimal(20)))
        assert after["state"] == "EXECUTED", after

        # the owner revokes the exchange's pUSD allowance: the preflight (on chain) skips the BUY, nothing is
        # posted; approved again, the next one fills
        (proxy_user,) = rows(r.db, "SELECT user_id FROM wallets WHERE kind = 'PROXY'")
        cash = (CustodyMode.PROXY, proxy_user["user_id"], "")
        await _owner(stack, cc.proxy_approve_token(PUSD, EXCHANGE, 0))
        r.sup.engine.funds.cache.invalidate(cash)  # read again now, not within the preflight cache's TTL
        (skipped,) = await r.feed(await r.signal(L1, 0, size=Decimal(20)))
        assert (skipped["state"], skipped["reason"]) == ("SKIPPED", "INSUFFICIENT_ALLOWANCE"), skipped
        await _owner(stack, cc.proxy_approve_token(PUSD, EXCHANGE, 2**256 - 1))
        r.sup.engine.funds.cache.invalidate(cash)
        (approved,) = await r.feed(await r.signal(L1, 0, size=Decimal(20)))
        assert approved["state"] == "EXECUTED", approved

        await r.sim.state.chain_caught_up()
        filled = [resigned, reconciled, after, approved]
        assert await stack.rig.shares(stack.proxy, int(p.markets[0]["tokens"][0])) == sum(
            c["filled_size_micro"] for c in filled
        )
        mine = [o for o in await r.orders() if str(o["order"].get("maker", "")).lower() == stack.proxy]
        assert [o["accepted"] for o in mine] == [False, True, True, False, True, True]  # none resent
        # re-signed by the same worker; the late one posted by the other, and found through it
        assert mine[0]["owner"] == mine[1]["owner"] != mine[2]["owner"]
