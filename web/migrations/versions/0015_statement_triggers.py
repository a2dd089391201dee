"""PostgreSQL: the search tags (0010) and the diagnostic's changed communes (0013) are kept
by statement-level triggers over transition tables instead of one trigger call per row.

A batch INSERT of 500 initiatives, 1,000 theme links, ... now runs one trigger call per
statement, which looks its initiatives up together and records each commune once; the
row-level triggers ran a plpgsql call and its queries for every row written (a 50k import
wrote ~200k rows). Row by row writes (the API, moderation, the inbox) cost about the same.

PostgreSQL allows transition tables only on single-event triggers without a column list:
one trigger per event, and the UPDATE trigger of `initiatives` compares old and new rows
itself. What the triggers compute is unchanged (same tags function, same per-transaction
memo of the communes already recorded, which directory.diagnostic.refresh clears).
SQLite has no statement-level triggers: its row-level ones stay (nothing to do there).

Revision ID: 0015
Revises: 0014
Create Date: 2026-11-27
"""

from __future__ import annotations

from alembic import op

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None

LINK_TABLES = ("initiative_themes", "initiative_actor_kinds", "initiative_needs")
EVENTS = {"INSERT": "inserted", "DELETE": "deleted", "UPDATE": "updated"}  # and trigger names
# Which rows each event's transition tables hold.
REFERENCING = {
    "INSERT": "REFERENCING NEW TABLE AS new_rows",
    "DELETE": "REFERENCING OLD TABLE AS old_rows",
    "UPDATE": "REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows",
}
# Same test as 0013: an update of a published initiative changes its counts when one of
# these differs.
COUNTS_CHANGED = (
    "o.moderation_state IS DISTINCT FROM n.moderation_state"
    " OR o.status IS DISTINCT FROM n.status"
    " OR (o.origin IS NULL) <> (n.origin IS NULL)"
    " OR o.insee_code IS DISTINCT FROM n.insee_code"
    " OR o.created_at IS DISTINCT FROM n.created_at"
    " OR (o.updated_at IS DISTINCT FROM n.updated_at AND (o.status = 'ended' OR n.status = 'ended'))"
)
TAGS_CHANGED = (
    "o.moderation_state IS DISTINCT FROM n.moderation_state"
    " OR o.status IS DISTINCT FROM n.status"
    " OR o.origin IS DISTINCT FROM n.origin"
    " OR o.insee_code IS DISTINCT FROM n.insee_code"
)

# maillage_diagnostic_mark (0013) for many communes at once: the ones this transaction has
# not recorded yet get a row each, and join the memo.
MARK_ALL = """
CREATE FUNCTION maillage_diagnostic_mark_all(codes text[]) RETURNS void LANGUAGE plpgsql AS $$
DECLARE
    marked text := coalesce(current_setting('maillage.diagnostic_marked', true), '');
    tx text := txid_current()::text;
    fresh text[];
BEGIN
    IF split_part(marked, '|', 1) <> tx THEN
        marked := tx || '|';
    END IF;
    SELECT array_agg(DISTINCT code) INTO fresh FROM unnest(codes) AS code
    WHERE code IS NOT NULL AND position('|' || code || '|' IN marked) = 0;
    IF fresh IS NULL THEN
        RETURN;
    END IF;
    INSERT INTO diagnostic_changes (insee_code) SELECT unnest(fresh);
    PERFORM set_config('maillage.diagnostic_marked',
                       marked || array_to_string(fresh, '|') || '|', true);
END $$
"""

INITIATIVES_CHANGED = f"""
CREATE FUNCTION maillage_initiatives_changed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        -- New rows have no search entry yet (index_initiatives writes it with its tags).
        PERFORM maillage_diagnostic_mark_all(ARRAY(
            SELECT insee_code FROM new_rows WHERE moderation_state = 'published'));
    ELSIF TG_OP = 'DELETE' THEN
        PERFORM maillage_diagnostic_mark_all(ARRAY(
            SELECT insee_code FROM old_rows WHERE moderation_state = 'published'));
    ELSE
        UPDATE initiative_search AS s
        SET tags = maillage_search_tags(n.id), moderation_state = n.moderation_state
        FROM old_rows AS o JOIN new_rows AS n ON n.id = o.id
        WHERE s.id = n.id AND ({TAGS_CHANGED});
        PERFORM maillage_diagnostic_mark_all(ARRAY(
            SELECT code FROM old_rows AS o JOIN new_rows AS n ON n.id = o.id,
                LATERAL (VALUES (o.insee_code), (n.insee_code)) AS v(code)
            WHERE (o.moderation_state = 'published' OR n.moderation_state = 'published')
                AND ({COUNTS_CHANGED})));
    END IF;
    RETURN NULL;
END $$
"""

# The initiatives whose themes, kinds or needs changed: their tags, and their communes if
# published. The state is read, not filtered on, so that the planner looks them up by id
# (see 0013 about a table never analyzed during a first bulk import).
LINKS_CHANGED = """
CREATE FUNCTION maillage_links_changed() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    ids integer[];
BEGIN
    IF TG_OP = 'INSERT' THEN
        ids := ARRAY(SELECT DISTINCT initiative_id FROM new_rows);
    ELSIF TG_OP = 'DELETE' THEN
        ids := ARRAY(SELECT DISTINCT initiative_id FROM old_rows);
    ELSE
        ids := ARRAY(SELECT initiative_id FROM old_rows
                     UNION SELECT initiative_id FROM new_rows);
    END IF;
    -- Nothing for an initiative being deleted (cascades) or not indexed yet.
    UPDATE initiative_search AS s
    SET tags = maillage_search_tags(i.id), moderation_state = i.moderation_state
    FROM initiatives AS i
    WHERE i.id = ANY(ids) AND s.id = i.id;
    PERFORM maillage_diagnostic_mark_all(ARRAY(
        SELECT CASE WHEN moderation_state = 'published' THEN insee_code END
        FROM initiatives WHERE id = ANY(ids)));
    RETURN NULL;
END $$
"""

# The row-level triggers of 0010 and 0013 this replaces: (table, name, definition).
ROW_TRIGGERS = [
    ("initiatives", "search_tags_update",
     "AFTER UPDATE OF moderation_state, status, origin, insee_code", "maillage_search_retag"),
    ("initiatives", "diagnostic_changed",
     "AFTER INSERT OR DELETE OR UPDATE OF moderation_state, status, origin, insee_code,"
     " created_at, updated_at", "maillage_diagnostic_initiative"),
] + [
    (table, name, event, function)
    for table in LINK_TABLES
    for name, event, function in (
        ("search_tags_insert", "AFTER INSERT", "maillage_search_retag"),
        ("search_tags_delete", "AFTER DELETE", "maillage_search_retag"),
        ("diagnostic_changed", "AFTER INSERT OR DELETE OR UPDATE", "maillage_diagnostic_link"),
    )
]  # fmt: skip


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    for table, name, _, _ in ROW_TRIGGERS:
        op.execute(f"DROP TRIGGER {name} ON {table}")
    op.execute(MARK_ALL)
    op.execute(INITIATIVES_CHANGED)
    op.execute(LINKS_CHANGED)
    for table, function in (
        ("initiatives", "maillage_initiatives_changed"),
        *((t, "maillage_links_changed") for t in LINK_TABLES),
    ):
        for event, name in EVENTS.items():
            op.execute(
                f"CREATE TRIGGER search_diagnostic_{name} AFTER {event} ON {table}"
                f" {REFERENCING[event]} FOR EACH STATEMENT EXECUTE FUNCTION {function}()"
            )


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    for table in ("initiatives", *LINK_TABLES):
        for name in EVENTS.values():
            op.execute(f"DROP TRIGGER search_diagnostic_{name} ON {table}")
    op.execute("DROP FUNCTION maillage_links_changed()")
    op.execute("DROP FUNCTION maillage_initiatives_changed()")
    op.execute("DROP FUNCTION maillage_diagnostic_mark_all(text[])")
    for table, name, event, function in ROW_TRIGGERS:
        op.execute(
            f"CREATE TRIGGER {name} {event} ON {table} FOR EACH ROW EXECUTE FUNCTION {function}()"
        )
