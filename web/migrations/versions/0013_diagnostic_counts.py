"""Diagnostic counts stored per (commune, origin, status, dimension, value), and the
communes whose counts are stale (filled by triggers, emptied by directory.diagnostic.refresh).

Revision ID: 0013
Revises: 0012
Create Date: 2026-11-27
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None

JOIN_TABLES = ("initiative_themes", "initiative_actor_kinds", "initiative_needs")
# An update of a published initiative changes its counts when one of these differs (its
# "ended" month is its updated_at, so that one matters only for ended initiatives).
CHANGED = (
    "o.moderation_state IS DISTINCT FROM n.moderation_state"
    " OR o.status IS DISTINCT FROM n.status"
    " OR (o.origin IS NULL) <> (n.origin IS NULL)"
    " OR o.insee_code IS DISTINCT FROM n.insee_code"
    " OR o.created_at IS DISTINCT FROM n.created_at"
    " OR (o.updated_at IS DISTINCT FROM n.updated_at AND (o.status = 'ended' OR n.status = 'ended'))"
)


def upgrade() -> None:
    op.create_table(
        "diagnostic_counts",
        sa.Column("insee_code", sa.String(10), primary_key=True),
        sa.Column("is_local", sa.Boolean(), primary_key=True),
        sa.Column("status", sa.String(20), primary_key=True),
        sa.Column("dimension", sa.String(10), primary_key=True),
        sa.Column("value", sa.String(80), primary_key=True),
        sa.Column("n", sa.Integer(), nullable=False),
    )
    op.create_index(
        "ix_diagnostic_counts_dimension", "diagnostic_counts", ["dimension", "status", "insee_code"]
    )
    op.create_table(
        "diagnostic_changes",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("insee_code", sa.String(10), nullable=False),
    )
    op.create_index("ix_diagnostic_changes_insee_code", "diagnostic_changes", ["insee_code"])
    # Whatever is already in the directory is counted at the first refresh.
    op.execute("INSERT INTO diagnostic_changes (insee_code) VALUES ('*')")
    if op.get_bind().dialect.name == "sqlite":
        _sqlite_triggers()
    else:
        _postgres_triggers()


def _sqlite_triggers() -> None:
    def mark(code: str, where: str = "") -> str:
        return (
            f"INSERT INTO diagnostic_changes (insee_code) SELECT {code} {where}"
            f"{' AND' if where else 'WHERE'} NOT EXISTS"
            f" (SELECT 1 FROM diagnostic_changes WHERE insee_code = {code});"
        )

    published = "moderation_state = 'published'"
    op.execute(
        "CREATE TRIGGER diagnostic_initiatives_insert AFTER INSERT ON initiatives"
        f" WHEN NEW.{published} BEGIN {mark('NEW.insee_code')} END"
    )
    op.execute(
        "CREATE TRIGGER diagnostic_initiatives_delete AFTER DELETE ON initiatives"
        f" WHEN OLD.{published} BEGIN {mark('OLD.insee_code')} END"
    )
    op.execute(
        "CREATE TRIGGER diagnostic_initiatives_update AFTER UPDATE OF moderation_state, status,"
        " origin, insee_code, created_at, updated_at ON initiatives"
        f" WHEN (OLD.{published} OR NEW.{published})"
        f" AND ({CHANGED.replace('o.', 'OLD.').replace('n.', 'NEW.')})"
        f" BEGIN {mark('OLD.insee_code')} {mark('NEW.insee_code')} END"
    )
    for table in JOIN_TABLES:
        for event, row in (("INSERT", "NEW"), ("DELETE", "OLD"), ("UPDATE", "NEW")):
            rows = ("OLD", "NEW") if event == "UPDATE" else (row,)
            body = " ".join(
                mark(
                    "i.insee_code",
                    f"FROM initiatives i WHERE i.id = {r}.initiative_id AND i.{published}",
                )
                for r in rows
            )
            op.execute(
                f"CREATE TRIGGER diagnostic_{table}_{event.lower()} AFTER {event} ON {table}"
                f" BEGIN {body} END"
            )
    op.execute(
        "CREATE TRIGGER diagnostic_themes_changed AFTER UPDATE OF parent_id ON themes"
        f" BEGIN {mark(repr('*'))} END"
    )
    op.execute(
        f"CREATE TRIGGER diagnostic_themes_deleted AFTER DELETE ON themes BEGIN {mark(repr('*'))} END"
    )


def _postgres_triggers() -> None:
    # The link trigger looks its initiative up by id alone: with the state in the condition
    # too, a table never analyzed (a first bulk import) led the planner to walk the
    # (moderation_state, ...) index, every published row for each link.
    # Row-level (a statement-level trigger with transition tables costs ~1 ms per statement,
    # and executemany runs one statement per row). Each transaction appends its own row per
    # commune once (remembered in a transaction-local setting): no unique key, so writers
    # never wait on each other's rows, and a refresh only removes the rows it can see.
    op.execute(
        """
        CREATE FUNCTION maillage_diagnostic_mark(code text) RETURNS void LANGUAGE plpgsql AS $$
        DECLARE
            marked text := coalesce(current_setting('maillage.diagnostic_marked', true), '');
            tx text := txid_current()::text;
        BEGIN
            IF code IS NULL THEN
                RETURN;
            END IF;
            IF split_part(marked, '|', 1) <> tx THEN
                marked := tx || '|';
            END IF;
            IF position('|' || code || '|' IN marked) > 0 THEN
                RETURN;
            END IF;
            INSERT INTO diagnostic_changes (insee_code) VALUES (code);
            PERFORM set_config('maillage.diagnostic_marked', marked || code || '|', true);
        END $$
        """
    )
    changed = CHANGED.replace("o.", "OLD.").replace("n.", "NEW.")
    op.execute(
        f"""
        CREATE FUNCTION maillage_diagnostic_initiative() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            IF TG_OP = 'INSERT' THEN
                IF NEW.moderation_state = 'published' THEN
                    PERFORM maillage_diagnostic_mark(NEW.insee_code);
                END IF;
            ELSIF TG_OP = 'DELETE' THEN
                IF OLD.moderation_state = 'published' THEN
                    PERFORM maillage_diagnostic_mark(OLD.insee_code);
                END IF;
            ELSIF (OLD.moderation_state = 'published' OR NEW.moderation_state = 'published')
                AND ({changed}) THEN
                PERFORM maillage_diagnostic_mark(OLD.insee_code);
                PERFORM maillage_diagnostic_mark(NEW.insee_code);
            END IF;
            RETURN NULL;
        END $$
        """
    )
    op.execute(
        """
        CREATE FUNCTION maillage_diagnostic_link() RETURNS trigger LANGUAGE plpgsql AS $$
        DECLARE
            code text;
            state text;
        BEGIN
            IF TG_OP <> 'DELETE' THEN
                SELECT insee_code, moderation_state INTO code, state FROM initiatives
                WHERE id = NEW.initiative_id;
                IF state = 'published' THEN
                    PERFORM maillage_diagnostic_mark(code);
                END IF;
            END IF;
            IF TG_OP <> 'INSERT' THEN
                state := NULL;
                SELECT insee_code, moderation_state INTO code, state FROM initiatives
                WHERE id = OLD.initiative_id;
                IF state = 'published' THEN
                    PERFORM maillage_diagnostic_mark(code);
                END IF;
            END IF;
            RETURN NULL;
        END $$
        """
    )
    op.execute(
        "CREATE FUNCTION maillage_diagnostic_everything() RETURNS trigger LANGUAGE plpgsql"
        " AS $$ BEGIN INSERT INTO diagnostic_changes (insee_code) VALUES ('*'); RETURN NULL; END $$"
    )
    op.execute(
        "CREATE TRIGGER diagnostic_changed AFTER INSERT OR DELETE OR UPDATE OF moderation_state,"
        " status, origin, insee_code, created_at, updated_at ON initiatives"
        " FOR EACH ROW EXECUTE FUNCTION maillage_diagnostic_initiative()"
    )
    for table in JOIN_TABLES:
        op.execute(
            f"CREATE TRIGGER diagnostic_changed AFTER INSERT OR DELETE OR UPDATE ON {table}"
            " FOR EACH ROW EXECUTE FUNCTION maillage_diagnostic_link()"
        )
    for table in ("initiatives", *JOIN_TABLES):
        op.execute(
            f"CREATE TRIGGER diagnostic_truncated AFTER TRUNCATE ON {table}"
            " FOR EACH STATEMENT EXECUTE FUNCTION maillage_diagnostic_everything()"
        )
    op.execute(
        "CREATE TRIGGER diagnostic_themes AFTER UPDATE OF parent_id OR DELETE ON themes"
        " FOR EACH STATEMENT EXECUTE FUNCTION maillage_diagnostic_everything()"
    )


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        for name in ("initiative()", "link()", "everything()", "mark(text)"):
            op.execute(f"DROP FUNCTION IF EXISTS maillage_diagnostic_{name} CASCADE")
    else:
        names = [f"initiatives_{e}" for e in ("insert", "delete", "update")]
        names += [f"{t}_{e}" for t in JOIN_TABLES for e in ("insert", "delete", "update")]
        names += ["themes_changed", "themes_deleted"]
        for name in names:
            op.execute(f"DROP TRIGGER IF EXISTS diagnostic_{name}")
    op.drop_table("diagnostic_changes")
    op.drop_table("diagnostic_counts")
