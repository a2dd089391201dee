"""Curated collections (directory/models_collections.py), what we told followers about
them (federation/publish_collections.py), and an index to find links by their target.

Revision ID: 0012
Revises: 0011
Create Date: 2026-11-27
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None

TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "collections",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("slug", sa.String(120), nullable=False, unique=True),
        sa.Column("uri", sa.String(500), nullable=True, unique=True),
        sa.Column("origin", sa.String(253), nullable=True, index=True),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("summary", sa.String(1000), nullable=False, server_default=""),
        sa.Column(
            "created_by_id",
            sa.Integer,
            sa.ForeignKey("people.id", ondelete="SET NULL"),
            nullable=True,
        ),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("updated_at", TS, nullable=False),
        sa.Column("deleted_at", TS, nullable=True),
    )
    op.create_table(
        "collection_items",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column(
            "collection_id",
            sa.Integer,
            sa.ForeignKey("collections.id", ondelete="CASCADE"),
            nullable=False,
            index=True,
        ),
        sa.Column("position", sa.Integer, nullable=False, server_default="0"),
        sa.Column("target_uri", sa.String(500), nullable=False),
        sa.Column(
            "initiative_id",
            sa.Integer,
            sa.ForeignKey("initiatives.id", ondelete="SET NULL"),
            nullable=True,
            index=True,
        ),
        sa.Column("created_at", TS, nullable=False),
        sa.UniqueConstraint("collection_id", "target_uri"),
    )
    op.create_index("ix_collection_items_target_uri", "collection_items", ["target_uri"])
    op.create_table(
        "federated_collections",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column(
            "collection_id",
            sa.Integer,
            sa.ForeignKey("collections.id", ondelete="CASCADE"),
            nullable=False,
            unique=True,
        ),
        sa.Column("object_uri", sa.String(500), nullable=False, unique=True),
        sa.Column("state", sa.String(20), nullable=False, server_default="published"),
        sa.Column("updated_at", TS, nullable=False),
    )
    # Remote initiatives arriving after a link to them: find the links by target.
    op.create_index("ix_relations_target_uri", "relations", ["target_uri"])


def downgrade() -> None:
    op.drop_index("ix_relations_target_uri", table_name="relations")
    op.drop_table("federated_collections")
    op.drop_index("ix_collection_items_target_uri", table_name="collection_items")
    op.drop_table("collection_items")
    op.drop_table("collections")
