"""Read-side SQL for reports: counts and recent rows of what the engine wrote (the status, the demo's
summary, the CLI). Nothing here writes."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, select

from polyhunter.domain.lifecycle import RedemptionState
from polyhunter.domain.states import CopyTradeState
from polyhunter.store.models import CopyTrade, GuardrailEvent, Redemption
from polyhunter.store.repos.copy_configs import CopyConfigRepository, PausedConfig

__all__ = [
    "CopyCount",
    "GuardrailEventRow",
    "PausedConfig",
    "Realized",
    "RecentCopy",
    "copy_counts",
    "guardrail_events",
    "paused_configs",
    "realized_by_user",
    "recent_copies",
]
from polyhunter.store.sessions import SessionFactory


@dataclass(frozen=True, slots=True)
class CopyCount:
    state: str
    reason: str | None
    count: int


@dataclass(frozen=True, slots=True)
class RecentCopy:
    id: int
    user_id: int
    signal_key: str
    state: str
    reason: str | None
    created_at: datetime


@dataclass(frozen=True, slots=True)
class GuardrailEventRow:
    rule: str
    decision: str
    user_id: int | None
    signal_key: str | None
    detail: dict[str, Any]
    created_at: datetime


@dataclass(slots=True)
class Realized:
    """A follower's fees and resolved markets (micro-USDC)."""

    fees_micro: int = 0  # every fee of its executed copies
    redeemed_markets: int = 0
    pending_markets: int = 0  # resolved, payout not yet collected
    payout_micro: int = 0
    realized_pnl_micro: int = 0  # of the redeemed markets: payout + proceeds - cost - fees


async def realized_by_user(sessions: SessionFactory) -> dict[int, Realized]:
    out: dict[int, Realized] = {}
    fees = select(CopyTrade.user_id, func.sum(func.coalesce(CopyTrade.fees_micro, 0))).where(
        CopyTrade.state == CopyTradeState.EXECUTED
    )
    redeemed = select(
        Redemption.user_id,
        Redemption.state,
        func.count(),
        func.sum(Redemption.payout_micro),
        func.sum(func.coalesce(Redemption.realized_pnl_micro, 0)),
    ).group_by(Redemption.user_id, Redemption.state)
    async with sessions() as session:
        for user_id, total in (await session.execute(fees.group_by(CopyTrade.user_id))).all():
            out.setdefault(int(user_id), Realized()).fees_micro = int(total or 0)
        for user_id, state, count, payout, pnl in (await session.execute(redeemed)).all():
            row = out.setdefault(int(user_id), Realized())
            if RedemptionState(state) is RedemptionState.REDEEMED:
                row.redeemed_markets, row.payout_micro, row.realized_pnl_micro = (
                    int(count),
                    int(payout),
                    int(pnl),
                )
            else:
                row.pending_markets = int(count)
    return out


async def copy_counts(sessions: SessionFactory) -> list[CopyCount]:
    """Copy trades by (state, reason)."""
    async with sessions() as session:
        rows = (
            await session.execute(
                select(CopyTrade.state, CopyTrade.reason, func.count()).group_by(
                    CopyTrade.state, CopyTrade.reason
                )
            )
        ).all()
    return [CopyCount(str(state), reason, int(count)) for state, reason, count in rows]


async def recent_copies(sessions: SessionFactory, limit: int = 20) -> list[RecentCopy]:
    """The newest copy trades, newest first."""
    async with sessions() as session:
        rows = (
            await session.execute(
                select(
                    CopyTrade.id,
                    CopyTrade.user_id,
                    CopyTrade.signal_key,
                    CopyTrade.state,
                    CopyTrade.reason,
                    CopyTrade.created_at,
                )
                .order_by(CopyTrade.id.desc())
                .limit(limit)
            )
        ).all()
    return [RecentCopy(int(i), int(u), k, str(s), r, c) for i, u, k, s, r, c in rows]


async def guardrail_events(sessions: SessionFactory, limit: int = 20) -> list[GuardrailEventRow]:
    """The newest guardrail events, newest first."""
    async with sessions() as session:
        rows = (
            await session.scalars(select(GuardrailEvent).order_by(GuardrailEvent.id.desc()).limit(limit))
        ).all()
    return [
        GuardrailEventRow(
            e.rule, str(e.decision), e.user_id, e.signal_key, dict(e.detail or {}), e.created_at
        )
        for e in rows
    ]


async def paused_configs(sessions: SessionFactory) -> list[PausedConfig]:
    """Every paused config (an operator-needed error paused it), oldest pause first."""
    async with sessions() as session:
        return await CopyConfigRepository(session).paused()
