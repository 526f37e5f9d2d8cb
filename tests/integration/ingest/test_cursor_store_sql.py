"""Poll and chain cursors in `signal_cursors` (SQLite and PostgreSQL): exact round trip of the second and
the keys emitted at it (also with a non-UTC local zone), and a poller that resumes from them after a
restart with a new engine, emitting only what it had not emitted."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from polyhunter.ingest.cursor_store_sql import SqlCursorStore
from polyhunter.ingest.cursors import Cursor
from polyhunter.ingest.data_api_poll import SOURCE
from polyhunter.settings import DbSettings
from polyhunter.store import migrate
from polyhunter.store.database import create_engine, create_session_factory
from tests.support.pg_databases import create_pg_database, drop_pg_database, pg_settings
from tests.support.poller_fakes import NOW, A, B, FakeActivityApi, Recorder, key_of, make_poller, row

pytestmark = pytest.mark.integration


@pytest.fixture(params=["sqlite", "postgresql"])
def db(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[DbSettings]:
    if request.param == "sqlite":
        settings = DbSettings(url=f"sqlite+aiosqlite:///{tmp_path / 'cursors.db'}")
        asyncio.run(migrate.upgrade(settings))
        yield settings
        return
    name = create_pg_database()
    try:
        settings = pg_settings(name, pool_size=2)
        asyncio.run(migrate.upgrade(settings))
        yield settings
    finally:
        drop_pg_database(name)


@pytest.fixture
def new_york(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """A local zone far from UTC: a naive timestamp read back as local time would shift the cursor."""
    monkeypatch.setenv("TZ", "America/New_York")
    time.tzset()
    yield
    monkeypatch.undo()
    time.tzset()


def store_on(db: DbSettings, engines: list[AsyncEngine]) -> SqlCursorStore:
    engine = create_engine(db)
    engines.append(engine)
    return SqlCursorStore(create_session_factory(engine))


@pytest.mark.usefixtures("new_york")
async def test_poll_and_chain_cursors_round_trip(db: DbSettings, engines: list[AsyncEngine]) -> None:
    store = store_on(db, engines)
    assert await store.load(A, SOURCE) is None
    cursor = Cursor(A, SOURCE, NOW, frozenset({"k1", "k2"}))
    await store.save(cursor)
    await store.save(Cursor(B, SOURCE, NOW - 5))
    chain = Cursor("*", "chain:31337", 123_456, frozenset({"blockhash:0x" + "ab" * 32}))
    await store.save(chain)

    again = store_on(db, engines)  # a new engine: what a restarted process reads
    assert await again.load(A, SOURCE) == cursor
    loaded_b = await again.load(B, SOURCE)
    assert loaded_b is not None
    assert loaded_b.last_ts == NOW - 5
    assert await again.load("*", "chain:31337") == chain

    moved = cursor.advance([(NOW + 1, "k3")])
    await again.save(moved)
    assert await store.load(A, SOURCE) == Cursor(A, SOURCE, NOW + 1, frozenset({"k3"}))


async def test_poller_resumes_from_the_database_after_a_restart(
    db: DbSettings, engines: list[AsyncEngine]
) -> None:
    api = FakeActivityApi()
    store = store_on(db, engines)
    await store.save(Cursor(A, SOURCE, NOW - 10))
    first = [row(A, NOW - 4, 1), row(A, NOW - 2, 2), row(A, NOW - 2, 2)]  # twin legs at the top second
    api.add(*first)
    rec = Recorder()
    assert await make_poller(api, store, rec, now=NOW).poll_leader(A) == 3

    later = [row(A, NOW - 2, 3), row(A, NOW + 1, 4)]
    api.add(*later)
    rec2 = Recorder()
    restarted = store_on(db, engines)
    assert await make_poller(api, restarted, rec2, now=NOW + 3).poll_leader(A) == 2
    assert [s.key for s in rec2.signals] == [key_of(r) for r in later]
    assert len({s.key for s in rec.signals + rec2.signals}) == 5
