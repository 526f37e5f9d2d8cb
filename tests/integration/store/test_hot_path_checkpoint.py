"""The SQLite hot path's WAL: never checkpointed inside a commit, kept short by the checkpoint thread."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.engine import Connection

from polyhunter.settings import DbSettings
from polyhunter.store.database import create_engine
from polyhunter.store.hot_path import hot_path_for

pytestmark = pytest.mark.integration

ROWS_PER_COMMIT = 50
PAYLOAD = "x" * 400


def _setup(conn: Connection) -> int:
    conn.exec_driver_sql("CREATE TABLE IF NOT EXISTS t (id INTEGER PRIMARY KEY, v TEXT)")
    return int(conn.exec_driver_sql("PRAGMA wal_autocheckpoint").scalar_one())


def _write(conn: Connection) -> None:
    conn.execute(text("INSERT INTO t (v) VALUES (:v)"), [{"v": PAYLOAD}] * ROWS_PER_COMMIT)


async def test_commits_never_checkpoint_and_the_thread_keeps_the_wal_short(tmp_path: Path) -> None:
    path = tmp_path / "wal.db"
    engine = create_engine(DbSettings(url=f"sqlite+aiosqlite:///{path}"))
    hot = hot_path_for(engine)
    try:
        assert await hot.transaction(_setup) == 0  # the hot path's connection leaves checkpoints alone
        checkpointer = hot.checkpointer
        assert checkpointer is not None
        assert checkpointer.running
        wal = Path(f"{path}-wal")
        # ~2 MB of commits: with SQLite's default (1,000 pages) some commit would checkpoint in line
        for _ in range(100):
            await hot.transaction(_write)
        deadline = asyncio.get_running_loop().time() + 10
        while checkpointer.pages_copied == 0:
            assert asyncio.get_running_loop().time() < deadline, "no checkpoint within 10 s"
            await asyncio.sleep(0.1)
        # after a complete checkpoint the next commit starts the WAL over: it stops growing. Without
        # checkpoints it would hold all 200 commits (over 4 MB of rows); here it holds the first 100
        # and about one second of the next (20 commits a second)
        for _ in range(100):
            await hot.transaction(_write)
            await asyncio.sleep(0.05)
        assert checkpointer.checkpoints >= 4
        assert wal.stat().st_size < 3_500_000  # noqa: ASYNC240 - one stat of a local file
        async with engine.connect() as conn:
            count = (await conn.execute(text("SELECT count(*) FROM t"))).scalar_one()
        assert count == 200 * ROWS_PER_COMMIT
    finally:
        await engine.dispose()
    assert not checkpointer.running  # stopped with the engine
