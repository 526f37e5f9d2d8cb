"""Initial schema: accounts, leaders, versioned copy configs, signals and cursors, copy trades,
guardrail events, orders and fills, positions, commissions, reimbursement ledger, debts.

Revision ID: 0001
Revises:
Create Date: 2026-11-22
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "leaders",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("address", sa.String(length=42), nullable=False),
        sa.Column("label", sa.String(length=128), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("address = lower(address)", name=op.f("ck_leaders_address_lower")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_leaders")),
        sa.UniqueConstraint("address", name=op.f("uq_leaders_address")),
    )
    op.create_table(
        "signal_cursors",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("leader", sa.String(length=42), nullable=False),
        sa.Column(
            "source",
            sa.Enum("ws", "poll", "chain", name="source_kind", native_enum=False, create_constraint=True),
            nullable=False,
        ),
        sa.Column("last_ts", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_block", sa.BigInteger(), nullable=True),
        sa.Column("keys_at_ts", sa.JSON(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("leader = lower(leader)", name=op.f("ck_signal_cursors_leader_lower")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_signal_cursors")),
        sa.UniqueConstraint("leader", "source", name=op.f("uq_signal_cursors_leader_source")),
    )
    op.create_table(
        "signals",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("key", sa.String(length=64), nullable=False),
        sa.Column("leader", sa.String(length=42), nullable=False),
        sa.Column("asset", sa.String(length=96), nullable=False),
        sa.Column("condition_id", sa.String(length=66), nullable=False),
        sa.Column(
            "side",
            sa.Enum("BUY", "SELL", name="side", native_enum=False, create_constraint=True),
            nullable=False,
        ),
        sa.Column("size_micro", sa.BigInteger(), nullable=False),
        sa.Column("price_micro", sa.BigInteger(), nullable=False),
        sa.Column("tx_hash", sa.String(length=66), nullable=False),
        sa.Column(
            "source",
            sa.Enum("ws", "poll", "chain", name="source_kind", native_enum=False, create_constraint=True),
            nullable=False,
        ),
        sa.Column("slug", sa.String(length=256), nullable=False),
        sa.Column("outcome", sa.String(length=64), nullable=False),
        sa.Column("fill_time", sa.DateTime(timezone=True), nullable=False),
        sa.Column("seen_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("leader = lower(leader)", name=op.f("ck_signals_leader_lower")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_signals")),
        sa.UniqueConstraint("key", name=op.f("uq_signals_key")),
    )
    op.create_index(op.f("ix_signals_leader_fill_time"), "signals", ["leader", "fill_time"])

    op.create_table(
        "users",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("username", sa.String(length=64), nullable=False),
        sa.Column("email", sa.String(length=254), nullable=True),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_users")),
        sa.UniqueConstraint("email", name=op.f("uq_users_email")),
        sa.UniqueConstraint("username", name=op.f("uq_users_username")),
    )
    op.create_table(
        "copy_configs",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("user_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("leader_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("current_version", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("current_version >= 1", name=op.f("ck_copy_configs_current_version_positive")),
        sa.ForeignKeyConstraint(
            ["leader_id"], ["leaders.id"], name=op.f("fk_copy_configs_leader_id_leaders")
        ),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], name=op.f("fk_copy_configs_user_id_users")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_copy_configs")),
        sa.UniqueConstraint("user_id", "leader_id", name=op.f("uq_copy_configs_user_id_leader_id")),
    )
    op.create_index(op.f("ix_copy_configs_leader_id_active"), "copy_configs", ["leader_id", "active"])

    op.create_table(
        "wallets",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("user_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.Column(
            "kind",
            sa.Enum(
                "EOA",
                "FLEET",
                "PROXY",
                "PAPER",
                name="wallet_kind",
                native_enum=False,
                create_constraint=True,
            ),
            nullable=False,
        ),
        sa.Column("address", sa.String(length=42), nullable=False),
        sa.Column("signature_type", sa.Integer(), nullable=False),
        sa.Column("funder_address", sa.String(length=42), nullable=True),
        sa.Column("private_key_enc", sa.Text(), nullable=True),
        sa.Column("clob_api_key_enc", sa.Text(), nullable=True),
        sa.Column("clob_api_secret_enc", sa.Text(), nullable=True),
        sa.Column("clob_api_passphrase_enc", sa.Text(), nullable=True),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("address = lower(address)", name=op.f("ck_wallets_address_lower")),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], name=op.f("fk_wallets_user_id_users")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_wallets")),
        sa.UniqueConstraint("address", name=op.f("uq_wallets_address")),
    )
    op.create_index(op.f("ix_wallets_user_id"), "wallets", ["user_id"])

    op.create_table(
        "copy_config_versions",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("config_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column(
            "sizing_mode",
            sa.Enum(
                "FIXED_USDC",
                "PERCENT_OF_LEADER",
                "PROPORTIONAL",
                "MULTIPLIER",
                name="sizing_mode",
                native_enum=False,
                create_constraint=True,
            ),
            nullable=False,
        ),
        sa.Column("sizing_params", sa.JSON(), nullable=False),
        sa.Column("filters", sa.JSON(), nullable=False),
        sa.Column(
            "custody_mode",
            sa.Enum("PAPER", "EOA", "PROXY", name="custody_mode", native_enum=False, create_constraint=True),
            nullable=False,
        ),
        sa.Column("wallet_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.Column("min_trade_notional_micro", sa.BigInteger(), nullable=False),
        sa.Column("max_trade_notional_micro", sa.BigInteger(), nullable=True),
        sa.Column("max_position_notional_micro", sa.BigInteger(), nullable=True),
        sa.Column("max_slippage_bps", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("version >= 1", name=op.f("ck_copy_config_versions_version_positive")),
        sa.ForeignKeyConstraint(
            ["config_id"], ["copy_configs.id"], name=op.f("fk_copy_config_versions_config_id_copy_configs")
        ),
        sa.ForeignKeyConstraint(
            ["wallet_id"], ["wallets.id"], name=op.f("fk_copy_config_versions_wallet_id_wallets")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_copy_config_versions")),
        sa.UniqueConstraint("config_id", "version", name=op.f("uq_copy_config_versions_config_id_version")),
    )
    op.create_table(
        "positions",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("user_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("wallet_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("asset", sa.String(length=96), nullable=False),
        sa.Column("condition_id", sa.String(length=66), nullable=True),
        sa.Column("shares_micro", sa.BigInteger(), nullable=False),
        sa.Column("avg_price_micro", sa.BigInteger(), nullable=False),
        sa.Column("realized_pnl_micro", sa.BigInteger(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], name=op.f("fk_positions_user_id_users")),
        sa.ForeignKeyConstraint(["wallet_id"], ["wallets.id"], name=op.f("fk_positions_wallet_id_wallets")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_positions")),
        sa.UniqueConstraint(
            "user_id", "wallet_id", "asset", name=op.f("uq_positions_user_id_wallet_id_asset")
        ),
    )
    op.create_table(
        "copy_trades",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("signal_key", sa.String(length=64), nullable=False),
        sa.Column("config_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("config_version", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column(
            "state",
            sa.Enum(
                "PENDING",
                "EXECUTED",
                "SKIPPED",
                "FAILED",
                "SETTLEMENT_PENDING",
                "EXPIRED",
                name="copy_trade_state",
                native_enum=False,
                create_constraint=True,
            ),
            nullable=False,
        ),
        sa.Column("reason", sa.String(length=128), nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column(
            "side",
            sa.Enum("BUY", "SELL", name="side", native_enum=False, create_constraint=True),
            nullable=False,
        ),
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
        sa.CheckConstraint("retry_count >= 0", name=op.f("ck_copy_trades_retry_count_non_negative")),
        sa.ForeignKeyConstraint(
            ["config_id", "config_version"],
            ["copy_config_versions.config_id", "copy_config_versions.version"],
            name=op.f("fk_copy_trades_config_id_config_version_copy_config_versions"),
        ),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], name=op.f("fk_copy_trades_user_id_users")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_copy_trades")),
        sa.UniqueConstraint("signal_key", "config_id", name=op.f("uq_copy_trades_signal_key_config_id")),
    )
    op.create_index(op.f("ix_copy_trades_created_at"), "copy_trades", ["created_at"])
    op.create_index(op.f("ix_copy_trades_state_created_at"), "copy_trades", ["state", "created_at"])
    op.create_index(op.f("ix_copy_trades_state_next_retry_at"), "copy_trades", ["state", "next_retry_at"])
    op.create_index(op.f("ix_copy_trades_user_id_created_at"), "copy_trades", ["user_id", "created_at"])

    op.create_table(
        "commission_logs",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("user_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("leader_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.Column("copy_trade_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.Column("basis_micro", sa.BigInteger(), nullable=False),
        sa.Column("rate_bps", sa.Integer(), nullable=False),
        sa.Column("amount_micro", sa.BigInteger(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("amount_micro >= 0", name=op.f("ck_commission_logs_amount_non_negative")),
        sa.ForeignKeyConstraint(
            ["copy_trade_id"], ["copy_trades.id"], name=op.f("fk_commission_logs_copy_trade_id_copy_trades")
        ),
        sa.ForeignKeyConstraint(
            ["leader_id"], ["leaders.id"], name=op.f("fk_commission_logs_leader_id_leaders")
        ),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], name=op.f("fk_commission_logs_user_id_users")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_commission_logs")),
    )
    op.create_index(op.f("ix_commission_logs_copy_trade_id"), "commission_logs", ["copy_trade_id"])
    op.create_index(
        op.f("ix_commission_logs_user_id_created_at"), "commission_logs", ["user_id", "created_at"]
    )

    op.create_table(
        "guardrail_events",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("rule", sa.String(length=64), nullable=False),
        sa.Column(
            "decision",
            sa.Enum("ALLOW", "VETO", name="guardrail_decision", native_enum=False, create_constraint=True),
            nullable=False,
        ),
        sa.Column("detail", sa.JSON(), nullable=False),
        sa.Column("user_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.Column("config_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.Column("config_version", sa.Integer(), nullable=True),
        sa.Column("signal_key", sa.String(length=64), nullable=True),
        sa.Column("copy_trade_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["config_id"], ["copy_configs.id"], name=op.f("fk_guardrail_events_config_id_copy_configs")
        ),
        sa.ForeignKeyConstraint(
            ["copy_trade_id"], ["copy_trades.id"], name=op.f("fk_guardrail_events_copy_trade_id_copy_trades")
        ),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], name=op.f("fk_guardrail_events_user_id_users")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_guardrail_events")),
    )
    op.create_index(op.f("ix_guardrail_events_created_at"), "guardrail_events", ["created_at"])
    op.create_index(
        op.f("ix_guardrail_events_user_id_created_at"), "guardrail_events", ["user_id", "created_at"]
    )

    op.create_table(
        "orders",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("venue_order_id", sa.String(length=128), nullable=True),
        sa.Column("copy_trade_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.Column("wallet_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("asset", sa.String(length=96), nullable=False),
        sa.Column(
            "side",
            sa.Enum("BUY", "SELL", name="side", native_enum=False, create_constraint=True),
            nullable=False,
        ),
        sa.Column("price_micro", sa.BigInteger(), nullable=False),
        sa.Column("size_micro", sa.BigInteger(), nullable=False),
        sa.Column(
            "order_type",
            sa.Enum("FOK", "FAK", "GTC", "GTD", name="order_type", native_enum=False, create_constraint=True),
            nullable=False,
        ),
        sa.Column(
            "status",
            sa.Enum(
                "SUBMITTING",
                "LIVE",
                "MATCHED",
                "DELAYED",
                "UNMATCHED",
                "CANCELED",
                "REJECTED",
                "UNKNOWN",
                name="order_status",
                native_enum=False,
                create_constraint=True,
            ),
            nullable=False,
        ),
        sa.Column("raw_response", sa.JSON(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["copy_trade_id"], ["copy_trades.id"], name=op.f("fk_orders_copy_trade_id_copy_trades")
        ),
        sa.ForeignKeyConstraint(["wallet_id"], ["wallets.id"], name=op.f("fk_orders_wallet_id_wallets")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_orders")),
        sa.UniqueConstraint("venue_order_id", name=op.f("uq_orders_venue_order_id")),
    )
    op.create_index(op.f("ix_orders_copy_trade_id"), "orders", ["copy_trade_id"])
    op.create_index(op.f("ix_orders_status_created_at"), "orders", ["status", "created_at"])
    op.create_index(op.f("ix_orders_wallet_id"), "orders", ["wallet_id"])

    op.create_table(
        "reimbursement_ledger",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("user_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("fleet_wallet_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("copy_trade_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.Column("amount_micro", sa.BigInteger(), nullable=False),
        sa.Column(
            "status",
            sa.Enum(
                "OWED",
                "SUBMITTED",
                "CONFIRMED",
                "FAILED",
                name="reimbursement_status",
                native_enum=False,
                create_constraint=True,
            ),
            nullable=False,
        ),
        sa.Column("tx_hash", sa.String(length=66), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("settled_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint("amount_micro > 0", name=op.f("ck_reimbursement_ledger_amount_positive")),
        sa.ForeignKeyConstraint(
            ["copy_trade_id"],
            ["copy_trades.id"],
            name=op.f("fk_reimbursement_ledger_copy_trade_id_copy_trades"),
        ),
        sa.ForeignKeyConstraint(
            ["fleet_wallet_id"], ["wallets.id"], name=op.f("fk_reimbursement_ledger_fleet_wallet_id_wallets")
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_reimbursement_ledger_user_id_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_reimbursement_ledger")),
    )
    op.create_index(op.f("ix_reimbursement_ledger_copy_trade_id"), "reimbursement_ledger", ["copy_trade_id"])
    op.create_index(
        op.f("ix_reimbursement_ledger_status_created_at"), "reimbursement_ledger", ["status", "created_at"]
    )
    op.create_index(
        op.f("ix_reimbursement_ledger_user_id_status"), "reimbursement_ledger", ["user_id", "status"]
    )

    op.create_table(
        "debt_records",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("user_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("reimbursement_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.Column("amount_micro", sa.BigInteger(), nullable=False),
        sa.Column("reason", sa.String(length=256), nullable=False),
        sa.Column(
            "status",
            sa.Enum(
                "OPEN",
                "RECOVERED",
                "WRITTEN_OFF",
                name="debt_status",
                native_enum=False,
                create_constraint=True,
            ),
            nullable=False,
        ),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("recovered_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint("amount_micro > 0", name=op.f("ck_debt_records_amount_positive")),
        sa.ForeignKeyConstraint(
            ["reimbursement_id"],
            ["reimbursement_ledger.id"],
            name=op.f("fk_debt_records_reimbursement_id_reimbursement_ledger"),
        ),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], name=op.f("fk_debt_records_user_id_users")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_debt_records")),
    )
    op.create_index(op.f("ix_debt_records_user_id_status"), "debt_records", ["user_id", "status"])

    op.create_table(
        "fills",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("order_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("venue_trade_id", sa.String(length=128), nullable=True),
        sa.Column("price_micro", sa.BigInteger(), nullable=False),
        sa.Column("size_micro", sa.BigInteger(), nullable=False),
        sa.Column("fee_micro", sa.BigInteger(), nullable=False),
        sa.Column("tx_hash", sa.String(length=66), nullable=True),
        sa.Column("filled_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["order_id"], ["orders.id"], name=op.f("fk_fills_order_id_orders")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_fills")),
        sa.UniqueConstraint("order_id", "venue_trade_id", name=op.f("uq_fills_order_id_venue_trade_id")),
    )
    op.create_index(op.f("ix_fills_order_id"), "fills", ["order_id"])


def downgrade() -> None:
    op.drop_index(op.f("ix_fills_order_id"), table_name="fills")

    op.drop_table("fills")
    op.drop_index(op.f("ix_debt_records_user_id_status"), table_name="debt_records")

    op.drop_table("debt_records")
    op.drop_index(op.f("ix_reimbursement_ledger_user_id_status"), table_name="reimbursement_ledger")
    op.drop_index(op.f("ix_reimbursement_ledger_status_created_at"), table_name="reimbursement_ledger")
    op.drop_index(op.f("ix_reimbursement_ledger_copy_trade_id"), table_name="reimbursement_ledger")

    op.drop_table("reimbursement_ledger")
    op.drop_index(op.f("ix_orders_wallet_id"), table_name="orders")
    op.drop_index(op.f("ix_orders_status_created_at"), table_name="orders")
    op.drop_index(op.f("ix_orders_copy_trade_id"), table_name="orders")

    op.drop_table("orders")
    op.drop_index(op.f("ix_guardrail_events_user_id_created_at"), table_name="guardrail_events")
    op.drop_index(op.f("ix_guardrail_events_created_at"), table_name="guardrail_events")

    op.drop_table("guardrail_events")
    op.drop_index(op.f("ix_commission_logs_user_id_created_at"), table_name="commission_logs")
    op.drop_index(op.f("ix_commission_logs_copy_trade_id"), table_name="commission_logs")

    op.drop_table("commission_logs")
    op.drop_index(op.f("ix_copy_trades_user_id_created_at"), table_name="copy_trades")
    op.drop_index(op.f("ix_copy_trades_state_next_retry_at"), table_name="copy_trades")
    op.drop_index(op.f("ix_copy_trades_state_created_at"), table_name="copy_trades")
    op.drop_index(op.f("ix_copy_trades_created_at"), table_name="copy_trades")

    op.drop_table("copy_trades")
    op.drop_table("positions")
    op.drop_table("copy_config_versions")
    op.drop_index(op.f("ix_wallets_user_id"), table_name="wallets")

    op.drop_table("wallets")
    op.drop_index(op.f("ix_copy_configs_leader_id_active"), table_name="copy_configs")

    op.drop_table("copy_configs")
    op.drop_table("users")
    op.drop_index(op.f("ix_signals_leader_fill_time"), table_name="signals")

    op.drop_table("signals")
    op.drop_table("signal_cursors")
    op.drop_table("leaders")
