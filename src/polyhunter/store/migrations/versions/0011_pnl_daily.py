"""The daily PnL series (`pnl_daily`): one row per (copy config, UTC day) with the day's realized PnL
(net of fees), fees, unrealized PnL at the day's end mark and the cost of the open positions.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-06
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "pnl_daily",
        sa.Column("config_id", _ID, nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("user_id", _ID, nullable=False),
        sa.Column("leader_id", _ID, nullable=False),
        sa.Column("realized_micro", sa.BigInteger(), nullable=False),
        sa.Column("fees_micro", sa.BigInteger(), nullable=False),
        sa.Column("unrealized_micro", sa.BigInteger(), nullable=False),
        sa.Column("invested_micro", sa.BigInteger(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["config_id"], ["copy_configs.id"], name=op.f("fk_pnl_daily_config_id_copy_configs")
        ),
        sa.ForeignKeyConstraint(["leader_id"], ["leaders.id"], name=op.f("fk_pnl_daily_leader_id_leaders")),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], name=op.f("fk_pnl_daily_user_id_users")),
        sa.PrimaryKeyConstraint("config_id", "day", name=op.f("pk_pnl_daily")),
    )
    op.create_index(op.f("ix_pnl_daily_leader_id_day"), "pnl_daily", ["leader_id", "day"], unique=False)
    op.create_index(op.f("ix_pnl_daily_user_id_day"), "pnl_daily", ["user_id", "day"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_pnl_daily_user_id_day"), table_name="pnl_daily")
    op.drop_index(op.f("ix_pnl_daily_leader_id_day"), table_name="pnl_daily")
    op.drop_table("pnl_daily")
