"""Quote cache (TTL, in-flight de-dup, eviction) and the pricing fallback chain."""

from __future__ import annotations

import asyncio
from decimal import Decimal

import pytest

from polyhunter.domain.book_math import BookSide, Level
from polyhunter.domain.orders import OrderBook
from polyhunter.domain.signal import Side
from polyhunter.engine.pricing import Pricer, PriceSkip, PriceSource, to_tick
from polyhunter.engine.stage_metrics import StageMetrics
from polyhunter.engine.ttl_cache import TtlCache


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


async def test_inflight_dedup_loads_once() -> None:
    cache: TtlCache[str, int] = TtlCache(1000, 10)
    calls = 0

    async def load() -> int:
        nonlocal calls
        calls += 1
        await asyncio.sleep(0.01)
        return 7

    values = await asyncio.gather(*(cache.get("tok", load) for _ in range(100)))
    assert values == [7] * 100
    assert calls == 1
    assert cache.stats.misses == 1
    assert cache.stats.inflight_joins == 99
    assert await cache.get("tok", load) == 7
    assert cache.stats.hits == 1


async def test_inflight_error_reaches_every_waiter_and_is_not_cached() -> None:
    cache: TtlCache[str, int] = TtlCache(1000, 10)

    async def boom() -> int:
        await asyncio.sleep(0.01)
        raise RuntimeError("down")

    results = await asyncio.gather(*(cache.get("t", boom) for _ in range(5)), return_exceptions=True)
    assert all(isinstance(r, RuntimeError) for r in results)
    assert len(cache) == 0


async def test_ttl_and_size_eviction() -> None:
    clock = Clock()
    cache: TtlCache[int, int] = TtlCache(500, 3, clock=clock)
    for i in range(5):
        cache.put(i, i)
    assert len(cache) == 3
    assert cache.stats.evictions == 2
    assert cache.peek(0) is None
    clock.now = 1.0
    calls = 0

    async def load() -> int:
        nonlocal calls
        calls += 1
        return 99

    assert await cache.get(4, load) == 99
    assert (calls, cache.stats.expirations) == (1, 1)


def _book(asks: list[tuple[str, str]], bids: list[tuple[str, str]]) -> OrderBook:
    return OrderBook(
        "tok",
        BookSide(tuple(Level(Decimal(p), Decimal(s)) for p, s in bids)),
        BookSide(tuple(Level(Decimal(p), Decimal(s)) for p, s in asks)),
        Decimal("0.01"),
        Decimal(5),
        False,
        0,
    )


class Market:
    def __init__(
        self, book: OrderBook | None, mid: Decimal | None = None, last: Decimal | None = None
    ) -> None:
        self._book, self._mid, self._last = book, mid, last
        self.book_calls = 0

    async def book(self, token_id: str) -> OrderBook:
        self.book_calls += 1
        if self._book is None:
            raise ConnectionError("no book")
        return self._book

    async def midpoint(self, token_id: str) -> Decimal | None:
        return self._mid

    async def last_trade_price(self, token_id: str) -> Decimal | None:
        return self._last

    async def fee_rate(self, token_id: str) -> Decimal:
        return Decimal(0)


def _pricer(market: Market, force: bool = False) -> Pricer:
    return Pricer(market, quote_ttl_ms=1000, max_entries=10, fallback_ttl_ms=10_000, force_fallback=force)


async def test_book_walk_within_slippage() -> None:
    market = Market(_book([("0.50", "10"), ("0.51", "100")], [("0.48", "50")]))
    decision = await _pricer(market).price("tok", Side.BUY, Decimal(20), Decimal("0.50"), 200, 1.0)
    assert decision.skip is None
    assert decision.source is PriceSource.BOOK
    assert decision.limit_price == Decimal("0.51")
    assert decision.expected_price == Decimal("0.505")
    too_big = await _pricer(market).price("tok", Side.BUY, Decimal(500), Decimal("0.50"), 200, 1.0)
    assert too_big.skip is PriceSkip.NO_LIQUIDITY
    tight = await _pricer(market).price("tok", Side.BUY, Decimal(20), Decimal("0.50"), 0, 1.0)
    assert tight.skip is PriceSkip.SLIPPAGE_EXCEEDED


async def test_chase_steps_toward_the_market_within_the_budget() -> None:
    market = Market(_book([("0.50", "10"), ("0.51", "100")], [("0.48", "50"), ("0.47", "50")]))
    pricer = _pricer(market)
    first = await pricer.price("tok", Side.BUY, Decimal(5), Decimal("0.50"), 400, 1.0)
    assert first.limit_price == Decimal("0.50")  # the worst level the size needs, not the budget (0.52)
    second = await pricer.price("tok", Side.BUY, Decimal(5), Decimal("0.50"), 400, 1.0, first.limit_price)
    assert second.limit_price == Decimal("0.51")
    third = await pricer.price("tok", Side.BUY, Decimal(5), Decimal("0.50"), 400, 1.0, second.limit_price)
    assert third.limit_price == Decimal("0.52")
    fourth = await pricer.price("tok", Side.BUY, Decimal(5), Decimal("0.50"), 400, 1.0, third.limit_price)
    assert fourth.limit_price == Decimal("0.52")  # the budget: the chase cannot go further
    sell = await pricer.price("tok", Side.SELL, Decimal(60), Decimal("0.48"), 300, 1.0)
    assert sell.limit_price == Decimal("0.47")
    chased = await pricer.price("tok", Side.SELL, Decimal(60), Decimal("0.48"), 300, 1.0, sell.limit_price)
    assert chased.limit_price == Decimal("0.47")  # budget 0.4656 rounds up to 0.47


async def test_fallback_chain() -> None:
    assert (
        await _pricer(Market(None, mid=Decimal("0.5"))).price(
            "t", Side.BUY, Decimal(1), Decimal("0.5"), 100, 1
        )
    ).source is PriceSource.MIDPOINT
    assert (
        await _pricer(Market(None, last=Decimal("0.5"))).price(
            "t", Side.BUY, Decimal(1), Decimal("0.5"), 100, 1
        )
    ).source is PriceSource.LAST_TRADE
    leader = await _pricer(Market(None)).price("t", Side.BUY, Decimal(1), Decimal("0.5"), 100, 1)
    assert (leader.source, leader.skip) == (PriceSource.LEADER, None)
    stale = await _pricer(Market(None)).price("t", Side.BUY, Decimal(1), Decimal("0.5"), 100, 60)
    assert stale.skip is PriceSkip.NO_PRICE
    far = await _pricer(Market(None, mid=Decimal("0.6"))).price(
        "t", Side.BUY, Decimal(1), Decimal("0.5"), 100, 1
    )
    assert far.skip is PriceSkip.SLIPPAGE_EXCEEDED


async def test_forced_fallback_skips_the_book() -> None:
    market = Market(_book([("0.50", "10")], []), mid=Decimal("0.5"))
    decision = await _pricer(market, force=True).price("tok", Side.BUY, Decimal(1), Decimal("0.5"), 100, 1)
    assert decision.source is PriceSource.MIDPOINT
    assert market.book_calls == 0


@pytest.mark.parametrize(
    ("price", "side", "expected"),
    [
        ("0.517", Side.BUY, "0.51"),
        ("0.513", Side.SELL, "0.52"),
        ("1.2", Side.BUY, "0.99"),
        ("0", Side.SELL, "0.01"),
    ],
)
def test_to_tick(price: str, side: Side, expected: str) -> None:
    assert to_tick(Decimal(price), Decimal("0.01"), side) == Decimal(expected)


def test_stage_metrics_percentiles() -> None:
    metrics = StageMetrics(registry=None)
    for i in range(1, 101):
        metrics.observe("pricing", i / 1000)
    stats = metrics.snapshot()["pricing"]
    assert stats.count == 100
    assert 49 <= stats.p50_ms <= 51
    assert 98 <= stats.p99_ms <= 100
    assert stats.max_ms == 100
