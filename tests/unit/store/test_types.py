"""Store types and mappings, without a database."""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal

import pytest
from sqlalchemy import CheckConstraint, Constraint, Index, UniqueConstraint
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import IntegrityError

from polyhunter.domain.copy_config import CopyConfig, CustodyMode, SizingMode
from polyhunter.domain.signal import Side
from polyhunter.store.models import Base, CopyConfigVersion
from polyhunter.store.repos.config_mapping import to_domain, version_values
from polyhunter.store.repos.sql_helpers import is_unique_violation
from polyhunter.store.types import UTCDateTime

SQLITE = sqlite.dialect()
PG = postgresql.dialect()  # type: ignore[no-untyped-call]  # PGDialect_psycopg2.__init__ is unannotated


def test_utc_datetime_binds_utc_and_reads_aware() -> None:
    t = UTCDateTime()
    plus2 = datetime(2026, 5, 1, 14, 0, 0, 123_456, tzinfo=timezone(timedelta(hours=2)))
    # SQLite stores naive UTC.
    naive_utc = datetime(2026, 5, 1, 12, 0, 0, 123_456, tzinfo=UTC).replace(tzinfo=None)
    assert t.process_bind_param(plus2, SQLITE) == naive_utc
    assert t.process_bind_param(plus2, PG) == datetime(2026, 5, 1, 12, 0, 0, 123_456, tzinfo=UTC)
    back = t.process_result_value(naive_utc, SQLITE)
    assert back == plus2
    assert back is not None
    assert back.tzinfo is UTC
    assert t.process_bind_param(None, SQLITE) is None


def test_utc_datetime_refuses_naive() -> None:
    with pytest.raises(ValueError, match="naive"):
        UTCDateTime().process_bind_param(datetime(2026, 5, 1), PG)  # noqa: DTZ001


def test_every_constraint_and_index_is_named_and_hot_paths_are_indexed() -> None:
    indexes: set[tuple[str, tuple[str, ...]]] = set()
    for table in Base.metadata.sorted_tables:
        items: list[Constraint | Index] = [*table.constraints, *table.indexes]
        for item in items:
            assert item.name, f"unnamed {type(item).__name__} on {table.name}"
        for ix in table.indexes:
            indexes.add((table.name, tuple(c.name for c in ix.columns)))
    assert {
        ("copy_configs", ("leader_id", "active")),
        ("copy_trades", ("state", "created_at")),
        ("copy_trades", ("state", "next_retry_at")),
        ("copy_trades", ("user_id", "created_at")),
        ("copy_trades", ("created_at",)),
        ("signals", ("leader", "fill_time")),
    } <= indexes
    uniques = {
        (c.table.name, tuple(col.name for col in c.columns))
        for t in Base.metadata.sorted_tables
        for c in t.constraints
        if isinstance(c, UniqueConstraint)
    }
    assert ("copy_trades", ("signal_key", "config_id")) in uniques
    assert ("copy_config_versions", ("config_id", "version")) in uniques
    checks = {
        c.name for c in Base.metadata.tables["copy_trades"].constraints if isinstance(c, CheckConstraint)
    }
    assert "ck_copy_trades_copy_trade_state" in checks
    assert not any(isinstance(i, Index) and i.unique for i in Base.metadata.tables["copy_trades"].indexes)


def test_money_columns_are_big_integers() -> None:
    for table in Base.metadata.sorted_tables:
        for col in table.columns:
            if col.name.endswith("_micro"):
                assert col.type.compile(dialect=PG) == "BIGINT", f"{table.name}.{col.name}"


def test_config_round_trips_through_a_version_row() -> None:
    cfg = CopyConfig(
        id=7,
        version=3,
        user_id=11,
        leader="0x" + "ab" * 20,
        sizing=SizingMode.PERCENT_OF_LEADER,
        sizing_value=Decimal("12.5"),
        custody=CustodyMode.PROXY,
        min_trade_usdc=Decimal("1.000001"),
        max_trade_usdc=None,
        max_position_usdc=Decimal("250"),
        sides=frozenset({Side.SELL}),
        allow_markets=frozenset({"a", "b"}),
        min_price=Decimal("0.05"),
        max_price=Decimal("0.95"),
        mirror_sells=False,
        max_slippage_bps=150,
        aggregate_below_minimum=False,
        extra={"note": "x"},
    )
    row = CopyConfigVersion(config_id=7, version=3, **version_values(cfg))
    assert row.min_trade_notional_micro == 1_000_001
    assert to_domain(row, user_id=11, leader=cfg.leader) == cfg


def test_unique_violation_is_told_apart_from_other_integrity_errors() -> None:
    dup = IntegrityError(
        "INSERT",
        {},
        sqlite3.IntegrityError("UNIQUE constraint failed: copy_trades.signal_key, copy_trades.config_id"),
    )
    fk = IntegrityError("INSERT", {}, sqlite3.IntegrityError("FOREIGN KEY constraint failed"))
    other = IntegrityError("INSERT", {}, sqlite3.IntegrityError("UNIQUE constraint failed: users.username"))
    cols = ("signal_key", "config_id")
    assert is_unique_violation(dup, "uq_copy_trades_signal_key_config_id", "copy_trades", cols)
    assert not is_unique_violation(fk, "uq_copy_trades_signal_key_config_id", "copy_trades", cols)
    assert not is_unique_violation(other, "uq_copy_trades_signal_key_config_id", "copy_trades", cols)
