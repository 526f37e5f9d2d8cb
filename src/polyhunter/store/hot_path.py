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

That connection never checkpoints the WAL itself (`wal_autocheckpoint=0`): SQLite otherwise runs a
checkpoint inside the commit that crosses 1,000 WAL pages, copying the pages into the database file
and syncing it, and that commit took 5-10 ms instead of 0.7 (the p99 of a signal's prewrite). A
thread of its own (`WalCheckpointer`) runs a PASSIVE checkpoint every second instead, on a third
connection: it never waits for a lock and writers go on appending to the WAL while it copies.
"""

from __future__ import annotations

import asyncio
import functools
import threading
import weakref
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Concatenate, ParamSpec, TypeVar

from sqlalchemy import create_engine as create_sync_engine
from sqlalchemy import event
from sqlalchemy.engine import URL, Connection, Engine
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker
from sqlalchemy.pool import NullPool

from polyhunter.log import get_logger
from polyhunter.store.database import (
    SQLITE_BUSY_TIMEOUT_MS,
    engine_of,
    is_sqlite,
    sqlite_on_begin,
    sqlite_on_connect,
)

log = get_logger(__name__)

CHECKPOINT_INTERVAL_S = 1.0

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


def _no_autocheckpoint(dbapi_connection: object, _record: object) -> None:
    cursor = dbapi_connection.cursor()  # type: ignore[attr-defined]
    try:
        cursor.execute("PRAGMA wal_autocheckpoint=0")
    finally:
        cursor.close()


class WalCheckpointer:
    """A PASSIVE WAL checkpoint of one SQLite file every `interval_s`, on a daemon thread and a
    connection of its own (started and stopped with the hot path's connection)."""

    def __init__(self, url: URL, interval_s: float = CHECKPOINT_INTERVAL_S) -> None:
        self._engine = create_sync_engine(
            url, connect_args={"timeout": SQLITE_BUSY_TIMEOUT_MS / 1000}, poolclass=NullPool
        )
        self._interval_s = interval_s
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.checkpoints = 0
        self.pages_copied = 0

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def start(self) -> None:
        if self.running:
            return
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name="sqlite-checkpoint", daemon=True)
        self._thread.start()

    def checkpoint(self, connection: object) -> None:
        cursor = connection.cursor()  # type: ignore[attr-defined]
        try:
            cursor.execute("PRAGMA wal_checkpoint(PASSIVE)")
            row = cursor.fetchone()
        finally:
            cursor.close()
        self.checkpoints += 1
        if row is not None and row[2] is not None and row[2] > 0:
            self.pages_copied += int(row[2])

    def _run(self) -> None:
        connection = self._engine.raw_connection()
        failing = False
        try:
            while not self._stop.wait(self._interval_s):
                try:
                    self.checkpoint(connection)
                    failing = False
                except Exception as exc:  # noqa: BLE001 - the next round tries again; log once per streak
                    if not failing:
                        log.warning("sqlite checkpoint failed", error=repr(exc))
                    failing = True
            self.checkpoint(connection)  # leave the WAL short for the next start
        except Exception as exc:  # noqa: BLE001 - a last checkpoint that failed is not an error
            log.debug("sqlite checkpoint at stop failed", error=repr(exc))
        finally:
            connection.close()

    def stop(self) -> None:
        self._stop.set()
        thread = self._thread
        if thread is not None and thread is not threading.current_thread():
            thread.join(timeout=SQLITE_BUSY_TIMEOUT_MS / 1000)
        self._thread = None


class HotPath:
    """Runs `fn(connection, *args)` as one transaction (or one autocommit statement) on `engine`."""

    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine
        self._sync: Engine | None = None
        self._thread: ThreadPoolExecutor | None = None
        self.checkpointer: WalCheckpointer | None = None
        url = engine.url
        if _file_backed_sqlite(url):
            sync_url = url.set(drivername="sqlite+pysqlite")
            self.checkpointer = WalCheckpointer(sync_url)
            self._sync = create_sync_engine(
                sync_url,
                connect_args={"timeout": SQLITE_BUSY_TIMEOUT_MS / 1000, "check_same_thread": False},
                pool_size=1,
                max_overflow=0,
            )
            event.listen(self._sync, "connect", sqlite_on_connect)
            event.listen(self._sync, "connect", _no_autocheckpoint)
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
            if self.checkpointer is not None and not self.checkpointer.running:
                self.checkpointer.start()
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
        """Close the thread's connection and stop the checkpoints (both start again on next use, as a
        disposed engine's pool does)."""
        if self.checkpointer is not None:
            self.checkpointer.stop()
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
