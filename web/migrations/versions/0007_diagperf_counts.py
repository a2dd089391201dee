"""Diagnostic counts stored per (commune, origin, status, dimension, value), and the
communes whose counts are stale (filled by triggers, emptied by directory.diagnostic.refresh).

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
    # Statement-level with transition tables: one INSERT per statement, whatever its size.
    # Rows are appended (no unique key, so no row lock that writers could wait on);
    # a refresh removes every row it has read.
    def mark(select: str) -> str:
        return f"INSERT INTO diagnostic_changes (insee_code) SELECT DISTINCT code FROM ({select}) c"

    published = "moderation_state = 'published'"
    bodies = {
        "initiatives_insert": mark(f"SELECT insee_code AS code FROM new_rows WHERE {published}"),
        "initiatives_delete": mark(f"SELECT insee_code AS code FROM old_rows WHERE {published}"),
        "initiatives_update": mark(
            "SELECT unnest(ARRAY[o.insee_code, n.insee_code]) AS code"
            " FROM old_rows o JOIN new_rows n ON n.id = o.id"
            f" WHERE (o.{published} OR n.{published}) AND ({CHANGED})"
        ),
        "links_insert": mark(
            "SELECT i.insee_code AS code FROM new_rows r JOIN initiatives i"
            f" ON i.id = r.initiative_id WHERE i.{published}"
        ),
        "links_delete": mark(
            "SELECT i.insee_code AS code FROM old_rows r JOIN initiatives i"
            f" ON i.id = r.initiative_id WHERE i.{published}"
        ),
        "links_update": mark(
            "SELECT i.insee_code AS code FROM (SELECT initiative_id FROM old_rows UNION"
            " SELECT initiative_id FROM new_rows) r JOIN initiatives i"
            f" ON i.id = r.initiative_id WHERE i.{published}"
        ),
        "everything": "INSERT INTO diagnostic_changes (insee_code) VALUES ('*')",
    }
    for name, body in bodies.items():
        op.execute(
            f"CREATE FUNCTION maillage_diagnostic_{name}() RETURNS trigger LANGUAGE plpgsql"
            f" AS $$ BEGIN {body}; RETURN NULL; END $$"
        )
    referencing = {
        "INSERT": "REFERENCING NEW TABLE AS new_rows",
        "DELETE": "REFERENCING OLD TABLE AS old_rows",
        "UPDATE": "REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows",
    }
    for table in ("initiatives", *JOIN_TABLES):
        kind = "initiatives" if table == "initiatives" else "links"
        for event, clause in referencing.items():
            op.execute(
                f"CREATE TRIGGER diagnostic_{event.lower()} AFTER {event} ON {table} {clause}"
                f" FOR EACH STATEMENT EXECUTE FUNCTION maillage_diagnostic_{kind}_{event.lower()}()"
            )
        op.execute(
            f"CREATE TRIGGER diagnostic_truncate AFTER TRUNCATE ON {table}"
            " FOR EACH STATEMENT EXECUTE FUNCTION maillage_diagnostic_everything()"
        )
    op.execute(
        "CREATE TRIGGER diagnostic_themes AFTER UPDATE OF parent_id OR DELETE ON themes"
        " FOR EACH STATEMENT EXECUTE FUNCTION maillage_diagnostic_everything()"
    )


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        for name in (
            "initiatives_insert",
            "initiatives_delete",
            "initiatives_update",
            "links_insert",
            "links_delete",
            "links_update",
            "everything",
        ):
            op.execute(f"DROP FUNCTION IF EXISTS maillage_diagnostic_{name}() CASCADE")
    else:
        names = [f"initiatives_{e}" for e in ("insert", "delete", "update")]
        names += [f"{t}_{e}" for t in JOIN_TABLES for e in ("insert", "delete", "update")]
        names += ["themes_changed", "themes_deleted"]
        for name in names:
            op.execute(f"DROP TRIGGER IF EXISTS diagnostic_{name}")
    op.drop_table("diagnostic_changes")
    op.drop_table("diagnostic_counts")
