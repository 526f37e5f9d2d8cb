"""Order amount math: the protocol reference's worked examples and agreement with py_clob_client_v2."""

from __future__ import annotations

import math
from decimal import Decimal

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from py_clob_client_v2.order_builder.builder import ROUNDING_CONFIG as SDK_ROUNDING
from py_clob_client_v2.order_builder.builder import OrderBuilder

from polyhunter.domain.order_math import (
    ROUNDING_CONFIG,
    TICK_SIZES,
    InvalidPriceError,
    OrderAmounts,
    decimal_places,
    get_market_order_amounts,
    get_order_amounts,
    is_valid_price,
    market_buy_notional,
    market_buy_spend,
    parse_tick_size,
    round_down,
    round_normal,
    round_up,
    tick_allowed,
    to_token_decimals,
    validate_price,
)
from polyhunter.domain.signal import Side
from polyhunter.sim.amounts import order_terms_from_amounts
from polyhunter.sim.units import cost, lot_floor

D = Decimal
SDK = OrderBuilder(signer=None)  # amount helpers use no signer


@pytest.mark.parametrize(
    ("side", "size", "price", "tick", "maker", "taker"),
    [
        (Side.BUY, "5", "0.53", "0.01", 2650000, 5000000),
        (Side.BUY, "10", "0.47", "0.01", 4700000, 10000000),
        (Side.BUY, "15", "0.24", "0.01", 3600000, 15000000),
        (Side.SELL, "15", "0.24", "0.01", 15000000, 3600000),
        (Side.BUY, "101", "0.82", "0.01", 82820000, 101000000),
        (Side.BUY, "12.345", "0.123", "0.001", 1517820, 12340000),
    ],
)
def test_limit_examples(side: Side, size: str, price: str, tick: str, maker: int, taker: int) -> None:
    amounts = get_order_amounts(side, D(size), D(price), tick)
    assert (amounts.side, amounts.maker_amount, amounts.taker_amount) == (side, maker, taker)


@pytest.mark.parametrize(
    ("side", "amount", "price", "tick", "maker", "taker"),
    [
        (Side.BUY, "10", "0.53", "0.01", 10000000, 18867900),
        (Side.BUY, "10", "0.537", "0.001", 10000000, 18621970),
        (Side.SELL, "18.8679", "0.53", "0.01", 18860000, 9995800),
    ],
)
def test_market_examples(side: Side, amount: str, price: str, tick: str, maker: int, taker: int) -> None:
    amounts = get_market_order_amounts(side, D(amount), D(price), tick)
    assert (amounts.maker_amount, amounts.taker_amount) == (maker, taker)


def test_rounding_table_matches_sdk() -> None:
    assert [str(t) for t in TICK_SIZES] == list(SDK_ROUNDING)
    for tick, cfg in ROUNDING_CONFIG.items():
        sdk = SDK_ROUNDING[str(tick)]
        assert (cfg.price, cfg.size, cfg.amount) == (sdk.price, sdk.size, sdk.amount)


def test_rounding_helpers() -> None:
    assert round_down(D("1.239"), 2) == D("1.23")
    assert round_down(D("-1.231"), 2) == D("-1.24")
    assert round_up(D("1.231"), 2) == D("1.24")
    assert round_up(D("1.23"), 2) == D("1.23")
    assert round_normal(D("0.125"), 2) == D("0.12")  # half to even, like Python's round
    assert round_normal(D("0.135"), 2) == D("0.14")
    assert decimal_places(D("2.6500")) == 2
    assert decimal_places(D("100")) == 0
    assert to_token_decimals(D("2.65")) == 2650000
    assert to_token_decimals(D("0.0000005")) == 0
    assert to_token_decimals(D("0.0000015")) == 2


def test_price_validity() -> None:
    assert is_valid_price(D("0.01"), "0.01")
    assert is_valid_price(D("0.99"), "0.01")
    assert not is_valid_price(D("0.995"), "0.01")
    assert not is_valid_price(D("1"), "0.01")
    assert not is_valid_price(D("0"), "0.01")
    assert is_valid_price(D("0.9975"), "0.0025")
    assert not is_valid_price(D("0.9976"), "0.0025")
    assert is_valid_price(D("0.535"), "0.005")
    assert not is_valid_price(D("0.536"), "0.005")
    with pytest.raises(InvalidPriceError, match="tick size rule"):
        validate_price(D("0.531"), "0.01")
    with pytest.raises(InvalidPriceError, match="outside"):
        validate_price(D("0.999"), "0.01")
    with pytest.raises(InvalidPriceError, match="unknown tick"):
        parse_tick_size("0.02")
    assert parse_tick_size("0.010") == D("0.01")
    assert tick_allowed("0.01", "0.001")
    assert not tick_allowed("0.001", "0.01")


def test_market_buy_rejects_zero_price() -> None:
    with pytest.raises(InvalidPriceError):
        get_market_order_amounts(Side.BUY, D("10"), D("0.001"), "0.01")


@st.composite
def priced(draw: st.DrawFn) -> tuple[Side, Decimal, Decimal, Decimal]:
    tick = draw(st.sampled_from(TICK_SIZES))
    ticks = draw(st.integers(1, int((1 - tick) / tick)))
    size = D(draw(st.integers(1, 10**9))).scaleb(-draw(st.integers(0, 4)))
    side = draw(st.sampled_from([Side.BUY, Side.SELL]))
    return side, size, tick * ticks, tick


def sdk_floor_is_exact(x: Decimal, digits: int) -> bool:
    """False where the SDK's float ``floor(x * 10**digits)`` lands one unit low (e.g. 4.1 -> 409.99...)."""
    factor: int = 10**digits
    return math.floor(float(x) * factor) == math.floor(x.scaleb(digits))


def sdk_float_is_exact(amounts: OrderAmounts, tick: Decimal) -> bool:
    """False where an amount x 10**(amount decimals + 4) passes 2**50: there the SDK's floats cannot hold
    the digits it rounds at (754265.7 shares x 0.75 at tick 0.0025 comes out 1 micro-unit short)."""
    scale: int = 10 ** (ROUNDING_CONFIG[tick].amount + 4)
    return max(amounts.maker_amount, amounts.taker_amount) * scale < 2**50 * 10**6


def test_known_sdk_float_truncations_are_not_reproduced() -> None:
    # The SDK floors 4.1 * 100 = 409.99999999999994 to 409: a 4.1-share BUY is signed for 4.09 shares.
    cfg = SDK_ROUNDING["0.1"]
    assert SDK.get_order_amounts("BUY", 4.1, 0.1, cfg)[1:] == (409000, 4090000)
    assert get_order_amounts(Side.BUY, D("4.1"), D("0.1"), "0.1").taker_amount == 4100000
    # V2 market orders round the price down in floats: 0.29 * 100 = 28.999999999999996 -> 0.28, so the
    # SDK asks for 10/0.28 shares (a worse-than-requested limit). We keep the requested 0.29.
    cfg = SDK_ROUNDING["0.01"]
    assert SDK.get_market_order_amounts("BUY", 10.0, 0.29, cfg)[1:] == (10000000, 35714200)
    assert get_market_order_amounts(Side.BUY, D("10"), D("0.29"), "0.01").taker_amount == 34482700
    assert not sdk_floor_is_exact(D("4.1"), 2)
    assert not sdk_floor_is_exact(D("0.29"), 2)
    assert sdk_floor_is_exact(D("0.53"), 2)


@settings(max_examples=2000, deadline=None)
@given(priced())
def test_limit_amounts_match_sdk(case: tuple[Side, Decimal, Decimal, Decimal]) -> None:
    side, size, price, tick = case
    assume(sdk_floor_is_exact(size, 2))
    cfg = SDK_ROUNDING[str(tick)]
    _, sdk_maker, sdk_taker = SDK.get_order_amounts(side.value, float(size), float(price), cfg)
    ours = get_order_amounts(side, size, price, tick)
    assume(sdk_float_is_exact(ours, tick))
    assert (ours.maker_amount, ours.taker_amount) == (sdk_maker, sdk_taker)


@settings(max_examples=2000, deadline=None)
@given(priced())
def test_market_amounts_match_sdk(case: tuple[Side, Decimal, Decimal, Decimal]) -> None:
    side, amount, price, tick = case
    assume(sdk_floor_is_exact(amount, 2) and sdk_floor_is_exact(price, ROUNDING_CONFIG[tick].price))
    cfg = SDK_ROUNDING[str(tick)]
    _, sdk_maker, sdk_taker = SDK.get_market_order_amounts(side.value, float(amount), float(price), cfg)
    ours = get_market_order_amounts(side, amount, price, tick)
    assume(sdk_float_is_exact(ours, tick))
    assert (ours.maker_amount, ours.taker_amount) == (sdk_maker, sdk_taker)


def test_a_dollar_spend_can_count_under_a_dollar() -> None:
    # the copy the fan-out e2e saw refused: 2.33 shares at 0.43 spend $1.00 and buy 2.32 shares in lots
    assert market_buy_spend(Decimal("2.33"), Decimal("0.43")) == Decimal("1.00")
    assert market_buy_notional(Decimal("2.33"), Decimal("0.43"), "0.01") == Decimal("0.9976")


@given(
    shares=st.decimals(min_value=Decimal("0.01"), max_value=Decimal(5000), places=2),
    ticks=st.integers(min_value=1, max_value=999),
    tick=st.sampled_from(["0.01", "0.001"]),
)
def test_market_buy_notional_is_what_the_simulator_counts(shares: Decimal, ticks: int, tick: str) -> None:
    """The engine's view of the $1 minimum equals the simulator's, which reads the signed amounts."""
    t = Decimal(tick)
    price = (ticks % 99 + 1) * t if tick == "0.01" else ticks * t
    assume(market_buy_spend(shares, price) >= 1)  # around the $1 minimum and above
    amounts = get_market_order_amounts(Side.BUY, market_buy_spend(shares, price), price, t)
    sim_price, sim_size = order_terms_from_amounts(Side.BUY, amounts.maker_amount, amounts.taker_amount, t)
    assume(sim_price == price)  # an implied price off the tick grid is refused by the venue anyway
    counted = Decimal(cost(lot_floor(sim_size), int(sim_price * 1_000_000))) / 1_000_000
    assert abs(market_buy_notional(shares, price, t) - counted) <= Decimal("0.000001")
    assert market_buy_notional(shares, price, t) <= market_buy_spend(shares, price)
