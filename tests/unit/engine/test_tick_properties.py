"""Tick rounding, property-tested for every tick size the venue uses: a limit lands on the grid,
inside [tick, 1 - tick], within one tick of the price, and rounded in the side's safe direction (a
BUY never pays more than asked, a SELL never accepts less); the price chase steps on the same grid and
never passes its budget."""

from __future__ import annotations

from decimal import Decimal

from hypothesis import given
from hypothesis import strategies as st

from polyhunter.domain.order_math import TICK_SIZES, is_valid_price, round_down, round_up
from polyhunter.domain.signal import Side
from polyhunter.engine.pricing import chase_limit, to_tick

TICKS = [
    Decimal("0.1"),
    Decimal("0.01"),
    Decimal("0.005"),
    Decimal("0.001"),
    Decimal("0.0025"),
    Decimal("0.0001"),
]
prices = st.decimals(
    min_value="0.00001", max_value="0.99999", places=7, allow_nan=False, allow_infinity=False
)
ticks = st.sampled_from(TICKS)
sides = st.sampled_from([Side.BUY, Side.SELL])


def test_every_venue_tick_is_covered() -> None:
    assert set(TICKS) == set(TICK_SIZES)


@given(prices, ticks, sides)
def test_to_tick_is_on_the_grid_within_a_tick_and_safe(price: Decimal, tick: Decimal, side: Side) -> None:
    limit = to_tick(price, tick, side)
    assert limit % tick == 0
    assert is_valid_price(limit, tick)  # the venue's own rule (order_math) accepts it
    if tick <= price <= 1 - tick:
        assert abs(limit - price) < tick
        if side is Side.BUY:
            assert limit <= price
        else:
            assert limit >= price
    else:  # outside the tradable range: clamped to its edge
        assert limit in (tick, 1 - tick)


@given(prices, ticks)
def test_to_tick_of_an_on_grid_price_is_that_price(price: Decimal, tick: Decimal) -> None:
    on_grid = max(tick, min(1 - tick, (price / tick).to_integral_value() * tick))
    assert to_tick(on_grid, tick, Side.BUY) == to_tick(on_grid, tick, Side.SELL) == on_grid


@given(prices, st.integers(min_value=0, max_value=6))
def test_round_helpers_bracket_the_value(price: Decimal, digits: int) -> None:
    down, up = round_down(price, digits), round_up(price, digits)
    step = Decimal(1).scaleb(-digits)
    assert down <= price <= up
    assert up - down in (0, step)


@given(prices, prices, ticks, sides, st.integers(min_value=0, max_value=30))
def test_chase_steps_on_the_grid_and_never_past_the_budget(
    worst: Decimal, reference: Decimal, tick: Decimal, side: Side, steps: int
) -> None:
    budget = to_tick(reference, tick, side)
    book_worst = to_tick(worst, tick, side)
    limit = chase_limit(side, book_worst, None, tick, budget)
    for _ in range(steps):
        assert limit % tick == 0
        if side is Side.BUY:
            assert limit <= budget
        else:
            assert limit >= budget
        nxt = chase_limit(side, book_worst, limit, tick, budget)
        if limit != budget:  # one tick further toward the market (or to the book, or the budget)
            assert (nxt > limit) if side is Side.BUY else (nxt < limit)
            assert abs(nxt - limit) >= tick or nxt == budget
        else:
            assert nxt == budget
        limit = nxt
