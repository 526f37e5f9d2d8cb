"""Proxy custody: `fleet_workers` (float limit, pause per FLEET wallet) and `settlements` (the settlement
queue of executed PROXY copies: amounts in base units, status, tx hash, retries with backoff, what was paid),
and `debt_records.settlement_id` (the settlement a debt is left from).

Revision ID: 0010
Revises: 0005
Create Date: 2026-12-06
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "fleet_workers",
        sa.Column("wallet_id", _ID, nullable=False),
        sa.Column("float_limit_micro", sa.BigInteger(), nullable=False),
        sa.Column("paused", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("float_limit_micro >= 0", name=op.f("ck_fleet_workers_float_limit_non_negative")),
        sa.ForeignKeyConstraint(
            ["wallet_id"], ["wallets.id"], name=op.f("fk_fleet_workers_wallet_id_wallets")
        ),
        sa.PrimaryKeyConstraint("wallet_id", name=op.f("pk_fleet_workers")),
    )
    op.create_table(
        "settlements",
        sa.Column("id", _ID, nullable=False),
        sa.Column("copy_trade_id", _ID, nullable=False),
        sa.Column("user_id", _ID, nullable=False),
        sa.Column("proxy_address", sa.String(length=42), nullable=False),
        sa.Column("worker_wallet_id", _ID, nullable=False),
        sa.Column(
            "side",
            sa.Enum("BUY", "SELL", name="side", native_enum=False, create_constraint=True),
            nullable=False,
        ),
        sa.Column("asset", sa.String(length=96), nullable=False),
        sa.Column("shares_micro", sa.BigInteger(), nullable=False),
        sa.Column("collateral_micro", sa.BigInteger(), nullable=False),
        sa.Column("fee_micro", sa.BigInteger(), nullable=False),
        sa.Column("cost_basis_micro", sa.BigInteger(), nullable=True),
        sa.Column("paid_collateral_micro", sa.BigInteger(), nullable=True),
        sa.Column("paid_fee_micro", sa.BigInteger(), nullable=True),
        sa.Column(
            "status",
            sa.Enum(
                "QUEUED",
                "SUBMITTED",
                "SETTLED",
                name="settlement_status",
                native_enum=False,
                create_constraint=True,
            ),
            nullable=False,
        ),
        sa.Column("tx_hash", sa.String(length=66), nullable=True),
        sa.Column("retry_count", sa.Integer(), nullable=False),
        sa.Column("next_retry_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_error", sa.String(length=256), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("settled_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint(
            "shares_micro >= 0 AND collateral_micro >= 0 AND fee_micro >= 0 AND retry_count >= 0",
            name=op.f("ck_settlements_amounts_non_negative"),
        ),
        sa.ForeignKeyConstraint(
            ["copy_trade_id"], ["copy_trades.id"], name=op.f("fk_settlements_copy_trade_id_copy_trades")
        ),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], name=op.f("fk_settlements_user_id_users")),
        sa.ForeignKeyConstraint(
            ["worker_wallet_id"], ["wallets.id"], name=op.f("fk_settlements_worker_wallet_id_wallets")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_settlements")),
        sa.UniqueConstraint("copy_trade_id", name=op.f("uq_settlements_copy_trade_id")),
    )
    op.create_index(op.f("ix_settlements_status_next_retry_at"), "settlements", ["status", "next_retry_at"])
    op.create_index(op.f("ix_settlements_user_id_status"), "settlements", ["user_id", "status"])
    op.create_index(op.f("ix_settlements_worker_wallet_id"), "settlements", ["worker_wallet_id"])
    with op.batch_alter_table("debt_records") as batch:
        batch.add_column(sa.Column("settlement_id", _ID, nullable=True))
        batch.create_foreign_key(
            op.f("fk_debt_records_settlement_id_settlements"), "settlements", ["settlement_id"], ["id"]
        )
        batch.create_index(op.f("ix_debt_records_settlement_id"), ["settlement_id"])


def downgrade() -> None:
    with op.batch_alter_table("debt_records") as batch:
        batch.drop_index(op.f("ix_debt_records_settlement_id"))
        batch.drop_constraint(op.f("fk_debt_records_settlement_id_settlements"), type_="foreignkey")
        batch.drop_column("settlement_id")
    op.drop_index(op.f("ix_settlements_worker_wallet_id"), table_name="settlements")
    op.drop_index(op.f("ix_settlements_user_id_status"), table_name="settlements")
    op.drop_index(op.f("ix_settlements_status_next_retry_at"), table_name="settlements")
    op.drop_table("settlements")
    op.drop_table("fleet_workers")
