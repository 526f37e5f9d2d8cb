"""`polyhunter archive` (store/archive.py) on SQLite and PostgreSQL: terminal copies older than the
cutoff move once with their orders and guardrail events, PENDING / SETTLEMENT_PENDING and what
accounting still references stay, signals move only when no live copy needs them and past the
sources' replay horizon, a run killed between batches is finished by the next, `--dry-run` moves
nothing, and today's caps seed and the exposure seed read the same after as before."""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, cast

import pytest
from sqlalchemy import Table, insert, select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker
from typer.testing import CliRunner

from polyhunter.cli import app
from polyhunter.domain.signal import Side, SourceKind
from polyhunter.domain.states import CopyTradeState, GuardrailDecision, OrderStatus
from polyhunter.secretbox import SecretBox, generate_master_key
from polyhunter.settings import DAY_S, DbSettings, IngestSettings
from polyhunter.store import archive as store_archive
from polyhunter.store import migrate
from polyhunter.store.copy_store import SqlCopyStore
from polyhunter.store.database import create_engine, create_session_factory, unit_of_work
from polyhunter.store.enums import WalletKind
from polyhunter.store.models import (
    COPY_TRADES_ARCHIVE,
    GUARDRAIL_EVENTS_ARCHIVE,
    ORDERS_ARCHIVE,
    SIGNALS_ARCHIVE,
    CopyTrade,
    Fill,
    GuardrailEvent,
    Order,
    SignalRecord,
)
from polyhunter.store.repos.wallets import WalletRepository
from tests.support.store_factories import new_address, new_config

pytestmark = pytest.mark.integration

S = CopyTradeState
TRADES, ORDERS, EVENTS, SIGNALS, FILLS = (
    cast(Table, m.__table__) for m in (CopyTrade, Order, GuardrailEvent, SignalRecord, Fill)
)
INGEST = IngestSettings()


@dataclass
class Db:
    settings: DbSettings
    engine: AsyncEngine
    sessions: async_sessionmaker[AsyncSession]


@pytest.fixture(params=["sqlite", "postgresql"])
def empty_db(request: pytest.FixtureRequest) -> DbSettings:
    settings: DbSettings = request.getfixturevalue(
        "fresh_sqlite" if request.param == "sqlite" else "fresh_pg"
    )
    return settings


@pytest.fixture
async def db(empty_db: DbSettings) -> AsyncIterator[Db]:
    """A fresh migrated database per test: archive works on the whole database."""
    settings = empty_db
    await migrate.upgrade(settings)
    engine = create_engine(settings)
    try:
        yield Db(settings, engine, create_session_factory(engine))
    finally:
        await engine.dispose()


@dataclass
class Seeded:
    moves: set[int] = field(default_factory=set)  # copy ids that must move
    stays: set[int] = field(default_factory=set)  # copy ids that must stay
    signals_move: set[str] = field(default_factory=set)
    signals_stay: set[str] = field(default_factory=set)
    orders_move: set[int] = field(default_factory=set)
    events_move: set[int] = field(default_factory=set)


async def _insert(engine: AsyncEngine, table: Any, **values: Any) -> int:
    async with engine.begin() as conn:
        return int((await conn.execute(insert(table).values(**values).returning(table.c.id))).scalar_one())


async def seed(db: Db, now: datetime, *, old_days: int = 10) -> Seeded:
    """Copies of one config in every state, old (now - old_days) and today, with orders and events."""
    async with unit_of_work(db.sessions) as s:
        stored = await new_config(s)
        other = (await new_config(s)).config
        wallet = await WalletRepository(s, SecretBox(generate_master_key())).create(
            new_address(), WalletKind.PAPER, user_id=stored.config.user_id
        )
    cfg = stored.config
    old = now - timedelta(days=old_days)
    out = Seeded()

    async def signal(at: datetime) -> str:
        key = secrets.token_hex(16)
        await _insert(
            db.engine, SIGNALS, key=key, leader=cfg.leader, asset="123", condition_id="0x" + "cd" * 32,
            side=Side.BUY, size_micro=20_000_000, price_micro=500_000, tx_hash="0x" + secrets.token_hex(32),
            source=SourceKind.WS, slug="", outcome="", fill_time=at, seen_at=at,
        )  # fmt: skip
        return key

    async def copy(key: str, state: CopyTradeState, at: datetime, of: Any = cfg) -> int:
        filled = 20_000_000 if state is S.EXECUTED else None
        return await _insert(
            db.engine, TRADES, signal_key=key, config_id=of.id, config_version=of.version,
            user_id=of.user_id, state=state, side=Side.BUY, asset="123", requested_size_micro=20_000_000,
            requested_price_micro=500_000, requested_notional_micro=10_000_000, filled_size_micro=filled,
            filled_price_micro=500_000 if filled else None, created_at=at, updated_at=at, retry_count=0,
        )  # fmt: skip

    async def order(copy_id: int, at: datetime, status: OrderStatus = OrderStatus.MATCHED) -> int:
        return await _insert(
            db.engine, ORDERS, venue_order_id=secrets.token_hex(8), copy_trade_id=copy_id, wallet_id=wallet,
            asset="123", side=Side.BUY, price_micro=500_000, size_micro=20_000_000, order_type="FOK",
            status=status, created_at=at, updated_at=at,
        )  # fmt: skip

    async def event(copy_id: int | None, key: str | None, at: datetime) -> int:
        return await _insert(
            db.engine, EVENTS, rule="max_trade", decision=GuardrailDecision.VETO, detail={},
            user_id=cfg.user_id, config_id=cfg.id, config_version=cfg.version, signal_key=key,
            copy_trade_id=copy_id, created_at=at,
        )  # fmt: skip

    for state in (S.EXECUTED, S.SKIPPED, S.FAILED, S.EXPIRED):  # old terminal copies: move
        for _ in range(3):
            key = await signal(old)
            cid = await copy(key, state, old)
            out.moves.add(cid)
            out.signals_move.add(key)
            out.orders_move.add(await order(cid, old))
            out.events_move.add(await event(cid, key, old))
    out.events_move.add(await event(None, None, old))  # a standalone old event
    for state in (S.PENDING, S.SETTLEMENT_PENDING):  # never move, nor their signals
        key = await signal(old)
        out.stays.add(await copy(key, state, old))
        out.signals_stay.add(key)
    shared = await signal(old)  # one copy moves, the other (PENDING) keeps the signal live
    out.moves.add(await copy(shared, S.EXECUTED, old))
    out.stays.add(await copy(shared, S.PENDING, now, other))
    out.signals_stay.add(shared)
    key = await signal(old)  # an order with fills: accounting still points at it
    filled = await copy(key, S.EXECUTED, old)
    await _insert(
        db.engine, FILLS, order_id=await order(filled, old), price_micro=500_000, size_micro=20_000_000,
        fee_micro=0, filled_at=old, created_at=old,
    )  # fmt: skip
    out.stays.add(filled)
    out.signals_stay.add(key)
    key = await signal(old)  # an order still to be reconciled against the venue: stays live
    unknown = await copy(key, S.FAILED, old)
    await order(unknown, old, OrderStatus.UNKNOWN)
    out.stays.add(unknown)
    out.signals_stay.add(key)
    for state in (S.EXECUTED, S.PENDING):  # today's copies: counted by the caps seed
        key = await signal(now)
        out.stays.add(await copy(key, state, now))
        out.signals_stay.add(key)
    return out


async def _ids(engine: AsyncEngine, table: Table, column: str = "id") -> list[Any]:
    async with engine.connect() as conn:
        return list((await conn.scalars(select(table.c[column]))).all())


async def _seeds(db: Db, now: datetime) -> tuple[dict[int, int], Any, Any]:
    store = SqlCopyStore(db.sessions)
    totals = await store.executed_totals()
    return await store.spent_today(now), totals.usdc, totals.shares


async def _check_moved(db: Db, seeded: Seeded) -> None:
    archived = await _ids(db.engine, COPY_TRADES_ARCHIVE)
    assert sorted(archived) == sorted(seeded.moves)  # each once
    assert set(await _ids(db.engine, TRADES)) == seeded.stays
    assert sorted(await _ids(db.engine, ORDERS_ARCHIVE)) == sorted(seeded.orders_move)
    assert sorted(await _ids(db.engine, GUARDRAIL_EVENTS_ARCHIVE)) == sorted(seeded.events_move)
    assert await _ids(db.engine, EVENTS) == []
    assert sorted(await _ids(db.engine, SIGNALS_ARCHIVE, "key")) == sorted(seeded.signals_move)
    assert set(await _ids(db.engine, SIGNALS, "key")) == seeded.signals_stay


async def test_moves_terminal_rows_once_and_keeps_live_ones(db: Db) -> None:
    now = datetime.now(UTC)
    seeded = await seed(db, now)
    before = await _seeds(db, now)
    cut = store_archive.cutoffs(now, 3, INGEST)
    planned = await store_archive.count(db.engine, cut)
    lines: list[tuple[str, int, int]] = []
    moved = await store_archive.archive(db.engine, cut, batch=5, progress=lambda *a: lines.append(a))
    assert moved == planned
    assert (moved.copy_trades, moved.orders, moved.signals) == (13, 12, 12)
    assert moved.guardrail_events == 13
    assert ("copy_trades", 5, 13) in lines
    assert ("copy_trades", 13, 13) in lines
    await _check_moved(db, seeded)
    await store_archive.vacuum(db.engine)
    assert await _seeds(db, now) == before  # today's caps and the exposure seed unchanged

    again = await store_archive.archive(db.engine, cut, batch=5)  # nothing left: a no-op
    assert again == store_archive.ArchiveCounts()
    await _check_moved(db, seeded)


async def test_a_run_killed_between_batches_is_finished_by_the_next(db: Db) -> None:
    now = datetime.now(UTC)
    seeded = await seed(db, now)
    cut = store_archive.cutoffs(now, 3, INGEST)

    class Killed(Exception):
        pass

    def die_after_two(what: str, done: int, _total: int) -> None:
        if done >= 4:
            raise Killed(what)

    with pytest.raises(Killed):
        await store_archive.archive(db.engine, cut, batch=2, progress=die_after_two)
    assert len(await _ids(db.engine, COPY_TRADES_ARCHIVE)) == 4  # two batches committed
    await store_archive.archive(db.engine, cut, batch=2)
    await _check_moved(db, seeded)


async def test_a_batch_killed_inside_its_transaction_leaves_nothing_half_moved(
    db: Db, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Killed after the copies were copied into the archive but before they were deleted: the batch
    rolls back whole (no row in both tables), and the next run moves everything once."""
    now = datetime.now(UTC)
    seeded = await seed(db, now)
    cut = store_archive.cutoffs(now, 3, INGEST)
    real_move = store_archive._move

    async def killed_on_delete(conn: Any, archive: Table, live: Table, where: Any) -> int:
        if live is TRADES:
            await conn.execute(store_archive._insert(conn, archive, live, where))
            raise RuntimeError("killed")
        return await real_move(conn, archive, live, where)

    monkeypatch.setattr(store_archive, "_move", killed_on_delete)
    with pytest.raises(RuntimeError, match="killed"):
        await store_archive.archive(db.engine, cut, batch=3)
    assert await _ids(db.engine, COPY_TRADES_ARCHIVE) == []
    assert await _ids(db.engine, ORDERS_ARCHIVE) == []
    assert set(await _ids(db.engine, TRADES)) == seeded.moves | seeded.stays
    monkeypatch.setattr(store_archive, "_move", real_move)
    await store_archive.archive(db.engine, cut, batch=3)
    await _check_moved(db, seeded)


async def test_dry_run_counts_and_moves_nothing(db: Db) -> None:
    now = datetime.now(UTC)
    seeded = await seed(db, now)
    counts = await store_archive.count(db.engine, store_archive.cutoffs(now, 3, INGEST))
    assert (counts.copy_trades, counts.orders, counts.guardrail_events, counts.signals) == (13, 12, 13, 12)
    assert await _ids(db.engine, COPY_TRADES_ARCHIVE) == []
    assert set(await _ids(db.engine, TRADES)) == seeded.moves | seeded.stays
    # younger than --older-than: nothing
    assert await store_archive.count(db.engine, store_archive.cutoffs(now, 30, INGEST)) == (
        store_archive.ArchiveCounts()
    )


async def test_signals_wait_for_the_sources_replay_horizon(db: Db) -> None:
    """Copies 2 days old move with --older-than 1, but their signals stay while the shared dedup
    (dedup_ttl_s = 3 days here) could still see a re-delivery: the prewrite's dedup still finds them."""
    now = datetime.now(UTC)
    seeded = await seed(db, now, old_days=2)
    ingest = IngestSettings(dedup_ttl_s=3 * DAY_S)
    cut = store_archive.cutoffs(now, 1, ingest)
    assert cut.signals == now - timedelta(days=3)
    moved = await store_archive.archive(db.engine, cut, batch=100)
    assert moved.copy_trades == len(seeded.moves)
    assert moved.signals == 0
    assert seeded.signals_move <= set(await _ids(db.engine, SIGNALS, "key"))
    # the default horizon (a day) is inside --older-than 1: the same run moves them
    moved = await store_archive.archive(db.engine, store_archive.cutoffs(now, 1, INGEST), batch=100)
    assert moved.signals == len(seeded.signals_move)


def test_signal_cutoff_is_past_every_way_a_fill_can_come_back() -> None:
    now = datetime.now(UTC)
    for ingest in (
        IngestSettings(),
        IngestSettings(max_signal_age_s=5 * DAY_S),
        IngestSettings(replay_window_s=4 * DAY_S),
        IngestSettings(dedup_ttl_s=6 * DAY_S),
    ):
        cut = store_archive.cutoffs(now, 1, ingest)
        horizon = max(ingest.max_signal_age_s, ingest.replay_window_s, ingest.dedup_ttl_s)
        assert cut.signals <= now - timedelta(seconds=horizon)
        assert cut.signals <= cut.copies == now - timedelta(days=1)
    with pytest.raises(ValueError, match="at least 1 day"):
        store_archive.cutoffs(now, 0, IngestSettings())


def test_cli_dry_run_then_archive(fresh_sqlite: DbSettings) -> None:
    asyncio.run(migrate.upgrade(fresh_sqlite))
    engine = create_engine(fresh_sqlite)
    db = Db(fresh_sqlite, engine, create_session_factory(engine))
    seeded = asyncio.run(_seed_and_dispose(db))
    flags = ["--set", f"db.url={fresh_sqlite.url}"]
    runner = CliRunner()
    dry = runner.invoke(app, ["archive", "--older-than", "3", "--dry-run", *flags])
    assert dry.exit_code == 0, dry.output
    assert "would move: copy_trades=13 orders=12 guardrail_events=13 signals=12" in dry.stdout
    real = runner.invoke(app, ["archive", "--older-than", "3", "--batch", "4", *flags])
    assert real.exit_code == 0, real.output
    assert "moved: copy_trades=13" in real.stdout
    assert "archive copy_trades: 4/13 moved" in real.stderr
    assert runner.invoke(app, ["archive", "--older-than", "0", *flags]).exit_code == 2

    async def check() -> None:
        check_engine = create_engine(fresh_sqlite)
        try:
            assert sorted(await _ids(check_engine, COPY_TRADES_ARCHIVE)) == sorted(seeded.moves)
        finally:
            await check_engine.dispose()

    asyncio.run(check())


async def _seed_and_dispose(db: Db) -> Seeded:
    try:
        return await seed(db, datetime.now(UTC))
    finally:
        await db.engine.dispose()
