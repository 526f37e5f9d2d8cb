"""The rules of a market's end and of fees, on hand-computed cases."""

from __future__ import annotations

from decimal import Decimal

from hypothesis import given
from hypothesis import strategies as st

from polyhunter.domain.lifecycle import (
    MarketBook,
    buy_fee_bound,
    fee_of_levels,
    realized_pnl_micro,
    shares_affordable,
    taker_fee,
)

RATE = Decimal("0.04")


def test_realized_pnl_is_payout_plus_proceeds_minus_cost_and_fees() -> None:
    # bought 20 shares for 10.40 (fees 0.19968), sold 5 for 3.00 (fee 0.048), 15 winning shares redeemed
    book = MarketBook(bought_micro=10_400_000, sold_micro=3_000_000, fees_micro=247_680)
    assert realized_pnl_micro(15_000_000, book) == 15_000_000 + 3_000_000 - 10_400_000 - 247_680
    assert realized_pnl_micro(0, book) == -7_647_680  # the losing side: everything but the sale is lost


def test_taker_fee_formula_and_rounding() -> None:
    assert taker_fee(Decimal(100), Decimal("0.5"), RATE) == Decimal("1.00000")  # 100 * 0.04 * 0.25
    assert taker_fee(Decimal("18.86"), Decimal("0.53"), RATE) == Decimal("0.18792")  # 0.18792104
    assert taker_fee(Decimal(10), Decimal("0.999"), RATE) == Decimal("0.00040")
    assert taker_fee(Decimal(10), Decimal("0.5"), Decimal(0)) == 0
    # across levels the exact sum is rounded once (not each level)
    levels = [(Decimal("0.10"), Decimal("1.13")), (Decimal("0.11"), Decimal("1.13"))]  # 0.004068 + 0.0044248
    assert fee_of_levels(levels, RATE) == Decimal("0.00849")
    assert sum(taker_fee(s, p, RATE) for p, s in levels) == Decimal("0.00850")


def test_whole_balance_buy_fits_with_its_fee() -> None:
    # 10 USDC at 0.53: 18.86 shares cost 9.9958 + a fee bound of 0.1998 (at 0.5): too much; 18.51 fit
    shares = shares_affordable(Decimal(10), Decimal("0.53"), RATE)
    assert shares == Decimal("18.51")
    assert shares * Decimal("0.53") + buy_fee_bound(shares, Decimal("0.53"), RATE) <= 10
    more = shares + Decimal("0.01")
    assert more * Decimal("0.53") + buy_fee_bound(more, Decimal("0.53"), RATE) > 10
    assert shares_affordable(Decimal(10), Decimal("0.53"), Decimal(0)) == Decimal("18.86")  # no fee
    assert shares_affordable(Decimal(0), Decimal("0.53"), RATE) == 0


@given(
    available=st.decimals(min_value=Decimal("0.01"), max_value=Decimal(100_000), places=6),
    limit=st.decimals(min_value=Decimal("0.001"), max_value=Decimal("0.999"), places=3),
    rate=st.decimals(min_value=Decimal(0), max_value=Decimal("0.1"), places=3),
)
def test_affordable_shares_never_overspend_and_are_the_most(
    available: Decimal, limit: Decimal, rate: Decimal
) -> None:
    shares = shares_affordable(available, limit, rate)
    assert shares >= 0
    assert shares * limit + buy_fee_bound(shares, limit, rate) <= available
    more = shares + Decimal("0.01")
    assert more * limit + buy_fee_bound(more, limit, rate) > available
