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
        sa.Column("name_key", sa.String(200), nullable=False, server_default=""),
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
    # Search: sorted listings and facet counts read these indexes without the table.
    op.create_index(
        "ix_initiatives_state_name", "initiatives", ["moderation_state", "name_key", "id"]
    )
    op.create_index(
        "ix_initiatives_state_created", "initiatives", ["moderation_state", "created_at", "id"]
    )
    op.create_index(
        "ix_initiatives_facets",
        "initiatives",
        ["moderation_state", "status", "insee_code", "origin"],
    )
    # What search filters read of each full-text match, without the (wide) table.
    op.create_index(
        "ix_initiatives_filters",
        "initiatives",
        ["id", "moderation_state", "status", "insee_code", "latitude", "longitude", "origin"],
    )
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
    op.create_index(
        "ix_initiative_themes_theme_id", "initiative_themes", ["theme_id", "initiative_id"]
    )
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
    op.create_index(
        "ix_initiative_actor_kinds_kind", "initiative_actor_kinds", ["kind", "initiative_id"]
    )
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
    op.create_index("ix_initiative_needs_need", "initiative_needs", ["need", "initiative_id"])
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
        "search_state",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("token", sa.String(32), nullable=False),
    )
    op.create_table(
        "instance_settings",
        sa.Column("key", sa.String(80), primary_key=True),
        sa.Column("value", sa.Text, nullable=False, server_default=""),
    )
    _create_search_index()
    _create_search_triggers()


def _create_search_index() -> None:
    """Full-text index: FTS5 on SQLite (text stemmed by directory/text.py), tsvector on PG."""
    if op.get_bind().dialect.name == "sqlite":
        op.execute(
            "CREATE VIRTUAL TABLE initiative_fts USING fts5("
            "name, summary, body, tokenize='unicode61 remove_diacritics 2')"
        )
        # index_initiatives fills it; a deleted initiative takes its text with it.
        op.execute(
            "CREATE TRIGGER initiative_fts_deleted AFTER DELETE ON initiatives"
            " BEGIN DELETE FROM initiative_fts WHERE rowid = OLD.id; END"
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


# What the cached facet counts depend on (directory/facets.py): any change to these
# columns or rows gives search_state a new random token, which invalidates the caches.
SEARCH_SOURCES = {
    "initiatives": ("moderation_state", "status", "origin", "insee_code"),
    "initiative_themes": ("initiative_id", "theme_id"),
    "initiative_actor_kinds": ("initiative_id", "kind"),
    "initiative_needs": ("initiative_id", "need"),
    "themes": ("slug", "parent_id"),
}


def _create_search_triggers() -> None:
    """Triggers that renew search_state.token whenever what the facet cache holds changes."""
    if op.get_bind().dialect.name == "sqlite":
        bump = (
            "INSERT INTO search_state (id, token) VALUES (1, lower(hex(randomblob(16))))"
            " ON CONFLICT (id) DO UPDATE SET token = excluded.token;"
        )
        for table, columns in SEARCH_SOURCES.items():
            for event in ("INSERT", "DELETE", f"UPDATE OF {', '.join(columns)}"):
                name = f"search_changed_{table}_{event.split()[0].lower()}"
                op.execute(f"CREATE TRIGGER {name} AFTER {event} ON {table} BEGIN {bump} END")
        return
    # Deferred to commit, so the row lock on search_state is taken last and held only while
    # committing (no deadlock with row locks taken earlier), and once per transaction.
    op.execute(
        """
        CREATE FUNCTION maillage_search_changed() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            IF current_setting('maillage.search_changed', true) = txid_current()::text THEN
                RETURN NULL;
            END IF;
            PERFORM set_config('maillage.search_changed', txid_current()::text, true);
            INSERT INTO search_state (id, token) VALUES (1, md5(random()::text || clock_timestamp()::text))
            ON CONFLICT (id) DO UPDATE SET token = excluded.token;
            RETURN NULL;
        END $$
        """
    )
    for table, columns in SEARCH_SOURCES.items():
        op.execute(
            f"CREATE CONSTRAINT TRIGGER search_changed AFTER INSERT OR DELETE OR UPDATE OF"
            f" {', '.join(columns)} ON {table} DEFERRABLE INITIALLY DEFERRED"
            " FOR EACH ROW EXECUTE FUNCTION maillage_search_changed()"
        )
        op.execute(
            f"CREATE TRIGGER search_truncated AFTER TRUNCATE ON {table}"
            " FOR EACH STATEMENT EXECUTE FUNCTION maillage_search_changed()"
        )


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP FUNCTION IF EXISTS maillage_search_changed() CASCADE")
    for table in (
        "instance_settings",
        "search_state",
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
