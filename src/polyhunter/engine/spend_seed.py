"""Start the guardrails' daily counters from the store when a supervisor starts.

The counters live in the Coordinator; in memory they die with the process, so without this a restart
would forget what was spent today and the daily caps would start again from zero. Spending counts as
the engine counts it: BUY copies that are, or may become, spent (PENDING, EXECUTED,
SETTLEMENT_PENDING) since 00:00 UTC; an EXECUTED copy by what it filled (the engine keeps the filled
notional: an aggregate of small copies spends more than its own row requested), the others by their
requested notional (what an unknown result keeps). SELLs never count.
"""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import and_, case, func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from polyhunter.domain.signal import Side
from polyhunter.domain.states import SPENDING_STATES, CopyTradeState
from polyhunter.engine.guard import Guard
from polyhunter.store.models import CopyTrade

_spent = case(
    (
        and_(CopyTrade.state == CopyTradeState.EXECUTED, CopyTrade.filled_size_micro.is_not(None)),
        CopyTrade.filled_size_micro * CopyTrade.filled_price_micro / 1_000_000,
    ),
    else_=CopyTrade.requested_notional_micro,
)


async def spent_today(sessions: async_sessionmaker[AsyncSession], now: datetime) -> dict[int, int]:
    """Micro-USDC each user's BUY copies have committed since the start of `now`'s UTC day."""
    day_start = now.astimezone(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    sel = (
        select(CopyTrade.user_id, func.sum(_spent))
        .where(
            CopyTrade.created_at >= day_start,
            CopyTrade.state.in_(list(SPENDING_STATES)),
            CopyTrade.side == Side.BUY,
        )
        .group_by(CopyTrade.user_id)
    )
    async with sessions() as session:
        return {int(user): int(total or 0) for user, total in (await session.execute(sel)).all()}


async def seed_guard(guard: Guard, sessions: async_sessionmaker[AsyncSession], now: datetime) -> None:
    per_user = await spent_today(sessions, now)
    await guard.seed(now, per_user, sum(per_user.values()))
