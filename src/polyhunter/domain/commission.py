"""The platform's fee schedule for proxy custody, in integer base units (floored: never more than the rate).

- on execution: ``fee_bps`` of the copy's notional;
- when shares are sold: ``profit_share_bps`` of the realized profit (proceeds above the average cost of the
  shares sold), nothing on a loss.
"""

from __future__ import annotations

from dataclasses import dataclass

BPS = 10_000
MAX_BPS = 5_000  # a schedule taking more than half is a configuration error


@dataclass(frozen=True, slots=True)
class FeeSchedule:
    fee_bps: int = 0
    profit_share_bps: int = 0

    def __post_init__(self) -> None:
        for name in ("fee_bps", "profit_share_bps"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= MAX_BPS:
                raise ValueError(f"{name} must be an integer in 0..{MAX_BPS}, got {value!r}")

    def on_notional(self, notional_micro: int) -> int:
        if notional_micro < 0:
            raise ValueError(f"notional must be >= 0, got {notional_micro}")
        return notional_micro * self.fee_bps // BPS

    def on_profit(self, proceeds_micro: int, cost_basis_micro: int) -> int:
        profit = proceeds_micro - cost_basis_micro
        return profit * self.profit_share_bps // BPS if profit > 0 else 0


@dataclass(frozen=True, slots=True)
class Position:
    """Shares held in a proxy and what they cost (average cost), base units."""

    shares_micro: int = 0
    cost_micro: int = 0

    def bought(self, shares_micro: int, cost_micro: int) -> Position:
        return Position(self.shares_micro + shares_micro, self.cost_micro + cost_micro)

    def cost_of(self, shares_micro: int) -> int:
        """Average cost of ``shares_micro`` of the position (all of it when more is sold than is held)."""
        if self.shares_micro <= 0:
            return 0
        if shares_micro >= self.shares_micro:
            return self.cost_micro
        return self.cost_micro * shares_micro // self.shares_micro

    def sold(self, shares_micro: int) -> Position:
        cost = self.cost_of(shares_micro)
        return Position(max(self.shares_micro - shares_micro, 0), self.cost_micro - cost)
