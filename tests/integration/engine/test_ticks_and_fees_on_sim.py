"""Tick size changes mid-run and fees, through the real engine and the simulator.

* A market's tick changes (admin, the `tick_size_change` event as live sends it): later copies are
  priced on the new tick, whether the engine heard the event or only the venue's refusal (then it
  re-prices once); none ends refused for the tick.
* Fees: every executed copy records the fee the venue charged; a BUY that would spend the whole
  balance with its fee is sized down so that the venue takes it.
"""

from __future__ import annotations

import asyncio
import secrets
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from pydantic import SecretStr

from polyhunter.domain.signal import Side, to_micro
from polyhunter.runtime.run_file import CopySpec, FollowerSpec, RunFile
from polyhunter.sim.orders import OrderRequest as SimOrder
from polyhunter.sim.orders import OrderType as SimOrderType
from tests.support.engine_rig import Rig, leader_address, rig
from tests.support.sim_stack import admin, follower_key, fund, rows

pytestmark = pytest.mark.integration

L1 = leader_address(1)
MAKER = "0x" + "5a" * 20
LONG_CACHE = {"quote_cache_ttl_ms": 600_000}  # the engine keeps the book it read (and its tick)


def _own(tag: str, value: Decimal = Decimal(5)) -> tuple[RunFile, str]:
    key, address = follower_key(tag, 0)
    copy = CopySpec(leader=L1, sizing="FIXED_USDC", sizing_value=value)
    return RunFile(
        followers=[FollowerSpec(name="own", custody="EOA", private_key=SecretStr(key), copies=[copy])]
    ), address


async def _post(r: Rig, path: str, body: dict[str, Any]) -> Any:
    return await admin(r.http, r.sim.urls["admin"], "POST", path, body)


def _rest_sell(r: Rig, token: str, price: Decimal, shares: Decimal = Decimal(100)) -> None:
    """A participant's resting SELL at `price` (it becomes the best ask)."""
    state = r.sim.state
    state.fund_shares(MAKER, token, to_micro(shares))
    result = state.submit(
        SimOrder(
            order_id="0x" + secrets.token_hex(32),
            owner=MAKER,
            token_id=token,
            side=Side.SELL,
            price=price,
            size=to_micro(shares),
            order_type=SimOrderType.GTC,
        )
    )
    assert result.success, result.error


def _prices(received: list[dict[str, Any]]) -> list[Decimal]:
    """The limit of each signed BUY (market order: USDC offered / shares wanted)."""
    out = []
    for o in received:
        order = o["order"]
        implied = Decimal(order["makerAmount"]) / Decimal(order["takerAmount"])
        out.append(implied.quantize(Decimal("0.0001")))  # amounts are rounded: within 1e-5 of the limit
    return out


async def _fine_then_coarse(r: Rig) -> tuple[str, Decimal]:
    """Market 0 moves to a 0.001 tick; a copy reads (and caches) a book with a level between cents;
    then the tick goes back to 0.01 while that level rests."""
    cid, token = r.markets[0]["condition_id"], r.token(0)
    await _post(r, "/tick-size", {"condition_id": cid, "tick_size": "0.001"})
    between = await r.best_ask(token) - Decimal("0.005")
    _rest_sell(r, token, between)
    (first,) = await r.feed(await r.signal(L1, price=between))
    assert first["state"] == "EXECUTED", first
    await _post(r, "/tick-size", {"condition_id": cid, "tick_size": "0.01"})
    return token, between


async def test_tick_change_heard_only_as_the_venues_refusal_is_repriced_once(tmp_path: Path) -> None:
    run, address = _own("tick-refusal")
    async with rig(tmp_path, run, [address], engine=LONG_CACHE) as r:
        _, between = await _fine_then_coarse(r)
        (copy,) = await r.feed(await r.signal(L1, price=between))
        assert copy["state"] == "EXECUTED", copy
        received = await r.orders()
        assert len(received) == 3  # the first copy, the refused order on the old tick, its re-priced order
        assert "minimum tick size" in str(received[1].get("error", ""))
        assert _prices(received)[2] % Decimal("0.01") == 0  # on the new tick


async def test_tick_change_event_reprices_later_copies(tmp_path: Path) -> None:
    run, address = _own("tick-event")
    async with rig(tmp_path, run, [address], engine=LONG_CACHE) as r:
        lifecycle, channel = r.sup.app.lifecycle, r.sup.app.market_channel
        assert channel is not None
        task = asyncio.create_task(channel.run())
        try:
            token = r.token(0)
            await _post(r, "/tick-size", {"condition_id": r.markets[0]["condition_id"], "tick_size": "0.001"})
            between = await r.best_ask(token) - Decimal("0.005")
            _rest_sell(r, token, between)
            (first,) = await r.feed(await r.signal(L1, price=between))  # the channel follows copied tokens
            assert first["state"] == "EXECUTED", first
            heard = lifecycle.stats.tick_changes
            deadline = asyncio.get_running_loop().time() + 20
            while channel.connects == 0 or not await _subscribed(r, token):
                assert asyncio.get_running_loop().time() < deadline
                await asyncio.sleep(0.05)
            await _post(r, "/tick-size", {"condition_id": r.markets[0]["condition_id"], "tick_size": "0.01"})
            while lifecycle.stats.tick_changes == heard:
                assert asyncio.get_running_loop().time() < deadline, "tick_size_change not heard"
                await asyncio.sleep(0.05)
            (copy,) = await r.feed(await r.signal(L1, price=between))
            assert copy["state"] == "EXECUTED", copy
        finally:
            channel.stop()
            await task
        received = await r.orders()
        assert len(received) == 2
        assert all(not o.get("error") for o in received)
        assert _prices(received)[1] % Decimal("0.01") == 0


async def _subscribed(r: Rig, token: str) -> bool:
    return r.sim.state.market_ws.subscribed(token)


async def test_every_fill_records_the_venues_fee(tmp_path: Path) -> None:
    key, address = follower_key("fees", 0)
    copies = [CopySpec(leader=L1, sizing="FIXED_USDC", sizing_value=Decimal(7))]
    run = RunFile(
        followers=[
            FollowerSpec(name="own", custody="EOA", private_key=SecretStr(key), copies=copies),
            FollowerSpec(name="paper", custody="PAPER", copies=copies),
        ]
    )
    async with rig(tmp_path, run, [address]) as r:
        await _post(r, "/fee-rate", {"condition_id": r.markets[0]["condition_id"], "taker_fee_rate": "0.04"})
        for size in (Decimal(50), Decimal(5000)):  # one level, then a sweep over several
            out = await r.feed(await r.signal(L1, size=size))
            assert [c["state"] for c in out] == ["EXECUTED", "EXECUTED"], out
        executed = rows(r.db, "SELECT user_id, fees_micro FROM copy_trades WHERE state = 'EXECUTED'")
        assert all(c["fees_micro"] > 0 for c in executed)
        venue_fees = sum(p.fees for p in r.sim.state.engine.account(address).positions.values())
        own_user = next(f.user_id for f in r.sup.followers if f.spec.name == "own")
        assert sum(c["fees_micro"] for c in executed if c["user_id"] == own_user) == venue_fees


async def test_whole_balance_buy_is_sized_down_to_pay_its_fee(tmp_path: Path) -> None:
    """10 USDC in the wallet and a 10 USDC copy: with the fee on top it cannot be bought whole."""
    run, address = _own("fees-whole", Decimal(10))
    async with rig(tmp_path, run, []) as r:
        await fund(r.http, r.sim.urls["admin"], address, Decimal(10))
        await _post(r, "/fee-rate", {"condition_id": r.markets[0]["condition_id"], "taker_fee_rate": "0.04"})
        (copy,) = await r.feed(await r.signal(L1))
        assert copy["state"] == "EXECUTED", copy
        assert copy["filled_size_micro"] < copy["requested_size_micro"]  # sized down
        (row,) = rows(r.db, f"SELECT fees_micro FROM copy_trades WHERE id = {copy['id']}")  # noqa: S608
        assert row["fees_micro"] > 0
        cash = r.sim.state.engine.account(address).cash
        assert 0 <= cash < 1_000_000  # it spent (almost) all, fee included
        assert all(not o.get("error") for o in await r.orders())  # nothing refused
