"""Platform switches on `change_counter`: `halted` (the kill switch: no copy is sent, every worker's
guardrails veto KILL_SWITCH) and `dry_run` (nothing is sent, DRY_RUN), read by every process's live sync
with the change counter (`polyhunter switches`).

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-06
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0013"
down_revision: str | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("change_counter") as batch:
        batch.add_column(sa.Column("halted", sa.Boolean(), server_default=sa.false(), nullable=False))
        batch.add_column(sa.Column("dry_run", sa.Boolean(), server_default=sa.false(), nullable=False))


def downgrade() -> None:
    with op.batch_alter_table("change_counter") as batch:
        batch.drop_column("dry_run")
        batch.drop_column("halted")
