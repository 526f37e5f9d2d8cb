"""Views of a market's one book as the two tokens' books: snapshots, best prices, level changes.

The book is kept in the primary token's prices (``book.py``); the second token sees it mirrored:
its bids are the primary asks at 1 - p and its asks the primary bids at 1 - p.
"""

from __future__ import annotations

from decimal import Decimal

from polyhunter.domain.signal import Side
from polyhunter.sim.book import MarketBook
from polyhunter.sim.events import BookChange, BookSnapshot, Event, Level
from polyhunter.sim.markets import Market
from polyhunter.sim.units import MICRO, price_decimal

BestPrices = tuple[Decimal | None, Decimal | None]


def best_prices(market: Market, book: MarketBook, token_id: str) -> BestPrices:
    """(best bid, best ask) of ``token_id``."""
    bid, ask = book.bids.best(), book.asks.best()
    if token_id != market.tokens[0]:
        bid, ask = (None if ask is None else MICRO - ask), (None if bid is None else MICRO - bid)
    return (
        None if bid is None else price_decimal(bid),
        None if ask is None else price_decimal(ask),
    )


def snapshot(
    market: Market, book: MarketBook, token_id: str, now_ms: int, last: tuple[Decimal, Side] | None
) -> BookSnapshot:
    """``token_id``'s book, levels worst-first like live (bids ascending, asks descending)."""
    bids = book.bids.levels_worst_first()
    asks = book.asks.levels_worst_first()
    if token_id != market.tokens[0]:
        bids, asks = [(MICRO - p, s) for p, s in asks], [(MICRO - p, s) for p, s in bids]
    return BookSnapshot(
        market=market.condition_id,
        asset_id=token_id,
        timestamp_ms=now_ms,
        bids=tuple(Level(price_decimal(p), s) for p, s in bids),
        asks=tuple(Level(price_decimal(p), s) for p, s in asks),
        tick_size=market.tick_size,
        min_order_size=market.min_order_size,
        neg_risk=market.neg_risk,
        last_trade_price=None if last is None else last[0],
        last_trade_side=None if last is None else last[1],
    )


def book_changes(market: Market, book: MarketBook, now_ms: int) -> list[Event]:
    """One ``BookChange`` per touched level and token (primary first, then its mirror)."""
    changes = book.drain_touched()
    if not changes:
        return []
    primary, secondary = market.tokens
    bid0, ask0 = best_prices(market, book, primary)
    bid1, ask1 = best_prices(market, book, secondary)
    cid = market.condition_id
    out: list[Event] = []
    for bid, price, total in changes:
        out.append(
            BookChange(
                cid, primary, Side.BUY if bid else Side.SELL, price_decimal(price), total, bid0, ask0, now_ms
            )
        )
        out.append(
            BookChange(
                cid,
                secondary,
                Side.SELL if bid else Side.BUY,
                price_decimal(MICRO - price),
                total,
                bid1,
                ask1,
                now_ms,
            )
        )
    return out
