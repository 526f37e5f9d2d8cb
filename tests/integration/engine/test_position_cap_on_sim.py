"""The per-market position cap through the real engine and the simulator: per config (not per
follower), and across a restart (exposure is started from the EXECUTED copies in the store)."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest
from pydantic import SecretStr

from polyhunter.runtime.run_file import CopySpec, FollowerSpec, RunFile
from tests.support.engine_rig import leader_address, rig
from tests.support.sim_stack import follower_key

pytestmark = pytest.mark.integration

L1, L2 = leader_address(1), leader_address(2)
CAPPED = ("SKIPPED", "POSITION_CAP_REACHED")


def _run(notional: Decimal) -> tuple[RunFile, str]:
    """One follower copying two leaders, each config spending `notional` a copy, capped at it per market."""
    key, address = follower_key("cap", 0)
    copies = [
        CopySpec(leader=leader, sizing="FIXED_USDC", sizing_value=notional, max_position_usdc=notional)
        for leader in (L1, L2)
    ]
    return RunFile(
        followers=[FollowerSpec(name="f", custody="EOA", private_key=SecretStr(key), copies=copies)]
    ), address


async def test_cap_per_config_and_market_survives_a_restart(tmp_path: Path) -> None:
    async with rig(tmp_path / "probe", *_run(Decimal(1))[:1], []) as probe:
        price = await probe.best_ask(probe.token(0))
    notional = price * 5  # five shares at the best ask: one copy fills the cap exactly
    run, address = _run(notional)
    async with rig(tmp_path, run, [address]) as r:

        async def copy(leader: str, market: int = 0) -> tuple[str, str | None]:
            (row,) = await r.feed(await r.signal(leader, market, price=price if market == 0 else None))
            return row["state"], row["reason"]

        assert await copy(L1) == ("EXECUTED", None)
        assert await copy(L1) == CAPPED
        assert await copy(L2) == ("EXECUTED", None)  # the other config's cap is its own
        assert await copy(L1, market=1) == ("EXECUTED", None)  # and so is another market's
        await r.restart()
        assert await copy(L1) == CAPPED
        assert await copy(L2) == CAPPED
        assert len(await r.orders()) == 3
