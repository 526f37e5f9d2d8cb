"""Pricing a copy: walk the (cached) book for its size within the slippage budget; fall back when needed.

Order of preference: the live book (quote cache with TTL, one fetch per token however many followers
wait) → midpoint → last trade → the leader's own price. Each fallback is used only while fresh
(`fallback_price_ttl_ms`), and `force_fallback` skips the book (an operator switch for a book feed
that misbehaves).

The *budget* is the leader's price moved by the config's slippage allowance, on the tick (BUY rounds
down, SELL up). From the book, the signed limit is the worst level the copy's size needs (the venue
fills at maker prices, so the expected price is the book VWAP), never past the budget. After a FOK/FAK
kill the engine re-reads the book and prices again with `chase_from` = the killed limit: the next limit
is at least one tick further toward the market (`chase_limit`), still never past the budget. Fallback
prices sign the budget itself.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable
from dataclasses import dataclass
from decimal import ROUND_CEILING, ROUND_FLOOR, Decimal
from enum import StrEnum

from polyhunter.domain.book_math import slippage_bps, slippage_limit_price, walk_book
from polyhunter.domain.orders import OrderBook
from polyhunter.domain.signal import Side
from polyhunter.engine.ttl_cache import TtlCache
from polyhunter.log import get_logger
from polyhunter.ports.venue import MarketData

log = get_logger(__name__)

FEE_RATE_TTL_MS = 3_600_000


class PriceSource(StrEnum):
    BOOK = "BOOK"
    MIDPOINT = "MIDPOINT"
    LAST_TRADE = "LAST_TRADE"
    LEADER = "LEADER"


class PriceSkip(StrEnum):
    SLIPPAGE_EXCEEDED = "SLIPPAGE_EXCEEDED"
    NO_LIQUIDITY = "NO_LIQUIDITY"
    NO_PRICE = "NO_PRICE"


@dataclass(frozen=True, slots=True)
class PriceDecision:
    limit_price: Decimal
    expected_price: Decimal
    fillable_shares: Decimal
    source: PriceSource
    tick_size: Decimal
    min_order_size: Decimal
    neg_risk: bool
    slippage_bps: Decimal
    skip: PriceSkip | None = None


def to_tick(price: Decimal, tick: Decimal, side: Side) -> Decimal:
    """Round a limit onto the tick, never past the follower's budget; clamp into [tick, 1 - tick]."""
    rounding = ROUND_FLOOR if side is Side.BUY else ROUND_CEILING
    on_tick = (price / tick).to_integral_value(rounding) * tick
    return min(max(on_tick, tick), Decimal(1) - tick)


def chase_limit(
    side: Side, book_worst: Decimal, chase_from: Decimal | None, tick: Decimal, budget: Decimal
) -> Decimal:
    """The limit to sign: the book's worst price for the size (on the tick, rounded toward the market),
    after a kill at `chase_from` at least one tick further toward the market, and never past `budget`."""
    if side is Side.BUY:
        limit = to_tick(book_worst, tick, Side.SELL)  # round up: a level between ticks needs the tick above
        if chase_from is not None:
            limit = max(limit, chase_from + tick)
        return min(limit, budget)
    limit = to_tick(book_worst, tick, Side.BUY)
    if chase_from is not None:
        limit = min(limit, chase_from - tick)
    return max(limit, budget)


@dataclass(slots=True)
class PricingStats:
    book: int = 0
    midpoint: int = 0
    last_trade: int = 0
    leader: int = 0
    book_errors: int = 0


class Pricer:
    def __init__(
        self,
        market: MarketData,
        *,
        quote_ttl_ms: int,
        max_entries: int,
        fallback_ttl_ms: int,
        force_fallback: bool = False,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._market = market
        self.quotes: TtlCache[str, OrderBook] = TtlCache(quote_ttl_ms, max_entries)
        self._fallback_ttl_s = fallback_ttl_ms / 1000
        self._force_fallback = force_fallback
        self._clock = clock
        self._meta: dict[str, OrderBook] = {}  # last book seen per token: tick size, min size, neg risk
        self._ticks: dict[str, tuple[Decimal, float]] = {}  # token -> (tick the venue announced, when)
        # A market's fee rate changes rarely (the venue announces it with the market): kept an hour.
        self.fee_rates: TtlCache[str, Decimal] = TtlCache(FEE_RATE_TTL_MS, max_entries)
        self.stats = PricingStats()

    async def book(self, token_id: str) -> OrderBook:
        book = await self.quotes.get(token_id, lambda: self._market.book(token_id))
        announced = self._ticks.get(token_id)
        if announced is not None:
            tick, at = announced
            stored = self.quotes.stored_at(token_id)
            if stored is not None and stored > at:
                del self._ticks[token_id]  # read after the change: the venue's book says the tick
            elif tick != book.tick_size:
                book = dataclasses.replace(book, tick_size=tick)  # read before the change
        self._meta[token_id] = book
        return book

    def invalidate(self, token_id: str) -> None:
        self.quotes.invalidate(token_id)

    def set_tick(self, token_id: str, tick: Decimal) -> None:
        """The venue changed the token's tick (its `tick_size_change`, or its refusal of an order off
        the tick): prices from now on are rounded to `tick`, and the book is read again."""
        self._ticks[token_id] = (tick, self.quotes.now())
        self.quotes.invalidate(token_id)
        meta = self._meta.get(token_id)
        if meta is not None:
            self._meta[token_id] = dataclasses.replace(meta, tick_size=tick)

    async def fee_rate(self, token_id: str) -> Decimal:
        """The market's taker fee rate, from the venue (cached)."""
        return await self.fee_rates.get(token_id, lambda: self._market.fee_rate(token_id))

    async def midpoint(self, token_id: str) -> Decimal | None:
        """The venue's current midpoint of a token (uncached: a mark for PnL, not for sizing)."""
        return await self._market.midpoint(token_id)

    async def price(
        self,
        token_id: str,
        side: Side,
        shares: Decimal,
        reference: Decimal,
        max_slippage_bps: int,
        reference_age_s: float,
        chase_from: Decimal | None = None,
    ) -> PriceDecision:
        """`chase_from`: the limit of the previous attempt, killed unfilled (see `chase_limit`)."""
        if not self._force_fallback:
            try:
                book = await self.book(token_id)
            except Exception as exc:  # noqa: BLE001 - any book failure falls back, and is counted
                self.stats.book_errors += 1
                log.warning("book unavailable, using fallback price", token=token_id, error=str(exc))
            else:
                side_levels = book.asks if side is Side.BUY else book.bids
                if side_levels.levels:
                    return self._from_book(book, side, shares, reference, max_slippage_bps, chase_from)
        return await self._fallback(token_id, side, shares, reference, max_slippage_bps, reference_age_s)

    def _from_book(
        self,
        book: OrderBook,
        side: Side,
        shares: Decimal,
        reference: Decimal,
        max_bps: int,
        chase_from: Decimal | None,
    ) -> PriceDecision:
        budget = to_tick(slippage_limit_price(side, reference, max_bps), book.tick_size, side)
        levels = book.asks if side is Side.BUY else book.bids
        walk = walk_book(levels, shares, budget, buying=side is Side.BUY)
        self.stats.book += 1
        skip: PriceSkip | None = None
        limit = budget
        if not walk.complete:
            unbounded = walk_book(levels, shares, None, buying=side is Side.BUY)
            skip = PriceSkip.SLIPPAGE_EXCEEDED if unbounded.shares > walk.shares else PriceSkip.NO_LIQUIDITY
        else:
            limit = chase_limit(side, walk.worst_price, chase_from, book.tick_size, budget)
        expected = walk.vwap if walk.shares > 0 else limit
        return PriceDecision(
            limit_price=limit,
            expected_price=expected,
            fillable_shares=walk.shares,
            source=PriceSource.BOOK,
            tick_size=book.tick_size,
            min_order_size=book.min_order_size,
            neg_risk=book.neg_risk,
            slippage_bps=slippage_bps(side, reference, expected),
            skip=skip,
        )

    async def _fallback(
        self,
        token_id: str,
        side: Side,
        shares: Decimal,
        reference: Decimal,
        max_bps: int,
        reference_age_s: float,
    ) -> PriceDecision:
        meta = self._meta.get(token_id)
        tick = meta.tick_size if meta else Decimal("0.01")
        price: Decimal | None = None
        source = PriceSource.LEADER
        for candidate, getter in (
            (PriceSource.MIDPOINT, self._market.midpoint),
            (PriceSource.LAST_TRADE, self._market.last_trade_price),
        ):
            try:
                price = await getter(token_id)
            except Exception as exc:  # noqa: BLE001 - try the next fallback
                log.warning(
                    "fallback price unavailable", source=str(candidate), token=token_id, error=str(exc)
                )
                price = None
            if price is not None and price > 0:
                source = candidate
                break
        if price is None or price <= 0:
            if reference_age_s > self._fallback_ttl_s:
                return self._decision(
                    Decimal(0),
                    Decimal(0),
                    tick,
                    meta,
                    side,
                    reference,
                    PriceSource.LEADER,
                    PriceSkip.NO_PRICE,
                )
            price, source = reference, PriceSource.LEADER
        limit = to_tick(slippage_limit_price(side, reference, max_bps), tick, side)
        within = price <= limit if side is Side.BUY else price >= limit
        skip = None if within else PriceSkip.SLIPPAGE_EXCEEDED
        counter = {
            PriceSource.MIDPOINT: "midpoint",
            PriceSource.LAST_TRADE: "last_trade",
            PriceSource.LEADER: "leader",
        }
        setattr(self.stats, counter[source], getattr(self.stats, counter[source]) + 1)
        return self._decision(limit, price, tick, meta, side, reference, source, skip, shares)

    @staticmethod
    def _decision(
        limit: Decimal,
        expected: Decimal,
        tick: Decimal,
        meta: OrderBook | None,
        side: Side,
        reference: Decimal,
        source: PriceSource,
        skip: PriceSkip | None,
        shares: Decimal = Decimal(0),
    ) -> PriceDecision:
        return PriceDecision(
            limit_price=limit,
            expected_price=expected,
            fillable_shares=shares,
            source=source,
            tick_size=tick,
            min_order_size=meta.min_order_size if meta else Decimal(5),
            neg_risk=meta.neg_risk if meta else False,
            slippage_bps=slippage_bps(side, reference, expected) if expected > 0 else Decimal(0),
            skip=skip,
        )
