"""PROPORTIONAL sizing through the real engine and the simulator: follower equity is its cash plus its
open positions, leader equity the value of the leader's open positions (its cash is not observable).
The test reads both sides' positions from the simulator's Data API itself."""

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
from tests.support.sim_stack import admin, follower_key

pytestmark = pytest.mark.integration

L1 = leader_address(1)


def _run() -> tuple[RunFile, str]:
    key, address = follower_key("proportional", 0)
    copy = CopySpec(leader=L1, sizing="PROPORTIONAL")
    return (
        RunFile(
            followers=[
                FollowerSpec(name="wallet", custody="EOA", private_key=SecretStr(key), copies=[copy]),
                FollowerSpec(name="paper", custody="PAPER", starting_cash_usdc=Decimal(100), copies=[copy]),
            ]
        ),
        address,
    )


async def _positions_value(r: Rig, address: str) -> Decimal:
    rows: list[dict[str, Any]] = await admin(
        r.http, r.sim.urls["data_api"], "GET", f"/positions?user={address}&sizeThreshold=0"
    )
    return sum((Decimal(str(p["currentValue"])) for p in rows), Decimal(0))


async def test_proportional_uses_cash_and_positions(tmp_path: Path) -> None:
    run, address = _run()
    async with rig(tmp_path, run, [address]) as r:
        leader_token = r.token(1)
        r.trade(L1, leader_token, Side.BUY, Decimal(200), await r.best_ask(leader_token))
        await admin(
            r.http,
            r.sim.urls["admin"],
            "POST",
            "/fund",
            {"address": address, "token_id": r.token(2), "shares": "40"},
        )
        leader_equity = await _positions_value(r, L1)
        wallet_positions = await _positions_value(r, address)
        assert leader_equity > 0
        assert wallet_positions > 0
        copies = await r.feed(await r.signal(L1, 0, size=Decimal(10)))
        assert all(c["state"] == "EXECUTED" for c in copies), copies
        names = {f.config_ids[0]: f.spec.name for f in r.sup.followers}
        size = {names[c["config_id"]]: Decimal(c["requested_size_micro"]) / 1_000_000 for c in copies}
        assert size["wallet"] == floor_shares(10 * (1000 + wallet_positions) / leader_equity)
        assert size["paper"] == floor_shares(10 * Decimal(100) / leader_equity)
        # the paper follower now holds market 0: its equity marks that position at the book's midpoint
        paper = r.paper.account(next(f.user_id for f in r.sup.followers if f.spec.name == "paper"))
        (held,) = paper.positions.values()
        book = await r.book(r.token(0))
        mid = (
            max(Decimal(b["price"]) for b in book["bids"]) + min(Decimal(a["price"]) for a in book["asks"])
        ) / 2
        equity = paper.cash + held.shares * mid
        assert held.shares * mid != held.shares * held.avg_price  # the mark is not the cost
        again = await r.feed(await r.signal(L1, 0, size=Decimal(10)))
        (second,) = [c for c in again if names[c["config_id"]] == "paper"]
        assert Decimal(second["requested_size_micro"]) / 1_000_000 == floor_shares(
            10 * equity / leader_equity
        )


async def test_unreadable_equity_skips_only_that_copy(tmp_path: Path) -> None:
    proportional = CopySpec(leader=L1, sizing="PROPORTIONAL")
    fixed = CopySpec(leader=L1, sizing="FIXED_USDC", sizing_value=Decimal(3))
    run = RunFile(
        followers=[
            FollowerSpec(name="proportional", custody="PAPER", copies=[proportional]),
            FollowerSpec(name="fixed", custody="PAPER", copies=[fixed]),
        ]
    )
    async with rig(tmp_path, run, [], venue={"max_retries": 0}) as r:
        await r.faults({"rate_5xx": {"data_api": 1.0}})
        copies = await r.feed(await r.signal(L1))
        names = {f.config_ids[0]: f.spec.name for f in r.sup.followers}
        got = {names[c["config_id"]]: (c["state"], c["reason"]) for c in copies}
        assert got == {"proportional": ("SKIPPED", "EQUITY_UNAVAILABLE"), "fixed": ("EXECUTED", None)}
