"""Alembic, configured in code (no ``alembic.ini``): upgrade, downgrade, current, and the schema diff.

Each call opens one connection from the configured URL, runs the Alembic command on it inside one
transaction (PostgreSQL DDL is transactional, so a failed migration leaves nothing behind) and closes it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection

from polyhunter.settings import DbSettings
from polyhunter.store.database import create_engine
from polyhunter.store.models import Base

SCRIPT_LOCATION = "polyhunter.store:migrations"


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


def _run_command(db: DbSettings, fn: Callable[..., None], revision: str) -> Callable[[Connection], None]:
    def work(conn: Connection) -> None:
        cfg = alembic_config(db.url)
        cfg.attributes["connection"] = conn
        fn(cfg, revision)

    return work


async def upgrade(db: DbSettings, revision: str = "head") -> None:
    await _on_connection(db, _run_command(db, command.upgrade, revision))


async def downgrade(db: DbSettings, revision: str = "-1") -> None:
    await _on_connection(db, _run_command(db, command.downgrade, revision))


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
