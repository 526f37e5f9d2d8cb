"""Deployment id: one row with a random id, part of the Redis key prefix (see models/deployment.py).

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-06
"""

import secrets
from collections.abc import Sequence
from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    table = op.create_table(
        "deployment",
        sa.Column("id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("deployment_id", sa.String(length=32), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("id = 1", name=op.f("ck_deployment_one_row")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_deployment")),
        sa.UniqueConstraint("deployment_id", name=op.f("uq_deployment_deployment_id")),
    )
    op.bulk_insert(table, [{"id": 1, "deployment_id": secrets.token_hex(8), "created_at": datetime.now(UTC)}])


def downgrade() -> None:
    op.drop_table("deployment")
