"""Read-side SQL for reports: counts and recent rows of what the engine wrote (the status, the demo's
summary, the CLI). Nothing here writes."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, select

from polyhunter.store.models import CopyTrade, GuardrailEvent
from polyhunter.store.repos.copy_configs import CopyConfigRepository, PausedConfig

__all__ = [
    "CopyCount",
    "GuardrailEventRow",
    "PausedConfig",
    "RecentCopy",
    "copy_counts",
    "guardrail_events",
    "paused_configs",
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
