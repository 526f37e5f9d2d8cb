"""`SqlCopyStore`: the one implementation of the `CopyStore` port (ports/store.py), on SQLite or
PostgreSQL.

The hot path (prewrite, outcomes) runs its units of work through `hot_path_for` (one thread hop on
SQLite, `run_sync` on PostgreSQL; the SQL is copy_writes.py): on PostgreSQL a signal and its copies go
in ONE autocommit statement. The seeds a supervisor starts from and the PENDING sweep's claims and
reconcile writes are here too. A connection the server dropped surfaces as `StoreUnavailableError`.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import AsyncIterator, Collection, Sequence
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import and_, case, func, select, union_all, update
from sqlalchemy.exc import DBAPIError
from sqlalchemy.exc import TimeoutError as PoolTimeoutError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from polyhunter.domain.signal import Side, Signal
from polyhunter.domain.states import SPENDING_STATES, CopyTradeState, OrderStatus
from polyhunter.log import get_logger
from polyhunter.ports.store import (
    ExecutedTotals,
    Fill,
    GuardrailEventRow,
    NewCopy,
    Outcome,
    PendingCopy,
    RecordedOrder,
    StoredConfig,
    StoreUnavailableError,
)
from polyhunter.store.copy_writes import (
    insert_copies,
    insert_signal_then_copies,
    insert_signal_with_copies,
    insert_signals,
    update_finished_copies,
    update_finished_orders,
    write_outcomes,
)
from polyhunter.store.database import engine_of, unit_of_work
from polyhunter.store.hot_path import hot_path_for
from polyhunter.store.models import COPY_TRADES_ARCHIVE, SIGNALS_ARCHIVE, CopyTrade, Order, SignalRecord
from polyhunter.store.repos.copy_configs import CopyConfigRepository
from polyhunter.store.repos.copy_trades import CopyTradeRepository
from polyhunter.store.repos.sql_helpers import rowcount

log = get_logger(__name__)

MICRO = Decimal(1_000_000)
PENDING = CopyTradeState.PENDING


STORE_ERRORS = (PoolTimeoutError, DBAPIError, OSError)


def as_unavailable(exc: BaseException) -> StoreUnavailableError | None:
    """The port's `StoreUnavailableError` for an error that says the database cannot be reached now: a
    connection the server dropped, none free within the pool timeout, or one refused or reset (the
    server stopped or restarting); None for any other error."""
    if isinstance(exc, PoolTimeoutError):
        return StoreUnavailableError(f"no database connection free: {exc}")
    if (isinstance(exc, DBAPIError) and exc.connection_invalidated) or isinstance(exc, OSError):
        return StoreUnavailableError(f"{type(exc).__name__}: {exc}")
    return None


@asynccontextmanager
async def translated_errors() -> AsyncIterator[None]:
    """A pooled connection the server dropped (SQLAlchemy marks the error `connection_invalidated` and
    discards the connection) becomes the port's `StoreUnavailableError`; other errors pass unchanged.
    (The hot path's two methods spell the same out: a plain try costs nothing.) So does a wait for a
    pooled connection past `db.pool_timeout_s` (every connection busy), and a connection refused or
    reset (the server stopped): the work is retried."""
    try:
        yield
    except STORE_ERRORS as exc:
        unavailable = as_unavailable(exc)
        if unavailable is None:
            raise
        raise unavailable from exc


# micro-USDC per row (integer division drops < 1 micro-USDC a row; keeps SQLite's sum in range)
_FILLED_NOTIONAL = CopyTrade.filled_size_micro * CopyTrade.filled_price_micro / 1_000_000
_SPENT = case(
    (
        and_(CopyTrade.state == CopyTradeState.EXECUTED, CopyTrade.filled_size_micro.is_not(None)),
        _FILLED_NOTIONAL,
    ),
    else_=CopyTrade.requested_notional_micro,
)


def _executed(table: Any) -> Any:
    c = table.c
    return select(
        c.config_id,
        c.user_id,
        c.signal_key,
        c.asset,
        c.side,
        (c.filled_size_micro * c.filled_price_micro / 1_000_000).label("filled_notional"),
        c.filled_size_micro,
    ).where(c.state == CopyTradeState.EXECUTED.value, c.filled_size_micro.is_not(None))


_EXECUTED = union_all(_executed(CopyTrade.__table__), _executed(COPY_TRADES_ARCHIVE)).subquery("executed")
_KNOWN_SIGNALS = union_all(
    select(SignalRecord.key, SignalRecord.condition_id),
    select(SIGNALS_ARCHIVE.c.key, SIGNALS_ARCHIVE.c.condition_id),
).subquery("known_signals")


def _pending_copy(row: CopyTrade) -> PendingCopy:
    return PendingCopy(
        id=row.id,
        signal_key=row.signal_key,
        config_id=row.config_id,
        config_version=row.config_version,
        user_id=row.user_id,
        side=row.side,
        asset=row.asset,
        requested_size_micro=row.requested_size_micro,
        requested_price_micro=row.requested_price_micro,
        requested_notional_micro=row.requested_notional_micro,
        created_at=row.created_at,
    )


class SqlCopyStore:
    """The copy store on the database behind `sessions`. A dropped connection raises
    `StoreUnavailableError` from every method."""

    def __init__(self, sessions: async_sessionmaker[AsyncSession]) -> None:
        self.sessions = sessions
        self._postgresql = engine_of(sessions).dialect.name == "postgresql"
        self._hot = hot_path_for(sessions)  # prewrite and persist: one hop per unit of work

    # ---------------------------------------------------------------- configs

    async def configs_for_leader(self, leader: str) -> list[StoredConfig]:
        """A config whose stored version does not read as a valid config (a poison value written by a
        bug or by hand) is paused with the reason and left out; the others are returned."""
        async with translated_errors(), self.sessions() as session:
            found, broken = await CopyConfigRepository(session).active_for_leader_checked(leader)
        for config_id, reason in broken:
            log.error("stored config unreadable; pausing it", config=config_id, reason=reason)
            await self.pause_config(config_id, reason, datetime.now(UTC))
        return found

    async def config(self, config_id: int, version: int) -> StoredConfig | None:
        async with translated_errors(), self.sessions() as session:
            return await CopyConfigRepository(session).get(config_id, version)

    async def pause_config(self, config_id: int, reason: str, now: datetime) -> bool:
        async with translated_errors(), unit_of_work(self.sessions) as session:
            return await CopyConfigRepository(session).pause(config_id, reason, now)

    # ---------------------------------------------------------------- hot path

    async def prewrite(
        self,
        signal: Signal,
        copies: Sequence[NewCopy],
        worker: str,
        now: datetime,
        *,
        record_signal: bool = True,
    ) -> dict[int, int] | None:
        try:
            if not record_signal:
                if not copies:
                    return {}
                return await self._hot.transaction(insert_copies, signal.key, copies, worker, now)
            if self._postgresql:  # one statement: autocommit, no BEGIN/COMMIT round trips
                return await self._hot.autocommit(insert_signal_with_copies, signal, copies, worker, now)
            return await self._hot.transaction(insert_signal_then_copies, signal, copies, worker, now)
        except STORE_ERRORS as exc:
            unavailable = as_unavailable(exc)
            if unavailable is None:
                raise
            raise unavailable from exc

    async def record_signals(self, signals: Sequence[Signal]) -> set[str]:
        """Record signals without copies (a recording-only sink); the keys that were new."""
        async with translated_errors(), unit_of_work(self.sessions) as session:
            return await session.run_sync(insert_signals, signals)

    async def mark_retracted(self, key: str, reason: str, at: datetime) -> int:
        """Mark the signal of ``key`` as a fill that never happened (``reason``: ``pending_dropped``,
        ``reorg``); its copies stand. Returns the rows marked (0: not recorded, or marked before)."""
        stmt = (
            update(SignalRecord)
            .where(SignalRecord.key == key, SignalRecord.retracted_at.is_(None))
            .values(retracted_at=at, retract_reason=reason[:32])
        )
        async with translated_errors(), unit_of_work(self.sessions) as session:
            return rowcount(await session.execute(stmt))

    async def write_outcomes(
        self, outcomes: Sequence[Outcome], events: Sequence[GuardrailEventRow], now: datetime
    ) -> None:
        if outcomes or events:
            try:
                await self._hot.transaction(write_outcomes, outcomes, events, now)
            except STORE_ERRORS as exc:
                unavailable = as_unavailable(exc)
                if unavailable is None:
                    raise
                raise unavailable from exc

    async def close_copies(self, outcomes: Sequence[Outcome], now: datetime) -> None:
        if outcomes:
            async with translated_errors(), unit_of_work(self.sessions) as session:
                await session.run_sync(update_finished_copies, outcomes, now)

    # ---------------------------------------------------------------- seeds at start

    async def executed_totals(self, users: Collection[int] | None = None) -> ExecutedTotals:
        # Every EXECUTED copy ever: the live tables and the archive (`polyhunter archive`) together.
        sel = (
            select(
                _EXECUTED.c.config_id,
                _EXECUTED.c.user_id,
                _KNOWN_SIGNALS.c.condition_id,
                _EXECUTED.c.asset,
                _EXECUTED.c.side,
                func.sum(_EXECUTED.c.filled_notional),
                func.sum(_EXECUTED.c.filled_size_micro),
            )
            .join(_KNOWN_SIGNALS, _KNOWN_SIGNALS.c.key == _EXECUTED.c.signal_key)
            .group_by(
                _EXECUTED.c.config_id,
                _EXECUTED.c.user_id,
                _KNOWN_SIGNALS.c.condition_id,
                _EXECUTED.c.asset,
                _EXECUTED.c.side,
            )
        )
        if users is not None:
            sel = sel.where(_EXECUTED.c.user_id.in_(sorted(set(users))))
        usdc_net: dict[tuple[int, str], Decimal] = defaultdict(Decimal)
        shares_net: dict[tuple[int, str], Decimal] = defaultdict(Decimal)
        owners: dict[int, int] = {}
        async with translated_errors(), self.sessions() as session:
            rows = (await session.execute(sel)).all()
            for config_id, user_id, condition_id, asset, side, total, size in rows:
                sign = 1 if side == Side.BUY else -1
                usdc_net[(int(config_id), str(condition_id))] += sign * Decimal(int(total or 0)) / MICRO
                shares_net[(int(config_id), str(asset))] += sign * Decimal(int(size or 0)) / MICRO
                owners[int(config_id)] = int(user_id)
        return ExecutedTotals(dict(usdc_net), dict(shares_net), owners)

    async def failing_configs(
        self, users: Collection[int], since: datetime, threshold: int
    ) -> dict[int, datetime]:
        if not users:
            return {}
        ended = (CopyTradeState.EXECUTED, CopyTradeState.SETTLEMENT_PENDING, CopyTradeState.FAILED)
        rank = func.row_number().over(partition_by=CopyTrade.config_id, order_by=CopyTrade.updated_at.desc())
        ranked = (
            select(CopyTrade.config_id, CopyTrade.state, CopyTrade.updated_at, rank.label("rn"))
            .where(
                CopyTrade.user_id.in_(sorted(set(users))),
                CopyTrade.created_at >= since,
                CopyTrade.state.in_(ended),
            )
            .subquery()
        )
        sel = select(ranked.c.config_id, ranked.c.state, ranked.c.updated_at).where(ranked.c.rn <= threshold)
        last: dict[int, list[tuple[CopyTradeState, datetime]]] = defaultdict(list)
        async with translated_errors(), self.sessions() as session:
            for config_id, state, at in (await session.execute(sel)).all():
                last[int(config_id)].append((CopyTradeState(state), at))
        return {
            cid: max(at for _, at in rows)
            for cid, rows in last.items()
            if len(rows) >= threshold and all(state is CopyTradeState.FAILED for state, _ in rows)
        }

    async def spent_today(self, now: datetime) -> dict[int, int]:
        day_start = now.astimezone(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
        sel = (
            select(CopyTrade.user_id, func.sum(_SPENT))
            .where(
                CopyTrade.created_at >= day_start,
                CopyTrade.state.in_(list(SPENDING_STATES)),
                CopyTrade.side == Side.BUY,
            )
            .group_by(CopyTrade.user_id)
        )
        async with translated_errors(), self.sessions() as session:
            return {int(user): int(total or 0) for user, total in (await session.execute(sel)).all()}

    # ---------------------------------------------------------------- the PENDING sweep

    async def claim_stale_pending(
        self, worker: str, *, older_than: datetime, lock_ttl: timedelta, limit: int, now: datetime
    ) -> list[PendingCopy]:
        async with translated_errors(), unit_of_work(self.sessions) as session:
            rows = await CopyTradeRepository(session).claim_stale_pending(
                worker, older_than=older_than, lock_ttl=lock_ttl, limit=limit, now=now
            )
        return [_pending_copy(row) for row in rows]

    async def release(self, copy_trade_id: int, worker: str) -> bool:
        async with translated_errors(), unit_of_work(self.sessions) as session:
            return await CopyTradeRepository(session).release(copy_trade_id, worker)

    async def recorded_order(self, copy: PendingCopy) -> RecordedOrder:
        async with translated_errors(), self.sessions() as session:
            condition_id = await session.scalar(
                select(SignalRecord.condition_id).where(SignalRecord.key == copy.signal_key)
            )
            order = (
                await session.execute(
                    select(Order.price_micro, Order.size_micro)
                    .where(Order.copy_trade_id == copy.id)
                    .order_by(Order.id.desc())
                    .limit(1)
                )
            ).first()
        return RecordedOrder(
            condition_id or "",
            order.price_micro if order is not None else None,
            order.size_micro if order is not None else None,
        )

    async def reconcile_executed(self, copy_trade_id: int, fill: Fill, worker: str, now: datetime) -> bool:
        values: dict[str, Any] = {
            "state": CopyTradeState.EXECUTED,
            "filled_size_micro": fill.size_micro,
            "filled_price_micro": fill.price_micro,
            "fees_micro": fill.fees_micro,
            "executed_at": now,
            "next_retry_at": None,
        }
        if fill.venue_order_id is not None:
            values["venue_order_id"] = fill.venue_order_id
        allowed = (PENDING, CopyTradeState.SETTLEMENT_PENDING)
        async with translated_errors(), unit_of_work(self.sessions) as session:
            if not await _transition(session, copy_trade_id, allowed, values, worker, now):
                return False
            outcome = Outcome(
                copy_trade_id, CopyTradeState.EXECUTED, venue_order_id=fill.venue_order_id, order_sent=True
            )
            await session.run_sync(update_finished_orders, [outcome], datetime.now(UTC))
        return True

    async def reconcile_expired(self, copy_trade_id: int, reason: str, worker: str, now: datetime) -> bool:
        values = {"state": CopyTradeState.EXPIRED, "reason": reason[:128], "next_retry_at": None}
        async with translated_errors(), unit_of_work(self.sessions) as session:
            if not await _transition(session, copy_trade_id, (PENDING,), values, worker, now):
                return False
            outcome = Outcome(copy_trade_id, CopyTradeState.EXPIRED, order_sent=True)
            await session.run_sync(
                update_finished_orders, [outcome], datetime.now(UTC), OrderStatus.UNMATCHED
            )
        return True


async def _transition(
    session: AsyncSession,
    copy_trade_id: int,
    allowed: Sequence[CopyTradeState],
    values: dict[str, Any],
    worker: str,
    now: datetime,
) -> bool:
    """Compare-and-set: the row moves only from an `allowed` state and while `worker` holds it."""
    stmt = (
        update(CopyTrade)
        .where(
            CopyTrade.id == copy_trade_id,
            CopyTrade.state.in_(list(allowed)),
            CopyTrade.locked_by == worker,
        )
        .values(updated_at=now, locked_at=None, locked_by=None, **values)
        .execution_options(synchronize_session=False)
    )
    return rowcount(await session.execute(stmt)) == 1
