"""One price-time priority book per market, kept in the primary token's price space.

Polymarket matches the two outcome tokens of a binary market against each other (CTF matching):
a BUY of the second token at q offers the primary token at 1 - q (a MINT when it meets a primary
BUY), and a SELL of the second token at q bids for the primary token at 1 - q (a MERGE when it meets
a primary SELL). Keeping every order in one book in primary-token prices makes the best effective
price across both tokens the best level of one side, makes time priority across both tokens a plain
FIFO per level, and makes "no crossed book" a single check: best bid < best ask.

The book of the second token is the mirror image: its bids are the primary asks at 1 - p and its
asks are the primary bids at 1 - p, with the same sizes (live ``price_change`` messages show the
same size at complementary prices on both tokens).
"""

from __future__ import annotations

from bisect import bisect_left, insort
from collections import deque
from collections.abc import Iterator

from polyhunter.sim.orders import Order


class BookSide:
    """Price levels of one side: FIFO queue and total open size per level, prices kept sorted."""

    __slots__ = ("bid", "levels", "prices", "totals")

    def __init__(self, bid: bool) -> None:
        self.bid = bid
        self.levels: dict[int, deque[Order]] = {}
        self.totals: dict[int, int] = {}
        self.prices: list[int] = []  # ascending

    def best(self) -> int | None:
        if not self.prices:
            return None
        return self.prices[-1] if self.bid else self.prices[0]

    def crosses(self, price: int) -> bool:
        """Would an incoming order of the opposite side at ``price`` match this side's best level?"""
        best = self.best()
        if best is None:
            return False
        return best >= price if self.bid else best <= price

    def add(self, order: Order) -> None:
        price = order.book_price
        queue = self.levels.get(price)
        if queue is None:
            queue = deque()
            self.levels[price] = queue
            self.totals[price] = 0
            insort(self.prices, price)
        queue.append(order)
        self.totals[price] += order.remaining

    def remove(self, order: Order) -> None:
        price = order.book_price
        queue = self.levels[price]
        queue.remove(order)
        self.totals[price] -= order.remaining
        if not queue:
            self._drop_level(price)

    def filled(self, order: Order, size: int) -> None:
        """``size`` of ``order`` (the front of its level) was matched; drop it when done."""
        price = order.book_price
        self.totals[price] -= size
        if order.remaining == 0:
            queue = self.levels[price]
            queue.popleft()
            if not queue:
                self._drop_level(price)

    def _drop_level(self, price: int) -> None:
        del self.levels[price]
        del self.totals[price]
        del self.prices[bisect_left(self.prices, price)]

    def total_at(self, price: int) -> int:
        return self.totals.get(price, 0)

    def best_first(self) -> Iterator[int]:
        return reversed(self.prices) if self.bid else iter(self.prices)

    def fillable(self, limit: int, wanted: int) -> int:
        """Open size on this side an incoming order limited at ``limit`` could match, capped at ``wanted``."""
        got = 0
        for price in self.best_first():
            if (price < limit) if self.bid else (price > limit):
                break
            got += self.totals[price]
            if got >= wanted:
                return wanted
        return got

    def levels_worst_first(self) -> list[tuple[int, int]]:
        """(price, total) pairs worst-first like the live book: bids ascending, asks descending."""
        order = self.prices if self.bid else reversed(self.prices)
        return [(p, self.totals[p]) for p in order]

    def orders(self) -> Iterator[Order]:
        for price in self.prices:
            yield from self.levels[price]


class MarketBook:
    """Both sides of one market's book, plus the set of levels touched since the last drain."""

    __slots__ = ("asks", "bids", "touched")

    def __init__(self) -> None:
        self.bids = BookSide(bid=True)
        self.asks = BookSide(bid=False)
        self.touched: dict[tuple[bool, int], None] = {}

    def side(self, bid: bool) -> BookSide:
        return self.bids if bid else self.asks

    def touch(self, bid: bool, price: int) -> None:
        self.touched[(bid, price)] = None

    def drain_touched(self) -> list[tuple[bool, int, int]]:
        """(bid, price, new total) of every touched level, in the order first touched."""
        out = [(bid, price, self.side(bid).total_at(price)) for bid, price in self.touched]
        self.touched.clear()
        return out

    def is_crossed(self) -> bool:
        bid, ask = self.bids.best(), self.asks.best()
        return bid is not None and ask is not None and bid >= ask
