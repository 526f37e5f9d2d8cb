"""Moving old rows to the archive tables (models/archive.py): the SQL under `polyhunter archive`.

What moves:

- copy trades in a terminal state (`TERMINAL_STATES`: EXECUTED, SKIPPED, FAILED, EXPIRED) created
  before the cutoff, with their `orders` rows and `guardrail_events`. PENDING and SETTLEMENT_PENDING
  are never moved. A copy with an order still open or to be reconciled (SUBMITTING, LIVE, DELAYED,
  UNKNOWN) stays, and so does one still referenced by accounting rows that are not archived (an
  order with `fills`, a `commission_logs` or `reimbursement_ledger` entry), so no foreign key breaks;
- guardrail events older than the cutoff that name no copy trade;
- signals older than the signal cutoff that no live (non-archived) copy trade references.

Each batch is one transaction: pick up to N ids, ``INSERT INTO x_archive SELECT ... WHERE id IN ids``
(``ON CONFLICT (id) DO NOTHING``), then ``DELETE ... WHERE id IN ids``. A kill mid-way rolls back the
batch in flight and keeps the committed ones: re-running picks up what is left, nothing is lost or
copied twice (the archive's primary key is the live row's id).

The dedup role of `signals` (a fill re-delivered is not copied again: the prewrite's
``INSERT ... ON CONFLICT (key) DO NOTHING`` finds the signal). Choice: the prewrite is left as it is
(no archive lookup on the hot path) and signals are archived only once no source can deliver their fill
to the engine again: the mux drops any fill that reaches it more than ``ingest.max_signal_age_s`` after
the fill (before dedup and prewrite), the poller re-reads at most ``ingest.replay_window_s`` back and
the shared dedup remembers keys ``ingest.dedup_ttl_s``. `signal_cutoff` is therefore ``now`` minus the
largest of those and the operator's ``--older-than`` (which is at least one day), on both `fill_time`
and `seen_at`. A re-delivered fill older than that is stale at the mux: it is never copied, archived
signal or not.

The daily caps seed (`CopyStore.spent_today`, today's copies by `created_at`) is untouched because the
cutoff is at least one day back; the exposure seed (`CopyStore.executed_totals`, every EXECUTED copy
ever) reads the live and archive tables together.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, cast

from sqlalchemy import ColumnElement, Table, and_, delete, exists, func, not_, or_, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from polyhunter.domain.states import TERMINAL_STATES, OrderStatus
from polyhunter.settings import IngestSettings
from polyhunter.store.models import (
    COPY_TRADES_ARCHIVE,
    GUARDRAIL_EVENTS_ARCHIVE,
    ORDERS_ARCHIVE,
    SIGNALS_ARCHIVE,
    CommissionLog,
    CopyTrade,
    Fill,
    GuardrailEvent,
    Order,
    ReimbursementEntry,
    SignalRecord,
)

MIN_OLDER_THAN_DAYS = 1
# Orders the venue may still fill or that are still to be reconciled: their copy stays live.
OPEN_ORDER_STATUSES = (OrderStatus.SUBMITTING, OrderStatus.LIVE, OrderStatus.DELAYED, OrderStatus.UNKNOWN)

_TRADES = cast(Table, CopyTrade.__table__)
_ORDERS = cast(Table, Order.__table__)
_EVENTS = cast(Table, GuardrailEvent.__table__)
_SIGNALS = cast(Table, SignalRecord.__table__)
_FILLS = cast(Table, Fill.__table__)
_COMMISSIONS = cast(Table, CommissionLog.__table__)
_REIMBURSEMENTS = cast(Table, ReimbursementEntry.__table__)

LIVE_TABLES = ("copy_trades", "orders", "guardrail_events", "signals")
ARCHIVE_TABLES = tuple(
    t.name for t in (COPY_TRADES_ARCHIVE, ORDERS_ARCHIVE, GUARDRAIL_EVENTS_ARCHIVE, SIGNALS_ARCHIVE)
)

Progress = Callable[[str, int, int], None]  # (what, moved so far, total) after each committed batch


@dataclass(frozen=True)
class Cutoffs:
    copies: datetime  # terminal copies (and their orders, events) created before this move
    signals: datetime  # signals whose fill and first sighting are before this move


@dataclass
class ArchiveCounts:
    copy_trades: int = 0
    orders: int = 0
    guardrail_events: int = 0
    signals: int = 0


def signal_horizon_s(ingest: IngestSettings) -> int:
    """How far back a source may still hand a fill to the engine (see the module docstring)."""
    return max(ingest.max_signal_age_s, ingest.replay_window_s, ingest.dedup_ttl_s)


def cutoffs(now: datetime, older_than_days: int, ingest: IngestSettings) -> Cutoffs:
    if older_than_days < MIN_OLDER_THAN_DAYS:
        raise ValueError(
            f"--older-than must be at least {MIN_OLDER_THAN_DAYS} day (today's caps read today's copies)"
        )
    copies = now - timedelta(days=older_than_days)
    return Cutoffs(copies=copies, signals=min(copies, now - timedelta(seconds=signal_horizon_s(ingest))))


def _archivable_copy(cut: datetime) -> ColumnElement[bool]:
    t = _TRADES.c
    has_fills = exists().where(_ORDERS.c.copy_trade_id == t.id, _FILLS.c.order_id == _ORDERS.c.id)
    open_order = exists().where(
        _ORDERS.c.copy_trade_id == t.id, _ORDERS.c.status.in_([s.value for s in OPEN_ORDER_STATUSES])
    )
    return and_(
        t.state.in_([s.value for s in TERMINAL_STATES]),
        t.created_at < cut,
        not_(has_fills),
        not_(open_order),
        not_(exists().where(_COMMISSIONS.c.copy_trade_id == t.id)),
        not_(exists().where(_REIMBURSEMENTS.c.copy_trade_id == t.id)),
    )


def _standalone_event(cut: datetime) -> ColumnElement[bool]:
    return and_(_EVENTS.c.copy_trade_id.is_(None), _EVENTS.c.created_at < cut)


def _old_signal(cut: datetime) -> ColumnElement[bool]:
    s = _SIGNALS.c
    return and_(s.fill_time < cut, s.seen_at < cut)


def _unreferenced_signal(cut: datetime) -> ColumnElement[bool]:
    return and_(_old_signal(cut), not_(exists().where(_TRADES.c.signal_key == _SIGNALS.c.key)))


async def count(engine: AsyncEngine, cut: Cutoffs) -> ArchiveCounts:
    """What an archive run with these cutoffs would move (`--dry-run`), without moving anything.

    Signals are counted as they will be once the copies moved: old signals whose every copy moves."""
    copy_ids = select(_TRADES.c.id).where(_archivable_copy(cut.copies))
    staying = and_(_TRADES.c.signal_key == _SIGNALS.c.key, not_(_archivable_copy(cut.copies)))
    async with engine.connect() as conn:
        trades = await conn.scalar(
            select(func.count()).select_from(_TRADES).where(_archivable_copy(cut.copies))
        )
        orders = await conn.scalar(select(func.count()).where(_ORDERS.c.copy_trade_id.in_(copy_ids)))
        events = await conn.scalar(
            select(func.count()).where(
                or_(_EVENTS.c.copy_trade_id.in_(copy_ids), _standalone_event(cut.copies))
            )
        )
        signals = await conn.scalar(
            select(func.count()).where(_old_signal(cut.signals), not_(exists().where(staying)))
        )
    return ArchiveCounts(int(trades or 0), int(orders or 0), int(events or 0), int(signals or 0))


def _insert(conn: AsyncConnection, archive: Table, live: Table, where: ColumnElement[bool]) -> Any:
    names = [c.name for c in live.columns]
    source = select(*(live.c[n] for n in names)).where(where)
    dialect = postgresql if conn.dialect.name == "postgresql" else sqlite
    stmt = dialect.insert(archive).from_select(names, source)
    return stmt.on_conflict_do_nothing(index_elements=["id"])


async def _move(conn: AsyncConnection, archive: Table, live: Table, where: ColumnElement[bool]) -> int:
    await conn.execute(_insert(conn, archive, live, where))
    result = await conn.execute(delete(live).where(where))
    return int(result.rowcount or 0)


async def _copies_batch(engine: AsyncEngine, cut: datetime, batch: int, counts: ArchiveCounts) -> int:
    async with engine.begin() as conn:
        ids: Sequence[int] = (
            await conn.scalars(
                select(_TRADES.c.id).where(_archivable_copy(cut)).order_by(_TRADES.c.id).limit(batch)
            )
        ).all()
        if not ids:
            return 0
        counts.guardrail_events += await _move(
            conn, GUARDRAIL_EVENTS_ARCHIVE, _EVENTS, _EVENTS.c.copy_trade_id.in_(ids)
        )
        counts.orders += await _move(conn, ORDERS_ARCHIVE, _ORDERS, _ORDERS.c.copy_trade_id.in_(ids))
        moved = await _move(conn, COPY_TRADES_ARCHIVE, _TRADES, _TRADES.c.id.in_(ids))
    counts.copy_trades += moved
    return moved


async def _ids_batch(
    engine: AsyncEngine, archive: Table, live: Table, where: ColumnElement[bool], batch: int
) -> int:
    async with engine.begin() as conn:
        ids = (await conn.scalars(select(live.c.id).where(where).order_by(live.c.id).limit(batch))).all()
        if not ids:
            return 0
        return await _move(conn, archive, live, live.c.id.in_(ids))


async def archive(
    engine: AsyncEngine, cut: Cutoffs, *, batch: int, progress: Progress | None = None
) -> ArchiveCounts:
    """Move what `count` counts, `batch` rows of each table per transaction; `progress` after each."""
    if batch < 1:
        raise ValueError("batch must be at least 1")
    planned = await count(engine, cut)
    moved = ArchiveCounts()
    report = progress or (lambda _what, _done, _total: None)
    while await _copies_batch(engine, cut.copies, batch, moved):
        report("copy_trades", moved.copy_trades, max(planned.copy_trades, moved.copy_trades))
    while n := await _ids_batch(
        engine, GUARDRAIL_EVENTS_ARCHIVE, _EVENTS, _standalone_event(cut.copies), batch
    ):
        moved.guardrail_events += n
        report(
            "guardrail_events", moved.guardrail_events, max(planned.guardrail_events, moved.guardrail_events)
        )
    while n := await _ids_batch(engine, SIGNALS_ARCHIVE, _SIGNALS, _unreferenced_signal(cut.signals), batch):
        moved.signals += n
        report("signals", moved.signals, max(planned.signals, moved.signals))
    return moved


async def vacuum(engine: AsyncEngine) -> None:
    """Give the space back: VACUUM (SQLite: the whole file) or VACUUM ANALYZE of the touched tables
    (PostgreSQL); both outside a transaction."""
    async with engine.connect() as conn:
        if conn.dialect.name == "postgresql":
            auto = await conn.execution_options(isolation_level="AUTOCOMMIT")
            await auto.exec_driver_sql("VACUUM ANALYZE " + ", ".join(LIVE_TABLES + ARCHIVE_TABLES))
            return
        raw = await conn.get_raw_connection()
        driver: Any = (
            raw.driver_connection
        )  # aiosqlite, in autocommit (database.py sets isolation_level None)
        await driver.execute("VACUUM")
