"""Start each config's per-market exposure and its shares per token from the store when a supervisor
starts.

Exposure is kept in memory while running; without this a restart would forget what each config put
into each market and its `max_position_usdc` cap would start again from zero, and sell mirroring what
each config holds. It counts as the engine counts it: the filled notional (filled size x fill price)
and the filled shares of EXECUTED copies, BUYs added and SELLs taken off, per config and market (the
condition id of the copy's signal) or token, never below zero.
(The running count clamps at zero after every fill; the seed clamps the net total once, which can
only differ after a SELL of shares the config did not buy itself.)
"""

from __future__ import annotations

from collections import defaultdict
from decimal import Decimal

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from polyhunter.domain.signal import Side
from polyhunter.domain.states import CopyTradeState
from polyhunter.engine.positions import FollowerExposure
from polyhunter.store.models import CopyTrade, SignalRecord

MICRO = Decimal(1_000_000)


async def executed_totals(
    sessions: async_sessionmaker[AsyncSession],
) -> tuple[dict[tuple[int, str], Decimal], dict[tuple[int, str], Decimal]]:
    """Net filled USDC per (config id, condition id) and net filled shares per (config id, token) of
    EXECUTED copies."""
    # micro-USDC per row (integer division drops < 1 micro-USDC a row; keeps SQLite's sum in range)
    notional = func.sum(CopyTrade.filled_size_micro * CopyTrade.filled_price_micro / 1_000_000)
    sel = (
        select(
            CopyTrade.config_id,
            SignalRecord.condition_id,
            CopyTrade.asset,
            CopyTrade.side,
            notional,
            func.sum(CopyTrade.filled_size_micro),
        )
        .join(SignalRecord, SignalRecord.key == CopyTrade.signal_key)
        .where(CopyTrade.state == CopyTradeState.EXECUTED, CopyTrade.filled_size_micro.is_not(None))
        .group_by(CopyTrade.config_id, SignalRecord.condition_id, CopyTrade.asset, CopyTrade.side)
    )
    usdc_net: dict[tuple[int, str], Decimal] = defaultdict(Decimal)
    shares_net: dict[tuple[int, str], Decimal] = defaultdict(Decimal)
    async with sessions() as session:
        for config_id, condition_id, asset, side, total, size in (await session.execute(sel)).all():
            sign = 1 if side == Side.BUY else -1
            usdc_net[(int(config_id), str(condition_id))] += sign * Decimal(int(total or 0)) / MICRO
            shares_net[(int(config_id), str(asset))] += sign * Decimal(int(size or 0)) / MICRO
    return dict(usdc_net), dict(shares_net)


async def seed_exposure(exposure: FollowerExposure, sessions: async_sessionmaker[AsyncSession]) -> None:
    usdc, shares = await executed_totals(sessions)
    for (config_id, condition_id), total in usdc.items():
        exposure.seed(config_id, condition_id, total)
    for (config_id, token_id), held in shares.items():
        exposure.seed_shares(config_id, token_id, held)
