"""Uniquely named PostgreSQL databases on the local server (created and dropped per test or session)."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Iterator
from contextlib import contextmanager

import asyncpg

from polyhunter.settings import DbSettings

PG_ADMIN_DSN = "postgresql://127.0.0.1:5432/test"
PG_HOST = "127.0.0.1:5432"


async def _admin(sql: str) -> None:
    conn = await asyncpg.connect(PG_ADMIN_DSN)
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


def create_pg_database() -> str:
    name = f"ph_store_{uuid.uuid4().hex[:12]}"
    asyncio.run(_admin(f'CREATE DATABASE "{name}"'))
    return name


def drop_pg_database(name: str) -> None:
    asyncio.run(_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


def pg_settings(name: str, pool_size: int = 10) -> DbSettings:
    return DbSettings(url=f"postgresql+asyncpg://{PG_HOST}/{name}", pool_size=pool_size)


@contextmanager
def fresh_pg_database() -> Iterator[DbSettings]:
    """An empty PostgreSQL database for one test, dropped on exit (the `fresh_pg` fixtures)."""
    name = create_pg_database()
    try:
        yield pg_settings(name)
    finally:
        drop_pg_database(name)
