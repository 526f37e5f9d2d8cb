"""The simulator's price history per token: what ``GET /prices-history`` serves.

Every match the engine makes records its last trade price (the last maker level, in the taker's token)
at the match time; a replayed transaction records each of its rows' prices. A window is served as the
live venue serves it, a point per ``fidelity`` minutes: the grid runs from the window's start in steps
of ``fidelity`` minutes, and a grid time gets a point (``t`` the grid time, ``p`` the last price
recorded at or before it) when a price was recorded in its step (the first known price also starts
the series at the window's start); unchanged steps are left out, so a long quiet window stays short.
"""

from __future__ import annotations

import bisect
from dataclasses import dataclass, field
from decimal import Decimal

__all__ = ["PricePoint", "PriceHistory"]


@dataclass(frozen=True, slots=True)
class PricePoint:
    t: int  # unix seconds
    p: Decimal


@dataclass(slots=True)
class _Series:
    times_ms: list[int] = field(default_factory=list)
    prices: list[Decimal] = field(default_factory=list)

    def add(self, ts_ms: int, price: Decimal) -> None:
        at = bisect.bisect_right(self.times_ms, ts_ms)  # settled rows may come late: keep time order
        self.times_ms.insert(at, ts_ms)
        self.prices.insert(at, price)

    def at_or_before(self, ts_ms: int) -> int:
        """Index of the last price recorded at or before ``ts_ms`` (-1: none)."""
        return bisect.bisect_right(self.times_ms, ts_ms) - 1


class PriceHistory:
    def __init__(self) -> None:
        self._series: dict[str, _Series] = {}

    def record(self, token_id: str, ts_ms: int, price: Decimal) -> None:
        if 0 < price < 1:
            self._series.setdefault(token_id, _Series()).add(ts_ms, price)

    def first_ms(self, token_id: str) -> int | None:
        series = self._series.get(token_id)
        return series.times_ms[0] if series and series.times_ms else None

    def prune(self, cutoff_ms: int) -> int:
        """Forget prices recorded before ``cutoff_ms``, keeping each token's last one before it (the
        price the window starts at). Returns the points dropped."""
        dropped = 0
        for series in self._series.values():
            keep = max(0, series.at_or_before(cutoff_ms - 1))
            del series.times_ms[:keep]
            del series.prices[:keep]
            dropped += keep
        return dropped

    def window(self, token_id: str, start_s: int, end_s: int, step_s: int) -> list[PricePoint]:
        """The points of ``[start_s, end_s]`` on a grid of ``step_s`` seconds from ``start_s``."""
        series = self._series.get(token_id)
        if series is None or end_s < start_s or step_s <= 0:
            return []
        out: list[PricePoint] = []
        first = series.at_or_before(start_s * 1000 + 999)
        if first >= 0:
            out.append(PricePoint(start_s, series.prices[first]))
        i = first + 1
        while i < len(series.times_ms):
            ts_s = series.times_ms[i] // 1000
            steps = -(-(ts_s - start_s) // step_s)  # the first grid time at or after ts_s
            grid = start_s + steps * step_s
            if grid > end_s:
                break
            last = series.at_or_before(grid * 1000 + 999)
            out.append(PricePoint(grid, series.prices[last]))
            i = last + 1
        return out
