"""The engine's batched writes: prewrite many copies in one statement, finish many in one executemany.

Per signal, every config's row is INSERTed with ON CONFLICT (signal_key, config_id) DO NOTHING
RETURNING id: the rows that come back are the copies this process owns; a row that does not come
back already existed (another source, supervisor or a restart made it) and is left alone. Terminal
states are written with a compare-and-set on `state = 'PENDING'`, so a copy the expiry sweep already
closed is never overwritten.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, cast

from sqlalchemy import Table, bindparam, insert, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from polyhunter.domain.signal import Side, Signal, to_micro
from polyhunter.store.enums import CopyTradeState, GuardrailDecision, OrderStatus
from polyhunter.store.models import CopyTrade, GuardrailEvent, Order, SignalRecord
from polyhunter.store.repos.sql_helpers import is_postgresql


@dataclass(frozen=True, slots=True)
class NewCopy:
    config_id: int
    config_version: int
    user_id: int
    side: Side
    asset: str
    size_micro: int
    price_micro: int
    notional_micro: int
    state: CopyTradeState = CopyTradeState.PENDING
    reason: str | None = None


@dataclass(frozen=True, slots=True)
class Outcome:
    copy_trade_id: int
    state: CopyTradeState
    reason: str | None = None
    error: str | None = None
    filled_size_micro: int | None = None
    filled_price_micro: int | None = None
    fees_micro: int | None = None
    venue_order_id: str | None = None
    order_sent: bool = False  # the copy reached an executor: its `orders` rows take this outcome


_SIGNALS = cast(Table, SignalRecord.__table__)
_TRADES = cast(Table, CopyTrade.__table__)


def _insert(session: AsyncSession, table: Table) -> Any:
    """A one-row core INSERT for the session's dialect. Executed with a list of rows it becomes an
    executemany that SQLAlchemy batches ("insertmanyvalues") from ONE cached compiled statement."""
    return postgresql.insert(table) if is_postgresql(session) else sqlite.insert(table)


async def record_signals(session: AsyncSession, signals: Sequence[Signal]) -> set[str]:
    """Insert the signals not stored yet; return the keys that were new."""
    if not signals:
        return set()
    rows = [
        {
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
        for s in signals
    ]
    stmt = _insert(session, _SIGNALS).on_conflict_do_nothing(index_elements=["key"]).returning(_SIGNALS.c.key)
    return set((await session.execute(stmt, rows)).scalars().all())


async def prewrite_copies(
    session: AsyncSession, signal_key: str, copies: Sequence[NewCopy], worker: str, now: datetime
) -> dict[int, int]:
    """INSERT every copy of one signal; return {config_id: copy_trade_id} for the rows created here."""
    created: dict[int, int] = {}
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
        _insert(session, _TRADES)
        .on_conflict_do_nothing(index_elements=["signal_key", "config_id"])
        .returning(_TRADES.c.config_id, _TRADES.c.id)
    )
    for config_id, trade_id in (await session.execute(stmt, rows)).all():
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
        venue_order_id=bindparam("b_order_id"),
        executed_at=bindparam("b_executed_at"),
        updated_at=bindparam("b_now"),
        locked_at=None,
        locked_by=None,
    )
)


async def finish_copies(session: AsyncSession, outcomes: Sequence[Outcome], now: datetime) -> None:
    """Write terminal states (compare-and-set on PENDING) in one executemany."""
    if not outcomes:
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
            "b_order_id": o.venue_order_id,
            "b_executed_at": now if o.state is CopyTradeState.EXECUTED else None,
            "b_now": now,
        }
        for o in outcomes
    ]
    await session.execute(_FINISH, params)


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


async def finish_orders(
    session: AsyncSession,
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
    if matched:
        await session.execute(_ORDER_MATCHED, matched)
    if sent:
        await session.execute(
            _ORDER_CLOSED, [{"b_id": o.copy_trade_id, "b_status": unfilled, "b_now": now} for o in sent]
        )


async def record_guardrail_events(
    session: AsyncSession, events: Sequence[dict[str, Any]], now: datetime
) -> None:
    if events:
        await session.execute(
            insert(GuardrailEvent),
            [{"decision": GuardrailDecision.VETO, "created_at": now, **e} for e in events],
        )
