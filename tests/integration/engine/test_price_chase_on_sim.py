"""The bounded price chase through the real engine and the simulator.

The engine prices from its (long-lived, here) quote cache; then another trader takes the best ask
levels, so the book the copy was priced on is gone. The first order, signed at the cached book's worst
price, is killed (FOK); the engine re-reads the book and steps its limit toward the market, never past
the config's slippage budget against the leader's price. The simulator's market makers are told not
to re-quote during the test, so the book stays moved.
"""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from pydantic import SecretStr

from polyhunter.domain.signal import Side
from polyhunter.runtime.run_file import CopySpec, FollowerSpec, RunFile
from tests.support.engine_rig import Rig, leader_address, rig
from tests.support.sim_stack import follower_key, rows

pytestmark = pytest.mark.integration

L1 = leader_address(1)
WHALE = "0x" + "77" * 20
TICK = Decimal("0.01")
SETTINGS: dict[str, Any] = {
    "engine": {"quote_cache_ttl_ms": 600_000, "price_chase_steps": 3},
    "sim_options": {"refresh_s": 3600.0},
}


def _run(max_slippage_bps: int) -> tuple[RunFile, str]:
    key, address = follower_key("chase", max_slippage_bps)
    copy = CopySpec(
        leader=L1, sizing="FIXED_USDC", sizing_value=Decimal(3), max_slippage_bps=max_slippage_bps
    )
    return RunFile(
        followers=[FollowerSpec(name="f", custody="EOA", private_key=SecretStr(key), copies=[copy])]
    ), address


async def _take_best_asks(r: Rig, token: str, levels: int) -> None:
    """Another trader buys the best `levels` ask levels out entirely."""
    book = await r.book(token)
    for level in sorted(book["asks"], key=lambda lv: Decimal(lv["price"]))[:levels]:
        r.trade(WHALE, token, Side.BUY, Decimal(level["size"]), Decimal(level["price"]))


def _limits(orders: list[dict[str, Any]]) -> list[tuple[Decimal, str]]:
    """(limit price, status or error) of each market BUY the simulator received, in order."""
    out = []
    for o in orders:
        maker, taker = Decimal(o["order"]["makerAmount"]), Decimal(o["order"]["takerAmount"])
        out.append(((maker / taker).quantize(TICK), o["status"] or o["error"]))
    return out


async def test_a_killed_copy_fills_after_the_chase(tmp_path: Path) -> None:
    run, address = _run(max_slippage_bps=500)
    async with rig(tmp_path, run, [address], **SETTINGS) as r:
        token = r.token(0)
        p0 = await r.best_ask(token)
        await r.sup.engine.pricer.book(token)  # the engine's cached book: best ask p0
        await _take_best_asks(r, token, 2)  # the book now starts at p0 + 2 ticks
        (copy,) = await r.feed(await r.signal(L1, price=p0))
        assert copy["state"] == "EXECUTED", copy
        budget = (p0 * Decimal("1.05")).quantize(TICK, rounding="ROUND_FLOOR")
        (first, second) = _limits(await r.orders())
        assert first[0] == p0  # priced on the cached book: killed
        assert "FOK" in first[1]
        assert second == (p0 + 2 * TICK, "matched")  # the re-read book's worst price, within the budget
        assert second[0] <= budget


async def test_the_chase_stops_at_the_budget(tmp_path: Path) -> None:
    run, address = _run(max_slippage_bps=200)
    async with rig(tmp_path, run, [address], **SETTINGS) as r:
        token = r.token(0)
        p0 = await r.best_ask(token)
        budget = (p0 * Decimal("1.02")).quantize(TICK, rounding="ROUND_FLOOR")
        assert budget == p0 + TICK
        await r.sup.engine.pricer.book(token)
        await _take_best_asks(r, token, 3)  # the book now starts two ticks past the budget
        (copy,) = await r.feed(await r.signal(L1, price=p0))
        assert (copy["state"], copy["reason"]) == ("SKIPPED", "SLIPPAGE_EXCEEDED")  # the re-read book says so
        (only,) = _limits(await r.orders())  # one order; nothing past the budget is ever signed
        assert only[0] == p0
        assert "FOK" in only[1]


async def _take_best_bids(r: Rig, token: str, levels: int) -> None:
    """Another trader sells into the best `levels` bid levels entirely."""
    book = await r.book(token)
    for level in sorted(book["bids"], key=lambda lv: -Decimal(lv["price"]))[:levels]:
        r.sim.state.fund_shares(WHALE, token, int(Decimal(level["size"]) * 1_000_000))
        r.trade(WHALE, token, Side.SELL, Decimal(level["size"]), Decimal(level["price"]))


async def test_a_chase_step_under_the_venue_minimum_ends_the_chase(tmp_path: Path) -> None:
    """A SELL worth just over $1 is killed; at the re-read book's lower bids it would be worth less than
    the $1 minimum. The chase ends there: the copy FAILED with the kill, its one order closed (it is
    not parked for aggregation with an order already sent)."""
    key, address = follower_key("chase-min", 1)
    copy = CopySpec(leader=L1, sizing="FIXED_USDC", sizing_value=Decimal("1.06"), max_slippage_bps=2000)
    run = RunFile(
        followers=[FollowerSpec(name="f", custody="EOA", private_key=SecretStr(key), copies=[copy])]
    )
    async with rig(tmp_path, run, [address], **SETTINGS) as r:
        token = r.token(0)
        (bought,) = await r.feed(await r.signal(L1))
        assert bought["state"] == "EXECUTED", bought
        r.sup.engine.pricer.invalidate(token)
        bid = await r.best_bid(token)
        await r.sup.engine.pricer.book(token)  # cached: the copy is priced at the best bid
        await _take_best_bids(r, token, 4)
        before = len(await r.orders())
        (sold,) = await r.feed(await r.signal(L1, side=Side.SELL, price=bid))
        assert (sold["state"], sold["error"] and "FOK" in sold["error"]) == ("FAILED", True), sold
        assert len(await r.orders()) == before + 1
        status = rows(r.db, f"SELECT status FROM orders WHERE copy_trade_id = {sold['id']}")  # noqa: S608
        assert status == [{"status": "REJECTED"}]
