"""The rules a backtest runs with: from the settings (guardrails, slippage budget, aggregation window)
and the history (each market's tick and fee rate). The followers come from the run file
(`runtime.backtest_plans`)."""

from __future__ import annotations

from decimal import Decimal

from polyhunter.domain.backtest import BacktestRules
from polyhunter.domain.guardrails import GuardrailLimits
from polyhunter.domain.history import History, fee_rates_from_fills, market_ticks
from polyhunter.settings import Settings


def backtest_rules(
    settings: Settings,
    history: History,
    *,
    slippage_ticks: int = 1,
    fee_rates: dict[str, Decimal] | None = None,
    default_fee_rate: Decimal = Decimal(0),
    keep_copies: bool = False,
) -> BacktestRules:
    """Fee rates: the given ones by market, else what the leader's recorded fees show, else the default."""
    g = settings.guardrails
    rates = {**fee_rates_from_fills(history.fills), **(fee_rates or {})}
    return BacktestRules(
        limits=GuardrailLimits(g.max_trade_usdc, g.daily_user_cap_usdc, g.global_daily_cap_usdc, False),
        max_slippage_bps=settings.engine.max_slippage_bps,
        slippage_ticks=slippage_ticks,
        ticks=market_ticks(history.fills),
        fee_rates=rates,
        default_fee_rate=default_fee_rate,
        aggregation_window_ms=settings.engine.aggregation_window_ms,
        keep_copies=keep_copies,
    )
