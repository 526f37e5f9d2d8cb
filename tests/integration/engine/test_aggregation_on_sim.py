"""Copies below the venue minimum, aggregated inside the real engine on the simulator: the copy that
completes a bucket executes for all of them (the others end AGGREGATED_INTO_<id>), a bucket whose
window passes ends BELOW_VENUE_MINIMUM, a config that does not aggregate skips at once, and the
aggregate is held against the daily caps for its whole notional."""

from __future__ import annotations

import asyncio
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from pydantic import SecretStr

from polyhunter.runtime.run_file import CopySpec, FollowerSpec, RunFile
from tests.support.engine_rig import Rig, leader_address, rig
from tests.support.sim_stack import follower_key, rows

pytestmark = pytest.mark.integration

L1 = leader_address(1)
SMALL: dict[str, Any] = {"sizing": "FIXED_USDC", "sizing_value": Decimal("0.6")}  # ~0.6 USDC: below $1


def _run(**params: Any) -> tuple[RunFile, str]:
    key, address = follower_key("aggregate", 0)
    copy = CopySpec(leader=L1, **{**SMALL, **params})
    return RunFile(
        followers=[FollowerSpec(name="f", custody="EOA", private_key=SecretStr(key), copies=[copy])]
    ), address


async def _feed(r: Rig) -> dict[str, Any]:
    (copy,) = await r.feed(await r.signal(L1))
    return copy


async def test_two_small_copies_go_out_as_one_order(tmp_path: Path) -> None:
    run, address = _run()
    async with rig(tmp_path, run, [address]) as r:
        first = await _feed(r)
        assert first["state"] == "PENDING"  # parked
        assert first["id"] in r.sup.engine.held()  # the sweeper leaves it alone
        assert await r.orders() == []
        second = await _feed(r)
        assert second["state"] == "EXECUTED", second
        (row,) = [c for c in _all(r) if c["id"] == first["id"]]
        assert (row["state"], row["reason"]) == ("SKIPPED", f"AGGREGATED_INTO_{second['id']}")
        (order,) = await r.orders()
        shares = Decimal(second["filled_size_micro"]) / 1_000_000
        both = Decimal(first["requested_size_micro"] + second["requested_size_micro"]) / 1_000_000
        # a market BUY spends round_down(shares x limit, 2) USDC: the fill can be a hair under the sum
        assert both - Decimal("0.02") < shares <= both
        assert order["orderID"] == second["venue_order_id"]
        assert r.sup.engine.held() == frozenset()


async def test_bucket_that_never_fills_expires_below_the_minimum(tmp_path: Path) -> None:
    run, address = _run()
    async with rig(tmp_path, run, [address], engine={"aggregation_window_ms": 200}) as r:
        parked = await _feed(r)
        assert parked["state"] == "PENDING"
        await asyncio.sleep(0.3)
        assert await r.sup.sweeper.close_aggregates() == 1
        (row,) = [c for c in _all(r) if c["id"] == parked["id"]]
        assert (row["state"], row["reason"]) == ("SKIPPED", "BELOW_VENUE_MINIMUM")
        assert await r.orders() == []


async def test_no_aggregation_skips_at_once(tmp_path: Path) -> None:
    run, address = _run(aggregate_below_minimum=False)
    async with rig(tmp_path, run, [address]) as r:
        copy = await _feed(r)
        assert (copy["state"], copy["reason"]) == ("SKIPPED", "BELOW_VENUE_MINIMUM")
        assert await r.orders() == []


async def test_aggregate_is_checked_against_the_daily_cap_for_its_whole_notional(tmp_path: Path) -> None:
    """Each small copy fits a 1 USDC daily cap, their ~1.2 USDC aggregate does not: nothing is sent."""
    run, address = _run()
    limits = {"daily_user_cap_usdc": Decimal(1), "global_daily_cap_usdc": Decimal(1000)}
    async with rig(tmp_path, run, [address], guardrails=limits) as r:
        first = await _feed(r)
        assert first["state"] == "PENDING"
        second = await _feed(r)
        assert (second["state"], second["reason"]) == ("SKIPPED", "GUARDRAIL_USER_DAILY_CAP")
        (row,) = [c for c in _all(r) if c["id"] == first["id"]]
        assert (row["state"], row["reason"]) == ("SKIPPED", "GUARDRAIL_USER_DAILY_CAP")
        assert [e["rule"] for e in r.events()] == ["USER_DAILY_CAP"]
        assert await r.orders() == []


async def test_an_executed_aggregate_counts_its_whole_notional(tmp_path: Path) -> None:
    """With a 2 USDC cap the ~1.2 USDC aggregate goes out; it counts whole, so a 1 USDC copy after it
    no longer fits (counting only the releasing copy's 0.6 it would)."""
    key, address = follower_key("aggregate", 1)
    copies = [
        CopySpec(leader=L1, **SMALL),
        CopySpec(leader=leader_address(2), sizing="FIXED_USDC", sizing_value=Decimal(1)),
    ]
    run = RunFile(
        followers=[FollowerSpec(name="f", custody="EOA", private_key=SecretStr(key), copies=copies)]
    )
    limits = {"daily_user_cap_usdc": Decimal(2), "global_daily_cap_usdc": Decimal(1000)}
    async with rig(tmp_path, run, [address], guardrails=limits) as r:
        await _feed(r)
        assert (await _feed(r))["state"] == "EXECUTED"
        (other,) = await r.feed(await r.signal(leader_address(2), market=1))
        assert (other["state"], other["reason"]) == ("SKIPPED", "GUARDRAIL_USER_DAILY_CAP")
        assert len(await r.orders()) == 1


def _all(r: Rig) -> list[dict[str, Any]]:
    return rows(r.db, "SELECT id, state, reason FROM copy_trades")
