"""DIRECT custody's commission: `settlements.commission_only` marks a row that moves only the platform's
commission from a DIRECT proxy to the treasury (the exchange settled the fill itself: no shares and no
collateral between a worker and the proxy); its shares and collateral are the fill's, kept for the
position's average cost (the profit share when it is sold).

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-06
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("settlements") as batch:
        batch.add_column(
            sa.Column("commission_only", sa.Boolean(), nullable=False, server_default=sa.false())
        )


def downgrade() -> None:
    with op.batch_alter_table("settlements") as batch:
        batch.drop_column("commission_only")
