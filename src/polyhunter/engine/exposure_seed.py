"""Start each config's per-market exposure from the store when a supervisor starts.

Exposure is kept in memory while running; without this a restart would forget what each config put
into each market and its `max_position_usdc` cap would start again from zero. It counts as the
engine counts it: the filled notional (filled size x fill price) of EXECUTED copies, BUYs added and
SELLs taken off, per config and market (the condition id of the copy's signal), never below zero.
(The running count clamps at zero after every fill; the seed clamps the net total once, which can
only differ after a SELL of shares the config did not buy itself.)
"""

from __future__ import annotations

from collections import defaultdict
from decimal import Decimal

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from polyhunter.domain.signal import Side
from polyhunter.engine.positions import FollowerExposure
from polyhunter.store.enums import CopyTradeState
from polyhunter.store.models import CopyTrade, SignalRecord

MICRO = Decimal(1_000_000)


async def executed_notional(sessions: async_sessionmaker[AsyncSession]) -> dict[tuple[int, str], Decimal]:
    """Net filled USDC of EXECUTED copies per (config id, condition id)."""
    # micro-USDC per row (integer division drops < 1 micro-USDC a row; keeps SQLite's sum in range)
    notional = func.sum(CopyTrade.filled_size_micro * CopyTrade.filled_price_micro / 1_000_000)
    sel = (
        select(CopyTrade.config_id, SignalRecord.condition_id, CopyTrade.side, notional)
        .join(SignalRecord, SignalRecord.key == CopyTrade.signal_key)
        .where(CopyTrade.state == CopyTradeState.EXECUTED, CopyTrade.filled_size_micro.is_not(None))
        .group_by(CopyTrade.config_id, SignalRecord.condition_id, CopyTrade.side)
    )
    net: dict[tuple[int, str], Decimal] = defaultdict(Decimal)
    async with sessions() as session:
        for config_id, condition_id, side, total in (await session.execute(sel)).all():
            usdc = Decimal(int(total or 0)) / MICRO
            net[(int(config_id), str(condition_id))] += usdc if side == Side.BUY else -usdc
    return dict(net)


async def seed_exposure(exposure: FollowerExposure, sessions: async_sessionmaker[AsyncSession]) -> None:
    for (config_id, condition_id), usdc in (await executed_notional(sessions)).items():
        exposure.seed(config_id, condition_id, usdc)
