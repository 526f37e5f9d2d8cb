"""The settlement round's lock across processes: one holder at a time per name, on each backend (a second
engine stands for a second process: its own connection, or its own open file beside the SQLite database)."""

from __future__ import annotations

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from polyhunter.settings import DbSettings
from polyhunter.store.database import create_engine
from polyhunter.store.round_lock import RoundLock

pytestmark = pytest.mark.integration


async def test_one_holder_at_a_time_and_free_once_released(engine: AsyncEngine, head_db: DbSettings) -> None:
    other = create_engine(head_db)
    try:
        mine, theirs = RoundLock(engine, "settlement:test"), RoundLock(other, "settlement:test")
        elsewhere = RoundLock(other, "settlement:another-namespace")
        async with mine.try_hold() as held:
            assert held
            async with theirs.try_hold() as also:
                assert not also
            async with elsewhere.try_hold() as free:
                assert free  # another name is another lock
        async with theirs.try_hold() as held_now:
            assert held_now
            async with mine.try_hold() as again:
                assert not again
    finally:
        await other.dispose()
