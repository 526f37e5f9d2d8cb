"""Copies a dead cluster worker prewrote and never sent: handed back so that a partition's new owner
copies their signals late, but once.

A worker acknowledges a signal in its partition's stream once the copies are prewritten (PENDING rows
locked by it). If it dies before it sent them, the stream will not deliver the signal again and the
PENDING sweep would only expire them after their time to live: the copy would be lost. So the new owner
of a partition, before it reads the stream, deletes the PENDING rows of its partition's followers that
are locked by a worker no longer alive and that have no order journaled (nothing can have reached the
venue: an order is journaled before it is posted, and the journal row's foreign key makes a late post of
a worker that is not quite dead fail instead), and gets their signals back to hand to its engine, which
prewrites and copies them again. Rows with an order journaled are left to the sweep (reconciled against
the venue). The delete and the new prewrite are two transactions: a new owner dying between them loses
those copies (they are not PENDING any more for the sweep either); the window is one prewrite.
"""

from __future__ import annotations

from collections.abc import Callable, Collection
from decimal import Decimal

from sqlalchemy import ColumnElement, delete, exists, select

from polyhunter.domain.signal import Signal
from polyhunter.domain.states import CopyTradeState
from polyhunter.store.database import unit_of_work
from polyhunter.store.models.copying import CopyTrade
from polyhunter.store.models.signals import SignalRecord
from polyhunter.store.models.trading import Order
from polyhunter.store.sessions import SessionFactory

MICRO = Decimal(1_000_000)


def _orphaned(live: Collection[str]) -> list[ColumnElement[bool]]:
    return [
        CopyTrade.state == CopyTradeState.PENDING,
        CopyTrade.locked_by.is_not(None),
        CopyTrade.locked_by.not_in(list(live)),
        ~exists().where(Order.copy_trade_id == CopyTrade.id),
    ]


def _signal(r: SignalRecord) -> Signal:
    return Signal(
        key=r.key,
        leader=r.leader,
        asset=r.asset,
        condition_id=r.condition_id,
        side=r.side,
        size=Decimal(r.size_micro) / MICRO,
        price=Decimal(r.price_micro) / MICRO,
        tx_hash=r.tx_hash,
        fill_time=r.fill_time,
        seen_at=r.seen_at,
        source=r.source,
        slug=r.slug,
        outcome=r.outcome,
    )


async def release_orphans(
    sessions: SessionFactory, live: Collection[str], in_scope: Callable[[int], bool]
) -> list[Signal]:
    """Delete the unsent PENDING copies of the followers `in_scope` locked by workers not in `live`;
    the signals they were copies of, oldest first."""
    async with unit_of_work(sessions) as session:
        found = (await session.execute(select(CopyTrade.id, CopyTrade.user_id).where(*_orphaned(live)))).all()
        ids = [int(i) for i, user_id in found if in_scope(int(user_id))]
        if not ids:
            return []
        gone = await session.execute(
            delete(CopyTrade).where(CopyTrade.id.in_(ids), *_orphaned(live)).returning(CopyTrade.signal_key)
        )
        keys = {str(k) for (k,) in gone.all()}
        if not keys:
            return []
        records = (
            await session.scalars(
                select(SignalRecord).where(SignalRecord.key.in_(keys)).order_by(SignalRecord.id)
            )
        ).all()
    return [_signal(r) for r in records]
