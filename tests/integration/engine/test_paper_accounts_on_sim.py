"""Paper accounts persist: after a restart a PAPER follower has the same cash and positions (it can
sell what it bought before the restart), through the real engine and the simulator's book."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest

from polyhunter.domain.signal import Side
from polyhunter.runtime.run_file import CopySpec, FollowerSpec, RunFile
from tests.support.engine_rig import leader_address, rig
from tests.support.sim_stack import rows

pytestmark = pytest.mark.integration

L1 = leader_address(1)


def _run() -> RunFile:
    copy = CopySpec(leader=L1, sizing="FIXED_USDC", sizing_value=Decimal(4))
    return RunFile(
        followers=[
            FollowerSpec(name="paper", custody="PAPER", starting_cash_usdc=Decimal(100), copies=[copy])
        ]
    )


async def test_paper_account_survives_a_restart(tmp_path: Path) -> None:
    async with rig(tmp_path, _run(), []) as r:
        for market in (0, 1, 0):
            (copy,) = await r.feed(await r.signal(L1, market))
            assert copy["state"] == "EXECUTED", copy
        (follower,) = r.sup.followers
        before = r.paper.account(follower.user_id)
        assert before.cash < 100
        held = {t: (p.shares, p.avg_price) for t, p in before.positions.items()}
        assert set(held) == {r.token(0), r.token(1)}
        cash = before.cash
        await r.restart()
        after = r.paper.account(follower.user_id)
        assert after is not before
        assert after.cash == cash
        assert after.starting_cash == 100
        assert {t: p.shares for t, p in after.positions.items()} == {t: s for t, (s, _) in held.items()}
        for token, (_, avg) in held.items():
            assert abs(after.positions[token].avg_price - avg) <= Decimal("0.000001")
        # what it bought before the restart it can sell after it: the leader exits market 1
        (sold,) = await r.feed(await r.signal(L1, 1, side=Side.SELL, size=Decimal(10)))
        assert sold["state"] == "EXECUTED", sold
        assert r.token(1) not in r.paper.account(follower.user_id).positions
        stored = rows(r.db, f"SELECT shares_micro FROM positions WHERE asset = '{r.token(1)}'")  # noqa: S608
        assert stored == [{"shares_micro": 0}]
