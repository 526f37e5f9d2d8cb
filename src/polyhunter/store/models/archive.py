"""Archive tables: `copy_trades_archive`, `orders_archive`, `signals_archive`, `guardrail_events_archive`.

Same columns (names, types, nullability) as the live tables, built from them, so a row moves with
``INSERT INTO x_archive SELECT * FROM x``. No foreign keys (an archived row may outlive what it
referred to), no CHECK or unique constraints but the primary key `id` (kept from the live row: re-archiving the
same row is a no-op conflict), and no secondary indexes (the archive is read rarely, written in bulk).
`polyhunter archive` (store/archive.py) moves rows into them.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Column, Enum, String, Table
from sqlalchemy.types import TypeEngine

from polyhunter.store.base import Base
from polyhunter.store.models.copying import CopyTrade, GuardrailEvent
from polyhunter.store.models.signals import SignalRecord
from polyhunter.store.models.trading import Order

ARCHIVE_SUFFIX = "_archive"


def _plain(type_: TypeEngine[Any]) -> TypeEngine[Any]:
    """The live column's type, but a string enum as its VARCHAR: the archive keeps what was stored,
    with no CHECK constraint to keep in step with the enum."""
    return String(type_.length) if isinstance(type_, Enum) else type_


def _archive_of(live: Table) -> Table:
    columns = [
        Column(
            c.name,
            _plain(c.type),
            primary_key=c.primary_key,
            nullable=c.nullable,
            autoincrement=False,
        )
        for c in live.columns
    ]
    return Table(live.name + ARCHIVE_SUFFIX, Base.metadata, *columns)


def _live(model: type[Base]) -> Table:
    table = model.__table__
    assert isinstance(table, Table)
    return table


COPY_TRADES_ARCHIVE = _archive_of(_live(CopyTrade))
ORDERS_ARCHIVE = _archive_of(_live(Order))
SIGNALS_ARCHIVE = _archive_of(_live(SignalRecord))
GUARDRAIL_EVENTS_ARCHIVE = _archive_of(_live(GuardrailEvent))
