"""The price a follower would have got for a copy, from a market's price history. Pure.

The model a live backtest fills copies with (``polyhunter backtest --leader``):

1. **Price at latency**: the follower's order reaches the venue `latency_ms` after the leader's fill;
   the market then stood at the last point of its price history at or before that time
   (`price_at`; none known: the leader's own fill price).
2. **Base**: the worse, for the follower, of that price and the leader's fill price (a BUY pays the
   higher, a SELL gets the lower): a follower never fills better than the print it copies, and pays
   for a market that moved away while its order was on the way.
3. **Book walk**: from the base rounded to the tick against the follower, a modelled book of levels
   one tick apart, each holding `depth_shares` shares (`model_book`), is walked for the copy's size
   (`domain.book_math.walk_book`): a copy up to `depth_shares` fills at the base, a larger one pays one
   more tick per further `depth_shares`. Prices stay within [tick, 1 - tick].
"""

from __future__ import annotations

import bisect
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import ROUND_CEILING, ROUND_FLOOR, Decimal

from polyhunter.domain.backtest import Priced
from polyhunter.domain.book_math import BookSide, Level, Walk, walk_book
from polyhunter.domain.signal import Side, Signal

DEFAULT_DEPTH_SHARES = Decimal(500)
MAX_LEVELS = 1_000  # a walk past this many ticks stops there (the copy is then partly filled)


@dataclass(frozen=True, slots=True)
class PricePoint:
    t: int  # unix seconds
    p: Decimal


def price_at(points: Sequence[PricePoint], at_s: float) -> Decimal | None:
    """The last price of `points` (time order) at or before `at_s`; None when none is that early."""
    times = [pt.t for pt in points]
    i = bisect.bisect_right(times, at_s) - 1
    return points[i].p if i >= 0 else None


def base_price(side: Side, leader_price: Decimal, market_price: Decimal | None) -> Decimal:
    """The worse of the leader's print and the market's price for the follower."""
    if market_price is None:
        return leader_price
    return max(leader_price, market_price) if side is Side.BUY else min(leader_price, market_price)


def _to_tick(price: Decimal, tick: Decimal, rounding: str) -> Decimal:
    return (price / tick).to_integral_value(rounding) * tick


def model_book(side: Side, base: Decimal, tick: Decimal, depth_shares: Decimal, levels: int) -> BookSide:
    """The side a follower takes from (asks for a BUY, bids for a SELL), best level first: from `base`
    rounded against the follower to the tick, `levels` levels one tick apart of `depth_shares` each."""
    lo, hi = tick, 1 - tick
    if side is Side.BUY:
        first = min(max(_to_tick(base, tick, ROUND_CEILING), lo), hi)
        prices = [first + i * tick for i in range(levels) if first + i * tick <= hi]
    else:
        first = max(min(_to_tick(base, tick, ROUND_FLOOR), hi), lo)
        prices = [first - i * tick for i in range(levels) if first - i * tick >= lo]
    return BookSide(tuple(Level(p, depth_shares) for p in prices))


def model_fill(side: Side, shares: Decimal, base: Decimal, tick: Decimal, depth_shares: Decimal) -> Walk:
    """`shares` taken from the modelled book at `base` (see the module doc)."""
    if depth_shares <= 0:
        raise ValueError("depth_shares must be above 0")
    needed = int((shares / depth_shares).to_integral_value(ROUND_CEILING)) if shares > 0 else 1
    book = model_book(side, base, tick, depth_shares, min(max(needed, 1), MAX_LEVELS))
    return walk_book(book, shares, buying=side is Side.BUY)


class HistoryPricer:
    """A backtest's `CopyPricer` (`domain.backtest`): each copy at the price history of its token at the
    leader's fill time plus `latency_ms`, walked against the modelled book (see the module doc)."""

    def __init__(
        self,
        histories: Mapping[str, Sequence[PricePoint]],
        latency_ms: int,
        depth_shares: Decimal = DEFAULT_DEPTH_SHARES,
    ) -> None:
        self.histories = {a: sorted(pts, key=lambda pt: pt.t) for a, pts in histories.items()}
        self._times = {a: [pt.t for pt in pts] for a, pts in self.histories.items()}
        self.latency_ms = latency_ms
        self.depth_shares = depth_shares
        self.priced_from_history = 0  # copies whose market price came from the history
        self.priced_from_print = 0  # copies with no history point that early: the leader's print

    def fill(self, signal: Signal, shares: Decimal, tick: Decimal) -> Priced:
        at = signal.fill_time.timestamp() + self.latency_ms / 1000
        points = self.histories.get(signal.asset, [])
        i = bisect.bisect_right(self._times.get(signal.asset, []), at) - 1
        market = points[i].p if i >= 0 else None
        if market is None:
            self.priced_from_print += 1
        else:
            self.priced_from_history += 1
        base = base_price(signal.side, signal.price, market)
        walk = model_fill(signal.side, shares, base, tick, self.depth_shares)
        return Priced(walk.vwap, walk.worst_price, walk.shares)
