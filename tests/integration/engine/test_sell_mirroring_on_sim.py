"""Sell mirroring through the real engine and the simulator, where our memory of the leader is short.

The leader really trades on the simulator (its Data API `/positions` then shows what it holds). After a
restart, or for a position the leader opened before we started, the engine has not seen the leader's
buys: a partial sell must still make the follower sell the same fraction, not everything.
"""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from pydantic import SecretStr

from polyhunter.domain.signal import Side
from polyhunter.domain.sizing import floor_shares
from polyhunter.runtime.run_file import CopySpec, FollowerSpec, RunFile
from tests.support.engine_rig import Rig, leader_address, rig
from tests.support.sim_stack import follower_key

pytestmark = pytest.mark.integration

L1 = leader_address(1)


def _run() -> tuple[RunFile, str]:
    key, address = follower_key("mirror", 0)
    copy = CopySpec(leader=L1, sizing="FIXED_USDC", sizing_value=Decimal(6))
    return RunFile(
        followers=[FollowerSpec(name="f", custody="EOA", private_key=SecretStr(key), copies=[copy])]
    ), address


async def _leader_buys(r: Rig, shares: Decimal, *, copy: bool) -> None:
    token = r.token(0)
    price = await r.best_ask(token)
    r.trade(L1, token, Side.BUY, shares, price)
    if copy:
        (done,) = await r.feed(await r.signal(L1, size=shares, price=price))
        assert done["state"] == "EXECUTED", done


async def _leader_sells(r: Rig, shares: Decimal) -> dict[str, Any]:
    token = r.token(0)
    price = await r.best_bid(token)
    r.trade(L1, token, Side.SELL, shares, price)
    (done,) = await r.feed(await r.signal(L1, size=shares, price=price, side=Side.SELL))
    return done


async def test_partial_sell_after_a_restart_sells_the_same_fraction(tmp_path: Path) -> None:
    run, address = _run()
    async with rig(tmp_path, run, [address]) as r:
        await _leader_buys(r, Decimal(100), copy=True)
        held = r.shares_of(address, r.token(0))
        assert held > 0
        await r.restart()  # the new process has not seen the leader's buy
        sold = await _leader_sells(r, Decimal(40))  # 40% of its 100 shares
        assert sold["state"] == "EXECUTED", sold
        assert Decimal(sold["filled_size_micro"]) / 1_000_000 == floor_shares(held * Decimal("0.4"))
        assert r.shares_of(address, r.token(0)) == held - floor_shares(held * Decimal("0.4"))
        second = await _leader_sells(r, Decimal(30))  # now known: 30 of the remaining 60 = half
        assert second["state"] == "EXECUTED", second
        left = held - floor_shares(held * Decimal("0.4"))
        assert Decimal(second["filled_size_micro"]) / 1_000_000 == floor_shares(left / 2)


async def test_position_opened_before_we_started(tmp_path: Path) -> None:
    run, address = _run()
    async with rig(tmp_path, run, [address]) as r:
        await _leader_buys(r, Decimal(200), copy=False)  # before our time: no signal
        await _leader_buys(r, Decimal(50), copy=True)  # the follower copies only this one
        held = r.shares_of(address, r.token(0))
        sold = await _leader_sells(r, Decimal(125))  # half of its 250 shares
        assert sold["state"] == "EXECUTED", sold
        assert Decimal(sold["filled_size_micro"]) / 1_000_000 == floor_shares(held / 2)


async def test_unreadable_leader_position_skips_the_sell(tmp_path: Path) -> None:
    run, address = _run()
    async with rig(tmp_path, run, [address], venue={"max_retries": 0}) as r:
        await _leader_buys(r, Decimal(100), copy=True)
        held = r.shares_of(address, r.token(0))
        await r.restart()
        await r.faults({"rate_5xx": {"data_api": 1.0}})
        sold = await _leader_sells(r, Decimal(40))
        assert (sold["state"], sold["reason"]) == ("SKIPPED", "LEADER_POSITION_UNAVAILABLE")
        assert r.shares_of(address, r.token(0)) == held
