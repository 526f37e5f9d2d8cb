"""Alembic environment: async engines from the configured URL, batch mode on SQLite.

``polyhunter.store.migrate`` runs Alembic commands on a connection it already holds and passes it in
``config.attributes["connection"]``; without one (plain ``alembic`` use), an engine is made from
``sqlalchemy.url``.
"""

from __future__ import annotations

import asyncio
from typing import Any, Literal

from alembic import context
from alembic.autogenerate.api import AutogenContext
from sqlalchemy import Connection

from polyhunter.settings import DbSettings
from polyhunter.store.database import create_engine
from polyhunter.store.models import Base
from polyhunter.store.types import UTCDateTime

config = context.config
target_metadata = Base.metadata


def render_item(type_: str, obj: Any, autogen_context: AutogenContext) -> str | Literal[False]:
    """Render our TypeDecorator as the plain type so migrations do not import model code."""
    if type_ == "type" and isinstance(obj, UTCDateTime):
        return "sa.DateTime(timezone=True)"
    return False


def configure_options(connection: Connection) -> dict[str, Any]:
    return {
        "connection": connection,
        "target_metadata": target_metadata,
        "render_as_batch": connection.dialect.name == "sqlite",
        # SQLite DDL is transactional too; the whole migration runs in the caller's one transaction.
        "transactional_ddl": True,
        "compare_type": True,
        "render_item": render_item,
    }


def run_on_connection(connection: Connection) -> None:
    context.configure(**configure_options(connection))
    with context.begin_transaction():
        context.run_migrations()


async def run_with_new_engine() -> None:
    engine = create_engine(DbSettings(url=config.get_main_option("sqlalchemy.url") or ""), pooled=False)
    try:
        async with engine.begin() as connection:
            await connection.run_sync(run_on_connection)
    finally:
        await engine.dispose()


def run_offline() -> None:
    context.configure(
        url=config.get_main_option("sqlalchemy.url"),
        target_metadata=target_metadata,
        literal_binds=True,
        render_item=render_item,
    )
    with context.begin_transaction():
        context.run_migrations()


if context.is_offline_mode():
    run_offline()
elif (given := config.attributes.get("connection")) is not None:
    run_on_connection(given)
else:
    asyncio.run(run_with_new_engine())
