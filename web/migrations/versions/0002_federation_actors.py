"""Federation actors: our actors with their keys, and the cache of remote actors.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-27
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "local_actors",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("name", sa.String(80), nullable=False, unique=True),
        sa.Column("kind", sa.String(20), nullable=False, index=True),
        sa.Column(
            "theme_id",
            sa.Integer,
            sa.ForeignKey("themes.id", ondelete="CASCADE"),
            nullable=True,
            unique=True,
        ),
        sa.Column("public_key_pem", sa.Text, nullable=False),
        sa.Column("private_key_pem", sa.Text, nullable=False),
        sa.Column("locked", sa.Boolean, nullable=False, server_default=sa.false()),
        sa.Column("created_at", TS, nullable=False),
    )
    op.create_table(
        "remote_actors",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("uri", sa.String(500), nullable=False, unique=True),
        sa.Column("host", sa.String(253), nullable=False, index=True),
        sa.Column("ap_type", sa.String(40), nullable=False, server_default="Person"),
        sa.Column("preferred_username", sa.String(200), nullable=False, server_default=""),
        sa.Column("name", sa.String(300), nullable=False, server_default=""),
        sa.Column("inbox", sa.String(500), nullable=False, server_default=""),
        sa.Column("shared_inbox", sa.String(500), nullable=False, server_default=""),
        sa.Column("outbox", sa.String(500), nullable=False, server_default=""),
        sa.Column("followers", sa.String(500), nullable=False, server_default=""),
        sa.Column("initiatives", sa.String(500), nullable=False, server_default=""),
        sa.Column("public_key_id", sa.String(500), nullable=False, server_default="", index=True),
        sa.Column("public_key_pem", sa.Text, nullable=False, server_default=""),
        sa.Column("document", sa.JSON, nullable=False),
        sa.Column("fetched_at", TS, nullable=False),
        sa.Column("gone", sa.Boolean, nullable=False, server_default=sa.false()),
    )


def downgrade() -> None:
    op.drop_table("remote_actors")
    op.drop_table("local_actors")
