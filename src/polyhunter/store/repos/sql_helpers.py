"""Dialect helpers the repositories share: upserts and telling a UNIQUE violation from other errors."""

from __future__ import annotations

import sqlite3
from typing import Any, cast

from sqlalchemy import CursorResult, Table
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from polyhunter.store.base import Base

PG_UNIQUE_VIOLATION = "23505"


def dialect_name(session: AsyncSession) -> str:
    return session.get_bind().dialect.name


def is_postgresql(session: AsyncSession) -> bool:
    return dialect_name(session) == "postgresql"


def upsert_insert(session: AsyncSession, entity: type[Base]) -> Any:
    """``INSERT`` with ``on_conflict_do_nothing`` / ``on_conflict_do_update`` for the session's dialect."""
    if is_postgresql(session):
        return postgresql.insert(entity)
    return sqlite.insert(entity)


_UPSERTS: dict[tuple[str, str, tuple[str, ...], tuple[str, ...]], Any] = {}


def cached_upsert(
    session: AsyncSession, entity: type[Base], conflict: tuple[str, ...], update: tuple[str, ...]
) -> Any:
    """``INSERT ... ON CONFLICT (conflict) DO UPDATE SET update = excluded.update`` on the entity's table,
    built once per dialect: execute it with the row's values as parameters. Built per call, each
    statement made an ``excluded`` alias of the table with columns of its own (reference cycles: a
    paper account's fills left ~300 such objects a second for the full collections to find)."""
    key = (dialect_name(session), entity.__tablename__, conflict, update)
    stmt = _UPSERTS.get(key)
    if stmt is None:
        table = cast(Table, entity.__table__)
        base = postgresql.insert(table) if key[0] == "postgresql" else sqlite.insert(table)
        stmt = base.on_conflict_do_update(
            index_elements=list(conflict), set_={k: base.excluded[k] for k in update}
        )
        _UPSERTS[key] = stmt
    return stmt


def is_unique_violation(exc: IntegrityError, constraint: str, table: str, columns: tuple[str, ...]) -> bool:
    """True when ``exc`` is the database refusing a duplicate on exactly this UNIQUE constraint.

    PostgreSQL names the constraint; SQLite names the columns (``UNIQUE constraint failed: t.a, t.b``).
    Anything else (a foreign key, a CHECK, another unique) is not a duplicate and must propagate.
    """
    orig = exc.orig
    if getattr(orig, "sqlstate", None) == PG_UNIQUE_VIOLATION:
        cause = orig.__cause__ if orig is not None else None
        name = getattr(cause, "constraint_name", None)
        return name == constraint
    if isinstance(orig, sqlite3.IntegrityError):
        message = str(orig)
        expected = "UNIQUE constraint failed: " + ", ".join(f"{table}.{c}" for c in columns)
        return message == expected
    return False


def rowcount(result: Any) -> int:
    """Rows matched by an UPDATE/DELETE (``session.execute`` types its result as plain ``Result``)."""
    return int(cast(CursorResult[Any], result).rowcount)
