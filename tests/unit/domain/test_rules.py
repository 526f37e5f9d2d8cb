"""Filters, guardrail rules, circuit breaker, book walking and aggregation."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from polyhunter.domain.aggregation import Aggregator
from polyhunter.domain.book_math import BookSide, Level, slippage_bps, slippage_limit_price, walk_book
from polyhunter.domain.copy_config import CopyConfig, MarketRef, SizingMode
from polyhunter.domain.filters import FilterSkip, check_filters, needs_market_metadata
from polyhunter.domain.guardrails import (
    CircuitBreaker,
    GuardrailInput,
    GuardrailLimits,
    GuardrailRule,
    check_guardrails,
)
from polyhunter.domain.signal import Side, Signal, SourceKind

NOW = datetime(2026, 11, 1, tzinfo=UTC)
LIMITS = GuardrailLimits(Decimal(100), Decimal(500), Decimal(10000))


def _sig(side: Side = Side.BUY, price: str = "0.5") -> Signal:
    return Signal("k", "0xl", "1", "0xabc", side, Decimal(10), Decimal(price), "0xt", NOW, NOW, SourceKind.WS)


def _cfg(**kw: Any) -> CopyConfig:
    return CopyConfig(
        id=1, version=1, user_id=1, leader="0xl", sizing=SizingMode.FIXED_USDC, sizing_value=Decimal(1), **kw
    )


def test_filters() -> None:
    market = MarketRef("0xABC", "nba-game", frozenset({"sports"}))
    assert check_filters(_cfg(), _sig(), market) is None
    assert check_filters(_cfg(sides=frozenset({Side.SELL})), _sig(), market) is FilterSkip.SIDE_FILTERED
    assert check_filters(_cfg(deny_markets=frozenset({"sports"})), _sig(), market) is FilterSkip.MARKET_DENIED
    assert (
        check_filters(_cfg(allow_markets=frozenset({"politics"})), _sig(), market)
        is FilterSkip.MARKET_NOT_ALLOWED
    )
    assert check_filters(_cfg(allow_markets=frozenset({"0xabc"})), _sig(), market) is None
    assert check_filters(_cfg(allow_markets=frozenset({"nba-game"})), _sig(), market) is None
    bounded = _cfg(min_price=Decimal("0.1"), max_price=Decimal("0.4"))
    assert check_filters(bounded, _sig(), market) is FilterSkip.PRICE_OUT_OF_BOUNDS
    assert check_filters(_cfg(allow_markets=frozenset({"Sports"})), _sig(), market) is None  # any case


def test_filters_without_market_metadata_never_guess() -> None:
    unknown = FilterSkip.MARKET_METADATA_UNAVAILABLE
    assert check_filters(_cfg(deny_markets=frozenset({"sports"})), _sig(), None) is unknown
    assert check_filters(_cfg(allow_markets=frozenset({"sports"})), _sig(), None) is unknown
    assert check_filters(_cfg(deny_markets=frozenset({"0xABC"})), _sig(), None) is FilterSkip.MARKET_DENIED
    assert check_filters(_cfg(allow_markets=frozenset({"0xabc", "sports"})), _sig(), None) is None
    assert check_filters(_cfg(deny_markets=frozenset({"0xdef"})), _sig(), None) is None
    assert not needs_market_metadata(_cfg(deny_markets=frozenset({"0xdef"})))
    assert needs_market_metadata(_cfg(allow_markets=frozenset({"0xdef", "nba-game"})))


def test_config_validation() -> None:
    with pytest.raises(ValueError, match="positive sizing_value"):
        CopyConfig(id=1, version=1, user_id=1, leader="0x", sizing=SizingMode.FIXED_USDC)
    with pytest.raises(ValueError, match="price bounds"):
        _cfg(min_price=Decimal("0.9"), max_price=Decimal("0.1"))


@pytest.mark.parametrize(
    ("limits", "inp", "rule"),
    [
        (
            GuardrailLimits(Decimal(100), Decimal(500), Decimal(1000), dry_run=True),
            GuardrailInput(Decimal(1), Decimal(0), Decimal(0), False),
            GuardrailRule.DRY_RUN,
        ),
        (LIMITS, GuardrailInput(Decimal(1), Decimal(0), Decimal(0), True), GuardrailRule.CIRCUIT_BREAKER),
        (LIMITS, GuardrailInput(Decimal(101), Decimal(0), Decimal(0), False), GuardrailRule.PER_TRADE_MAX),
        (LIMITS, GuardrailInput(Decimal(50), Decimal(451), Decimal(0), False), GuardrailRule.USER_DAILY_CAP),
        (
            LIMITS,
            GuardrailInput(Decimal(50), Decimal(0), Decimal(9951), False),
            GuardrailRule.GLOBAL_DAILY_CAP,
        ),
    ],
)
def test_each_guardrail_vetoes(limits: GuardrailLimits, inp: GuardrailInput, rule: GuardrailRule) -> None:
    veto = check_guardrails(limits, inp)
    assert veto is not None
    assert veto.rule is rule


def test_guardrails_pass_at_exact_caps() -> None:
    assert check_guardrails(LIMITS, GuardrailInput(Decimal(100), Decimal(400), Decimal(9900), False)) is None


def test_circuit_breaker_opens_and_cools_down() -> None:
    breaker = CircuitBreaker(threshold=3, cooldown_ms=1000)
    assert not breaker.record_failure(0)
    assert not breaker.record_failure(1)
    assert breaker.record_failure(2)
    assert breaker.is_open(500)
    assert not breaker.is_open(1002)  # half-open
    assert breaker.record_failure(1003)  # one more failure re-opens
    assert breaker.is_open(1004)
    breaker.record_success()
    assert not breaker.is_open(1005)


ASKS = BookSide.from_worst_first(
    [
        Level(Decimal("0.55"), Decimal(100)),
        Level(Decimal("0.52"), Decimal(50)),
        Level(Decimal("0.51"), Decimal(10)),
    ]
)


def test_walk_book() -> None:
    walk = walk_book(ASKS, Decimal(30))
    assert walk.complete
    assert walk.worst_price == Decimal("0.52")
    assert walk.cost == Decimal(10) * Decimal("0.51") + Decimal(20) * Decimal("0.52")
    limited = walk_book(ASKS, Decimal(200), limit=Decimal("0.52"))
    assert (limited.shares, limited.complete) == (Decimal(60), False)


@given(st.decimals("0.01", "500", places=2))
def test_walk_vwap_between_best_and_worst(shares: Decimal) -> None:
    walk = walk_book(ASKS, shares)
    assert walk.shares == min(shares, Decimal(160))
    assert Decimal("0.51") <= walk.vwap <= walk.worst_price <= Decimal("0.55")


def test_slippage() -> None:
    assert slippage_bps(Side.BUY, Decimal("0.50"), Decimal("0.51")) == Decimal(200)
    assert slippage_bps(Side.SELL, Decimal("0.50"), Decimal("0.51")) == Decimal(-200)
    assert slippage_limit_price(Side.BUY, Decimal("0.50"), 200) == Decimal("0.51")
    assert slippage_limit_price(Side.SELL, Decimal("0.50"), 200) == Decimal("0.49")


def test_aggregation_releases_at_minimum_and_expires() -> None:
    agg = Aggregator(window_ms=1000)
    key = (1, "tok", Side.BUY)
    assert agg.add(key, "a", Decimal(1), Decimal("0.4"), Decimal(1), 0) is None
    assert agg.add(key, "b", Decimal(1), Decimal("0.4"), Decimal(1), 10) is None
    released = agg.add(key, "c", Decimal(1), Decimal("0.4"), Decimal(1), 20)
    assert released is not None
    assert released.signal_keys == ("a", "b", "c")
    assert len(agg) == 0
    agg.add(key, "d", Decimal(1), Decimal("0.4"), Decimal(1), 100)
    assert agg.expire(2000)[0][1].signal_keys == ["d"]


@pytest.mark.parametrize(
    ("changes", "expected"),
    [
        ({"sizing_value": Decimal("1e27")}, "sizing_value must be at most 1000000000 for FIXED_USDC"),
        ({"sizing_value": Decimal("NaN")}, "sizing_value must be a finite number"),
        ({"min_trade_usdc": Decimal(-1)}, "min_trade_usdc must be between 0 and 1000000000 USDC"),
        ({"max_trade_usdc": Decimal("Infinity")}, "max_trade_usdc must be a finite number"),
        ({"max_position_usdc": Decimal("1e308")}, "max_position_usdc must be between 0 and"),
        ({"max_slippage_bps": 10**9}, "max_slippage_bps must be between 0 and 10000"),
        ({"max_slippage_bps": -1}, "max_slippage_bps must be between 0 and 10000"),
        ({"max_price": Decimal("NaN")}, "price bounds"),
    ],
)
def test_copy_config_refuses_unbounded_values(changes: dict[str, Any], expected: str) -> None:
    """A FIXED_USDC of 1e27 (or NaN, or a negative amount) is refused when the config is built, not
    when the engine sizes a copy with it."""
    base: dict[str, Any] = {
        "id": 1,
        "version": 1,
        "user_id": 1,
        "leader": "0x" + "ab" * 20,
        "sizing": SizingMode.FIXED_USDC,
        "sizing_value": Decimal(10),
    }
    with pytest.raises(ValueError, match=re.escape(expected)):
        CopyConfig(**{**base, **changes})
