"""The copy store's batched writes (store/copy_writes.py) behave the same on SQLite and PostgreSQL (where a batch is one
statement over `unnest` arrays and the signal is recorded with its copies in one autocommit statement),
and a pooled connection the server killed costs a retry, not the signal."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime

import asyncpg
import pytest
from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from polyhunter.domain.signal import Side
from polyhunter.domain.states import CopyTradeState
from polyhunter.engine.db_retry import retry_on_disconnect
from polyhunter.ports.store import NewCopy, Outcome, StoredConfig
from polyhunter.settings import DbSettings
from polyhunter.store.copy_store import SqlCopyStore
from polyhunter.store.copy_writes import (
    finish_copies,
    insert_copies,
    insert_signal_with_copies,
    record_signals,
)
from polyhunter.store.database import (
    autocommit_connection,
    core_transaction,
    create_engine,
    create_session_factory,
)
from polyhunter.store.models import CopyTrade, SignalRecord
from tests.support.store_factories import a_signal, configs, new_address

pytestmark = pytest.mark.integration

PENDING, SKIPPED, EXECUTED = CopyTradeState.PENDING, CopyTradeState.SKIPPED, CopyTradeState.EXECUTED


def copy_of(stored: StoredConfig, state: CopyTradeState = PENDING, reason: str | None = None) -> NewCopy:
    cfg = stored.config
    return NewCopy(
        cfg.id, cfg.version, cfg.user_id, Side.BUY, "123", 2_000_000, 420_000, 840_000, state, reason
    )


async def copy_rows(sessions: async_sessionmaker[AsyncSession], key: str) -> dict[int, CopyTrade]:
    async with sessions() as s:
        found = (await s.scalars(select(CopyTrade).where(CopyTrade.signal_key == key))).all()
    return {row.config_id: row for row in found}


async def test_prewrite_batch_creates_each_copy_once(sessions: async_sessionmaker[AsyncSession]) -> None:
    leader = new_address()
    stored = await configs(sessions, leader, 3)
    signal = a_signal(leader)
    async with core_transaction(sessions) as db:
        assert await record_signals(db, [signal]) == {signal.key}
        first = await db.run_sync(
            insert_copies,
            signal.key,
            [copy_of(stored[0]), copy_of(stored[1], SKIPPED, "FILTER_X")],
            "w1",
            signal.seen_at,
        )
    assert set(first) == {stored[0].config.id, stored[1].config.id}
    async with core_transaction(sessions) as db:  # a second process: only the new config's row is its own
        second = await db.run_sync(
            insert_copies, signal.key, [copy_of(s) for s in stored], "w2", signal.seen_at
        )
    assert set(second) == {stored[2].config.id}
    found = await copy_rows(sessions, signal.key)
    assert found[stored[0].config.id].locked_by == "w1"
    assert found[stored[1].config.id].state is SKIPPED
    assert found[stored[1].config.id].locked_by is None
    assert found[stored[1].config.id].reason == "FILTER_X"
    assert found[stored[2].config.id].locked_by == "w2"
    assert found[stored[0].config.id].requested_notional_micro == 840_000


async def test_finish_batch_is_compare_and_set(sessions: async_sessionmaker[AsyncSession]) -> None:
    leader = new_address()
    stored = await configs(sessions, leader, 3)
    signal = a_signal(leader, 2)
    async with core_transaction(sessions) as db:
        await record_signals(db, [signal])
        ids = await db.run_sync(insert_copies, signal.key, [copy_of(s) for s in stored], "w", signal.seen_at)
    first, second, third = (ids[s.config.id] for s in stored)
    now = datetime.now(UTC)
    async with core_transaction(sessions) as db:  # the sweeper closed the third one already
        await finish_copies(db, [Outcome(third, SKIPPED, reason="EXPIRED")], now)
    outcomes = [
        Outcome(
            first,
            EXECUTED,
            filled_size_micro=2_000_000,
            filled_price_micro=430_000,
            fees_micro=0,
            venue_order_id="0xab",
        ),
        Outcome(second, CopyTradeState.FAILED, error="rejected"),
        Outcome(third, EXECUTED, filled_size_micro=1, filled_price_micro=1, fees_micro=0),
    ]
    async with core_transaction(sessions) as db:
        await finish_copies(db, outcomes, now)
    found = {row.id: row for row in (await copy_rows(sessions, signal.key)).values()}
    assert found[first].state is EXECUTED
    assert found[first].filled_price_micro == 430_000
    assert found[first].venue_order_id == "0xab"
    assert found[first].executed_at is not None
    assert found[first].locked_by is None
    assert found[second].state is CopyTradeState.FAILED
    assert found[second].error == "rejected"
    assert found[second].executed_at is None
    assert found[third].state is SKIPPED  # not overwritten by the late outcome
    assert found[third].reason == "EXPIRED"


@pytest.fixture
async def pg_engine(pg_head: DbSettings) -> AsyncIterator[AsyncEngine]:
    """PostgreSQL only (these statements have no SQLite form): not parametrized over both backends."""
    eng = create_engine(pg_head)
    try:
        yield eng
    finally:
        await eng.dispose()


@pytest.fixture
def pg_sessions(pg_engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return create_session_factory(pg_engine)


async def test_signal_and_copies_in_one_statement(pg_sessions: async_sessionmaker[AsyncSession]) -> None:
    leader = new_address()
    stored = await configs(pg_sessions, leader, 2)
    signal = a_signal(leader, 3)
    async with autocommit_connection(pg_sessions) as db:
        created = await db.run_sync(
            insert_signal_with_copies, signal, [copy_of(s) for s in stored], "w", signal.seen_at
        )
    assert created is not None
    assert set(created) == {s.config.id for s in stored}
    async with autocommit_connection(pg_sessions) as db:  # the same signal again (late duplicate, replay)
        assert (
            await db.run_sync(
                insert_signal_with_copies, signal, [copy_of(s) for s in stored], "w", signal.seen_at
            )
            is None
        )
    async with pg_sessions() as s:
        recorded = await s.scalar(select(SignalRecord).where(SignalRecord.key == signal.key))
    assert recorded is not None
    assert recorded.side is Side.BUY
    assert recorded.price_micro == 420_000
    assert len(await copy_rows(pg_sessions, signal.key)) == 2
    other = a_signal(leader, 4)  # a new signal with no configs at all is still recorded
    async with autocommit_connection(pg_sessions) as db:
        assert await db.run_sync(insert_signal_with_copies, other, [], "w", other.seen_at) == {}


async def test_a_killed_pooled_connection_is_retried(
    pg_head: DbSettings, pg_engine: AsyncEngine, pg_sessions: async_sessionmaker[AsyncSession]
) -> None:
    async with pg_engine.connect() as conn:  # warm the pool, then have the server kill its connections
        await conn.execute(text("SELECT 1"))
    database = pg_head.url.rsplit("/", 1)[1]
    admin = await asyncpg.connect("postgresql://127.0.0.1:5432/test")
    try:
        killed = await admin.fetchval(
            "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
            "WHERE datname = $1 AND application_name = 'polyhunter'",
            database,
        )
    finally:
        await admin.close()
    assert killed >= 1
    leader = new_address()
    signal = a_signal(leader, 5)
    store = SqlCopyStore(pg_sessions)
    attempts = 0

    async def record() -> set[str]:
        nonlocal attempts
        attempts += 1
        return await store.record_signals([signal])  # a dropped connection: StoreUnavailableError

    assert await retry_on_disconnect(record, "test") == {signal.key}
    assert attempts == 2
