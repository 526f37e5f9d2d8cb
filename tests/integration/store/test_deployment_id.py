"""The deployment id (issue 13 item 7): made once per database by migration 0003, the same for every
process on that database, different between databases; part of the Redis key prefix."""

from __future__ import annotations

import re
import uuid

import pytest
from sqlalchemy import delete

from polyhunter.coord.factory import make_coordinator, redis_key_prefix
from polyhunter.settings import CoordSettings, DbSettings
from polyhunter.store import migrate
from polyhunter.store.database import create_engine, create_session_factory, unit_of_work
from polyhunter.store.deployment import deployment_id
from polyhunter.store.models import Deployment

pytestmark = pytest.mark.integration


async def _id(db: DbSettings) -> str:
    engine = create_engine(db)
    try:
        return await deployment_id(create_session_factory(engine))
    finally:
        await engine.dispose()


async def test_one_id_per_database(fresh_sqlite: DbSettings, fresh_pg: DbSettings) -> None:
    for db in (fresh_sqlite, fresh_pg):
        await migrate.upgrade(db)
    first = await _id(fresh_sqlite)
    assert re.fullmatch(r"[0-9a-f]{16}", first)
    assert await _id(fresh_sqlite) == first  # every process on this database reads the same id
    assert await _id(fresh_pg) != first


async def test_a_deleted_row_is_made_again(fresh_sqlite: DbSettings) -> None:
    await migrate.upgrade(fresh_sqlite)
    engine = create_engine(fresh_sqlite)
    try:
        sessions = create_session_factory(engine)
        async with unit_of_work(sessions) as s:
            await s.execute(delete(Deployment))
        made = await deployment_id(sessions)
        assert re.fullmatch(r"[0-9a-f]{16}", made)
        assert await deployment_id(sessions) == made
    finally:
        await engine.dispose()


async def test_two_deployments_on_one_redis_do_not_share_keys() -> None:
    settings = CoordSettings(backend="redis", key_prefix=f"phtest-{uuid.uuid4().hex[:8]}")
    assert redis_key_prefix(settings, "abc") == f"{settings.key_prefix}:abc"
    one = await make_coordinator(settings, deployment_id="aaaa")
    other = await make_coordinator(settings, deployment_id="bbbb")
    same = await make_coordinator(settings, deployment_id="aaaa")
    try:
        assert await one.first_seen("fill-1", 60_000)
        assert await other.first_seen("fill-1", 60_000)  # another deployment: its own keys
        assert not await same.first_seen("fill-1", 60_000)  # the same deployment: shared
    finally:
        for c in (one, other, same):
            await c.close()
