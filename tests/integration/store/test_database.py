"""Engine set-up: SQLite pragmas and transaction mode, PostgreSQL session settings."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from polyhunter.settings import DbSettings
from polyhunter.store.database import create_engine, create_session_factory, unit_of_work

pytestmark = pytest.mark.integration


async def test_sqlite_pragmas_and_directory(tmp_path: Path) -> None:
    db = DbSettings(url=f"sqlite+aiosqlite:///{tmp_path / 'nested' / 'dir' / 'x.db'}")
    engine = create_engine(db)
    try:
        async with unit_of_work(create_session_factory(engine)) as s:
            mode = (await s.execute(text("PRAGMA journal_mode"))).scalar_one()
            fks = (await s.execute(text("PRAGMA foreign_keys"))).scalar_one()
            busy = (await s.execute(text("PRAGMA busy_timeout"))).scalar_one()
            # Savepoints work inside SQLAlchemy-managed transactions (the stdlib driver's own handling is off).
            await s.execute(text("CREATE TABLE t (x INTEGER)"))
            async with s.begin_nested() as sp:
                await s.execute(text("INSERT INTO t VALUES (1)"))
                await sp.rollback()
            await s.execute(text("INSERT INTO t VALUES (2)"))
        async with unit_of_work(create_session_factory(engine)) as s:
            rows = (await s.execute(text("SELECT x FROM t"))).scalars().all()
    finally:
        await engine.dispose()
    assert (tmp_path / "nested" / "dir" / "x.db").exists()
    assert (mode, fks, busy) == ("wal", 1, 15_000)
    assert rows == [2]


async def test_sqlite_rolls_back_on_error(tmp_path: Path) -> None:
    engine = create_engine(DbSettings(url=f"sqlite+aiosqlite:///{tmp_path / 'y.db'}"))
    sessions = create_session_factory(engine)
    try:
        async with unit_of_work(sessions) as s:
            await s.execute(text("CREATE TABLE t (x INTEGER)"))
        with pytest.raises(RuntimeError, match="abort"):
            await _insert_then_fail(sessions)
        async with unit_of_work(sessions) as s:
            count = (await s.execute(text("SELECT count(*) FROM t"))).scalar_one()
    finally:
        await engine.dispose()
    assert count == 0


async def _insert_then_fail(sessions: async_sessionmaker[AsyncSession]) -> None:
    async with unit_of_work(sessions) as s:
        await s.execute(text("INSERT INTO t VALUES (1)"))
        raise RuntimeError("abort the unit of work")


async def test_postgresql_session_settings(pg_head: DbSettings) -> None:
    engine = create_engine(pg_head.model_copy(update={"statement_timeout_ms": 1234}))
    try:
        async with unit_of_work(create_session_factory(engine)) as s:
            timeout = (await s.execute(text("SHOW statement_timeout"))).scalar_one()
            app = (await s.execute(text("SHOW application_name"))).scalar_one()
    finally:
        await engine.dispose()
    assert (timeout, app) == ("1234ms", "polyhunter")
