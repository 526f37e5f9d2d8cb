"""A config's exposure per market and its shares per token: moved by fills, never below 0, and a closed
position is forgotten (the overload benchmark's heap grew by every (config, token) ever traded)."""

from __future__ import annotations

from decimal import Decimal

from polyhunter.domain.signal import Side
from polyhunter.engine.positions import FollowerExposure


def test_fills_move_exposure_and_a_closed_position_is_forgotten() -> None:
    exp = FollowerExposure()
    exp.add(1, "0xABC", Side.BUY, Decimal("6.5"), "tok", Decimal(13))
    exp.add(2, "0xabc", Side.BUY, Decimal(2), "tok", Decimal(4))
    assert exp.get(1, "0xabc") == Decimal("6.5")
    assert exp.shares(1, "tok") == 13
    exp.add(1, "0xabc", Side.SELL, Decimal(10), "tok", Decimal(20))  # more than held: floor at 0
    assert exp.get(1, "0xabc") == 0
    assert exp.shares(1, "tok") == 0
    assert exp.shares(2, "tok") == 4  # another config's holding is its own
    for n in range(1_000):  # open and close many positions: nothing is left behind
        exp.add(3, f"0x{n}", Side.BUY, Decimal(1), f"t{n}", Decimal(2))
        exp.add(3, f"0x{n}", Side.SELL, Decimal(1), f"t{n}", Decimal(2))
    assert len(exp._notional) == 1  # noqa: SLF001 - config 2's market only
    assert len(exp._shares) == 1  # noqa: SLF001
