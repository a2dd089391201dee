"""The web area: rate-limit counters (proposals, sign-in), private proposal status links,
and the map's Morton key of each initiative's position (directory/geokey.py).

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-27
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "rate_counters",
        sa.Column("key", sa.String(300), primary_key=True),
        sa.Column("window_start", sa.Integer, primary_key=True),
        sa.Column("count", sa.Integer, nullable=False, server_default="0"),
    )
    op.create_index("ix_rate_counters_window_start", "rate_counters", ["window_start"])
    op.create_table(
        "status_links",
        sa.Column("token_hash", sa.String(64), primary_key=True),
        sa.Column(
            "initiative_id",
            sa.Integer,
            sa.ForeignKey("initiatives.id", ondelete="CASCADE"),
            nullable=True,
            index=True,
        ),
        sa.Column(
            "correction_id",
            sa.Integer,
            sa.ForeignKey("corrections.id", ondelete="CASCADE"),
            nullable=True,
            index=True,
        ),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    )

    _add_map_key()


def _add_map_key() -> None:
    """A generated Z-order key and its index: map clustering counts cells by index ranges."""
    from directory.geokey import key_sql

    dialect = op.get_bind().dialect.name
    kind = "STORED" if dialect == "postgresql" else "VIRTUAL"  # SQLite adds VIRTUAL only
    sql_type = "BIGINT" if dialect == "postgresql" else "INTEGER"
    op.execute(
        f"ALTER TABLE initiatives ADD COLUMN map_key {sql_type}"
        f" GENERATED ALWAYS AS ({key_sql(dialect)}) {kind}"
    )
    op.execute(
        "CREATE INDEX ix_initiatives_state_map_key ON initiatives (moderation_state, map_key)"
    )


def downgrade() -> None:
    op.execute("DROP INDEX ix_initiatives_state_map_key")
    op.execute("ALTER TABLE initiatives DROP COLUMN map_key")
    op.drop_table("status_links")
    op.drop_table("rate_counters")
