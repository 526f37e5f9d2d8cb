"""Alembic: up to head, down to base, up again, on SQLite and PostgreSQL; and no drift from the models."""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy import inspect, text

from polyhunter.settings import DbSettings
from polyhunter.store import migrate
from polyhunter.store.database import create_engine
from polyhunter.store.models import Base

pytestmark = pytest.mark.integration


async def _tables(db: DbSettings) -> set[str]:
    engine = create_engine(db, pooled=False)
    try:
        async with engine.connect() as conn:
            names: list[str] = await conn.run_sync(lambda c: inspect(c).get_table_names())
            return set(names)
    finally:
        await engine.dispose()


@pytest.fixture(params=["sqlite", "postgresql"])
def empty_db(request: pytest.FixtureRequest) -> DbSettings:
    db: DbSettings = request.getfixturevalue("fresh_sqlite" if request.param == "sqlite" else "fresh_pg")
    return db


async def test_upgrade_downgrade_upgrade(empty_db: DbSettings) -> None:
    model_tables = set(Base.metadata.tables)
    assert await migrate.current(empty_db) == ()

    await migrate.upgrade(empty_db)
    assert await migrate.current(empty_db) == (migrate.head_revision(),)
    assert await _tables(empty_db) == model_tables | {"alembic_version"}

    await migrate.downgrade(empty_db, "base")
    assert await migrate.current(empty_db) == ()
    assert await _tables(empty_db) - {"alembic_version"} == set()

    await migrate.upgrade(empty_db, "head")
    assert await migrate.current(empty_db) == (migrate.head_revision(),)
    assert await _tables(empty_db) == model_tables | {"alembic_version"}

    # The default downgrade is one step: from 0013 (platform switches: columns only) back to 0012, ...
    await migrate.downgrade(empty_db)
    assert await migrate.current(empty_db) == ("0012",)
    assert await _tables(empty_db) == model_tables | {"alembic_version"}
    # ... then from 0012 (DIRECT commission: a column) back to 0011, ...
    await migrate.downgrade(empty_db)
    assert await migrate.current(empty_db) == ("0011",)
    assert await _tables(empty_db) == model_tables | {"alembic_version"}
    # ... then from 0011 (daily PnL) back to 0010 (proxy settlement), ...
    await migrate.downgrade(empty_db)
    assert await migrate.current(empty_db) == ("0010",)
    model_tables -= {"pnl_daily"}
    assert await _tables(empty_db) == model_tables | {"alembic_version"}
    # ... then from 0010 (proxy settlement) back to 0009 (mempool source), ...
    proxy = {"fleet_workers", "settlements"}
    await migrate.downgrade(empty_db)
    assert await migrate.current(empty_db) == ("0009",)
    assert await _tables(empty_db) == model_tables - proxy | {"alembic_version"}
    model_tables -= proxy
    # ... then from 0009 (mempool source) back to 0008 (platform accounts), ...
    await migrate.downgrade(empty_db)
    assert await migrate.current(empty_db) == ("0008",)
    assert await _tables(empty_db) == model_tables | {"alembic_version"}
    # ... then from 0008 (platform accounts) back to 0006 (redemptions), ...
    platform = {"accounts", "auth_tokens", "account_leaders", "audit_log", "change_counter"}
    await migrate.downgrade(empty_db)
    assert await migrate.current(empty_db) == ("0006",)
    assert await _tables(empty_db) == model_tables - platform | {"alembic_version"}
    model_tables -= platform
    # ... then to 0005 (archive tables), ...
    await migrate.downgrade(empty_db)
    assert await migrate.current(empty_db) == ("0005",)
    model_tables -= {"redemptions"}
    assert await _tables(empty_db) == model_tables | {"alembic_version"}
    # ... then back to 0004 (config pause), ...
    archives = {"copy_trades_archive", "orders_archive", "signals_archive", "guardrail_events_archive"}
    await migrate.downgrade(empty_db)
    assert await migrate.current(empty_db) == ("0004",)
    assert await _tables(empty_db) == model_tables - archives | {"alembic_version"}
    # ... then back to 0003 (deployment id), ...
    await migrate.downgrade(empty_db)
    assert await migrate.current(empty_db) == ("0003",)
    assert await _tables(empty_db) == model_tables - archives | {"alembic_version"}
    # ... then back to 0002 (paper accounts).
    await migrate.downgrade(empty_db)
    assert await migrate.current(empty_db) == ("0002",)
    assert await _tables(empty_db) == model_tables - archives - {"deployment"} | {"alembic_version"}
    await migrate.downgrade(empty_db)
    assert await migrate.current(empty_db) == ("0001",)
    assert await _tables(empty_db) == model_tables - archives - {"deployment", "paper_accounts"} | {
        "alembic_version"
    }


async def test_no_drift_between_migrations_and_models(empty_db: DbSettings) -> None:
    await migrate.upgrade(empty_db)
    assert await migrate.schema_diff(empty_db) == []


async def test_drift_check_sees_a_missing_index(empty_db: DbSettings) -> None:
    """The drift check can fail: drop one hot-path index and it is reported."""
    await migrate.upgrade(empty_db)
    engine = create_engine(empty_db, pooled=False)
    try:
        async with engine.begin() as conn:
            await conn.execute(text("DROP INDEX ix_copy_trades_state_next_retry_at"))
    finally:
        await engine.dispose()
    diff = await migrate.schema_diff(empty_db)
    assert [d[0] for d in diff] == ["add_index"]
    assert diff[0][1].name == "ix_copy_trades_state_next_retry_at"


async def test_concurrent_upgrades_of_a_fresh_database_both_succeed(empty_db: DbSettings) -> None:
    """Two supervisors starting at once on a new database: the migrations are serialized (PostgreSQL:
    an advisory lock; SQLite: BEGIN IMMEDIATE), the second finds the schema at head."""
    await asyncio.gather(*(migrate.upgrade(empty_db) for _ in range(3)))
    assert await migrate.current(empty_db) == (migrate.head_revision(),)
    assert await migrate.schema_diff(empty_db) == []
