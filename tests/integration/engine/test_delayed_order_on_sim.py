"""An order the venue answers ``delayed`` (the simulator's ``delayed_s`` fault: accepted now, matched
later) is an unknown result, not a refusal: the copy stays PENDING with the venue's order id and the
sweep reconciles it to EXECUTED once the venue has matched it. Never resent."""

from __future__ import annotations

import asyncio
from decimal import Decimal
from pathlib import Path

import pytest
from pydantic import SecretStr

from polyhunter.runtime.run_file import CopySpec, FollowerSpec, RunFile
from tests.support.engine_rig import Sections, leader_address, rig
from tests.support.sim_stack import follower_key, rows

pytestmark = pytest.mark.integration

L1 = leader_address(1)
TTL_S = 1
DELAY_S = 0.5
SETTINGS: Sections = {"engine": {"pending_ttl_s": TTL_S, "expiry_scan_interval_ms": 60_000}}


def _run_file() -> tuple[RunFile, str]:
    key, address = follower_key("delayed", 0)
    follower = FollowerSpec(
        name="sports",
        custody="EOA",
        private_key=SecretStr(key),
        copies=[CopySpec(leader=L1, sizing="FIXED_USDC", sizing_value=Decimal(3))],
    )
    return RunFile(followers=[follower]), address


async def test_delayed_order_stays_pending_and_the_sweep_finds_it_filled(tmp_path: Path) -> None:
    run, address = _run_file()
    async with rig(tmp_path, run, [address], **SETTINGS) as r:
        await r.faults({"delayed_s": DELAY_S})
        r.sim.state.engine.set_fee_rate(r.markets[0]["condition_id"], Decimal("0.04"))
        signal = await r.signal(L1)
        (copy,) = await r.feed(signal)
        assert copy["state"] == "PENDING", copy  # not REJECTED: the venue may still fill it
        assert r.sup.engine.stats.unknown == 1
        (order,) = await r.orders()
        assert order["status"] == "delayed"
        query = f"SELECT venue_order_id FROM orders WHERE copy_trade_id = {copy['id']}"  # noqa: S608
        (recorded,) = rows(r.db, query)
        assert recorded["venue_order_id"] == order["orderID"]
        await asyncio.sleep(max(DELAY_S, TTL_S) + 0.3)
        assert await r.sup.sweeper.sweep_once() == 1
        (done,) = r.copies(signal.key)
        assert done["state"] == "EXECUTED", done
        assert done["venue_order_id"] == order["orderID"]
        assert done["filled_size_micro"] > 0
        (fee,) = rows(r.db, f"SELECT fees_micro FROM copy_trades WHERE id = {copy['id']}")  # noqa: S608
        venue_fees = sum(p.fees for p in r.sim.state.engine.account(address).positions.values())
        assert fee["fees_micro"] == venue_fees > 0  # a reconciled fill records its fee too
        assert r.sup.sweeper.stats.reconciled == 1
        assert len(await r.orders()) == 1  # reconciled, never sent again
