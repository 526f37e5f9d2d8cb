"""The multi-user platform: `accounts`, `auth_tokens`, `account_leaders`, `audit_log`,
`change_counter` (one row, version 0), and on `users` the owning account and a follower's custody,
paper starting cash and limits.

Revision ID: 0008
Revises: 0005
Create Date: 2026-12-06
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
_TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "accounts",
        sa.Column("id", _ID, nullable=False),
        sa.Column("username", sa.String(64), nullable=False),
        sa.Column("password_hash", sa.Text(), nullable=False),
        sa.Column("role", sa.String(16), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("created_at", _TS, nullable=False),
        sa.CheckConstraint("role IN ('user', 'admin')", name=op.f("ck_accounts_role_known")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_accounts")),
        sa.UniqueConstraint("username", name=op.f("uq_accounts_username")),
    )
    op.create_table(
        "auth_tokens",
        sa.Column("id", _ID, nullable=False),
        sa.Column("account_id", _ID, nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("token_hash", sa.String(64), nullable=False),
        sa.Column("csrf_hash", sa.String(64), nullable=True),
        sa.Column("label", sa.String(64), nullable=True),
        sa.Column("created_at", _TS, nullable=False),
        sa.Column("expires_at", _TS, nullable=True),
        sa.Column("revoked_at", _TS, nullable=True),
        sa.CheckConstraint("kind IN ('session', 'api')", name=op.f("ck_auth_tokens_kind_known")),
        sa.ForeignKeyConstraint(
            ["account_id"], ["accounts.id"], name=op.f("fk_auth_tokens_account_id_accounts")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_auth_tokens")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_auth_tokens_token_hash")),
    )
    op.create_index(op.f("ix_auth_tokens_account_id"), "auth_tokens", ["account_id"])
    op.create_table(
        "account_leaders",
        sa.Column("id", _ID, nullable=False),
        sa.Column("account_id", _ID, nullable=False),
        sa.Column("leader_id", _ID, nullable=False),
        sa.Column("label", sa.String(64), nullable=True),
        sa.Column("created_at", _TS, nullable=False),
        sa.ForeignKeyConstraint(
            ["account_id"], ["accounts.id"], name=op.f("fk_account_leaders_account_id_accounts")
        ),
        sa.ForeignKeyConstraint(
            ["leader_id"], ["leaders.id"], name=op.f("fk_account_leaders_leader_id_leaders")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_account_leaders")),
        sa.UniqueConstraint("account_id", "leader_id", name=op.f("uq_account_leaders_account_id_leader_id")),
    )
    op.create_index(op.f("ix_account_leaders_account_id"), "account_leaders", ["account_id"])
    op.create_index(op.f("ix_account_leaders_leader_id"), "account_leaders", ["leader_id"])
    op.create_table(
        "audit_log",
        sa.Column("id", _ID, nullable=False),
        sa.Column("account_id", _ID, nullable=True),
        sa.Column("action", sa.String(64), nullable=False),
        sa.Column("target", sa.String(128), nullable=False),
        sa.Column("detail", sa.JSON(), nullable=False),
        sa.Column("created_at", _TS, nullable=False),
        sa.ForeignKeyConstraint(
            ["account_id"], ["accounts.id"], name=op.f("fk_audit_log_account_id_accounts")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_log")),
    )
    op.create_index(op.f("ix_audit_log_account_id_created_at"), "audit_log", ["account_id", "created_at"])
    op.create_table(
        "change_counter",
        sa.Column("id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("version", sa.BigInteger(), nullable=False),
        sa.Column("changed_at", _TS, nullable=False),
        sa.CheckConstraint("id = 1", name=op.f("ck_change_counter_one_row")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_change_counter")),
    )
    op.execute("INSERT INTO change_counter (id, version, changed_at) VALUES (1, 0, CURRENT_TIMESTAMP)")
    with op.batch_alter_table("users") as batch:
        batch.add_column(sa.Column("account_id", _ID, nullable=True))
        batch.add_column(sa.Column("custody", sa.String(16), nullable=True))
        batch.add_column(sa.Column("starting_cash_micro", sa.BigInteger(), nullable=True))
        batch.add_column(sa.Column("daily_cap_micro", sa.BigInteger(), nullable=True))
        batch.add_column(sa.Column("max_trade_micro", sa.BigInteger(), nullable=True))
        batch.create_foreign_key(op.f("fk_users_account_id_accounts"), "accounts", ["account_id"], ["id"])
        batch.create_index(op.f("ix_users_account_id"), ["account_id"])


def downgrade() -> None:
    with op.batch_alter_table("users") as batch:
        batch.drop_index(op.f("ix_users_account_id"))
        batch.drop_constraint(op.f("fk_users_account_id_accounts"), type_="foreignkey")
        batch.drop_column("max_trade_micro")
        batch.drop_column("daily_cap_micro")
        batch.drop_column("starting_cash_micro")
        batch.drop_column("custody")
        batch.drop_column("account_id")
    op.drop_table("change_counter")
    op.drop_index(op.f("ix_audit_log_account_id_created_at"), table_name="audit_log")
    op.drop_table("audit_log")
    op.drop_index(op.f("ix_account_leaders_leader_id"), table_name="account_leaders")
    op.drop_index(op.f("ix_account_leaders_account_id"), table_name="account_leaders")
    op.drop_table("account_leaders")
    op.drop_index(op.f("ix_auth_tokens_account_id"), table_name="auth_tokens")
    op.drop_table("auth_tokens")
    op.drop_table("accounts")
