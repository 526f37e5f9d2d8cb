"""Copy trades, written through the copy store (the engine's one write path): the prewrite relies on
UNIQUE (signal_key, config_id) in the database; outcomes and reconcile writes are compare-and-set;
sweepers claim rows once; daily sums are exact."""

from __future__ import annotations

import asyncio
import dataclasses
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import event, insert, select
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from polyhunter.domain.states import CopyTradeState
from polyhunter.ports.store import Fill, NewCopy, Outcome
from polyhunter.settings import DbSettings
from polyhunter.store.copy_store import SqlCopyStore
from polyhunter.store.database import create_engine, create_session_factory, unit_of_work
from polyhunter.store.models import CopyTrade
from polyhunter.store.repos.copy_trades import CopyTradeRepository
from tests.support.store_factories import new_config, new_copy, new_key, prewrite_one, signal_with_key

pytestmark = pytest.mark.integration

CONCURRENCY = 20
SKIPPED, EXECUTED = CopyTradeState.SKIPPED, CopyTradeState.EXECUTED


async def test_prewrite_then_duplicate(sessions: async_sessionmaker[AsyncSession]) -> None:
    key = new_key()
    store = SqlCopyStore(sessions)
    async with unit_of_work(sessions) as s:
        stored = await new_config(s)
    first = await prewrite_one(store, new_copy(stored), key)
    second = await prewrite_one(store, new_copy(stored), key)
    async with sessions() as s:
        row = await CopyTradeRepository(s).by_signal(key, stored.config.id)
    assert first is not None
    assert second is None  # the duplicate created nothing
    assert row is not None
    assert row.id == first
    assert row.state is CopyTradeState.PENDING
    assert row.locked_by == "engine-1"


async def test_prewrite_issues_no_read_before_the_insert(engine: AsyncEngine) -> None:
    sessions = create_session_factory(engine)
    store = SqlCopyStore(sessions)
    async with unit_of_work(sessions) as s:
        stored = await new_config(s)
    statements: list[str] = []

    def record(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        statements.append(statement.strip().split()[0].upper())

    # every engine: on a SQLite file the hot path runs on a sync engine of its own
    event.listen(Engine, "before_cursor_execute", record)
    try:
        await prewrite_one(store, new_copy(stored), new_key())
    finally:
        event.remove(Engine, "before_cursor_execute", record)
    assert "SELECT" not in statements
    assert statements.count("INSERT") == 1


async def test_prewrite_does_not_hide_other_integrity_errors(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    """A foreign-key failure (no such config version) is not a duplicate: it propagates."""
    async with unit_of_work(sessions) as s:
        stored = await new_config(s)
    bad = dataclasses.replace(new_copy(stored), config_version=99)
    with pytest.raises(IntegrityError):
        await prewrite_one(SqlCopyStore(sessions), bad, new_key())


async def test_transitions_are_compare_and_set(sessions: async_sessionmaker[AsyncSession]) -> None:
    store = SqlCopyStore(sessions)
    async with unit_of_work(sessions) as s:
        stored = await new_config(s)
    skipped = await prewrite_one(store, new_copy(stored), new_key(), worker="w")
    executed = await prewrite_one(store, new_copy(stored), new_key(), worker="w")
    assert skipped is not None
    assert executed is not None
    fill = Fill(size_micro=20_000_000, price_micro=498_000, fees_micro=12_345, venue_order_id="0xabc")
    now = datetime.now(UTC)
    await store.write_outcomes([Outcome(skipped, SKIPPED, reason="BELOW_MIN_TRADE")], [], now)
    late = Outcome(skipped, CopyTradeState.FAILED, error="late error")
    await store.write_outcomes([late], [], now)  # terminal: no second outcome
    assert not await store.reconcile_executed(skipped, fill, "w", now)
    assert await store.reconcile_executed(executed, fill, "w", now)
    assert not await store.reconcile_expired(executed, "too late", "w", now)
    async with sessions() as s:
        repo = CopyTradeRepository(s)
        row_skipped, row_executed = await repo.get(skipped), await repo.get(executed)
    assert row_skipped is not None
    assert row_skipped.state is SKIPPED
    assert row_skipped.reason == "BELOW_MIN_TRADE"
    assert row_skipped.error is None
    assert row_skipped.filled_size_micro is None
    assert row_executed is not None
    assert row_executed.state is EXECUTED
    assert (row_executed.filled_price_micro, row_executed.fees_micro) == (498_000, 12_345)
    assert row_executed.venue_order_id == "0xabc"
    assert row_executed.executed_at is not None
    assert row_executed.executed_at.tzinfo is UTC


async def test_locked_by_guards_transitions(sessions: async_sessionmaker[AsyncSession]) -> None:
    store = SqlCopyStore(sessions)
    async with unit_of_work(sessions) as s:
        stored = await new_config(s)
    trade_id = await prewrite_one(store, new_copy(stored), new_key(), worker="worker-a")
    assert trade_id is not None
    now = datetime.now(UTC)
    assert not await store.reconcile_expired(trade_id, "boom", "worker-b", now)
    assert await store.reconcile_expired(trade_id, "boom", "worker-a", now)
    async with sessions() as s:
        row = await CopyTradeRepository(s).get(trade_id)
    assert row is not None
    assert row.state is CopyTradeState.EXPIRED
    assert row.locked_by is None


async def test_claims(sessions: async_sessionmaker[AsyncSession]) -> None:
    t0 = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)
    store = SqlCopyStore(sessions)
    async with unit_of_work(sessions) as s:
        stored = await new_config(s)
    old = await prewrite_one(store, new_copy(stored), new_key(), now=t0)
    old_held = await prewrite_one(store, new_copy(stored), new_key(), now=t0 + timedelta(minutes=9))
    fresh = await prewrite_one(store, new_copy(stored), new_key(), now=t0 + timedelta(minutes=10))
    assert None not in (old, old_held, fresh)
    now = t0 + timedelta(minutes=10, seconds=5)
    ttl = timedelta(seconds=120)
    claimed = await store.claim_stale_pending(
        "sweeper", older_than=now - ttl, lock_ttl=timedelta(minutes=5), limit=100, now=now
    )
    mine = [r.id for r in claimed if r.config_id == stored.config.id]
    # `old_held`'s lock (taken by the prewrite, 1 minute old) is younger than lock_ttl; `fresh` is too young.
    assert mine == [old]
    async with sessions() as s:
        row = await CopyTradeRepository(s).get(mine[0])
    assert row is not None
    assert row.locked_by == "sweeper"
    again = await store.claim_stale_pending(
        "other", older_than=now - ttl, lock_ttl=timedelta(minutes=5), limit=100, now=now
    )
    assert old not in [r.id for r in again]
    assert await store.release(mine[0], "sweeper")  # given back: the next sweep may claim it
    later = await store.claim_stale_pending(
        "other", older_than=now - ttl, lock_ttl=timedelta(minutes=5), limit=100, now=now
    )
    assert old in [r.id for r in later]


async def test_notional_sums_are_exact_beyond_32_bits(sessions: async_sessionmaker[AsyncSession]) -> None:
    big = 9_007_199_254_740_993  # 2**53 + 1 micro-USDC: not representable as a float
    since = datetime(2030, 6, 1, tzinfo=UTC)
    store = SqlCopyStore(sessions)
    async with unit_of_work(sessions) as s:
        stored = await new_config(s)
    copy = new_copy(stored, notional_micro=big)
    for i in range(3):
        await prewrite_one(store, copy, new_key(), now=since + timedelta(hours=i))
    skipped = await prewrite_one(store, copy, new_key(), now=since)
    await prewrite_one(store, copy, new_key(), now=since - timedelta(seconds=1))
    assert skipped is not None
    await store.write_outcomes([Outcome(skipped, SKIPPED, reason="USER_DAILY_CAP")], [], since)
    async with sessions() as s:
        repo = CopyTradeRepository(s)
        per_user = await repo.notional_since(since, user_id=stored.config.user_id)
        everyone = await repo.notional_since(since)
    assert per_user == 3 * big
    assert everyone >= 3 * big


@pytest.mark.parametrize("head_db", ["postgresql"], indirect=True)
async def test_unique_holds_under_concurrent_raw_inserts(head_db: DbSettings) -> None:
    """20 connections INSERT the same (signal_key, config_id) at once: the database lets one through."""
    engine = create_engine(head_db)
    sessions = create_session_factory(engine)
    try:
        async with unit_of_work(sessions) as s:
            stored = await new_config(s)
        key = new_key()
        req = new_copy(stored)
        barrier = asyncio.Barrier(CONCURRENCY)

        async def attempt() -> str:
            async with sessions() as s, s.begin():
                await s.connection()  # each attempt holds its own connection before the barrier
                await barrier.wait()
                try:
                    await s.execute(insert(CopyTrade).values(**_row(key, req)))
                    await s.flush()
                except IntegrityError as exc:
                    return getattr(exc.orig, "sqlstate", "?")
            return "ok"

        results = await asyncio.gather(*(attempt() for _ in range(CONCURRENCY)))
        async with unit_of_work(sessions) as s:
            count = len((await s.scalars(select(CopyTrade.id).where(CopyTrade.signal_key == key))).all())
    finally:
        await engine.dispose()
    assert results.count("ok") == 1
    assert results.count("23505") == CONCURRENCY - 1  # unique_violation, raised by PostgreSQL
    assert count == 1


@pytest.mark.parametrize("head_db", ["postgresql"], indirect=True)
async def test_concurrent_prewrites_one_created(head_db: DbSettings) -> None:
    engine = create_engine(head_db)
    sessions = create_session_factory(engine)
    try:
        async with unit_of_work(sessions) as s:
            stored = await new_config(s)
        signal = signal_with_key(new_key())
        store = SqlCopyStore(sessions)
        barrier = asyncio.Barrier(CONCURRENCY)

        async def attempt() -> dict[int, int] | None:
            await barrier.wait()
            return await store.prewrite(signal, [new_copy(stored)], "w", datetime.now(UTC))

        results = await asyncio.gather(*(attempt() for _ in range(CONCURRENCY)))
    finally:
        await engine.dispose()
    created = [r for r in results if r]
    assert len(created) == 1  # one recorded the signal with its copy; the others found it recorded
    assert results.count(None) == CONCURRENCY - 1


@pytest.mark.parametrize("head_db", ["postgresql"], indirect=True)
async def test_concurrent_sweepers_claim_each_row_once(head_db: DbSettings) -> None:
    """FOR UPDATE SKIP LOCKED: two sweepers racing over the same stale rows split them, never share."""
    engine = create_engine(head_db)
    sessions = create_session_factory(engine)
    t0 = datetime(2020, 1, 1, tzinfo=UTC)  # older than anything other tests write
    try:
        async with unit_of_work(sessions) as s:
            stored = await new_config(s)
        store = SqlCopyStore(sessions)
        ids = {
            await prewrite_one(store, new_copy(stored), new_key(), now=t0 + timedelta(seconds=i))
            for i in range(40)
        }
        barrier = asyncio.Barrier(4)

        async def sweep(worker: str) -> list[int]:
            async with unit_of_work(sessions) as s:
                await s.connection()
                await barrier.wait()
                rows = await CopyTradeRepository(s).claim_stale_pending(
                    worker,
                    older_than=t0 + timedelta(minutes=1),
                    lock_ttl=timedelta(minutes=5),
                    limit=15,
                    now=t0 + timedelta(hours=1),
                )
                await asyncio.sleep(0.05)  # hold the row locks while the others scan
                return [r.id for r in rows if r.config_id == stored.config.id]

        claims = await asyncio.gather(*(sweep(f"sweeper-{i}") for i in range(4)))
    finally:
        await engine.dispose()
    flat = [i for claim in claims for i in claim]
    assert len(flat) == len(set(flat))  # no row claimed twice
    assert set(flat) == ids  # 4 x 15 >= 40: every stale row claimed by someone


def _row(key: str, req: NewCopy) -> dict[str, Any]:
    now = datetime.now(UTC)
    return {
        "signal_key": key,
        "config_id": req.config_id,
        "config_version": req.config_version,
        "user_id": req.user_id,
        "state": CopyTradeState.PENDING,
        "side": req.side,
        "asset": req.asset,
        "requested_size_micro": req.size_micro,
        "requested_price_micro": req.price_micro,
        "requested_notional_micro": req.notional_micro,
        "created_at": now,
        "updated_at": now,
    }
