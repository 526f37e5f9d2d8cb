"""Signals are stored once per key; cursors survive a restart (a new engine) exactly, in aware UTC."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal

import pytest
from sqlalchemy import text
from sqlalchemy.exc import StatementError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from polyhunter.domain.signal import Side, Signal, SourceKind, signal_key, to_micro
from polyhunter.settings import DbSettings
from polyhunter.store.database import create_engine, create_session_factory, unit_of_work
from polyhunter.store.repos.signals import Cursor, SignalCursorRepository, SignalRepository
from tests.support.store_factories import new_address

pytestmark = pytest.mark.integration


def _signal(leader: str, source: SourceKind) -> Signal:
    tx = "0x" + "ab" * 32
    size = Decimal("1030.92")
    return Signal(
        key=signal_key(tx, leader, "123456789", Side.BUY, to_micro(size)),
        leader=leader,
        asset="123456789",
        condition_id="0x" + "cd" * 32,
        side=Side.BUY,
        size=size,
        price=Decimal("0.9597472099"),
        tx_hash=tx,
        fill_time=datetime(2026, 3, 1, 12, 0, 1, tzinfo=UTC),
        seen_at=datetime(2026, 3, 1, 14, 0, 1, 250_000, tzinfo=timezone(timedelta(hours=2))),
        source=source,
    )


async def test_signal_stored_once(sessions: async_sessionmaker[AsyncSession]) -> None:
    leader = new_address()
    async with unit_of_work(sessions) as s:
        repo = SignalRepository(s)
        assert await repo.record(_signal(leader, SourceKind.WS))
        assert not await repo.record(_signal(leader, SourceKind.POLL))  # same fill, other source
    async with unit_of_work(sessions) as s:
        row = await SignalRepository(s).by_key(_signal(leader, SourceKind.WS).key)
    assert row is not None
    assert row.source is SourceKind.WS
    assert (row.size_micro, row.price_micro) == (1_030_920_000, 959_747)
    assert row.seen_at == datetime(2026, 3, 1, 12, 0, 1, 250_000, tzinfo=UTC)
    assert row.seen_at.tzinfo is UTC


async def test_cursor_round_trip_and_upsert(head_db: DbSettings) -> None:
    leader = new_address()
    ts = datetime(2026, 3, 1, 12, 0, 1, tzinfo=UTC)
    first = Cursor(leader=leader, source=SourceKind.POLL, last_ts=ts, keys_at_ts=frozenset({"k1", "k2"}))
    engine = create_engine(head_db)
    try:
        async with unit_of_work(create_session_factory(engine)) as s:
            repo = SignalCursorRepository(s)
            assert await repo.load(leader, SourceKind.POLL) is None
            await repo.save(first)
            await repo.save(
                Cursor(leader=leader, source=SourceKind.CHAIN, last_ts=None, last_block=81_234_567)
            )
    finally:
        await engine.dispose()

    # A restart: a new engine reads what the old one wrote.
    engine = create_engine(head_db)
    sessions = create_session_factory(engine)
    try:
        async with unit_of_work(sessions) as s:
            loaded = await SignalCursorRepository(s).load(leader.upper().replace("0X", "0x"), SourceKind.POLL)
            chain = await SignalCursorRepository(s).load(leader, SourceKind.CHAIN)
        assert loaded is not None
        assert (loaded.last_ts, loaded.keys_at_ts) == (ts, frozenset({"k1", "k2"}))
        assert loaded.last_ts is not None
        assert loaded.last_ts.tzinfo is UTC
        assert chain is not None
        assert chain.last_block == 81_234_567

        later = Cursor(
            leader=leader,
            source=SourceKind.POLL,
            last_ts=ts + timedelta(seconds=5),
            keys_at_ts=frozenset({"k3"}),
        )
        async with unit_of_work(sessions) as s:
            await SignalCursorRepository(s).save(later)
        async with unit_of_work(sessions) as s:
            repo = SignalCursorRepository(s)
            again = await repo.load(leader, SourceKind.POLL)
            every = await repo.load_all(SourceKind.POLL)
            count = (
                await s.execute(text("SELECT count(*) FROM signal_cursors WHERE leader = :l"), {"l": leader})
            ).scalar_one()
    finally:
        await engine.dispose()
    assert again is not None
    assert (again.last_ts, again.keys_at_ts) == (later.last_ts, later.keys_at_ts)
    assert every[leader].last_ts == later.last_ts
    assert count == 2  # one row per (leader, source): the save replaced, not appended


async def test_naive_datetimes_are_refused(sessions: async_sessionmaker[AsyncSession]) -> None:
    cursor = Cursor(leader=new_address(), source=SourceKind.WS, last_ts=datetime(2026, 1, 1))  # noqa: DTZ001
    with pytest.raises(StatementError, match="naive datetime"):
        async with unit_of_work(sessions) as s:
            await SignalCursorRepository(s).save(cursor)
