"""Property tests for every sizing mode: a BUY copy that is not skipped is on the share step, within
the config's min and max per trade, and never takes the market past its position cap; a skip is for
the documented reason."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

from hypothesis import given
from hypothesis import strategies as st

from polyhunter.domain.copy_config import CopyConfig, SizingMode
from polyhunter.domain.signal import Side, Signal, SourceKind
from polyhunter.domain.sizing import SHARE_STEP, SizeSkip, SizingContext, mirror_sell_shares, size_copy

NOW = datetime(2026, 11, 1, tzinfo=UTC)
money = st.decimals(min_value="0", max_value="5000", places=2)
prices = st.decimals(min_value="0.001", max_value="0.999", places=3)
leader_sizes = st.decimals(min_value="0.01", max_value="100000", places=2)


@st.composite
def configs(draw: st.DrawFn) -> CopyConfig:
    mode = draw(st.sampled_from(list(SizingMode)))
    if mode is SizingMode.PERCENT_OF_LEADER:
        value = draw(st.decimals(min_value="0.01", max_value="1000", places=2))
    elif mode is SizingMode.PROPORTIONAL:
        value = draw(st.decimals(min_value="0", max_value="10", places=2))
    else:
        value = draw(st.decimals(min_value="0.01", max_value="1000", places=2))
    min_trade = draw(money)
    max_trade = draw(st.none() | money.filter(lambda m: m >= min_trade))
    return CopyConfig(
        id=1,
        version=1,
        user_id=1,
        leader="0xl",
        sizing=mode,
        sizing_value=value,
        min_trade_usdc=min_trade,
        max_trade_usdc=max_trade,
        max_position_usdc=draw(st.none() | money),
    )


def _signal(side: Side, size: Decimal, price: Decimal) -> Signal:
    return Signal("k", "0xl", "1", "0xc", side, size, price, "0xt", NOW, NOW, SourceKind.WS)


@given(
    configs(), leader_sizes, prices, money, money, st.decimals(min_value="0", max_value="1000000", places=2)
)
def test_buy_sizes_respect_every_bound(
    cfg: CopyConfig, size: Decimal, price: Decimal, held: Decimal, follower_eq: Decimal, leader_eq: Decimal
) -> None:
    ctx = SizingContext(follower_market_notional=held, follower_equity=follower_eq, leader_equity=leader_eq)
    decision = size_copy(cfg, _signal(Side.BUY, size, price), ctx)
    if cfg.max_position_usdc is not None and held >= cfg.max_position_usdc:
        assert decision.skip in (SizeSkip.POSITION_CAP_REACHED, SizeSkip.NO_EQUITY)
    if cfg.sizing is SizingMode.PROPORTIONAL and (follower_eq <= 0 or leader_eq <= 0):
        assert decision.skip is SizeSkip.NO_EQUITY
    if decision.skip in (SizeSkip.ZERO_SIZE, SizeSkip.NO_EQUITY, SizeSkip.POSITION_CAP_REACHED):
        assert decision.shares == 0
        return
    assert decision.shares > 0
    assert decision.shares % SHARE_STEP == 0
    assert decision.notional == decision.shares * price
    if cfg.max_trade_usdc is not None:
        assert decision.notional <= cfg.max_trade_usdc
    if cfg.max_position_usdc is not None:
        assert held + decision.notional <= cfg.max_position_usdc
    if decision.skip is None:
        assert decision.notional >= cfg.min_trade_usdc
    else:
        assert decision.skip is SizeSkip.BELOW_MIN_TRADE
        assert decision.notional < cfg.min_trade_usdc


@given(configs(), leader_sizes, prices)
def test_each_mode_computes_its_own_rule_when_unbounded(
    cfg: CopyConfig, size: Decimal, price: Decimal
) -> None:
    """Without caps, the size is the mode's raw rule floored to the share step (at most one step less)."""
    unbounded = CopyConfig(
        id=1, version=1, user_id=1, leader="0xl", sizing=cfg.sizing, sizing_value=cfg.sizing_value
    )
    ctx = SizingContext(follower_equity=Decimal(500), leader_equity=Decimal(2000))
    decision = size_copy(unbounded, _signal(Side.BUY, size, price), ctx)
    raw = {
        SizingMode.FIXED_USDC: cfg.sizing_value / price,
        SizingMode.PERCENT_OF_LEADER: size * cfg.sizing_value / 100,
        SizingMode.MULTIPLIER: size * cfg.sizing_value,
        SizingMode.PROPORTIONAL: size * Decimal(500) / Decimal(2000) * (cfg.sizing_value or 1),
    }[cfg.sizing]
    if decision.skip is SizeSkip.ZERO_SIZE:
        assert raw < SHARE_STEP
    else:
        assert decision.skip is None
        assert raw - SHARE_STEP < decision.shares <= raw


@given(configs(), leader_sizes, st.decimals(min_value="0", max_value="200000", places=2), money, prices)
def test_sells_mirror_a_fraction_of_what_the_follower_holds(
    cfg: CopyConfig, sold: Decimal, leader_before: Decimal, follower: Decimal, price: Decimal
) -> None:
    ctx = SizingContext(follower_position_shares=follower, leader_position_before=leader_before)
    decision = size_copy(cfg, _signal(Side.SELL, sold, price), ctx)
    expected = mirror_sell_shares(sold, leader_before, follower)
    if expected <= 0:
        held = SizeSkip.SELL_BELOW_SHARE_STEP if follower > 0 else SizeSkip.NO_POSITION_TO_SELL
        assert decision.skip is held
        return
    assert decision.skip is None
    assert decision.shares == expected <= follower
    assert decision.shares % SHARE_STEP == 0 or decision.shares == follower
    if leader_before > sold:  # a partial sell: at most the leader's fraction
        assert decision.shares <= follower * sold / leader_before
