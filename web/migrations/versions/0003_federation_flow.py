"""The federation flow: inbox items, outgoing activities and deliveries, follows, remote
instances and their trust policy, domain blocks, seen activity ids, federated objects.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-27
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "remote_instances",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("host", sa.String(253), nullable=False, unique=True),
        sa.Column("software", sa.String(80), nullable=False, server_default=""),
        sa.Column("actor_uri", sa.String(500), nullable=False, server_default=""),
        sa.Column("trust", sa.String(10), nullable=False, server_default="hold"),
        sa.Column("last_contact_at", TS, nullable=True),
        sa.Column("last_error", sa.String(1000), nullable=False, server_default=""),
        sa.Column("last_error_at", TS, nullable=True),
        sa.Column("error_count", sa.Integer, nullable=False, server_default="0"),
        sa.Column("created_at", TS, nullable=False),
    )
    op.create_table(
        "domain_blocks",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("domain", sa.String(253), nullable=False, unique=True),
        sa.Column("reason", sa.String(1000), nullable=False, server_default=""),
        sa.Column("created_at", TS, nullable=False),
    )
    op.create_table(
        "followers",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("actor_name", sa.String(120), nullable=False, index=True),
        sa.Column("remote_actor_uri", sa.String(500), nullable=False),
        sa.Column("remote_host", sa.String(253), nullable=False, index=True),
        sa.Column("inbox", sa.String(500), nullable=False),
        sa.Column("shared_inbox", sa.String(500), nullable=False, server_default=""),
        sa.Column("state", sa.String(20), nullable=False, server_default="accepted"),
        sa.Column("follow_activity_id", sa.String(500), nullable=False, server_default=""),
        sa.Column("created_at", TS, nullable=False),
        sa.UniqueConstraint("actor_name", "remote_actor_uri"),
    )
    op.create_table(
        "following",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("remote_actor_uri", sa.String(500), nullable=False, unique=True),
        sa.Column("remote_host", sa.String(253), nullable=False, index=True),
        sa.Column("inbox", sa.String(500), nullable=False, server_default=""),
        sa.Column("state", sa.String(20), nullable=False, server_default="pending"),
        sa.Column("follow_activity_id", sa.String(500), nullable=False, unique=True),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("accepted_at", TS, nullable=True),
        sa.Column("backfill_state", sa.String(20), nullable=False, server_default=""),
        sa.Column("backfill_cursor", sa.String(1000), nullable=False, server_default=""),
        sa.Column("backfill_count", sa.Integer, nullable=False, server_default="0"),
        sa.Column("backfill_error", sa.String(1000), nullable=False, server_default=""),
        sa.Column("locked_until", TS, nullable=True),
    )
    op.create_table(
        "inbox_items",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("activity_id", sa.String(500), nullable=False, server_default="", index=True),
        sa.Column("activity_type", sa.String(40), nullable=False, server_default=""),
        sa.Column("actor_uri", sa.String(500), nullable=False, server_default=""),
        sa.Column("key_owner", sa.String(500), nullable=False, server_default=""),
        sa.Column("recipient", sa.String(120), nullable=False, server_default=""),
        sa.Column("body", sa.Text, nullable=True),
        sa.Column("state", sa.String(20), nullable=False, server_default="pending"),
        sa.Column("reason", sa.String(1000), nullable=False, server_default=""),
        sa.Column("attempts", sa.Integer, nullable=False, server_default="0"),
        sa.Column("next_attempt_at", TS, nullable=True),
        sa.Column("locked_until", TS, nullable=True),
        sa.Column("received_at", TS, nullable=False),
        sa.Column("processed_at", TS, nullable=True),
    )
    op.create_index("ix_inbox_items_state_id", "inbox_items", ["state", "id"])
    op.create_table(
        "seen_activities",
        sa.Column("activity_id", sa.String(500), primary_key=True),
        sa.Column("seen_at", TS, nullable=False),
    )
    op.create_table(
        "outbox_activities",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("activity_id", sa.String(500), nullable=False, unique=True),
        sa.Column("activity_type", sa.String(40), nullable=False),
        sa.Column("actor_name", sa.String(120), nullable=False),
        sa.Column("object_uri", sa.String(500), nullable=False, server_default="", index=True),
        sa.Column("body", sa.Text, nullable=False),
        sa.Column("digest", sa.String(100), nullable=False),
        sa.Column("created_at", TS, nullable=False),
    )
    op.create_table(
        "deliveries",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column(
            "activity_pk",
            sa.Integer,
            sa.ForeignKey("outbox_activities.id", ondelete="CASCADE"),
            nullable=False,
            index=True,
        ),
        sa.Column("inbox", sa.String(500), nullable=False),
        sa.Column("host", sa.String(253), nullable=False, index=True),
        sa.Column("state", sa.String(20), nullable=False, server_default="pending"),
        sa.Column("attempts", sa.Integer, nullable=False, server_default="0"),
        sa.Column("next_attempt_at", TS, nullable=False),
        sa.Column("locked_until", TS, nullable=True),
        sa.Column("last_status", sa.Integer, nullable=True),
        sa.Column("last_error", sa.String(1000), nullable=False, server_default=""),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("delivered_at", TS, nullable=True),
        sa.UniqueConstraint("activity_pk", "inbox"),
    )
    op.create_index("ix_deliveries_claim", "deliveries", ["state", "next_attempt_at"])
    op.create_table(
        "delivery_attempts",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column(
            "delivery_id",
            sa.Integer,
            sa.ForeignKey("deliveries.id", ondelete="CASCADE"),
            nullable=False,
            index=True,
        ),
        sa.Column("attempted_at", TS, nullable=False),
        sa.Column("status", sa.Integer, nullable=True),
        sa.Column("error", sa.String(1000), nullable=False, server_default=""),
        sa.Column("duration_ms", sa.Integer, nullable=False, server_default="0"),
    )
    op.create_table(
        "federated_objects",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("object_uri", sa.String(500), nullable=False, unique=True),
        sa.Column(
            "initiative_id",
            sa.Integer,
            sa.ForeignKey("initiatives.id", ondelete="SET NULL"),
            nullable=True,
            unique=True,
        ),
        sa.Column("is_local", sa.Boolean, nullable=False, server_default=sa.true()),
        sa.Column("state", sa.String(20), nullable=False, server_default="published"),
        sa.Column("themes", sa.JSON, nullable=False),
        sa.Column("updated_at", TS, nullable=False),
    )


def downgrade() -> None:
    for table in (
        "federated_objects",
        "delivery_attempts",
        "deliveries",
        "outbox_activities",
        "seen_activities",
        "inbox_items",
        "following",
        "followers",
        "domain_blocks",
        "remote_instances",
    ):
        op.drop_table(table)
