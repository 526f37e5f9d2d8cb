"""Cursors in the database (`signal_cursors`), so every source resumes where it stopped after a restart.

The poller's cursor is per leader (`last_ts` in epoch seconds); the chain source keeps one cursor per
chain name, the block number in `last_block`, under a reserved pseudo-address (`0xffff…` followed by
a hash of the name) since the table is keyed by (leader address, source).
"""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from polyhunter.domain.signal import SourceKind
from polyhunter.ingest.cursors import Cursor
from polyhunter.store.database import unit_of_work
from polyhunter.store.repos.signals import Cursor as StoredCursor
from polyhunter.store.repos.signals import SignalCursorRepository

CHAIN_CURSOR_PREFIX = "0x" + "f" * 16


def chain_cursor_address(name: str) -> str:
    """The reserved address that holds the chain cursor called `name` (no leader owns 0xffff…ffff…)."""
    return CHAIN_CURSOR_PREFIX + hashlib.sha256(name.encode()).hexdigest()[:24]


def _split(leader: str, source: str) -> tuple[str, SourceKind]:
    if source.startswith("chain"):
        return chain_cursor_address(source.partition(":")[2]), SourceKind.CHAIN
    return leader, SourceKind(source)


class SqlCursorStore:
    def __init__(self, sessions: async_sessionmaker[AsyncSession]) -> None:
        self._sessions = sessions

    async def load(self, leader: str, source: str) -> Cursor | None:
        key, kind = _split(leader, source)
        async with self._sessions() as session:
            stored = await SignalCursorRepository(session).load(key, kind)
        if stored is None:
            return None
        if kind is SourceKind.CHAIN:
            last = stored.last_block or 0
        else:
            last = int(stored.last_ts.timestamp()) if stored.last_ts else 0
        return Cursor(leader, source, last, stored.keys_at_ts)

    async def save(self, cursor: Cursor) -> None:
        key, kind = _split(cursor.leader, cursor.source)
        chain = kind is SourceKind.CHAIN
        stored = StoredCursor(
            leader=key,
            source=kind,
            last_ts=None if chain else datetime.fromtimestamp(cursor.last_ts, UTC),
            keys_at_ts=cursor.seen_keys,
            last_block=cursor.last_ts if chain else None,
        )
        async with unit_of_work(self._sessions) as session:
            await SignalCursorRepository(session).save(stored)
