"""Alembic, configured in code (no ``alembic.ini``): upgrade, downgrade, current, and the schema diff.

Each call opens one connection from the configured URL, runs the Alembic command on it inside one
transaction (PostgreSQL DDL is transactional, so a failed migration leaves nothing behind) and closes it.

Migrations are serialized between processes (two supervisors starting at once on a new database):
on PostgreSQL each upgrade / downgrade first takes a transaction-scoped advisory lock
(``pg_advisory_xact_lock``, held until its commit or rollback); SQLite transactions are opened with
``BEGIN IMMEDIATE`` (store/database.py), which takes the database's write lock up front. Either
way the second migration starts after the first committed and finds the schema at head.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import Any

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection
from sqlalchemy.exc import OperationalError

from polyhunter.settings import DbSettings
from polyhunter.store.database import create_engine
from polyhunter.store.models import Base

SCRIPT_LOCATION = "polyhunter.store:migrations"
# The advisory lock key of migrations (b"polyhunt" as a signed 64-bit integer); advisory locks are
# per database, so deployments on other databases of the same server do not wait for each other.
MIGRATION_LOCK_KEY = int.from_bytes(b"polyhunt", "big", signed=True)


def alembic_config(url: str = "") -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", SCRIPT_LOCATION)
    if url:
        cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return cfg


def head_revision() -> str:
    """The newest revision shipped with this code."""
    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    if head is None:
        raise RuntimeError("no migrations found")
    return head


async def _on_connection(db: DbSettings, work: Callable[[Connection], Any]) -> Any:
    engine = create_engine(db, pooled=False)
    try:
        async with engine.begin() as conn:
            return await conn.run_sync(work)
    finally:
        await engine.dispose()


def lock_migrations(conn: Connection) -> None:
    """Wait for any other migration of this database to finish (PostgreSQL; see the module doc)."""
    if conn.dialect.name == "postgresql":
        conn.exec_driver_sql(f"SELECT pg_advisory_xact_lock({MIGRATION_LOCK_KEY})")


def _run_command(db: DbSettings, fn: Callable[..., None], revision: str) -> Callable[[Connection], None]:
    def work(conn: Connection) -> None:
        lock_migrations(conn)
        cfg = alembic_config(db.url)
        cfg.attributes["connection"] = conn
        fn(cfg, revision)

    return work


# SQLite answers SQLITE_BUSY at once, whatever the busy timeout, when two processes open a new
# database together (switching it to WAL takes an exclusive lock): such a migration is run again.
_SQLITE_BUSY = frozenset({"SQLITE_BUSY", "SQLITE_LOCKED"})
SQLITE_BUSY_RETRY_S = 30.0


def _sqlite_busy(exc: OperationalError) -> bool:
    return getattr(exc.orig, "sqlite_errorname", "") in _SQLITE_BUSY


async def _migrate(db: DbSettings, fn: Callable[..., None], revision: str) -> None:
    """One migration in one transaction; on SQLite, run again (bounded) while another process holds
    the new database's lock: its migration is done or rolled back by then, so a retry is safe."""
    deadline = time.monotonic() + SQLITE_BUSY_RETRY_S
    delay = 0.05
    while True:
        try:
            await _on_connection(db, _run_command(db, fn, revision))
            return
        except OperationalError as exc:
            if not _sqlite_busy(exc) or time.monotonic() > deadline:
                raise
        await asyncio.sleep(delay)
        delay = min(delay * 2, 1.0)


async def upgrade(db: DbSettings, revision: str = "head") -> None:
    await _migrate(db, command.upgrade, revision)


async def downgrade(db: DbSettings, revision: str = "-1") -> None:
    await _migrate(db, command.downgrade, revision)


def _heads(conn: Connection) -> tuple[str, ...]:
    return tuple(MigrationContext.configure(conn).get_current_heads())


async def current(db: DbSettings) -> tuple[str, ...]:
    """The revision(s) the database is at; empty when it has never been migrated."""
    heads: tuple[str, ...] = await _on_connection(db, _heads)
    return heads


def _diff(conn: Connection) -> list[Any]:
    ctx = MigrationContext.configure(conn, opts={"compare_type": True})
    return list(compare_metadata(ctx, Base.metadata))


async def schema_diff(db: DbSettings) -> list[Any]:
    """What autogenerate would change to make the database match the models (``[]``: no drift)."""
    diff: list[Any] = await _on_connection(db, _diff)
    return diff
