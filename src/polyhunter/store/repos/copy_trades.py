"""Copy trades: the exactly-once record of copying one signal for one config.

``prewrite`` is a plain INSERT of a PENDING row; UNIQUE (signal_key, config_id) in the database is
what makes a second attempt (another source, another supervisor, a restart) a ``DUPLICATE``. There is
no read-before-write: under concurrency only the constraint is reliable.

State changes are compare-and-set (``UPDATE ... WHERE state IN (allowed)``) and say whether they
happened. Rows a worker is responsible for carry ``locked_at``/``locked_by``; sweepers claim stale
PENDING rows or due retries with ``FOR UPDATE SKIP LOCKED`` on PostgreSQL.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from sqlalchemy import ColumnElement, func, insert, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from polyhunter.domain.signal import Side
from polyhunter.domain.states import SPENDING_STATES, CopyTradeState
from polyhunter.store.base import utcnow
from polyhunter.store.models import CopyTrade
from polyhunter.store.repos.sql_helpers import is_postgresql, is_unique_violation, rowcount

UNIQUE_SIGNAL_CONFIG = "uq_copy_trades_signal_key_config_id"
PENDING = CopyTradeState.PENDING


class PrewriteStatus(StrEnum):
    CREATED = "created"
    DUPLICATE = "duplicate"


@dataclass(frozen=True, slots=True)
class PrewriteRequest:
    signal_key: str
    config_id: int
    config_version: int
    user_id: int
    side: Side
    asset: str
    size_micro: int
    price_micro: int
    notional_micro: int
    locked_by: str | None = None  # the worker that will execute it; keeps sweepers off a fresh row


@dataclass(frozen=True, slots=True)
class PrewriteResult:
    status: PrewriteStatus
    copy_trade_id: int | None  # None for a duplicate


@dataclass(frozen=True, slots=True)
class FillSummary:
    size_micro: int
    price_micro: int
    fees_micro: int = 0
    venue_order_id: str | None = None


class CopyTradeRepository:
    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def prewrite(self, req: PrewriteRequest, *, now: datetime | None = None) -> PrewriteResult:
        """INSERT the PENDING row (in a savepoint, so a duplicate leaves the caller's transaction usable)."""
        at = now or utcnow()
        stmt = (
            insert(CopyTrade)
            .values(
                signal_key=req.signal_key,
                config_id=req.config_id,
                config_version=req.config_version,
                user_id=req.user_id,
                state=PENDING,
                side=req.side,
                asset=req.asset,
                requested_size_micro=req.size_micro,
                requested_price_micro=req.price_micro,
                requested_notional_micro=req.notional_micro,
                created_at=at,
                updated_at=at,
                locked_at=at if req.locked_by else None,
                locked_by=req.locked_by,
            )
            .returning(CopyTrade.id)
        )
        try:
            async with self._session.begin_nested():
                new_id = (await self._session.execute(stmt)).scalar_one()
        except IntegrityError as exc:
            if is_unique_violation(exc, UNIQUE_SIGNAL_CONFIG, "copy_trades", ("signal_key", "config_id")):
                return PrewriteResult(PrewriteStatus.DUPLICATE, None)
            raise
        return PrewriteResult(PrewriteStatus.CREATED, int(new_id))

    async def get(self, copy_trade_id: int) -> CopyTrade | None:
        return await self._session.get(CopyTrade, copy_trade_id, populate_existing=True)

    async def by_signal(self, signal_key: str, config_id: int) -> CopyTrade | None:
        return await self._session.scalar(
            select(CopyTrade).where(CopyTrade.signal_key == signal_key, CopyTrade.config_id == config_id)
        )

    async def _transition(
        self,
        copy_trade_id: int,
        allowed: Iterable[CopyTradeState],
        values: dict[str, Any],
        locked_by: str | None,
        now: datetime | None,
    ) -> bool:
        conds: list[ColumnElement[bool]] = [CopyTrade.id == copy_trade_id, CopyTrade.state.in_(list(allowed))]
        if locked_by is not None:
            conds.append(CopyTrade.locked_by == locked_by)
        stmt = (
            update(CopyTrade)
            .where(*conds)
            .values(updated_at=now or utcnow(), locked_at=None, locked_by=None, **values)
            .execution_options(synchronize_session=False)
        )
        return rowcount(await self._session.execute(stmt)) == 1

    async def mark_executed(
        self,
        copy_trade_id: int,
        fill: FillSummary,
        *,
        locked_by: str | None = None,
        now: datetime | None = None,
    ) -> bool:
        """PENDING or SETTLEMENT_PENDING → EXECUTED. With ``locked_by``, only if that worker holds the row."""
        at = now or utcnow()
        values = {
            "state": CopyTradeState.EXECUTED,
            "filled_size_micro": fill.size_micro,
            "filled_price_micro": fill.price_micro,
            "fees_micro": fill.fees_micro,
            "executed_at": at,
            "next_retry_at": None,
        }
        if fill.venue_order_id is not None:
            values["venue_order_id"] = fill.venue_order_id
        allowed = (PENDING, CopyTradeState.SETTLEMENT_PENDING)
        return await self._transition(copy_trade_id, allowed, values, locked_by, at)

    async def mark_settlement_pending(
        self,
        copy_trade_id: int,
        fill: FillSummary,
        *,
        locked_by: str | None = None,
        now: datetime | None = None,
    ) -> bool:
        """PENDING → SETTLEMENT_PENDING (proxy mode: filled on the venue, not settled yet)."""
        values = {
            "state": CopyTradeState.SETTLEMENT_PENDING,
            "filled_size_micro": fill.size_micro,
            "filled_price_micro": fill.price_micro,
            "fees_micro": fill.fees_micro,
            "venue_order_id": fill.venue_order_id,
            "next_retry_at": None,
        }
        return await self._transition(copy_trade_id, (PENDING,), values, locked_by, now)

    async def mark_skipped(
        self, copy_trade_id: int, reason: str, *, locked_by: str | None = None, now: datetime | None = None
    ) -> bool:
        values = {"state": CopyTradeState.SKIPPED, "reason": reason[:128], "next_retry_at": None}
        return await self._transition(copy_trade_id, (PENDING,), values, locked_by, now)

    async def mark_failed(
        self, copy_trade_id: int, error: str, *, locked_by: str | None = None, now: datetime | None = None
    ) -> bool:
        values = {"state": CopyTradeState.FAILED, "error": error, "next_retry_at": None}
        return await self._transition(copy_trade_id, (PENDING,), values, locked_by, now)

    async def mark_expired(
        self,
        copy_trade_id: int,
        reason: str = "pending past its time-to-live",
        *,
        locked_by: str | None = None,
        now: datetime | None = None,
    ) -> bool:
        values = {"state": CopyTradeState.EXPIRED, "reason": reason[:128], "next_retry_at": None}
        return await self._transition(copy_trade_id, (PENDING,), values, locked_by, now)

    async def schedule_retry(
        self,
        copy_trade_id: int,
        error: str,
        next_retry_at: datetime,
        *,
        locked_by: str | None = None,
        now: datetime | None = None,
    ) -> bool:
        """Keep the row PENDING, count the attempt, release the lock until ``next_retry_at``."""
        values = {"error": error, "next_retry_at": next_retry_at, "retry_count": CopyTrade.retry_count + 1}
        return await self._transition(copy_trade_id, (PENDING,), values, locked_by, now)

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

    async def claim_due_retries(
        self, worker: str, *, lock_ttl: timedelta, limit: int, now: datetime | None = None
    ) -> list[CopyTrade]:
        """Lock PENDING rows whose ``next_retry_at`` has come, for ``worker``."""
        at = now or utcnow()
        return await self._claim(worker, [CopyTrade.next_retry_at <= at], lock_ttl, limit, at)

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
