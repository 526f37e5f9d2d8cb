"""A lock across processes for work that must run in one process at a time (the PROXY settlement round).

PostgreSQL: a session advisory lock (``pg_try_advisory_lock``) on a connection held for the round; SQLite:
an ``flock`` on a file beside the database. Either is released by the operating system or the server the
moment its holder dies (a SIGKILL leaves nothing to expire), so no lease has to time out. An in-memory
SQLite database is one process's own: nothing to lock.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import os
from collections.abc import AsyncIterator
from pathlib import Path

from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine


def lock_key(name: str) -> int:
    """A signed 64-bit advisory lock key for ``name``."""
    return int.from_bytes(hashlib.sha256(name.encode()).digest()[:8], "big", signed=True)


class RoundLock:
    def __init__(self, engine: AsyncEngine, name: str) -> None:
        self._engine = engine
        self.name = name
        self._key = lock_key(name)
        url = make_url(str(engine.url))
        self._file: Path | None = None
        if url.get_backend_name() == "sqlite":
            database = url.database or ""
            if database and database != ":memory:" and not database.startswith("file:"):
                digest = hashlib.sha256(name.encode()).hexdigest()[:12]
                self._file = Path(database).expanduser().with_name(f"{Path(database).name}.{digest}.lock")
        self._postgres = url.get_backend_name() == "postgresql"

    @contextlib.asynccontextmanager
    async def try_hold(self) -> AsyncIterator[bool]:
        """Yields True while this process holds the lock, False (at once) if another one does."""
        if self._postgres:
            async with self._engine.connect() as conn:
                got = bool(await conn.scalar(text("SELECT pg_try_advisory_lock(:k)"), {"k": self._key}))
                await conn.commit()  # the session lock outlives the transaction; end it
                try:
                    yield got
                finally:
                    if got:
                        await conn.scalar(text("SELECT pg_advisory_unlock(:k)"), {"k": self._key})
                        await conn.commit()
        elif self._file is not None:
            fd = os.open(self._file, os.O_RDWR | os.O_CREAT, 0o600)
            try:
                try:
                    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                except BlockingIOError:
                    yield False
                    return
                try:
                    yield True
                finally:
                    fcntl.flock(fd, fcntl.LOCK_UN)
            finally:
                os.close(fd)
        else:
            yield True
