"""Units of work on the copy engine's hot path (prewrite, persist, the order journal), each in one hop.

SQLAlchemy over aiosqlite pays a thread hop for every driver call: a one-INSERT transaction is nine
of them (begin, cursor, execute, fetch, close, commit, ...), about 0.2 ms each on this machine, so a
signal's prewrite cost 2-4 ms on SQLite. Here a unit of work is a plain function over a sync
`Connection`: on a file-backed SQLite database it runs whole on a sync engine in one dedicated thread
(one hop, the work itself takes tens of microseconds); on PostgreSQL it runs on the async engine
through `run_sync` (asyncpg is natively async, each statement is one network round trip anyway).

The SQLite thread has its own connection, set up like the async engine's (WAL, foreign keys, busy
timeout, `BEGIN IMMEDIATE`); writers of the two connections queue on SQLite's lock. An in-memory
database cannot be opened twice, so it keeps the async path.
"""

from __future__ import annotations

import asyncio
import functools
import weakref
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Concatenate, ParamSpec, TypeVar

from sqlalchemy import create_engine as create_sync_engine
from sqlalchemy import event
from sqlalchemy.engine import URL, Connection, Engine
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from polyhunter.store.database import (
    SQLITE_BUSY_TIMEOUT_MS,
    engine_of,
    is_sqlite,
    sqlite_on_begin,
    sqlite_on_connect,
)

P = ParamSpec("P")
T = TypeVar("T")


def _file_backed_sqlite(url: URL) -> bool:
    database = url.database or ""
    return (
        is_sqlite(url)
        and database not in ("", ":memory:")
        and "mode=memory" not in database
        and url.query.get("mode") != "memory"
    )


class HotPath:
    """Runs `fn(connection, *args)` as one transaction (or one autocommit statement) on `engine`."""

    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine
        self._sync: Engine | None = None
        self._thread: ThreadPoolExecutor | None = None
        url = engine.url
        if _file_backed_sqlite(url):
            self._sync = create_sync_engine(
                url.set(drivername="sqlite+pysqlite"),
                connect_args={"timeout": SQLITE_BUSY_TIMEOUT_MS / 1000, "check_same_thread": False},
                pool_size=1,
                max_overflow=0,
            )
            event.listen(self._sync, "connect", sqlite_on_connect)
            event.listen(self._sync, "begin", sqlite_on_begin)
            self._thread = ThreadPoolExecutor(1, thread_name_prefix="sqlite-hot-path")

    @property
    def threaded(self) -> bool:
        return self._sync is not None

    async def transaction(
        self, fn: Callable[Concatenate[Connection, P], T], *args: P.args, **kwargs: P.kwargs
    ) -> T:
        """`fn` in one transaction: committed when it returns, rolled back if it raises."""
        if self._sync is not None and self._thread is not None:
            work = functools.partial(self._in_thread, fn, *args, **kwargs)
            return await asyncio.get_running_loop().run_in_executor(self._thread, work)
        async with self._engine.begin() as conn:
            return await conn.run_sync(fn, *args, **kwargs)

    async def autocommit(
        self, fn: Callable[Concatenate[Connection, P], T], *args: P.args, **kwargs: P.kwargs
    ) -> T:
        """`fn` with each statement its own transaction: for one statement that is a whole unit of work
        (no BEGIN/COMMIT round trips on PostgreSQL). On the SQLite thread a transaction costs nothing
        extra, so it is one."""
        if self._sync is not None:
            return await self.transaction(fn, *args, **kwargs)
        async with self._engine.connect() as conn:
            conn = await conn.execution_options(isolation_level="AUTOCOMMIT")
            return await conn.run_sync(fn, *args, **kwargs)

    def _in_thread(self, fn: Callable[..., T], *args: object, **kwargs: object) -> T:
        assert self._sync is not None
        with self._sync.begin() as conn:
            return fn(conn, *args, **kwargs)

    def close(self) -> None:
        """Close the thread's connection (it reopens on next use, as a disposed engine's pool does)."""
        if self._sync is not None:
            self._sync.dispose()


_BY_ENGINE: weakref.WeakKeyDictionary[AsyncEngine, HotPath] = weakref.WeakKeyDictionary()


def hot_path_for(sessions: async_sessionmaker[AsyncSession] | AsyncEngine) -> HotPath:
    """The one HotPath of an engine (shared by everything on the hot path of this process); its
    connection closes when the engine is disposed."""
    engine = sessions if isinstance(sessions, AsyncEngine) else engine_of(sessions)
    hot = _BY_ENGINE.get(engine)
    if hot is None:
        hot = _BY_ENGINE[engine] = HotPath(engine)
        ref = weakref.ref(hot)

        def closed(_engine: Engine) -> None:
            alive = ref()
            if alive is not None:
                alive.close()

        event.listen(engine.sync_engine, "engine_disposed", closed)
    return hot
