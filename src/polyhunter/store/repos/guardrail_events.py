"""Guardrail events: every veto (and any allow a rule wants audited) leaves a row."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import insert, select
from sqlalchemy.ext.asyncio import AsyncSession

from polyhunter.domain.states import GuardrailDecision
from polyhunter.store.base import utcnow
from polyhunter.store.models import GuardrailEvent


class GuardrailEventRepository:
    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def record(
        self,
        rule: str,
        decision: GuardrailDecision,
        *,
        detail: dict[str, Any] | None = None,
        user_id: int | None = None,
        config_id: int | None = None,
        config_version: int | None = None,
        signal_key: str | None = None,
        copy_trade_id: int | None = None,
        now: datetime | None = None,
    ) -> int:
        """Insert one event; ``detail`` must be JSON data (decimals as strings)."""
        stmt = (
            insert(GuardrailEvent)
            .values(
                rule=rule,
                decision=decision,
                detail=detail or {},
                user_id=user_id,
                config_id=config_id,
                config_version=config_version,
                signal_key=signal_key,
                copy_trade_id=copy_trade_id,
                created_at=now or utcnow(),
            )
            .returning(GuardrailEvent.id)
        )
        return int((await self._session.execute(stmt)).scalar_one())

    async def for_signal(self, signal_key: str) -> list[GuardrailEvent]:
        rows = await self._session.scalars(
            select(GuardrailEvent).where(GuardrailEvent.signal_key == signal_key).order_by(GuardrailEvent.id)
        )
        return list(rows)
