"""Engines and sessions for ``sqlite+aiosqlite`` and ``postgresql+asyncpg``; one session per unit of work.

SQLite: WAL journal, ``foreign_keys=ON``, a busy timeout, and transactions opened by SQLAlchemy with
``BEGIN IMMEDIATE`` (the stdlib driver's own transaction handling breaks SAVEPOINTs and lets a read
transaction fail later with SQLITE_BUSY when it starts writing; taking the write lock up front makes
writers queue on the busy timeout instead).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import URL, Connection, make_url
from sqlalchemy.ext.asyncio import (
    AsyncConnection,
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)
from sqlalchemy.pool import NullPool

from polyhunter.settings import DbSettings

SQLITE_BUSY_TIMEOUT_MS = 15_000


def is_sqlite(url: str | URL) -> bool:
    return make_url(url).get_backend_name() == "sqlite"


def ensure_sqlite_directory(url: str | URL) -> None:
    """Create the directory of a file-backed SQLite database (``./var`` for the default URL)."""
    parsed = make_url(url)
    database = parsed.database
    if parsed.get_backend_name() != "sqlite" or not database or database == ":memory:":
        return
    if database.startswith("file:"):
        return
    Path(database).expanduser().parent.mkdir(parents=True, exist_ok=True)


def sqlite_on_connect(dbapi_connection: Any, _record: Any) -> None:
    # Hand transaction control to SQLAlchemy (see module docstring), then set the pragmas.
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    try:
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
        cursor.execute("PRAGMA synchronous=NORMAL")
    finally:
        cursor.close()


def sqlite_on_begin(conn: Connection) -> None:
    conn.exec_driver_sql("BEGIN IMMEDIATE")


def create_engine(db: DbSettings, *, pooled: bool = True) -> AsyncEngine:
    """The async engine for ``settings.db``; ``pooled=False`` for one-shot tools (migrations, CLI)."""
    url = make_url(db.url)
    pool: dict[str, Any] = {} if pooled else {"poolclass": NullPool}
    if is_sqlite(url):
        ensure_sqlite_directory(url)
        if pooled:
            # Every SQLite transaction takes the write lock, so a process gains nothing from more than
            # one connection; one pooled connection makes sessions queue in FIFO order instead of
            # spinning in SQLite's busy handler (which sleeps in growing steps: long tail latencies).
            pool = {"pool_size": 1, "max_overflow": 0, "pool_timeout": db.pool_timeout_s}
        engine = create_async_engine(
            url, echo=db.echo, connect_args={"timeout": SQLITE_BUSY_TIMEOUT_MS / 1000}, **pool
        )
        event.listen(engine.sync_engine, "connect", sqlite_on_connect)
        event.listen(engine.sync_engine, "begin", sqlite_on_begin)
        return engine
    server_settings = {"application_name": "polyhunter"}
    if db.statement_timeout_ms:
        server_settings["statement_timeout"] = str(db.statement_timeout_ms)
    if pooled:
        pool = {
            "pool_size": db.pool_size,
            "max_overflow": db.pool_size,
            "pool_timeout": db.pool_timeout_s,
            "pool_pre_ping": db.pool_pre_ping,
            "pool_recycle": db.pool_recycle_s or -1,
        }
    return create_async_engine(url, echo=db.echo, connect_args={"server_settings": server_settings}, **pool)


def create_session_factory(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    # expire_on_commit=False: rows read in a unit of work stay usable after it commits.
    return async_sessionmaker(engine, expire_on_commit=False, autoflush=False)


@asynccontextmanager
async def unit_of_work(sessions: async_sessionmaker[AsyncSession]) -> AsyncIterator[AsyncSession]:
    """One session, one transaction: committed when the block ends, rolled back if it raises."""
    async with sessions() as session, session.begin():
        yield session


def engine_of(sessions: async_sessionmaker[AsyncSession]) -> AsyncEngine:
    engine = sessions.kw.get("bind")
    if not isinstance(engine, AsyncEngine):
        raise TypeError("the session factory is not bound to an AsyncEngine")
    return engine


@asynccontextmanager
async def core_transaction(sessions: async_sessionmaker[AsyncSession]) -> AsyncIterator[AsyncConnection]:
    """One Core connection and transaction on the sessions' engine, without an ORM session: about a
    millisecond less per unit of work, for the copy engine's hot path (prewrite and persist)."""
    async with engine_of(sessions).begin() as conn:
        yield conn


@asynccontextmanager
async def autocommit_connection(sessions: async_sessionmaker[AsyncSession]) -> AsyncIterator[AsyncConnection]:
    """A Core connection in autocommit mode: each statement is its own transaction (for one statement
    that does a whole unit of work: no BEGIN and COMMIT round trips)."""
    async with engine_of(sessions).connect() as conn:
        yield await conn.execution_options(isolation_level="AUTOCOMMIT")
