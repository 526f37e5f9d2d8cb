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

The stream is not the record either: Redis restarted without persistence (or failed over to a replica
that had not caught up) loses the stream, its consumer groups and the entries no partition had read yet,
though their signals are recorded in ``signals`` (the ingest worker records a signal before it appends
it). So a new owner also gets back the recorded signals of the last ``window`` that a config of one of its
partition's followers has no copy row of (the config active, not paused, and made before the signal
was seen), among those seen before the oldest entry still in the stream (all, if it is empty):
``recover_partition`` is both, what the owner hands to its engine before it reads the stream.
The copy rows' unique (signal key, config) key makes a signal that is in the stream too a no-op the second
time.
"""

from __future__ import annotations

from collections.abc import Callable, Collection
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from sqlalchemy import ColumnElement, delete, exists, select

from polyhunter.domain.signal import Signal
from polyhunter.domain.states import CopyTradeState
from polyhunter.store.database import unit_of_work
from polyhunter.store.models.accounts import Leader
from polyhunter.store.models.copying import CopyConfig, CopyTrade
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


async def uncopied_signals(
    sessions: SessionFactory,
    since: datetime,
    until: datetime,
    in_scope: Callable[[int], bool],
    max_age: timedelta = timedelta(days=1),
) -> list[Signal]:
    """The signals seen from `since` to `until` (not retracted) that an active, unpaused config of a
    follower `in_scope`, made before the signal was seen, has no copy row of; oldest first. `max_age`:
    how long after its fill a signal can have been seen (`ingest.max_signal_age_s`)."""
    no_copy = ~exists().where(CopyTrade.signal_key == SignalRecord.key, CopyTrade.config_id == CopyConfig.id)
    sel = (
        select(SignalRecord, CopyConfig.user_id)
        .join(Leader, Leader.address == SignalRecord.leader)
        .join(CopyConfig, CopyConfig.leader_id == Leader.id)
        .where(
            # the mux takes no fill older than ingest.max_signal_age_s (the window), so a signal seen
            # since `since` filled after `since - window`: a bound the (leader, fill_time) index serves
            SignalRecord.fill_time >= since - max_age,
            SignalRecord.seen_at >= since,
            SignalRecord.seen_at <= until,
            SignalRecord.retracted_at.is_(None),
            CopyConfig.active.is_(True),
            CopyConfig.paused_at.is_(None),
            CopyConfig.created_at <= SignalRecord.seen_at,
            no_copy,
        )
        .order_by(SignalRecord.id)
    )
    async with sessions() as session:
        found = (await session.execute(sel)).all()
    out: dict[str, Signal] = {}
    for record, user_id in found:
        if record.key not in out and in_scope(int(user_id)):
            out[record.key] = _signal(record)
    return list(out.values())


async def recover_partition(
    sessions: SessionFactory,
    live: Collection[str],
    in_scope: Callable[[int], bool],
    until: datetime,
    *,
    window: timedelta,
) -> list[Signal]:
    """What a partition's new owner hands to its engine before it reads the stream: the signals of the
    dead owners' unsent copies (released: `release_orphans`), then every signal seen in the last
    `window`, up to `until` (from when the stream still holds what was published), that a config of
    the partition's followers has no copy of (`uncopied_signals`)."""
    released = await release_orphans(sessions, live, in_scope)
    uncopied = await uncopied_signals(sessions, datetime.now(UTC) - window, until, in_scope, window)
    seen = {s.key for s in uncopied}
    return [s for s in released if s.key not in seen] + uncopied
