"""Remote instances: software version and when their NodeInfo was last asked.

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-27
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("remote_instances") as batch:
        batch.add_column(
            sa.Column("software_version", sa.String(80), nullable=False, server_default="")
        )
        batch.add_column(
            sa.Column("software_checked_at", sa.DateTime(timezone=True), nullable=True)
        )


def downgrade() -> None:
    with op.batch_alter_table("remote_instances") as batch:
        batch.drop_column("software_checked_at")
        batch.drop_column("software_version")
