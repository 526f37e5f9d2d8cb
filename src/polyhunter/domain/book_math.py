"""Walking an order book for a copy's size: fillable shares, VWAP, worst price, slippage."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal

from polyhunter.domain.signal import Side

BPS = Decimal(10_000)


@dataclass(frozen=True, slots=True)
class Level:
    price: Decimal
    size: Decimal


@dataclass(frozen=True, slots=True)
class BookSide:
    """One side of a book, BEST level first (the venue sends worst-first: reverse it when parsing)."""

    levels: tuple[Level, ...]

    @classmethod
    def from_worst_first(cls, levels: Sequence[Level]) -> BookSide:
        return cls(tuple(reversed(levels)))


@dataclass(frozen=True, slots=True)
class Walk:
    shares: Decimal  # fillable shares (<= wanted)
    cost: Decimal  # USDC paid (BUY) or received (SELL)
    worst_price: Decimal  # the last level touched (the limit to sign)
    complete: bool

    @property
    def vwap(self) -> Decimal:
        return self.cost / self.shares if self.shares > 0 else Decimal(0)


def walk_book(side: BookSide, shares: Decimal, limit: Decimal | None = None, *, buying: bool = True) -> Walk:
    """Take `shares` from `side` (asks when buying, bids when selling), best first, up to `limit`."""
    remaining = shares
    cost = Decimal(0)
    worst = Decimal(0)
    for level in side.levels:
        if remaining <= 0:
            break
        if limit is not None and (level.price > limit if buying else level.price < limit):
            break
        take = min(remaining, level.size)
        cost += take * level.price
        remaining -= take
        worst = level.price
    filled = shares - remaining
    return Walk(filled, cost, worst, remaining <= 0)


def slippage_bps(side: Side, reference: Decimal, price: Decimal) -> Decimal:
    """Adverse move of `price` against `reference` in basis points (negative = improvement)."""
    if reference <= 0:
        return Decimal(0)
    move = price - reference if side is Side.BUY else reference - price
    return move / reference * BPS


def slippage_limit_price(side: Side, reference: Decimal, max_bps: int) -> Decimal:
    """The worst acceptable price for `side` given a reference price and a slippage budget."""
    delta = reference * Decimal(max_bps) / BPS
    return reference + delta if side is Side.BUY else reference - delta
