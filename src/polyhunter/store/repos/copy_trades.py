"""Copy trades: the exactly-once record of copying one signal for one config.

Copy trades are written by one path only, the copy store (store/copy_store.py: the prewrite, the
outcomes, the sweep's reconcile writes). Here: reads, and the sweep's claims. Rows a worker is
responsible for carry ``locked_at``/``locked_by``; sweepers claim stale PENDING rows with
``FOR UPDATE SKIP LOCKED`` on PostgreSQL.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import ColumnElement, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from polyhunter.domain.states import SPENDING_STATES, CopyTradeState
from polyhunter.store.base import utcnow
from polyhunter.store.models import CopyTrade
from polyhunter.store.repos.sql_helpers import is_postgresql, rowcount

PENDING = CopyTradeState.PENDING


class CopyTradeRepository:
    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def get(self, copy_trade_id: int) -> CopyTrade | None:
        return await self._session.get(CopyTrade, copy_trade_id, populate_existing=True)

    async def by_signal(self, signal_key: str, config_id: int) -> CopyTrade | None:
        return await self._session.scalar(
            select(CopyTrade).where(CopyTrade.signal_key == signal_key, CopyTrade.config_id == config_id)
        )

    async def release(self, copy_trade_id: int, locked_by: str) -> bool:
        """Give a claimed row back without changing its state."""
        stmt = (
            update(CopyTrade)
            .where(CopyTrade.id == copy_trade_id, CopyTrade.locked_by == locked_by)
            .values(locked_at=None, locked_by=None)
            .execution_options(synchronize_session=False)
        )
        return rowcount(await self._session.execute(stmt)) == 1

    async def claim_stale_pending(
        self,
        worker: str,
        *,
        older_than: datetime,
        lock_ttl: timedelta,
        limit: int,
        now: datetime | None = None,
    ) -> list[CopyTrade]:
        """Lock PENDING rows created before ``older_than`` that nobody holds (or whose lock is older than
        ``lock_ttl``) for ``worker``: the expiry / reconciliation sweep."""
        return await self._claim(worker, [CopyTrade.created_at < older_than], lock_ttl, limit, now)

    async def _claim(
        self,
        worker: str,
        extra: list[ColumnElement[bool]],
        lock_ttl: timedelta,
        limit: int,
        now: datetime | None,
    ) -> list[CopyTrade]:
        at = now or utcnow()
        conds = [
            CopyTrade.state == PENDING,
            *extra,
            or_(CopyTrade.locked_at.is_(None), CopyTrade.locked_at < at - lock_ttl),
        ]
        sel = select(CopyTrade.id).where(*conds).order_by(CopyTrade.created_at, CopyTrade.id).limit(limit)
        if is_postgresql(self._session):
            sel = sel.with_for_update(skip_locked=True)
        ids = list((await self._session.scalars(sel)).all())
        if not ids:
            return []
        # The same conditions again: on SQLite (no row locks) this UPDATE is the compare-and-set.
        stmt = (
            update(CopyTrade)
            .where(CopyTrade.id.in_(ids), *conds)
            .values(locked_at=at, locked_by=worker)
            .returning(CopyTrade)
            .execution_options(synchronize_session=False, populate_existing=True)
        )
        rows = list((await self._session.scalars(stmt)).all())
        return sorted(rows, key=lambda r: (r.created_at, r.id))

    async def notional_since(self, since: datetime, *, user_id: int | None = None) -> int:
        """Micro-USDC requested by copies created at or after ``since`` that are, or may become, spent
        (PENDING, EXECUTED, SETTLEMENT_PENDING): the daily-cap counters, per user or global."""
        sel = select(func.coalesce(func.sum(CopyTrade.requested_notional_micro), 0)).where(
            CopyTrade.created_at >= since, CopyTrade.state.in_(list(SPENDING_STATES))
        )
        if user_id is not None:
            sel = sel.where(CopyTrade.user_id == user_id)
        total = await self._session.scalar(sel)
        return int(total or 0)
