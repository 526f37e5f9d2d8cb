"""Copy trades: prewrite relies on UNIQUE (signal_key, config_id) in the database; transitions are
compare-and-set; sweepers claim rows once; daily sums are exact."""

from __future__ import annotations

import asyncio
import dataclasses
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import event, insert, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from polyhunter.domain.signal import Side
from polyhunter.domain.states import CopyTradeState
from polyhunter.settings import DbSettings
from polyhunter.store.database import create_engine, create_session_factory, unit_of_work
from polyhunter.store.models import CopyTrade
from polyhunter.store.repos.copy_trades import (
    CopyTradeRepository,
    FillSummary,
    PrewriteRequest,
    PrewriteStatus,
)
from tests.support.store_factories import new_config, new_key, prewrite_request

pytestmark = pytest.mark.integration

CONCURRENCY = 20


async def test_prewrite_then_duplicate(sessions: async_sessionmaker[AsyncSession]) -> None:
    key = new_key()
    async with unit_of_work(sessions) as s:
        stored = await new_config(s)
    async with unit_of_work(sessions) as s:
        first = await CopyTradeRepository(s).prewrite(prewrite_request(stored, key))
    async with unit_of_work(sessions) as s:
        repo = CopyTradeRepository(s)
        second = await repo.prewrite(prewrite_request(stored, key))
        # The duplicate left the transaction usable (savepoint): the same session still works.
        row = await repo.by_signal(key, stored.config.id)
    assert first.status is PrewriteStatus.CREATED
    assert first.copy_trade_id is not None
    assert second.status is PrewriteStatus.DUPLICATE
    assert second.copy_trade_id is None
    assert row is not None
    assert row.id == first.copy_trade_id
    assert row.state is CopyTradeState.PENDING


async def test_prewrite_issues_no_read_before_the_insert(engine: AsyncEngine) -> None:
    sessions = create_session_factory(engine)
    async with unit_of_work(sessions) as s:
        stored = await new_config(s)
    statements: list[str] = []

    def record(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        statements.append(statement.strip().split()[0].upper())

    event.listen(engine.sync_engine, "before_cursor_execute", record)
    try:
        async with unit_of_work(sessions) as s:
            await CopyTradeRepository(s).prewrite(prewrite_request(stored, new_key()))
    finally:
        event.remove(engine.sync_engine, "before_cursor_execute", record)
    assert "SELECT" not in statements
    assert statements.count("INSERT") == 1


async def test_prewrite_does_not_hide_other_integrity_errors(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    """A foreign-key failure (no such config version) is not a duplicate: it propagates."""
    async with unit_of_work(sessions) as s:
        stored = await new_config(s)
    bad = dataclasses.replace(prewrite_request(stored, new_key()), config_version=99)
    with pytest.raises(IntegrityError):
        async with unit_of_work(sessions) as s:
            await CopyTradeRepository(s).prewrite(bad)


async def test_transitions_are_compare_and_set(sessions: async_sessionmaker[AsyncSession]) -> None:
    async with unit_of_work(sessions) as s:
        stored = await new_config(s)
        repo = CopyTradeRepository(s)
        skipped = (await repo.prewrite(prewrite_request(stored, new_key()))).copy_trade_id
        executed = (await repo.prewrite(prewrite_request(stored, new_key()))).copy_trade_id
        proxy = (await repo.prewrite(prewrite_request(stored, new_key()))).copy_trade_id
    assert skipped is not None
    assert executed is not None
    assert proxy is not None
    fill = FillSummary(size_micro=20_000_000, price_micro=498_000, fees_micro=12_345, venue_order_id="0xabc")
    async with unit_of_work(sessions) as s:
        repo = CopyTradeRepository(s)
        assert await repo.mark_skipped(skipped, "BELOW_MIN_TRADE")
        assert not await repo.mark_executed(skipped, fill)  # terminal: no second outcome
        assert not await repo.mark_failed(skipped, "late error")
        assert await repo.mark_executed(executed, fill)
        assert not await repo.mark_expired(executed)
        assert await repo.mark_settlement_pending(proxy, fill)
        assert await repo.mark_executed(proxy, fill)
    async with unit_of_work(sessions) as s:
        repo = CopyTradeRepository(s)
        row_skipped, row_executed = await repo.get(skipped), await repo.get(executed)
    assert row_skipped is not None
    assert row_skipped.state is CopyTradeState.SKIPPED
    assert row_skipped.reason == "BELOW_MIN_TRADE"
    assert row_skipped.filled_size_micro is None
    assert row_executed is not None
    assert row_executed.state is CopyTradeState.EXECUTED
    assert (row_executed.filled_price_micro, row_executed.fees_micro) == (498_000, 12_345)
    assert row_executed.venue_order_id == "0xabc"
    assert row_executed.executed_at is not None
    assert row_executed.executed_at.tzinfo is UTC


async def test_locked_by_guards_transitions(sessions: async_sessionmaker[AsyncSession]) -> None:
    async with unit_of_work(sessions) as s:
        stored = await new_config(s)
        req = dataclasses.replace(prewrite_request(stored, new_key()), locked_by="worker-a")
        trade_id = (await CopyTradeRepository(s).prewrite(req)).copy_trade_id
    assert trade_id is not None
    async with unit_of_work(sessions) as s:
        repo = CopyTradeRepository(s)
        assert not await repo.mark_failed(trade_id, "boom", locked_by="worker-b")
        assert await repo.mark_failed(trade_id, "boom", locked_by="worker-a")
        row = await repo.get(trade_id)
    assert row is not None
    assert row.state is CopyTradeState.FAILED
    assert row.locked_by is None


async def test_claims_and_retries(sessions: async_sessionmaker[AsyncSession]) -> None:
    t0 = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)
    async with unit_of_work(sessions) as s:
        stored = await new_config(s)
        repo = CopyTradeRepository(s)
        old = (await repo.prewrite(prewrite_request(stored, new_key()), now=t0)).copy_trade_id
        held = dataclasses.replace(prewrite_request(stored, new_key()), locked_by="engine-1")
        old_held = (await repo.prewrite(held, now=t0 + timedelta(minutes=9))).copy_trade_id
        fresh = (
            await repo.prewrite(prewrite_request(stored, new_key()), now=t0 + timedelta(minutes=10))
        ).copy_trade_id
    now = t0 + timedelta(minutes=10, seconds=5)
    ttl = timedelta(seconds=120)
    async with unit_of_work(sessions) as s:
        claimed = await CopyTradeRepository(s).claim_stale_pending(
            "sweeper", older_than=now - ttl, lock_ttl=timedelta(minutes=5), limit=100, now=now
        )
    mine = [r.id for r in claimed if r.config_id == stored.config.id]
    # `old_held` is old but its lock (4 minutes) is younger than lock_ttl; `fresh` is too young.
    assert mine == [old]
    assert {r.locked_by for r in claimed} == {"sweeper"}
    async with unit_of_work(sessions) as s:
        again = await CopyTradeRepository(s).claim_stale_pending(
            "other", older_than=now - ttl, lock_ttl=timedelta(minutes=5), limit=100, now=now
        )
    assert old not in [r.id for r in again]

    # A retry: back to unlocked PENDING with a due time; claimed once it is due, not before.
    assert old is not None
    assert old_held is not None
    assert fresh is not None
    async with unit_of_work(sessions) as s:
        repo = CopyTradeRepository(s)
        assert await repo.schedule_retry(
            old, "503 from venue", now + timedelta(seconds=30), locked_by="sweeper"
        )
        early = await repo.claim_due_retries(
            "retrier", lock_ttl=ttl, limit=100, now=now + timedelta(seconds=29)
        )
        due = await repo.claim_due_retries(
            "retrier", lock_ttl=ttl, limit=100, now=now + timedelta(seconds=31)
        )
    assert old not in [r.id for r in early]
    assert [r.id for r in due if r.config_id == stored.config.id] == [old]
    retried = next(r for r in due if r.id == old)
    assert retried.retry_count == 1
    assert retried.error == "503 from venue"


async def test_notional_sums_are_exact_beyond_32_bits(sessions: async_sessionmaker[AsyncSession]) -> None:
    big = 9_007_199_254_740_993  # 2**53 + 1 micro-USDC: not representable as a float
    since = datetime(2030, 6, 1, tzinfo=UTC)
    async with unit_of_work(sessions) as s:
        stored = await new_config(s)
        repo = CopyTradeRepository(s)
        for i in range(3):
            await repo.prewrite(
                prewrite_request(stored, new_key(), notional_micro=big), now=since + timedelta(hours=i)
            )
        skipped = await repo.prewrite(prewrite_request(stored, new_key(), notional_micro=big), now=since)
        await repo.prewrite(
            prewrite_request(stored, new_key(), notional_micro=big), now=since - timedelta(seconds=1)
        )
        assert skipped.copy_trade_id is not None
        assert await repo.mark_skipped(skipped.copy_trade_id, "USER_DAILY_CAP")
    async with unit_of_work(sessions) as s:
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
        req = prewrite_request(stored, new_key())
        barrier = asyncio.Barrier(CONCURRENCY)

        async def attempt() -> str:
            async with sessions() as s, s.begin():
                await s.connection()  # each attempt holds its own connection before the barrier
                await barrier.wait()
                try:
                    await s.execute(insert(CopyTrade).values(**_row(req)))
                    await s.flush()
                except IntegrityError as exc:
                    return getattr(exc.orig, "sqlstate", "?")
            return "ok"

        results = await asyncio.gather(*(attempt() for _ in range(CONCURRENCY)))
        async with unit_of_work(sessions) as s:
            count = len(
                (await s.scalars(select(CopyTrade.id).where(CopyTrade.signal_key == req.signal_key))).all()
            )
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
        req = prewrite_request(stored, new_key())
        barrier = asyncio.Barrier(CONCURRENCY)

        async def attempt() -> PrewriteStatus:
            async with unit_of_work(sessions) as s:
                await s.connection()
                await barrier.wait()
                return (await CopyTradeRepository(s).prewrite(req)).status

        results = await asyncio.gather(*(attempt() for _ in range(CONCURRENCY)))
    finally:
        await engine.dispose()
    assert results.count(PrewriteStatus.CREATED) == 1
    assert results.count(PrewriteStatus.DUPLICATE) == CONCURRENCY - 1


@pytest.mark.parametrize("head_db", ["postgresql"], indirect=True)
async def test_concurrent_sweepers_claim_each_row_once(head_db: DbSettings) -> None:
    """FOR UPDATE SKIP LOCKED: two sweepers racing over the same stale rows split them, never share."""
    engine = create_engine(head_db)
    sessions = create_session_factory(engine)
    t0 = datetime(2020, 1, 1, tzinfo=UTC)  # older than anything other tests write
    try:
        async with unit_of_work(sessions) as s:
            stored = await new_config(s)
            repo = CopyTradeRepository(s)
            ids = {
                (
                    await repo.prewrite(prewrite_request(stored, new_key()), now=t0 + timedelta(seconds=i))
                ).copy_trade_id
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


def _row(req: PrewriteRequest) -> dict[str, Any]:
    now = datetime.now(UTC)
    return {
        "signal_key": req.signal_key,
        "config_id": req.config_id,
        "config_version": req.config_version,
        "user_id": req.user_id,
        "state": CopyTradeState.PENDING,
        "side": Side.BUY,
        "asset": req.asset,
        "requested_size_micro": req.size_micro,
        "requested_price_micro": req.price_micro,
        "requested_notional_micro": req.notional_micro,
        "created_at": now,
        "updated_at": now,
    }
