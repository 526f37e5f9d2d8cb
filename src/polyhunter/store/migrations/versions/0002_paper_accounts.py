"""Paper accounts: the cash of each PAPER follower (holdings stay in `positions`).

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-02
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BIG_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "paper_accounts",
        sa.Column("id", BIG_ID, nullable=False),
        sa.Column("user_id", BIG_ID, nullable=False),
        sa.Column("wallet_id", BIG_ID, nullable=False),
        sa.Column("cash_micro", sa.BigInteger(), nullable=False),
        sa.Column("starting_cash_micro", sa.BigInteger(), nullable=False),
        sa.Column("realized_pnl_micro", sa.BigInteger(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], name=op.f("fk_paper_accounts_user_id_users")),
        sa.ForeignKeyConstraint(
            ["wallet_id"], ["wallets.id"], name=op.f("fk_paper_accounts_wallet_id_wallets")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_paper_accounts")),
        sa.UniqueConstraint("user_id", name=op.f("uq_paper_accounts_user_id")),
    )


def downgrade() -> None:
    op.drop_table("paper_accounts")
