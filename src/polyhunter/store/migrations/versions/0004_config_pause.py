"""Config pause: `copy_configs.paused_at` and `paused_reason` (an operator-needed error paused it).

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-06
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("copy_configs") as batch:
        batch.add_column(sa.Column("paused_at", sa.DateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column("paused_reason", sa.String(length=256), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("copy_configs") as batch:
        batch.drop_column("paused_reason")
        batch.drop_column("paused_at")
