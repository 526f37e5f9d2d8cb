"""Sizing modes, bounds, position cap and sell mirroring (property tests)."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from polyhunter.domain.copy_config import CopyConfig, SizingMode
from polyhunter.domain.signal import Side, Signal, SourceKind
from polyhunter.domain.sizing import SizeSkip, SizingContext, mirror_sell_shares, size_copy

NOW = datetime(2026, 11, 1, tzinfo=UTC)
prices = st.decimals(min_value="0.01", max_value="0.99", places=2)
shares = st.decimals(min_value="0.01", max_value="100000", places=2)
positions = st.decimals(min_value="0", max_value="100000", places=2)


def signal(side: Side, size: Decimal, price: Decimal) -> Signal:
    return Signal("k", "0xleader", "123", "0xc", side, size, price, "0xtx", NOW, NOW, SourceKind.WS)


def config(mode: SizingMode, value: str, **kw: Any) -> CopyConfig:
    return CopyConfig(
        id=1, version=1, user_id=1, leader="0xleader", sizing=mode, sizing_value=Decimal(value), **kw
    )


def test_each_mode() -> None:
    sig = signal(Side.BUY, Decimal(100), Decimal("0.50"))  # leader notional 50
    assert size_copy(config(SizingMode.FIXED_USDC, "10"), sig, SizingContext()).shares == Decimal(20)
    assert size_copy(config(SizingMode.PERCENT_OF_LEADER, "10"), sig, SizingContext()).notional == Decimal(5)
    assert size_copy(config(SizingMode.MULTIPLIER, "0.25"), sig, SizingContext()).shares == Decimal(25)
    ctx = SizingContext(follower_equity=Decimal(1000), leader_equity=Decimal(10000))
    assert size_copy(config(SizingMode.PROPORTIONAL, "0"), sig, ctx).shares == Decimal(10)
    assert size_copy(config(SizingMode.PROPORTIONAL, "0"), sig, SizingContext()).skip is SizeSkip.NO_EQUITY


@given(
    prices, shares, st.decimals(min_value="1", max_value="1000", places=2), st.decimals("1", "500", places=2)
)
def test_buy_never_exceeds_max_and_is_on_share_step(
    price: Decimal, size: Decimal, fixed: Decimal, cap: Decimal
) -> None:
    decision = size_copy(
        config(SizingMode.FIXED_USDC, str(fixed), max_trade_usdc=cap),
        signal(Side.BUY, size, price),
        SizingContext(),
    )
    if decision.skip is None:
        assert decision.notional <= cap
        assert decision.notional <= fixed
        assert decision.shares == decision.shares.quantize(Decimal("0.01"))
        assert decision.notional == decision.shares * price


@given(prices, shares, st.decimals("1", "1000", places=2), st.decimals("0", "1000", places=2))
def test_position_cap(price: Decimal, size: Decimal, cap: Decimal, held: Decimal) -> None:
    cfg = config(SizingMode.MULTIPLIER, "1", max_position_usdc=cap)
    decision = size_copy(cfg, signal(Side.BUY, size, price), SizingContext(follower_market_notional=held))
    if held >= cap:
        assert decision.skip is SizeSkip.POSITION_CAP_REACHED
    elif decision.skip is None:
        assert held + decision.notional <= cap


def test_below_min_trade() -> None:
    cfg = config(SizingMode.FIXED_USDC, "2", min_trade_usdc=Decimal(5))
    assert (
        size_copy(cfg, signal(Side.BUY, Decimal(10), Decimal("0.5")), SizingContext()).skip
        is SizeSkip.BELOW_MIN_TRADE
    )


@given(shares, positions, positions)
def test_mirror_sell_fraction(leader_sell: Decimal, leader_before: Decimal, follower: Decimal) -> None:
    sold = mirror_sell_shares(leader_sell, leader_before, follower)
    assert Decimal(0) <= sold <= follower
    if leader_before > leader_sell and follower > 0:
        exact = follower * leader_sell / leader_before
        assert exact - Decimal("0.01") < sold <= exact
    elif follower > 0:
        assert sold == follower.quantize(Decimal("0.01"), rounding="ROUND_DOWN")


def test_partial_sell_mirrors_fraction_and_full_exit() -> None:
    cfg = config(SizingMode.FIXED_USDC, "10")
    sell = signal(Side.SELL, Decimal(25), Decimal("0.6"))
    half = size_copy(
        cfg, sell, SizingContext(follower_position_shares=Decimal(40), leader_position_before=Decimal(100))
    )
    assert half.shares == Decimal(10)
    exit_all = size_copy(
        cfg, sell, SizingContext(follower_position_shares=Decimal(40), leader_position_before=Decimal(25))
    )
    assert exit_all.shares == Decimal(40)
    assert size_copy(cfg, sell, SizingContext()).skip is SizeSkip.NO_POSITION_TO_SELL
    # 0.08 held, the leader sells 25 of 1,000: 0.002 shares, below the venue's 0.01 step
    dust = size_copy(
        cfg,
        sell,
        SizingContext(follower_position_shares=Decimal("0.08"), leader_position_before=Decimal(1000)),
    )
    assert (dust.shares, dust.skip) == (Decimal(0), SizeSkip.SELL_BELOW_SHARE_STEP)
    no_mirror = config(SizingMode.FIXED_USDC, "10", mirror_sells=False)
    assert (
        size_copy(no_mirror, sell, SizingContext(follower_position_shares=Decimal(1))).skip
        is SizeSkip.SELL_MIRRORING_OFF
    )
