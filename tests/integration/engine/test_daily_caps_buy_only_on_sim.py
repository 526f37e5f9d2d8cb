"""The daily caps count money put in: a SELL copy reserves nothing, so a user at its cap can still
exit, and a SELL whose result stays unknown holds nothing back (through the engine and the simulator)."""

from __future__ import annotations

import asyncio
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from pydantic import SecretStr

from polyhunter.domain.signal import Side
from polyhunter.runtime.run_file import CopySpec, FollowerSpec, RunFile
from tests.support.engine_rig import leader_address, rig
from tests.support.sim_stack import follower_key

pytestmark = pytest.mark.integration

L1, L2 = leader_address(1), leader_address(2)
FIXED3: dict[str, Any] = {"sizing": "FIXED_USDC", "sizing_value": Decimal(3)}


def _run() -> tuple[RunFile, str]:
    key, address = follower_key("buy-caps", 0)
    copies = [CopySpec(leader=L1, **FIXED3), CopySpec(leader=L2, **FIXED3)]
    return RunFile(
        followers=[FollowerSpec(name="f", custody="EOA", private_key=SecretStr(key), copies=copies)]
    ), address


async def test_a_user_at_its_cap_can_still_sell(tmp_path: Path) -> None:
    run, address = _run()
    limits = {"daily_user_cap_usdc": Decimal(6), "global_daily_cap_usdc": Decimal(1000)}
    async with rig(tmp_path, run, [address], guardrails=limits) as r:
        for leader, market in ((L1, 2), (L2, 1)):  # 3 + 3 USDC: at the cap
            (copy,) = await r.feed(await r.signal(leader, market))
            assert copy["state"] == "EXECUTED", copy
        # L1 exits market 2: its config sells what it bought there, although buying is capped
        (exit_,) = await r.feed(await r.signal(L1, 2, side=Side.SELL, size=Decimal(50)))
        assert exit_["state"] == "EXECUTED", exit_
        (more,) = await r.feed(await r.signal(L2, 0))  # buying is still capped
        assert (more["state"], more["reason"]) == ("SKIPPED", "GUARDRAIL_USER_DAILY_CAP")
        assert r.events()[-1]["rule"] == "USER_DAILY_CAP"


async def test_a_sell_with_an_unknown_result_holds_nothing_back(tmp_path: Path) -> None:
    run, address = _run()
    limits = {"daily_user_cap_usdc": Decimal(6), "global_daily_cap_usdc": Decimal(1000)}
    settings: dict[str, Any] = {"engine": {"pending_ttl_s": 1, "expiry_scan_interval_ms": 200}}
    async with rig(tmp_path, run, [address], guardrails=limits, **settings) as r:
        (bought,) = await r.feed(await r.signal(L1, 2))
        assert bought["state"] == "EXECUTED"
        await r.faults({"rate_5xx": {"clob:/order": 1}})  # the venue never sees the order: unknown result
        (lost,) = await r.feed(await r.signal(L1, 2, side=Side.SELL, size=Decimal(50)))
        assert lost["state"] == "PENDING"
        await r.faults({"clear": True})
        await asyncio.sleep(1)
        assert await r.sup.sweeper.sweep_once() == 1  # expired: the venue has no such order
        (again,) = await r.feed(await r.signal(L2, 1))  # 3 + 3 fits the 6 USDC cap
        assert again["state"] == "EXECUTED", again
