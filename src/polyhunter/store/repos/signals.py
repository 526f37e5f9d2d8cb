"""Signals (leader fills) and the per-(leader, source) cursors sources resume from after a restart."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from polyhunter.domain.signal import Signal, SourceKind, to_micro
from polyhunter.store.base import utcnow
from polyhunter.store.models import SignalCursor, SignalRecord
from polyhunter.store.repos.accounts import normalize_address
from polyhunter.store.repos.sql_helpers import cached_upsert, rowcount, upsert_insert


@dataclass(frozen=True, slots=True)
class Cursor:
    """Where ``source`` stopped for ``leader``: fills up to ``last_ts`` are done, and of the fills at
    exactly ``last_ts`` the ones in ``keys_at_ts`` are done."""

    leader: str
    source: SourceKind
    last_ts: datetime | None
    keys_at_ts: frozenset[str] = frozenset()
    last_block: int | None = None
    updated_at: datetime | None = None


def _cursor(row: SignalCursor) -> Cursor:
    return Cursor(
        leader=row.leader,
        source=row.source,
        last_ts=row.last_ts,
        keys_at_ts=frozenset(str(k) for k in row.keys_at_ts),
        last_block=row.last_block,
        updated_at=row.updated_at,
    )


class SignalCursorRepository:
    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def load(self, leader: str, source: SourceKind) -> Cursor | None:
        row = await self._session.scalar(
            select(SignalCursor).where(
                SignalCursor.leader == normalize_address(leader), SignalCursor.source == source
            )
        )
        return None if row is None else _cursor(row)

    async def load_all(self, source: SourceKind) -> dict[str, Cursor]:
        """Every cursor of one source, by leader address."""
        rows = await self._session.scalars(select(SignalCursor).where(SignalCursor.source == source))
        return {row.leader: _cursor(row) for row in rows}

    async def save(self, cursor: Cursor, *, now: datetime | None = None) -> None:
        """Insert or replace the cursor of (leader, source)."""
        values = {
            "leader": normalize_address(cursor.leader),
            "source": cursor.source,
            "last_ts": cursor.last_ts,
            "keys_at_ts": sorted(cursor.keys_at_ts),
            "last_block": cursor.last_block,
            "updated_at": now or utcnow(),
        }
        stmt = cached_upsert(
            self._session,
            SignalCursor,
            ("leader", "source"),
            ("last_ts", "keys_at_ts", "last_block", "updated_at"),
        )
        await self._session.execute(stmt, values)


class SignalRepository:
    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def record(self, signal: Signal) -> bool:
        """Store a signal; False if its key is already stored (whichever source saw it first wins)."""
        stmt = upsert_insert(self._session, SignalRecord).values(
            key=signal.key,
            leader=normalize_address(signal.leader),
            asset=signal.asset,
            condition_id=signal.condition_id,
            side=signal.side,
            size_micro=to_micro(signal.size),
            price_micro=to_micro(signal.price),
            tx_hash=signal.tx_hash.lower(),
            source=signal.source,
            slug=signal.slug,
            outcome=signal.outcome,
            fill_time=signal.fill_time,
            seen_at=signal.seen_at,
        )
        result = await self._session.execute(stmt.on_conflict_do_nothing(index_elements=["key"]))
        return rowcount(result) == 1

    async def by_key(self, key: str) -> SignalRecord | None:
        return await self._session.scalar(select(SignalRecord).where(SignalRecord.key == key))
