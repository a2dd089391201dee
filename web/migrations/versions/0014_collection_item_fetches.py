"""Items of remote collections that name an initiative we do not hold: the worker fetches
them (federation/collection_items.py) and keeps here where that stands.

Revision ID: 0014
Revises: 0013
Create Date: 2026-11-27
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("collection_items") as batch:
        batch.add_column(sa.Column("fetch_state", sa.String(10), nullable=False, server_default=""))
        batch.add_column(
            sa.Column("fetch_error", sa.String(1000), nullable=False, server_default="")
        )
        batch.add_column(
            sa.Column("fetch_attempts", sa.Integer, nullable=False, server_default="0")
        )
        batch.add_column(sa.Column("fetch_after", sa.DateTime(timezone=True), nullable=True))
    op.create_index("ix_collection_items_fetch_state", "collection_items", ["fetch_state"])


def downgrade() -> None:
    op.drop_index("ix_collection_items_fetch_state", table_name="collection_items")
    with op.batch_alter_table("collection_items") as batch:
        for column in ("fetch_after", "fetch_attempts", "fetch_error", "fetch_state"):
            batch.drop_column(column)
