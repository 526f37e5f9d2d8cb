"""What a backtest runs with: the run file's followers and copy configs as the engine would get them,
and the rules from the settings (guardrails, slippage budget, aggregation window) and the history
(each market's tick and fee rate)."""

from __future__ import annotations

import dataclasses
from decimal import Decimal

from polyhunter.domain.backtest import BacktestRules, FollowerPlan
from polyhunter.domain.guardrails import GuardrailLimits
from polyhunter.domain.history import History, fee_rates_from_fills, market_ticks
from polyhunter.runtime.run_file import RunFile
from polyhunter.settings import Settings


def follower_plans(run: RunFile) -> list[FollowerPlan]:
    """One plan per follower (user ids 1, 2, ... in file order; config ids unique across followers)."""
    plans, next_id = [], 1
    for user_id, f in enumerate(run.followers, start=1):
        configs = []
        for copy in f.copies:
            configs.append(dataclasses.replace(copy.to_domain(user_id, f.custody), id=next_id, version=1))
            next_id += 1
        plans.append(
            FollowerPlan(
                name=f.name,
                user_id=user_id,
                starting_cash=f.starting_cash_usdc,
                configs=tuple(configs),
                daily_cap_usdc=f.limits.daily_cap_usdc,
                max_trade_usdc=f.limits.max_trade_usdc,
            )
        )
    return plans


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
