"""Redemptions of resolved markets (`redemptions`): one row per (follower, market), PENDING until the
payout is collected, then REDEEMED with the payout and the realized PnL; and the exact USDC of a copy's
fill (`copy_trades.filled_notional_micro`, and its archive), so a market's PnL adds up to the base unit.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-06
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "redemptions",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("user_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column(
            "custody_mode",
            sa.Enum("PAPER", "EOA", "PROXY", name="custody_mode", native_enum=False, create_constraint=True),
            nullable=False,
        ),
        sa.Column("condition_id", sa.String(length=66), nullable=False),
        sa.Column("winning_token", sa.String(length=96), nullable=False),
        sa.Column(
            "state",
            sa.Enum(
                "PENDING", "REDEEMED", name="redemption_state", native_enum=False, create_constraint=True
            ),
            nullable=False,
        ),
        sa.Column("shares_micro", sa.BigInteger(), nullable=False),
        sa.Column("payout_micro", sa.BigInteger(), nullable=False),
        sa.Column("bought_micro", sa.BigInteger(), nullable=False),
        sa.Column("sold_micro", sa.BigInteger(), nullable=False),
        sa.Column("fees_micro", sa.BigInteger(), nullable=False),
        sa.Column("realized_pnl_micro", sa.BigInteger(), nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("last_error", sa.String(length=512), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("redeemed_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], name=op.f("fk_redemptions_user_id_users")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_redemptions")),
        sa.UniqueConstraint("user_id", "condition_id", name=op.f("uq_redemptions_user_id_condition_id")),
    )
    op.create_index(op.f("ix_redemptions_state"), "redemptions", ["state"], unique=False)
    for table in ("copy_trades", "copy_trades_archive"):
        op.add_column(table, sa.Column("filled_notional_micro", sa.BigInteger(), nullable=True))


def downgrade() -> None:
    for table in ("copy_trades_archive", "copy_trades"):
        with op.batch_alter_table(table) as batch:
            batch.drop_column("filled_notional_micro")
    op.drop_index(op.f("ix_redemptions_state"), table_name="redemptions")
    op.drop_table("redemptions")
