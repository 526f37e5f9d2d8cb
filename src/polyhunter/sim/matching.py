"""The crossing loop and the settlement of each fill (NORMAL, MINT, MERGE).

A fill of ``size`` shares between a taker and a maker happens at the maker's price ``pm`` (the taker
gets any price improvement). Each side pays or receives at its own token's price:

* NORMAL (same token, BUY vs SELL): the buyer pays ``size * pm`` to the seller.
* MINT (BUY vs BUY of the two tokens): the maker pays ``size * pm``, the taker ``size * (1 - pm)``;
  together exactly ``size`` pUSD, which becomes ``size`` full sets split between them.
* MERGE (SELL vs SELL): ``size`` full sets are merged; the maker receives ``size * pm``, the taker
  ``size * (1 - pm)``.
Sizes are lot-aligned and prices tick-aligned, so every amount is an exact integer of micro-pUSD.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from polyhunter.domain.signal import Side
from polyhunter.sim.accounts import Ledger
from polyhunter.sim.book import BookSide, MarketBook
from polyhunter.sim.events import MakerFill
from polyhunter.sim.markets import Market
from polyhunter.sim.orders import MatchType, Order
from polyhunter.sim.units import MICRO, cost, fee_exact, round_fee


@dataclass(slots=True)
class Sweep:
    """What one taker order matched: maker fills, the taker's pUSD total and its exact fee."""

    fills: list[MakerFill]
    makers: list[Order]
    taker_usdc: int = 0
    fee_exact: Decimal = Decimal(0)


def match_type(taker: Order, maker: Order) -> MatchType:
    if taker.is_primary == maker.is_primary:
        return MatchType.NORMAL
    return MatchType.MINT if taker.side is Side.BUY else MatchType.MERGE


def crosses(side: BookSide, limit: int) -> bool:
    """Is the best level of ``side`` (the resting side opposite an incoming order) within ``limit``?"""
    return side.crosses(limit)


def fee_bound(size: int, limit: int, rate: Decimal) -> int:
    """Most a BUY taker of ``size`` at ``limit`` can owe in fees (reserved up front, excess released)."""
    if not rate:
        return 0
    worst = limit if limit <= MICRO // 2 else MICRO // 2
    return round_fee(fee_exact(size, worst, rate)) + 10


def sweep(market: Market, book: MarketBook, ledger: Ledger, taker: Order) -> Sweep:
    """Match ``taker`` against the opposite side of ``book`` until it is filled or stops crossing."""
    opposite = book.side(not taker.book_bid)
    limit = taker.book_price
    result = Sweep(fills=[], makers=[])
    rate = market.taker_fee_rate
    while taker.remaining > 0:
        best = opposite.best()
        if best is None or (best < limit if opposite.bid else best > limit):
            break
        maker = opposite.levels[best][0]
        size = min(taker.remaining, maker.remaining)
        kind = match_type(taker, maker)
        taker_price = maker.price if kind is MatchType.NORMAL else MICRO - maker.price
        maker_usdc = cost(size, maker.price)
        taker_usdc = cost(size, taker_price)
        _settle(ledger, maker, size, maker_usdc)
        _settle(ledger, taker, size, taker_usdc)
        if kind is MatchType.MINT:
            ledger.mint_sets(market.condition_id, market.tokens, size)
        elif kind is MatchType.MERGE:
            ledger.merge_sets(market.condition_id, market.tokens, size)
        maker.matched += size
        taker.matched += size
        opposite.filled(maker, size)
        book.touch(opposite.bid, best)
        result.taker_usdc += taker_usdc
        result.fee_exact += fee_exact(size, taker_price, rate)
        result.makers.append(maker)
        result.fills.append(
            MakerFill(
                order_id=maker.order_id,
                owner=maker.owner,
                api_owner=maker.api_owner,
                token_id=maker.token_id,
                outcome=maker.outcome,
                side=maker.side,
                price=maker.price_decimal,
                size=size,
                usdc=maker_usdc,
                match_type=kind,
            )
        )
    return result


def _settle(ledger: Ledger, order: Order, size: int, usdc: int) -> None:
    if order.side is Side.BUY:
        release = cost(size, order.price)  # reserved at the order's own limit
        order.reserved -= release
        ledger.buy_fill(order.owner, order.token_id, size, usdc, release)
    else:
        order.reserved -= size
        ledger.sell_fill(order.owner, order.token_id, size, usdc)


def taker_fee(market: Market, swept: Sweep) -> int:
    """Taker fee in micro-pUSD for a sweep: never more than a SELL taker receives."""
    fee = round_fee(swept.fee_exact) if market.taker_fee_rate else 0
    return min(fee, swept.taker_usdc)
