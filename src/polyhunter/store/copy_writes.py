"""The copy engine's batched writes, the SQL under `SqlCopyStore` (copy_store.py): prewrite many
copies in one statement, finish many in one executemany.

On PostgreSQL a batch goes as ONE statement over `unnest` of parameter arrays (one round trip and one
plan for 10,000 rows, where an executemany sends 10,000 bound executions).

Per signal, every config's row is INSERTed with ON CONFLICT (signal_key, config_id) DO NOTHING
RETURNING id: the rows that come back are the copies this process owns; a row that does not come
back already existed (another source, supervisor or a restart made it) and is left alone. Terminal
states are written with a compare-and-set on `state = 'PENDING'`, so a copy the expiry sweep already
closed is never overwritten.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any, cast

from sqlalchemy import BigInteger, Table, Text, bindparam, insert, text, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession
from sqlalchemy.orm import Session

from polyhunter.domain.signal import Signal, to_micro
from polyhunter.domain.states import CopyTradeState, GuardrailDecision, OrderStatus
from polyhunter.ports.store import NewCopy, Outcome
from polyhunter.store.models import CopyTrade, GuardrailEvent, Order, SignalRecord
from polyhunter.store.types import UTCDateTime

SyncDb = Session | Connection  # what a unit of work runs on: the hot path's Connection, or an ORM session
Db = AsyncSession | AsyncConnection  # the async forms, for callers outside the hot path (`run_sync`)

_SIGNALS = cast(Table, SignalRecord.__table__)
_TRADES = cast(Table, CopyTrade.__table__)


def _is_postgresql(db: SyncDb) -> bool:
    dialect = db.dialect if isinstance(db, Connection) else db.get_bind().dialect
    return dialect.name == "postgresql"


def _insert(db: SyncDb, table: Table) -> Any:
    """A one-row core INSERT for the connection's dialect. Executed with a list of rows it becomes an
    executemany that SQLAlchemy batches ("insertmanyvalues") from ONE cached compiled statement."""
    return postgresql.insert(table) if _is_postgresql(db) else sqlite.insert(table)


BULK_MIN_ROWS = 2  # below this the plain statement is as cheap

_BIGINTS = postgresql.ARRAY(BigInteger)
_TEXTS = postgresql.ARRAY(Text)


def _typed(sql: str, **types: Any) -> Any:
    """A text() statement with the array parameters typed (asyncpg needs the element types)."""
    return text(sql).bindparams(*(bindparam(name, type_=type_) for name, type_ in types.items()))


# Inserting copies from parameter arrays, {key} being the signal key's SQL expression.
_COPIES_INSERT = """
    INSERT INTO copy_trades (signal_key, config_id, config_version, user_id, state, reason, side, asset,
        requested_size_micro, requested_price_micro, requested_notional_micro, created_at, updated_at,
        locked_at, locked_by, retry_count)
    SELECT {key}, c.config_id, c.config_version, c.user_id, c.state, c.reason, c.side, c.asset,
        c.size_micro, c.price_micro, c.notional_micro, :now, :now,
        CASE WHEN c.state = 'PENDING' THEN :now END, CASE WHEN c.state = 'PENDING' THEN :worker END, 0
    FROM {source} unnest(:config_ids, :versions, :user_ids, :states, :reasons, :sides, :assets, :sizes,
        :prices, :notionals) AS c(config_id, config_version, user_id, state, reason, side, asset,
        size_micro, price_micro, notional_micro)
    ON CONFLICT (signal_key, config_id) DO NOTHING
    RETURNING config_id, id
"""
_COPY_ARRAYS = {
    "now": UTCDateTime(),
    "config_ids": _BIGINTS,
    "versions": _BIGINTS,
    "user_ids": _BIGINTS,
    "states": _TEXTS,
    "reasons": _TEXTS,
    "sides": _TEXTS,
    "assets": _TEXTS,
    "sizes": _BIGINTS,
    "prices": _BIGINTS,
    "notionals": _BIGINTS,
}

_PG_PREWRITE = _typed(_COPIES_INSERT.format(key=":signal_key", source=""), **_COPY_ARRAYS)

# The signal and its copies in one statement: the copies join the signal's RETURNING, so a signal that
# already existed inserts none; the marker row (NULL, NULL) says the signal was new.
_PG_SIGNAL_AND_COPIES = _typed(
    """
    WITH s AS (
        INSERT INTO signals (key, leader, asset, condition_id, side, size_micro, price_micro, tx_hash,
            source, slug, outcome, fill_time, seen_at)
        VALUES (:signal_key, :leader, :asset, :condition_id, :side, :size_micro, :price_micro, :tx_hash,
            :source, :slug, :outcome, :fill_time, :seen_at)
        ON CONFLICT (key) DO NOTHING
        RETURNING key
    ), c AS ("""  # noqa: S608 - constant SQL fragments, no input is formatted in
    + _COPIES_INSERT.format(key="s.key", source="s CROSS JOIN")
    + """)
    SELECT NULL::bigint, NULL::bigint FROM s
    UNION ALL
    SELECT config_id, id FROM c
    """,
    fill_time=UTCDateTime(),
    seen_at=UTCDateTime(),
    **_COPY_ARRAYS,
)

_PG_FINISH = _typed(
    """
    UPDATE copy_trades AS t SET state = v.state, reason = v.reason, error = v.error,
        filled_size_micro = v.filled_size, filled_price_micro = v.filled_price, fees_micro = v.fees,
        filled_notional_micro = v.filled_notional, venue_order_id = v.order_id, executed_at = CASE WHEN v.state = 'EXECUTED' THEN :now END,
        updated_at = :now, locked_at = NULL, locked_by = NULL
    FROM unnest(:ids, :states, :reasons, :errors, :filled_sizes, :filled_prices, :fees, :order_ids,
        :filled_notionals)
        AS v(id, state, reason, error, filled_size, filled_price, fees, order_id, filled_notional)
    WHERE t.id = v.id AND t.state = 'PENDING'
    """,
    now=UTCDateTime(),
    ids=_BIGINTS,
    states=_TEXTS,
    reasons=_TEXTS,
    errors=_TEXTS,
    filled_sizes=_BIGINTS,
    filled_prices=_BIGINTS,
    fees=_BIGINTS,
    order_ids=_TEXTS,
    filled_notionals=_BIGINTS,
)

_PG_ORDER_MATCHED = _typed(
    """
    UPDATE orders AS o SET status = 'MATCHED', updated_at = :now
    FROM unnest(:ids, :order_ids) AS v(id, order_id)
    WHERE o.venue_order_id = v.order_id AND o.copy_trade_id = v.id
    """,
    now=UTCDateTime(),
    ids=_BIGINTS,
    order_ids=_TEXTS,
)

_PG_ORDER_CLOSED = _typed(
    """
    UPDATE orders SET status = :status, updated_at = :now
    WHERE copy_trade_id = ANY(:ids) AND status = 'SUBMITTING'
    """,
    now=UTCDateTime(),
    ids=_BIGINTS,
)


def _signal_row(s: Signal) -> dict[str, Any]:
    return {
        "key": s.key,
        "leader": s.leader,
        "asset": s.asset,
        "condition_id": s.condition_id,
        "side": s.side,
        "size_micro": to_micro(s.size),
        "price_micro": to_micro(s.price),
        "tx_hash": s.tx_hash,
        "source": s.source,
        "slug": s.slug[:256],
        "outcome": s.outcome[:64],
        "fill_time": s.fill_time,
        "seen_at": s.seen_at,
    }


def insert_signals(db: SyncDb, signals: Sequence[Signal]) -> set[str]:
    """Insert the signals not stored yet; return the keys that were new."""
    if not signals:
        return set()
    rows = [_signal_row(s) for s in signals]
    stmt = _insert(db, _SIGNALS).on_conflict_do_nothing(index_elements=["key"]).returning(_SIGNALS.c.key)
    return set(db.execute(stmt, rows[0] if len(rows) == 1 else rows).scalars().all())


async def record_signals(db: Db, signals: Sequence[Signal]) -> set[str]:
    return await db.run_sync(insert_signals, signals)


def _copy_arrays(copies: Sequence[NewCopy]) -> dict[str, list[Any]]:
    return {
        "config_ids": [c.config_id for c in copies],
        "versions": [c.config_version for c in copies],
        "user_ids": [c.user_id for c in copies],
        "states": [str(c.state) for c in copies],
        "reasons": [c.reason for c in copies],
        "sides": [str(c.side) for c in copies],
        "assets": [c.asset for c in copies],
        "sizes": [c.size_micro for c in copies],
        "prices": [c.price_micro for c in copies],
        "notionals": [c.notional_micro for c in copies],
    }


def insert_signal_with_copies(
    db: Connection, signal: Signal, copies: Sequence[NewCopy], worker: str, now: datetime
) -> dict[int, int] | None:
    """PostgreSQL: record the signal and prewrite its copies in ONE statement (atomic on its own, so it
    runs in autocommit: no BEGIN/COMMIT round trips). None if the signal was already recorded (then
    nothing is written); else {config_id: copy_trade_id} for the rows created here."""
    params = {
        **_signal_row(signal),
        "signal_key": signal.key,
        "now": now,
        "worker": worker,
        **_copy_arrays(copies),
    }
    del params["key"]
    params["side"], params["source"] = str(signal.side), str(signal.source)
    rows = db.execute(_PG_SIGNAL_AND_COPIES, params).all()
    if not any(config_id is None for config_id, _ in rows):
        return None  # no marker row: the signal existed
    return {int(config_id): int(trade_id) for config_id, trade_id in rows if config_id is not None}


def insert_signal_then_copies(
    db: SyncDb, signal: Signal, copies: Sequence[NewCopy], worker: str, now: datetime
) -> dict[int, int] | None:
    """Any database: the signal, then (if it was new) its copies, in the caller's transaction. None if
    the signal was already recorded."""
    if signal.key not in insert_signals(db, [signal]):
        return None
    return insert_copies(db, signal.key, copies, worker, now) if copies else {}


def insert_copies(
    db: SyncDb, signal_key: str, copies: Sequence[NewCopy], worker: str, now: datetime
) -> dict[int, int]:
    """INSERT every copy of one signal; return {config_id: copy_trade_id} for the rows created here."""
    created: dict[int, int] = {}
    if len(copies) >= BULK_MIN_ROWS and _is_postgresql(db):
        params = {"signal_key": signal_key, "now": now, "worker": worker, **_copy_arrays(copies)}
        result = db.execute(_PG_PREWRITE, params)
        return {int(config_id): int(trade_id) for config_id, trade_id in result.all()}
    rows = [
        {
            "signal_key": signal_key,
            "config_id": c.config_id,
            "config_version": c.config_version,
            "user_id": c.user_id,
            "state": c.state,
            "reason": c.reason,
            "side": c.side,
            "asset": c.asset,
            "requested_size_micro": c.size_micro,
            "requested_price_micro": c.price_micro,
            "requested_notional_micro": c.notional_micro,
            "created_at": now,
            "updated_at": now,
            "locked_at": now if c.state is CopyTradeState.PENDING else None,
            "locked_by": worker if c.state is CopyTradeState.PENDING else None,
            "retry_count": 0,
        }
        for c in copies
    ]
    stmt = (
        _insert(db, _TRADES)
        .on_conflict_do_nothing(index_elements=["signal_key", "config_id"])
        .returning(_TRADES.c.config_id, _TRADES.c.id)
    )
    for config_id, trade_id in db.execute(stmt, rows[0] if len(rows) == 1 else rows).all():
        created[int(config_id)] = int(trade_id)
    return created


_FINISH = (
    update(_TRADES)
    .where(_TRADES.c.id == bindparam("b_id"), _TRADES.c.state == CopyTradeState.PENDING)
    .values(
        state=bindparam("b_state"),
        reason=bindparam("b_reason"),
        error=bindparam("b_error"),
        filled_size_micro=bindparam("b_filled_size"),
        filled_price_micro=bindparam("b_filled_price"),
        fees_micro=bindparam("b_fees"),
        filled_notional_micro=bindparam("b_filled_notional"),
        venue_order_id=bindparam("b_order_id"),
        executed_at=bindparam("b_executed_at"),
        updated_at=bindparam("b_now"),
        locked_at=None,
        locked_by=None,
    )
)


def update_finished_copies(db: SyncDb, outcomes: Sequence[Outcome], now: datetime) -> None:
    """Write terminal states (compare-and-set on PENDING) in one executemany."""
    if not outcomes:
        return
    if len(outcomes) >= BULK_MIN_ROWS and _is_postgresql(db):
        db.execute(
            _PG_FINISH,
            {
                "now": now,
                "ids": [o.copy_trade_id for o in outcomes],
                "states": [str(o.state) for o in outcomes],
                "reasons": [o.reason[:128] if o.reason else None for o in outcomes],
                "errors": [o.error for o in outcomes],
                "filled_sizes": [o.filled_size_micro for o in outcomes],
                "filled_prices": [o.filled_price_micro for o in outcomes],
                "fees": [o.fees_micro for o in outcomes],
                "order_ids": [o.venue_order_id for o in outcomes],
                "filled_notionals": [o.filled_notional_micro for o in outcomes],
            },
        )
        return
    params = [
        {
            "b_id": o.copy_trade_id,
            "b_state": o.state,
            "b_reason": o.reason[:128] if o.reason else None,
            "b_error": o.error,
            "b_filled_size": o.filled_size_micro,
            "b_filled_price": o.filled_price_micro,
            "b_fees": o.fees_micro,
            "b_filled_notional": o.filled_notional_micro,
            "b_order_id": o.venue_order_id,
            "b_executed_at": now if o.state is CopyTradeState.EXECUTED else None,
            "b_now": now,
        }
        for o in outcomes
    ]
    db.execute(_FINISH, params)


async def finish_copies(db: Db, outcomes: Sequence[Outcome], now: datetime) -> None:
    await db.run_sync(update_finished_copies, outcomes, now)


_ORDERS = cast(Table, Order.__table__)
_ORDER_MATCHED = (
    update(_ORDERS)
    .where(_ORDERS.c.venue_order_id == bindparam("b_order_id"), _ORDERS.c.copy_trade_id == bindparam("b_id"))
    .values(status=OrderStatus.MATCHED, updated_at=bindparam("b_now"))
)
_ORDER_CLOSED = (
    update(_ORDERS)
    .where(_ORDERS.c.copy_trade_id == bindparam("b_id"), _ORDERS.c.status == OrderStatus.SUBMITTING)
    .values(status=bindparam("b_status"), updated_at=bindparam("b_now"))
)


def update_finished_orders(
    db: SyncDb,
    outcomes: Sequence[Outcome],
    now: datetime,
    unfilled: OrderStatus = OrderStatus.REJECTED,
) -> None:
    """Give the `orders` rows (written SUBMITTING before each POST) of finished copies their result: the
    order an EXECUTED copy filled with is MATCHED, every other one `unfilled` (killed or refused)."""
    sent = [o for o in outcomes if o.order_sent]
    matched = [
        {"b_id": o.copy_trade_id, "b_order_id": o.venue_order_id, "b_now": now}
        for o in sent
        if o.state is CopyTradeState.EXECUTED and o.venue_order_id
    ]
    if len(sent) >= BULK_MIN_ROWS and _is_postgresql(db):
        if matched:
            db.execute(
                _PG_ORDER_MATCHED,
                {
                    "now": now,
                    "ids": [m["b_id"] for m in matched],
                    "order_ids": [m["b_order_id"] for m in matched],
                },
            )
        db.execute(
            _PG_ORDER_CLOSED, {"now": now, "status": str(unfilled), "ids": [o.copy_trade_id for o in sent]}
        )
        return
    if matched:
        db.execute(_ORDER_MATCHED, matched)
    if sent:
        db.execute(
            _ORDER_CLOSED, [{"b_id": o.copy_trade_id, "b_status": unfilled, "b_now": now} for o in sent]
        )


async def finish_orders(
    db: Db,
    outcomes: Sequence[Outcome],
    now: datetime,
    unfilled: OrderStatus = OrderStatus.REJECTED,
) -> None:
    await db.run_sync(update_finished_orders, outcomes, now, unfilled)


def insert_guardrail_events(db: SyncDb, events: Sequence[dict[str, Any]], now: datetime) -> None:
    if events:
        db.execute(
            insert(GuardrailEvent),
            [{"decision": GuardrailDecision.VETO, "created_at": now, **e} for e in events],
        )


def write_outcomes(
    db: SyncDb, outcomes: Sequence[Outcome], events: Sequence[dict[str, Any]], now: datetime
) -> None:
    """The engine's persist step as one unit of work: terminal states, their orders' results and the
    guardrail events of one signal."""
    update_finished_copies(db, outcomes, now)
    update_finished_orders(db, outcomes, now)
    insert_guardrail_events(db, events, now)
