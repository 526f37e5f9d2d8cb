"""Archive tables: `copy_trades_archive`, `orders_archive`, `signals_archive`,
`guardrail_events_archive` (same columns as the live tables; `polyhunter archive` moves old rows there).

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-06
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ARCHIVE_TABLES = ("copy_trades_archive", "guardrail_events_archive", "orders_archive", "signals_archive")


def upgrade() -> None:
    op.create_table(
        "copy_trades_archive",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("signal_key", sa.String(length=64), nullable=False),
        sa.Column("config_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("config_version", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("state", sa.String(length=18), nullable=False),
        sa.Column("reason", sa.String(length=128), nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("side", sa.String(length=4), nullable=False),
        sa.Column("asset", sa.String(length=96), nullable=False),
        sa.Column("requested_size_micro", sa.BigInteger(), nullable=False),
        sa.Column("requested_price_micro", sa.BigInteger(), nullable=False),
        sa.Column("requested_notional_micro", sa.BigInteger(), nullable=False),
        sa.Column("filled_size_micro", sa.BigInteger(), nullable=True),
        sa.Column("filled_price_micro", sa.BigInteger(), nullable=True),
        sa.Column("fees_micro", sa.BigInteger(), nullable=True),
        sa.Column("venue_order_id", sa.String(length=128), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("executed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("locked_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("locked_by", sa.String(length=128), nullable=True),
        sa.Column("retry_count", sa.Integer(), nullable=False),
        sa.Column("next_retry_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_copy_trades_archive")),
    )
    op.create_table(
        "guardrail_events_archive",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("rule", sa.String(length=64), nullable=False),
        sa.Column("decision", sa.String(length=5), nullable=False),
        sa.Column("detail", sa.JSON(), nullable=False),
        sa.Column("user_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.Column("config_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.Column("config_version", sa.Integer(), nullable=True),
        sa.Column("signal_key", sa.String(length=64), nullable=True),
        sa.Column("copy_trade_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_guardrail_events_archive")),
    )
    op.create_table(
        "orders_archive",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("venue_order_id", sa.String(length=128), nullable=True),
        sa.Column("copy_trade_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.Column("wallet_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("asset", sa.String(length=96), nullable=False),
        sa.Column("side", sa.String(length=4), nullable=False),
        sa.Column("price_micro", sa.BigInteger(), nullable=False),
        sa.Column("size_micro", sa.BigInteger(), nullable=False),
        sa.Column("order_type", sa.String(length=3), nullable=False),
        sa.Column("status", sa.String(length=10), nullable=False),
        sa.Column("raw_response", sa.JSON(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_orders_archive")),
    )
    op.create_table(
        "signals_archive",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("key", sa.String(length=64), nullable=False),
        sa.Column("leader", sa.String(length=42), nullable=False),
        sa.Column("asset", sa.String(length=96), nullable=False),
        sa.Column("condition_id", sa.String(length=66), nullable=False),
        sa.Column("side", sa.String(length=4), nullable=False),
        sa.Column("size_micro", sa.BigInteger(), nullable=False),
        sa.Column("price_micro", sa.BigInteger(), nullable=False),
        sa.Column("tx_hash", sa.String(length=66), nullable=False),
        sa.Column("source", sa.String(length=5), nullable=False),
        sa.Column("slug", sa.String(length=256), nullable=False),
        sa.Column("outcome", sa.String(length=64), nullable=False),
        sa.Column("fill_time", sa.DateTime(timezone=True), nullable=False),
        sa.Column("seen_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_signals_archive")),
    )


def downgrade() -> None:
    for name in reversed(ARCHIVE_TABLES):
        op.drop_table(name)
