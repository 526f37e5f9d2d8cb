"""Fee schedule and average cost for proxy custody commissions, base units."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from polyhunter.domain.commission import FeeSchedule, Position


def test_fee_on_notional_is_floored_basis_points() -> None:
    schedule = FeeSchedule(fee_bps=50, profit_share_bps=1_000)
    assert schedule.on_notional(10_000_000) == 50_000
    assert schedule.on_notional(199) == 0  # never rounds up
    assert schedule.on_profit(12_000_000, 10_000_000) == 200_000
    assert schedule.on_profit(9_000_000, 10_000_000) == 0  # no fee on a loss
    with pytest.raises(ValueError, match="notional"):
        schedule.on_notional(-1)


@pytest.mark.parametrize("bad", [-1, 5_001, True, 1.5])
def test_out_of_range_rates_are_refused(bad: object) -> None:
    with pytest.raises(ValueError, match="fee_bps"):
        FeeSchedule(fee_bps=bad)  # type: ignore[arg-type]


@given(st.lists(st.tuples(st.integers(1, 10**9), st.integers(0, 10**9)), min_size=1, max_size=8), st.data())
def test_average_cost_never_loses_or_makes_a_base_unit(
    buys: list[tuple[int, int]], data: st.DataObject
) -> None:
    position = Position()
    for shares, cost in buys:
        position = position.bought(shares, cost)
    total_cost = position.cost_micro
    removed = 0
    for _ in range(5):  # a few partial sells, then the rest
        if position.shares_micro == 0:
            break
        sell = data.draw(st.integers(1, position.shares_micro))
        removed += position.cost_of(sell)
        position = position.sold(sell)
    removed += position.cost_of(position.shares_micro)
    position = position.sold(position.shares_micro)
    assert removed == total_cost
    assert position == Position(0, 0)
