"""Column types shared by the models: aware-UTC timestamps, string enums, big-integer ids, JSON."""

from __future__ import annotations

from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, BigInteger, DateTime, Dialect, Enum, Integer
from sqlalchemy.types import TypeDecorator


class UTCDateTime(TypeDecorator[datetime]):
    """``TIMESTAMP WITH TIME ZONE`` on PostgreSQL; on SQLite naive UTC text that reads back aware UTC.

    Naive datetimes are refused on the way in: a naive value is a bug, not "probably UTC".
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None or value.utcoffset() is None:
            raise ValueError(f"naive datetime {value!r}: store timezone-aware UTC datetimes only")
        value = value.astimezone(UTC)
        # SQLite keeps text without an offset; all stored values are UTC so text order is time order.
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


def str_enum(enum_cls: type[StrEnum], name: str) -> Enum:
    """A VARCHAR column with a CHECK constraint named ``name`` listing the enum's values."""
    return Enum(
        enum_cls,
        name=name,
        native_enum=False,
        create_constraint=True,
        length=max(len(m.value) for m in enum_cls),
        validate_strings=True,
        values_callable=lambda cls: [m.value for m in cls],
    )


# BIGINT ids on PostgreSQL; INTEGER on SQLite, where only ``INTEGER PRIMARY KEY`` is the autoincrementing rowid.
BigId = BigInteger().with_variant(Integer(), "sqlite")

JsonValue = dict[str, Any] | list[Any]
JsonType = JSON()
