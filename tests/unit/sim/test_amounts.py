"""Signed amounts -> (price, size), on the worked examples of polymarket-protocol.md §3.5."""

from __future__ import annotations

from decimal import Decimal

import pytest

from polyhunter.domain.signal import Side
from polyhunter.sim.amounts import order_terms_from_amounts
from polyhunter.sim.errors import SimError
from polyhunter.sim.units import fmt_micro, round_fee


@pytest.mark.parametrize(
    ("side", "maker", "taker", "tick", "price", "size"),
    [
        (Side.BUY, 2_650_000, 5_000_000, "0.01", "0.53", 5_000_000),  # limit BUY 5 @0.53 (real capture)
        (Side.BUY, 4_700_000, 10_000_000, "0.01", "0.47", 10_000_000),
        (Side.SELL, 15_000_000, 3_600_000, "0.01", "0.24", 15_000_000),
        (Side.BUY, 82_820_000, 101_000_000, "0.01", "0.82", 101_000_000),
        (Side.BUY, 1_517_820, 12_340_000, "0.001", "0.123", 12_340_000),
        (Side.BUY, 10_000_000, 18_867_900, "0.01", "0.53", 18_867_900),  # market BUY $10
        (Side.BUY, 10_000_000, 18_621_970, "0.001", "0.537", 18_621_970),
        (Side.SELL, 18_860_000, 9_995_800, "0.01", "0.53", 18_860_000),  # market SELL
    ],
)
def test_worked_examples(side: Side, maker: int, taker: int, tick: str, price: str, size: int) -> None:
    assert order_terms_from_amounts(side, maker, taker, Decimal(tick)) == (Decimal(price), size)


def test_off_tick_amounts_are_not_snapped() -> None:
    price, size = order_terms_from_amounts(Side.BUY, 535_000, 1_000_000, Decimal("0.01"))
    assert (price, size) == (Decimal("0.535"), 1_000_000)


def test_non_positive_amounts() -> None:
    with pytest.raises(SimError):
        order_terms_from_amounts(Side.BUY, 0, 1, Decimal("0.01"))


def test_formatting_and_fee_rounding() -> None:
    assert [fmt_micro(v) for v in (2_650_000, 5_000_000, 1_000, 0, 100_000_000)] == [
        "2.65",
        "5",
        "0.001",
        "0",
        "100",
    ]
    assert round_fee(Decimal(14)) == 10
    assert round_fee(Decimal(15)) == 20
    assert round_fee(Decimal(4)) == 0
