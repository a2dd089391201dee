"""The directory: themes, territory, communes, people, initiatives, history, search index.

Revision ID: 0001
Revises:
Create Date: 2026-11-27
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "themes",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("slug", sa.String(80), nullable=False, unique=True),
        sa.Column("iri", sa.String(300), nullable=False, unique=True),
        sa.Column("label_fr", sa.String(120), nullable=False),
        sa.Column("label_en", sa.String(120), nullable=False),
        sa.Column("hashtag", sa.String(80), nullable=False, server_default=""),
        sa.Column("is_core", sa.Boolean, nullable=False, server_default=sa.false()),
        sa.Column("parent_id", sa.Integer, sa.ForeignKey("themes.id"), nullable=True),
    )
    op.create_table(
        "territories",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("kind", sa.String(20), nullable=False),
        sa.Column("code", sa.String(20), nullable=False, server_default=""),
        sa.Column("min_lat", sa.Float, nullable=True),
        sa.Column("min_lon", sa.Float, nullable=True),
        sa.Column("max_lat", sa.Float, nullable=True),
        sa.Column("max_lon", sa.Float, nullable=True),
    )
    op.create_table(
        "communes",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("insee_code", sa.String(5), nullable=False, unique=True),
        sa.Column("name", sa.String(200), nullable=False, index=True),
        sa.Column("latitude", sa.Float, nullable=True),
        sa.Column("longitude", sa.Float, nullable=True),
        sa.Column("population", sa.Integer, nullable=True),
        sa.Column("postal_code", sa.String(5), nullable=False, server_default=""),
    )
    op.create_table(
        "people",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("email", sa.String(254), nullable=False, unique=True),
        sa.Column("display_name", sa.String(120), nullable=False, server_default=""),
        sa.Column("password_hash", sa.String(200), nullable=False, server_default=""),
        sa.Column("role", sa.String(20), nullable=False, server_default="contributor"),
        sa.Column("active", sa.Boolean, nullable=False, server_default=sa.true()),
        sa.Column("created_at", TS, nullable=False),
    )
    op.create_table(
        "api_tokens",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column(
            "person_id",
            sa.Integer,
            sa.ForeignKey("people.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("token_hash", sa.String(64), nullable=False, unique=True),
        sa.Column("label", sa.String(120), nullable=False, server_default=""),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("last_used_at", TS, nullable=True),
    )
    op.create_table(
        "initiatives",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("slug", sa.String(120), nullable=False, unique=True),
        sa.Column("uri", sa.String(500), nullable=True, unique=True),
        sa.Column("origin", sa.String(253), nullable=True, index=True),
        sa.Column("via", sa.JSON, nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("summary", sa.String(300), nullable=False, server_default=""),
        sa.Column("description", sa.Text, nullable=False, server_default=""),
        sa.Column("status", sa.String(20), nullable=False, server_default="active"),
        sa.Column("moderation_state", sa.String(20), nullable=False, server_default="proposed"),
        sa.Column("street", sa.String(300), nullable=False, server_default=""),
        sa.Column("postal_code", sa.String(10), nullable=False, server_default=""),
        sa.Column("city", sa.String(200), nullable=False, server_default=""),
        sa.Column("insee_code", sa.String(5), nullable=False, server_default="", index=True),
        sa.Column("latitude", sa.Float, nullable=True),
        sa.Column("longitude", sa.Float, nullable=True),
        sa.Column("website", sa.String(500), nullable=False, server_default=""),
        sa.Column("email", sa.String(254), nullable=False, server_default=""),
        sa.Column("phone", sa.String(40), nullable=False, server_default=""),
        sa.Column("fediverse", sa.String(300), nullable=False, server_default=""),
        sa.Column("social_links", sa.JSON, nullable=False),
        sa.Column("opening_hours", sa.String(500), nullable=False, server_default=""),
        sa.Column("image_url", sa.String(500), nullable=False, server_default=""),
        sa.Column("source", sa.String(120), nullable=True),
        sa.Column("source_id", sa.String(200), nullable=True),
        sa.Column("same_as", sa.JSON, nullable=False),
        sa.Column("proposer_email", sa.String(254), nullable=False, server_default=""),
        sa.Column(
            "proposer_id",
            sa.Integer,
            sa.ForeignKey("people.id", ondelete="SET NULL"),
            nullable=True,
        ),
        sa.Column("moderation_note", sa.Text, nullable=False, server_default=""),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("updated_at", TS, nullable=False, index=True),
        sa.Column("published_at", TS, nullable=True),
        sa.UniqueConstraint("source", "source_id", name="uq_initiatives_source"),
    )
    op.create_index("ix_initiatives_lat_lon", "initiatives", ["latitude", "longitude"])
    op.create_index("ix_initiatives_state_id", "initiatives", ["moderation_state", "id"])
    op.create_table(
        "initiative_themes",
        sa.Column(
            "initiative_id",
            sa.Integer,
            sa.ForeignKey("initiatives.id", ondelete="CASCADE"),
            primary_key=True,
        ),
        sa.Column("theme_id", sa.Integer, sa.ForeignKey("themes.id"), primary_key=True),
    )
    op.create_index("ix_initiative_themes_theme_id", "initiative_themes", ["theme_id"])
    op.create_table(
        "initiative_actor_kinds",
        sa.Column(
            "initiative_id",
            sa.Integer,
            sa.ForeignKey("initiatives.id", ondelete="CASCADE"),
            primary_key=True,
        ),
        sa.Column("kind", sa.String(40), primary_key=True),
    )
    op.create_index("ix_initiative_actor_kinds_kind", "initiative_actor_kinds", ["kind"])
    op.create_table(
        "initiative_needs",
        sa.Column(
            "initiative_id",
            sa.Integer,
            sa.ForeignKey("initiatives.id", ondelete="CASCADE"),
            primary_key=True,
        ),
        sa.Column("need", sa.String(40), primary_key=True),
    )
    op.create_index("ix_initiative_needs_need", "initiative_needs", ["need"])
    op.create_table(
        "relations",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column(
            "initiative_id",
            sa.Integer,
            sa.ForeignKey("initiatives.id", ondelete="CASCADE"),
            nullable=False,
            index=True,
        ),
        sa.Column("target_uri", sa.String(500), nullable=False),
        sa.Column(
            "target_id",
            sa.Integer,
            sa.ForeignKey("initiatives.id", ondelete="SET NULL"),
            nullable=True,
            index=True,
        ),
        sa.Column("kind", sa.String(20), nullable=False),
        sa.Column("note", sa.String(1000), nullable=False, server_default=""),
        sa.Column(
            "created_by_id",
            sa.Integer,
            sa.ForeignKey("people.id", ondelete="SET NULL"),
            nullable=True,
        ),
        sa.Column("created_at", TS, nullable=False),
        sa.UniqueConstraint("initiative_id", "target_uri", "kind"),
    )
    op.create_table(
        "revisions",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column(
            "initiative_id",
            sa.Integer,
            sa.ForeignKey("initiatives.id", ondelete="CASCADE"),
            nullable=False,
            index=True,
        ),
        sa.Column(
            "person_id",
            sa.Integer,
            sa.ForeignKey("people.id", ondelete="SET NULL"),
            nullable=True,
        ),
        sa.Column("author", sa.String(254), nullable=False, server_default=""),
        sa.Column("action", sa.String(20), nullable=False),
        sa.Column("changes", sa.JSON, nullable=False),
        sa.Column("message", sa.String(1000), nullable=False, server_default=""),
        sa.Column("created_at", TS, nullable=False),
    )
    op.create_table(
        "corrections",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column(
            "initiative_id",
            sa.Integer,
            sa.ForeignKey("initiatives.id", ondelete="CASCADE"),
            nullable=False,
            index=True,
        ),
        sa.Column("changes", sa.JSON, nullable=False),
        sa.Column("state", sa.String(20), nullable=False, server_default="proposed", index=True),
        sa.Column("proposer_email", sa.String(254), nullable=False, server_default=""),
        sa.Column(
            "proposer_id",
            sa.Integer,
            sa.ForeignKey("people.id", ondelete="SET NULL"),
            nullable=True,
        ),
        sa.Column("message", sa.String(2000), nullable=False, server_default=""),
        sa.Column("moderation_note", sa.Text, nullable=False, server_default=""),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("decided_at", TS, nullable=True),
    )
    op.create_table(
        "instance_settings",
        sa.Column("key", sa.String(80), primary_key=True),
        sa.Column("value", sa.Text, nullable=False, server_default=""),
    )
    _create_search_index()


def _create_search_index() -> None:
    """Full-text index: FTS5 on SQLite (text stemmed by directory/text.py), tsvector on PG."""
    if op.get_bind().dialect.name == "sqlite":
        op.execute(
            "CREATE VIRTUAL TABLE initiative_fts USING fts5("
            "name, summary, body, tokenize='unicode61 remove_diacritics 2')"
        )
        return
    # unaccent needs a superuser or a trusted extension; search still stems without it.
    has_unaccent = (
        op.get_bind()
        .exec_driver_sql("SELECT 1 FROM pg_available_extensions WHERE name = 'unaccent'")
        .scalar()
    )
    if has_unaccent:
        op.execute("CREATE EXTENSION IF NOT EXISTS unaccent")
    op.execute("CREATE TEXT SEARCH CONFIGURATION maillage_fr ( COPY = french )")
    if has_unaccent:
        op.execute(
            "ALTER TEXT SEARCH CONFIGURATION maillage_fr ALTER MAPPING FOR "
            "hword, hword_part, word WITH unaccent, french_stem"
        )
    op.add_column("initiatives", sa.Column("search_vector", sa.dialects.postgresql.TSVECTOR))
    op.execute("CREATE INDEX ix_initiatives_search ON initiatives USING gin (search_vector)")


def downgrade() -> None:
    for table in (
        "instance_settings",
        "corrections",
        "revisions",
        "relations",
        "initiative_needs",
        "initiative_actor_kinds",
        "initiative_themes",
        "initiatives",
        "api_tokens",
        "people",
        "communes",
        "territories",
        "themes",
    ):
        op.drop_table(table)
    if op.get_bind().dialect.name == "sqlite":
        op.execute("DROP TABLE IF EXISTS initiative_fts")
    else:
        op.execute("DROP TEXT SEARCH CONFIGURATION IF EXISTS maillage_fr")
