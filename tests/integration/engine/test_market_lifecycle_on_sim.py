"""Markets end on the simulator: a resolved market is redeemed for a paper and an own-wallet follower
with realized PnL equal to payout - cost - fees to the micro-USDC (checked against the simulator's
ledger and the paper account, not against our own arithmetic); copies into it are SKIPPED; a
resolution heard twice, a redeem that fails once, the resolution of a market nobody holds and a
crash between the payout and its record pay nothing twice."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from pydantic import SecretStr

from polyhunter.domain.copy_config import CustodyMode
from polyhunter.domain.signal import to_micro
from polyhunter.runtime.run_file import CopySpec, FollowerSpec, RunFile
from tests.support.engine_rig import Rig, leader_address, rig
from tests.support.sim_stack import admin, follower_key, rows

pytestmark = pytest.mark.integration

L1 = leader_address(1)
FIXED10: dict[str, Any] = {"sizing": "FIXED_USDC", "sizing_value": Decimal(10)}
FEE_RATE = Decimal("0.04")


def _run(tag: str) -> tuple[RunFile, str]:
    """A paper follower and an own-wallet follower, both copying L1 with 10 USDC a trade."""
    key, address = follower_key(tag, 0)
    return (
        RunFile(
            followers=[
                FollowerSpec(name="paper", custody="PAPER", copies=[CopySpec(leader=L1, **FIXED10)]),
                FollowerSpec(
                    name="own",
                    custody="EOA",
                    private_key=SecretStr(key),
                    copies=[CopySpec(leader=L1, **FIXED10)],
                ),
            ]
        ),
        address,
    )


def _cash(r: Rig, address: str) -> int:
    return r.sim.state.engine.account(address).cash


def _paper_user(r: Rig) -> int:
    return next(f.user_id for f in r.sup.followers if f.spec.custody is CustodyMode.PAPER)


def _redemptions(r: Rig) -> list[dict[str, Any]]:
    return rows(r.db, "SELECT * FROM redemptions ORDER BY custody_mode")


async def _until(check: Callable[[], Awaitable[bool] | bool], timeout_s: float = 20.0) -> None:
    deadline = asyncio.get_running_loop().time() + timeout_s
    while True:
        outcome = check()
        if outcome if isinstance(outcome, bool) else await outcome:
            return
        assert asyncio.get_running_loop().time() < deadline, "condition not met in time"
        await asyncio.sleep(0.05)


async def _hold_market(r: Rig, market: int = 0) -> None:
    """Fee on the market, then two leader BUYs copied by both followers (EXECUTED, each with its fee)."""
    await admin(
        r.http,
        r.sim.urls["admin"],
        "POST",
        "/fee-rate",
        {"condition_id": r.markets[market]["condition_id"], "taker_fee_rate": str(FEE_RATE)},
    )
    for _ in range(2):
        copies = await r.feed(await r.signal(L1, market))
        assert [c["state"] for c in copies] == ["EXECUTED", "EXECUTED"], copies
    fees = rows(r.db, "SELECT fees_micro FROM copy_trades WHERE state = 'EXECUTED'")
    assert len(fees) == 4
    assert all(f["fees_micro"] > 0 for f in fees), fees


async def _resolve(r: Rig, market: int = 0, winner: int = 0) -> None:
    info = r.markets[market]
    await admin(
        r.http,
        r.sim.urls["admin"],
        "POST",
        "/resolve",
        {"condition_id": info["condition_id"], "winning_token": info["tokens"][winner], "auto_redeem": False},
    )


def _assert_exact(r: Rig, address: str, paper_start: Decimal, eoa_start: int) -> None:
    """Each follower's realized PnL is payout + proceeds - cost - fees, and equals what its cash moved."""
    redeemed = _redemptions(r)
    assert [(x["custody_mode"], x["state"]) for x in redeemed] == [("EOA", "REDEEMED"), ("PAPER", "REDEEMED")]
    for x in redeemed:
        assert (
            x["realized_pnl_micro"]
            == x["payout_micro"] + x["sold_micro"] - x["bought_micro"] - x["fees_micro"]
        )
        assert x["payout_micro"] == x["shares_micro"] > 0
    eoa, paper = redeemed
    fees_eoa = sum(p.fees for p in r.sim.state.engine.account(address).positions.values())
    assert eoa["fees_micro"] == fees_eoa  # every fee the venue charged is recorded
    assert eoa["realized_pnl_micro"] == _cash(r, address) - eoa_start  # the wallet's cash, to the micro
    account = r.paper.account(_paper_user(r))
    assert paper["realized_pnl_micro"] == to_micro(account.cash - paper_start)
    assert account.positions == {}
    assert r.shares_of(address, r.token(0)) == 0


async def test_resolution_redeems_paper_and_own_wallet_with_exact_pnl(tmp_path: Path) -> None:
    run, address = _run("life-exact")
    async with rig(tmp_path, run, [address]) as r:
        eoa_start, paper_start = _cash(r, address), r.paper.account(_paper_user(r)).cash
        await _hold_market(r)
        await _resolve(r)
        await r.sup.app.lifecycle.poll_once()  # the venue's market record says: resolved
        _assert_exact(r, address, paper_start, eoa_start)
        assert r.sim.state.redemptions == 1  # the own wallet redeemed once; paper needs no venue call
        # what the run summary and /status show
        realized = await r.sup.queries.realized_per_follower()
        by_custody = {x["custody_mode"]: x for x in _redemptions(r)}
        for name, custody in (("paper", "PAPER"), ("own", "EOA")):
            row = by_custody[custody]
            assert realized[name]["redeemed_markets"] == 1
            assert Decimal(realized[name]["realized_pnl"]) == Decimal(row["realized_pnl_micro"]) / 10**6
            assert Decimal(realized[name]["fees"]) == Decimal(row["fees_micro"]) / 10**6
        assert r.sup.queries.status()["lifecycle"]["redeemed"] == 2

        # A copy into the resolved market: SKIPPED at planning, nothing sent.
        sent = len(await r.orders())
        copies = await r.feed(await r.signal(L1, price=Decimal("0.5")))
        assert [(c["state"], c["reason"]) for c in copies] == [("SKIPPED", "MARKET_CLOSED")] * 2
        assert len(await r.orders()) == sent

        # The resolution heard again (the market channel and the poll both tell it): nothing moves.
        before = (_redemptions(r), _cash(r, address), r.paper.account(_paper_user(r)).cash)
        info = r.markets[0]
        await r.sup.app.lifecycle.on_resolved(info["condition_id"], info["tokens"][0], tuple(info["tokens"]))
        await r.sup.app.lifecycle.poll_once()
        assert (_redemptions(r), _cash(r, address), r.paper.account(_paper_user(r)).cash) == before
        assert r.sim.state.redemptions == 1


async def test_resolution_heard_on_the_market_channel(tmp_path: Path) -> None:
    run, address = _run("life-ws")
    async with rig(tmp_path, run, [address]) as r:
        eoa_start, paper_start = _cash(r, address), r.paper.account(_paper_user(r)).cash
        await _hold_market(r)
        channel = r.sup.app.market_channel
        assert channel is not None
        task = asyncio.create_task(channel.run())
        try:
            await _until(lambda: channel.connects > 0)
            await asyncio.sleep(0.3)  # the subscription frame reaches the server before the event
            await _resolve(r)
            await _until(lambda: len([x for x in _redemptions(r) if x["state"] == "REDEEMED"]) == 2)
        finally:
            channel.stop()
            await task
        assert channel.events >= 1
        _assert_exact(r, address, paper_start, eoa_start)


async def test_a_failed_redeem_is_retried_and_pays_once(tmp_path: Path) -> None:
    run, address = _run("life-retry")
    async with rig(tmp_path, run, [address], venue={"max_retries": 0}) as r:
        eoa_start, paper_start = _cash(r, address), r.paper.account(_paper_user(r)).cash
        await _hold_market(r)
        await _resolve(r)
        await r.faults({"rate_5xx": {"clob:/sim/redeem": 1.0}})
        await r.sup.app.lifecycle.poll_once()
        pending = {x["custody_mode"]: x for x in _redemptions(r)}
        assert pending["EOA"]["state"] == "PENDING"
        assert pending["EOA"]["attempts"] == 1
        assert pending["EOA"]["last_error"]
        assert pending["PAPER"]["state"] == "REDEEMED"  # one follower's failure is its own
        assert _cash(r, address) < eoa_start  # not paid yet
        await r.faults({"clear": True})
        await r.sup.app.lifecycle.poll_once()
        _assert_exact(r, address, paper_start, eoa_start)


async def test_resolution_of_a_market_nobody_holds(tmp_path: Path) -> None:
    run, address = _run("life-unknown")
    async with rig(tmp_path, run, [address]) as r:
        lifecycle = r.sup.app.lifecycle
        await lifecycle.on_resolved("0x" + "ab" * 32, "1", ("1", "2"))  # not a market of the venue
        await _resolve(r, market=2)  # a real market, held by nobody
        info = r.markets[2]
        await lifecycle.on_resolved(info["condition_id"], info["tokens"][0], tuple(info["tokens"]))
        await lifecycle.poll_once()
        assert _redemptions(r) == []
        assert lifecycle.stats.unknown_markets == 2
        assert r.sim.state.redemptions == 0
        copies = await r.feed(await r.signal(L1, market=2, price=Decimal("0.5")))
        assert [c["reason"] for c in copies] == ["MARKET_CLOSED"] * 2  # closed all the same


async def test_crash_between_payout_and_record_pays_once(tmp_path: Path) -> None:
    """The process dies after the venue paid (and the paper account was saved) but before the
    redemption was recorded: the restarted process records it with the payout, collecting nothing."""
    run, address = _run("life-crash")
    async with rig(tmp_path, run, [address]) as r:
        eoa_start, paper_start = _cash(r, address), r.paper.account(_paper_user(r)).cash
        await _hold_market(r)
        await _resolve(r)
        info = r.markets[0]
        cid, tokens = info["condition_id"], tuple(info["tokens"])
        store = r.sup.app.lifecycle._store  # noqa: SLF001 - the crash is staged step by step
        for holder in await store.holders(cid):
            redeemer = r.sup.executors[holder.custody]
            held = await redeemer.held(holder.user_id, tokens)  # type: ignore[attr-defined]
            won = to_micro(held[tokens[0]])
            await store.begin_redemption(holder, cid, tokens[0], won, won, datetime.now(UTC))
            await redeemer.redeem(holder.user_id, cid, tokens, tokens[0])  # type: ignore[attr-defined]
        assert {x["state"] for x in _redemptions(r)} == {"PENDING"}
        await r.restart()  # the paper account comes back from the store, without the redeemed position
        await r.sup.app.lifecycle.poll_once()
        _assert_exact(r, address, paper_start, eoa_start)
        assert r.sim.state.redemptions == 1
        assert r.sup.app.lifecycle.stats.recovered == 2
