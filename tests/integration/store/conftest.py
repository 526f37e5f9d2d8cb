"""Databases for the store tests: a temp-file SQLite, and on the local PostgreSQL a uniquely named
database per test session (dropped afterwards) so parallel runs by other people do not collide."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from polyhunter.settings import DbSettings
from polyhunter.store import migrate
from polyhunter.store.database import create_engine, create_session_factory
from tests.support.pg_databases import create_pg_database, drop_pg_database, fresh_pg_database, pg_settings


@pytest.fixture
def fresh_pg() -> Iterator[DbSettings]:
    """An empty PostgreSQL database for this test only."""
    with fresh_pg_database() as db:
        yield db


@pytest.fixture
def fresh_sqlite(tmp_path: Path) -> DbSettings:
    return DbSettings(url=f"sqlite+aiosqlite:///{tmp_path / 'var' / 'store.db'}")


@pytest.fixture(scope="session")
def pg_head() -> Iterator[DbSettings]:
    """One PostgreSQL database at head for the whole session; tests keep to their own rows."""
    name = create_pg_database()
    try:
        db = pg_settings(name, pool_size=25)
        asyncio.run(migrate.upgrade(db))
        yield db
    finally:
        drop_pg_database(name)


@pytest.fixture
def sqlite_head(fresh_sqlite: DbSettings) -> DbSettings:
    asyncio.run(migrate.upgrade(fresh_sqlite))
    return fresh_sqlite


@pytest.fixture(params=["sqlite", "postgresql"])
def head_db(request: pytest.FixtureRequest) -> DbSettings:
    """A migrated database, once per backend."""
    fixture = "sqlite_head" if request.param == "sqlite" else "pg_head"
    db: DbSettings = request.getfixturevalue(fixture)
    return db


@pytest.fixture
async def engine(head_db: DbSettings) -> AsyncIterator[AsyncEngine]:
    eng = create_engine(head_db)
    try:
        yield eng
    finally:
        await eng.dispose()


@pytest.fixture
def sessions(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return create_session_factory(engine)
