"""Mempool source: `mempool` as a signal source, and retracted signals (`signals.retracted_at`, `retract_reason`).

A signal the mempool saw in a pending transaction that was then dropped, replaced or reverted is marked
retracted (the copies made of it, if any, copied a fill that never happened); so is a chain signal whose block
was re-orged away.

Revision ID: 0009
Revises: 0005
Create Date: 2026-12-06
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_OLD = ("ws", "poll", "chain")
_NEW = (*_OLD, "mempool")


def _check(values: tuple[str, ...]) -> str:
    return "source IN (" + ", ".join(f"'{v}'" for v in values) + ")"


def _resource(table: str, old: tuple[str, ...], new: tuple[str, ...]) -> None:
    with op.batch_alter_table(table) as batch:
        batch.drop_constraint(op.f(f"ck_{table}_source_kind"), type_="check")
        batch.alter_column(
            "source",
            existing_type=sa.String(length=max(map(len, old))),
            type_=sa.String(length=max(map(len, new))),
        )
        batch.create_check_constraint(op.f(f"ck_{table}_source_kind"), _check(new))


def upgrade() -> None:
    for table in ("signals", "signal_cursors"):
        _resource(table, _OLD, _NEW)
    for table in ("signals", "signals_archive"):
        with op.batch_alter_table(table) as batch:
            batch.add_column(sa.Column("retracted_at", sa.DateTime(timezone=True), nullable=True))
            batch.add_column(sa.Column("retract_reason", sa.String(length=32), nullable=True))
    with op.batch_alter_table("signals_archive") as batch:
        batch.alter_column("source", existing_type=sa.String(length=5), type_=sa.String(length=7))


def downgrade() -> None:
    op.execute(sa.text("DELETE FROM signal_cursors WHERE source = 'mempool'"))
    op.execute(sa.text("UPDATE signals SET source = 'ws' WHERE source = 'mempool'"))
    op.execute(sa.text("UPDATE signals_archive SET source = 'ws' WHERE source = 'mempool'"))
    with op.batch_alter_table("signals_archive") as batch:
        batch.alter_column("source", existing_type=sa.String(length=7), type_=sa.String(length=5))
    for table in ("signals", "signals_archive"):
        with op.batch_alter_table(table) as batch:
            batch.drop_column("retract_reason")
            batch.drop_column("retracted_at")
    for table in ("signals", "signal_cursors"):
        _resource(table, _NEW, _OLD)
