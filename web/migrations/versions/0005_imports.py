"""Imports: sources with schedules, jobs, imported records, conflicts, category mappings,
duplicate decisions (directory/imports/models.py).

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-27
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "import_sources",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("key", sa.String(120), nullable=False, unique=True),
        sa.Column("kind", sa.String(20), nullable=False),
        sa.Column("location", sa.String(1000), nullable=False, server_default=""),
        sa.Column("every_seconds", sa.Integer, nullable=True),
        sa.Column("next_run_at", TS, nullable=True, index=True),
        sa.Column("options", sa.JSON, nullable=False),
        sa.Column("created_at", TS, nullable=False),
    )
    op.create_table(
        "import_jobs",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("source_key", sa.String(120), nullable=False, index=True),
        sa.Column("kind", sa.String(20), nullable=False),
        sa.Column("location", sa.String(1000), nullable=False, server_default=""),
        sa.Column("payload_path", sa.String(1000), nullable=False, server_default=""),
        sa.Column("options", sa.JSON, nullable=False),
        sa.Column("state", sa.String(20), nullable=False, server_default="pending"),
        sa.Column("total", sa.Integer, nullable=False, server_default="0"),
        sa.Column("processed", sa.Integer, nullable=False, server_default="0"),
        sa.Column("counts", sa.JSON, nullable=False),
        sa.Column("report", sa.JSON, nullable=False),
        sa.Column("error", sa.Text, nullable=False, server_default=""),
        sa.Column(
            "person_id", sa.Integer, sa.ForeignKey("people.id", ondelete="SET NULL"), nullable=True
        ),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("started_at", TS, nullable=True),
        sa.Column("finished_at", TS, nullable=True),
    )
    op.create_index("ix_import_jobs_state_id", "import_jobs", ["state", "id"])
    op.create_table(
        "import_records",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("source_key", sa.String(120), nullable=False),
        sa.Column("source_id", sa.String(200), nullable=False),
        sa.Column(
            "initiative_id",
            sa.Integer,
            sa.ForeignKey("initiatives.id", ondelete="SET NULL"),
            nullable=True,
            index=True,
        ),
        sa.Column("digest", sa.String(64), nullable=False),
        sa.Column("values", sa.JSON, nullable=False),
        sa.Column("vanished", sa.Boolean, nullable=False, server_default=sa.false()),
        sa.Column("last_job_id", sa.Integer, nullable=True),
        sa.UniqueConstraint("source_key", "source_id", name="uq_import_records"),
    )
    op.create_table(
        "import_conflicts",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column(
            "job_id",
            sa.Integer,
            sa.ForeignKey("import_jobs.id", ondelete="SET NULL"),
            nullable=True,
        ),
        sa.Column(
            "initiative_id",
            sa.Integer,
            sa.ForeignKey("initiatives.id", ondelete="CASCADE"),
            nullable=False,
            index=True,
        ),
        sa.Column("source_key", sa.String(120), nullable=False),
        sa.Column("source_id", sa.String(200), nullable=False),
        sa.Column("fields", sa.JSON, nullable=False),
        sa.Column("state", sa.String(20), nullable=False, server_default="open", index=True),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("resolved_at", TS, nullable=True),
    )
    op.create_table(
        "category_mappings",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("source_key", sa.String(120), nullable=False),
        sa.Column("category", sa.String(200), nullable=False),
        sa.Column("label", sa.String(300), nullable=False, server_default=""),
        sa.Column("theme_slug", sa.String(80), nullable=True),
        sa.Column("automatic", sa.Boolean, nullable=False, server_default=sa.true()),
        sa.Column("updated_at", TS, nullable=False),
        sa.UniqueConstraint("source_key", "category", name="uq_category_mappings"),
    )
    op.create_table(
        "duplicate_decisions",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column(
            "first_id",
            sa.Integer,
            sa.ForeignKey("initiatives.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column(
            "second_id",
            sa.Integer,
            sa.ForeignKey("initiatives.id", ondelete="CASCADE"),
            nullable=False,
            index=True,
        ),
        sa.Column("decision", sa.String(20), nullable=False),
        sa.Column(
            "person_id", sa.Integer, sa.ForeignKey("people.id", ondelete="SET NULL"), nullable=True
        ),
        sa.Column("note", sa.String(1000), nullable=False, server_default=""),
        sa.Column("created_at", TS, nullable=False),
        sa.UniqueConstraint("first_id", "second_id", name="uq_duplicate_pair"),
    )


def downgrade() -> None:
    for table in (
        "duplicate_decisions",
        "category_mappings",
        "import_conflicts",
        "import_records",
        "import_jobs",
        "import_sources",
    ):
        op.drop_table(table)
