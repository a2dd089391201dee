"""Search tags: the filters in the full-text index, so text + filters is one index lookup.

Each initiative gets tags, one short token per filterable value (directory/filters.py
reads them): `m<moderation state>`, `s<status>`, `olocal`/`oremote`, `c<INSEE code>`
(lower-cased on SQLite, whose FTS5 folds case anyway),
`t<theme id>` for each theme and the core theme of each sub-theme, `k<actor kind>`,
`n<need>` (hyphens dropped: `kcollectifhabitants`).

SQLite: `initiative_fts` gets a fourth column, `tags` (tokens prefixed with `#`). PostgreSQL: the tsvector moves out
of the wide `initiatives` table into a narrow `initiative_search` (id, moderation state,
tags as text[], vector stored out of line) with one GIN index over (vector, tags), so
text and tags intersect in one index scan and a count reads a 11 MB table (at 100k)
instead of the 220 MB one.

Tags are computed by the database (the view `initiative_search_tags` on SQLite, the
function `maillage_search_tags(id)` on PostgreSQL) and kept current by triggers on every
column and row they depend on, whichever code path writes them; index_initiatives
(directory/search.py) writes the text part and the tags of new rows.

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-27
"""

from __future__ import annotations

from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None

SQLITE_TAGS_VIEW = """
CREATE VIEW initiative_search_tags AS
SELECT i.id AS id,
    '#m' || i.moderation_state || ' #s' || i.status
    || CASE WHEN i.origin IS NULL THEN ' #olocal' ELSE ' #oremote' END
    || CASE WHEN coalesce(i.insee_code, '') <> '' THEN ' #c' || lower(i.insee_code) ELSE '' END
    || coalesce((
        SELECT ' ' || group_concat(x, ' ') FROM (
            SELECT '#t' || it.theme_id AS x FROM initiative_themes it
            WHERE it.initiative_id = i.id
            UNION
            SELECT '#t' || t.parent_id FROM initiative_themes it
            JOIN themes t ON t.id = it.theme_id
            WHERE it.initiative_id = i.id AND t.parent_id IS NOT NULL
        )), '')
    || coalesce((
        SELECT ' ' || group_concat('#k' || replace(kind, '-', ''), ' ')
        FROM initiative_actor_kinds WHERE initiative_id = i.id), '')
    || coalesce((
        SELECT ' ' || group_concat('#n' || replace(need, '-', ''), ' ')
        FROM initiative_needs WHERE initiative_id = i.id), '')
    AS tags
FROM initiatives i
"""

PG_TAGS_FUNCTION = """
CREATE FUNCTION maillage_search_tags(initiative integer) RETURNS text[]
LANGUAGE sql STABLE AS $$
SELECT ARRAY['m' || i.moderation_state, 's' || i.status,
             CASE WHEN i.origin IS NULL THEN 'olocal' ELSE 'oremote' END]
    || CASE WHEN coalesce(i.insee_code, '') <> ''
            THEN ARRAY['c' || i.insee_code] ELSE '{}'::text[] END
    || ARRAY(
        SELECT 't' || it.theme_id FROM initiative_themes it WHERE it.initiative_id = i.id
        UNION
        SELECT 't' || t.parent_id FROM initiative_themes it
        JOIN themes t ON t.id = it.theme_id
        WHERE it.initiative_id = i.id AND t.parent_id IS NOT NULL)
    || ARRAY(SELECT 'k' || replace(kind, '-', '') FROM initiative_actor_kinds
             WHERE initiative_id = i.id)
    || ARRAY(SELECT 'n' || replace(need, '-', '') FROM initiative_needs
             WHERE initiative_id = i.id)
FROM initiatives i WHERE i.id = initiative
$$
"""

# (table, events, the initiatives whose tags to recompute)
TAG_SOURCES = [
    ("initiatives", "UPDATE OF moderation_state, status, origin, insee_code", "NEW.id"),
    ("initiative_themes", "INSERT", "NEW.initiative_id"),
    ("initiative_themes", "DELETE", "OLD.initiative_id"),
    ("initiative_actor_kinds", "INSERT", "NEW.initiative_id"),
    ("initiative_actor_kinds", "DELETE", "OLD.initiative_id"),
    ("initiative_needs", "INSERT", "NEW.initiative_id"),
    ("initiative_needs", "DELETE", "OLD.initiative_id"),
]


def upgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        _upgrade_sqlite()
    else:
        _upgrade_postgresql()


def _upgrade_sqlite() -> None:
    op.execute(SQLITE_TAGS_VIEW)
    op.execute("DROP TRIGGER initiative_fts_deleted")
    # '#' is part of tokens: tags (#t3) can never equal a stem of the texts, which
    # directory.text.stemmed writes as \\w runs; text queries need no column filter.
    op.execute(
        "CREATE VIRTUAL TABLE initiative_fts_tagged USING fts5(name, summary, body, tags,"
        " tokenize=\"unicode61 remove_diacritics 2 tokenchars '#'\")"
    )
    op.execute(
        "INSERT INTO initiative_fts_tagged (rowid, name, summary, body, tags)"
        " SELECT f.rowid, f.name, f.summary, f.body, coalesce(t.tags, '')"
        " FROM initiative_fts f LEFT JOIN initiative_search_tags t ON t.id = f.rowid"
    )
    op.execute("DROP TABLE initiative_fts")
    op.execute("ALTER TABLE initiative_fts_tagged RENAME TO initiative_fts")
    op.execute(
        "CREATE TRIGGER initiative_fts_deleted AFTER DELETE ON initiatives"
        " BEGIN DELETE FROM initiative_fts WHERE rowid = OLD.id; END"
    )
    for n, (table, event, initiative) in enumerate(TAG_SOURCES):
        op.execute(
            f"CREATE TRIGGER search_tags_{n} AFTER {event} ON {table} BEGIN"
            f" UPDATE initiative_fts SET tags = (SELECT tags FROM initiative_search_tags"
            f" WHERE id = {initiative}) WHERE rowid = {initiative}; END"
        )
    op.execute(
        "CREATE TRIGGER search_tags_themes AFTER UPDATE OF parent_id ON themes BEGIN"
        " UPDATE initiative_fts SET tags = (SELECT tags FROM initiative_search_tags"
        " WHERE id = initiative_fts.rowid) WHERE rowid IN"
        " (SELECT initiative_id FROM initiative_themes WHERE theme_id = NEW.id); END"
    )


def _upgrade_postgresql() -> None:
    op.execute(PG_TAGS_FUNCTION)
    # The table's own pages hold only id, state and tags (~200 bytes a row, 11 MB at 100k)
    # and a pointer to the vector, stored out of line in the TOAST table: a count of 23k
    # matches visits 1,400 pages instead of 11,000. PostgreSQL moves a value out of line
    # only when a row exceeds ~2 kB; `padding` (2 kB of spaces, which compress to ~35
    # bytes) makes every new row do so, and toast_tuple_target = 128 then moves the vector
    # out; an update of a row whose vector is out of line moves the new vector out too.
    op.execute(
        "CREATE TABLE initiative_search ("
        " id integer PRIMARY KEY REFERENCES initiatives (id) ON DELETE CASCADE,"
        " moderation_state varchar(20) NOT NULL,"
        " tags text[] NOT NULL,"
        " vector tsvector NOT NULL,"
        " padding bytea NOT NULL DEFAULT convert_to(repeat(' ', 2100), 'UTF8'))"
        " WITH (toast_tuple_target = 128)"
    )
    op.execute("ALTER TABLE initiative_search ALTER COLUMN vector SET STORAGE EXTERNAL")
    op.execute(
        "INSERT INTO initiative_search (id, moderation_state, tags, vector)"
        " SELECT id, moderation_state, maillage_search_tags(id), search_vector"
        " FROM initiatives WHERE search_vector IS NOT NULL ORDER BY id"
    )
    # fastupdate off: a pending list would be scanned linearly by every search until
    # the next vacuum; writes are rare next to searches.
    op.execute(
        "CREATE INDEX ix_initiative_search ON initiative_search"
        " USING gin (vector, tags) WITH (fastupdate = off)"
    )
    op.execute("DROP INDEX ix_initiatives_search")
    op.execute("ALTER TABLE initiatives DROP COLUMN search_vector")
    op.execute(
        """
        CREATE FUNCTION maillage_search_retag() RETURNS trigger LANGUAGE plpgsql AS $$
        DECLARE
            initiative integer;
        BEGIN
            IF TG_TABLE_NAME = 'initiatives' THEN
                initiative := NEW.id;
            ELSIF TG_OP = 'DELETE' THEN
                initiative := OLD.initiative_id;
            ELSE
                initiative := NEW.initiative_id;
            END IF;
            -- Nothing when the initiative itself is being deleted (cascades).
            UPDATE initiative_search AS s
            SET tags = maillage_search_tags(i.id), moderation_state = i.moderation_state
            FROM initiatives AS i
            WHERE i.id = initiative AND s.id = initiative;
            RETURN NULL;
        END $$
        """
    )
    for table, event, _ in TAG_SOURCES:
        name = f"search_tags_{event.split()[0].lower()}"
        op.execute(
            f"CREATE TRIGGER {name} AFTER {event} ON {table}"
            " FOR EACH ROW EXECUTE FUNCTION maillage_search_retag()"
        )
    op.execute(
        """
        CREATE FUNCTION maillage_search_retag_theme() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            UPDATE initiative_search SET tags = maillage_search_tags(id)
            WHERE id IN (SELECT initiative_id FROM initiative_themes WHERE theme_id = NEW.id);
            RETURN NULL;
        END $$
        """
    )
    op.execute(
        "CREATE TRIGGER search_tags_themes AFTER UPDATE OF parent_id ON themes"
        " FOR EACH ROW EXECUTE FUNCTION maillage_search_retag_theme()"
    )


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        for n in range(len(TAG_SOURCES)):
            op.execute(f"DROP TRIGGER search_tags_{n}")
        op.execute("DROP TRIGGER search_tags_themes")
        op.execute("DROP TRIGGER initiative_fts_deleted")
        op.execute(
            "CREATE VIRTUAL TABLE initiative_fts_plain USING fts5("
            "name, summary, body, tokenize='unicode61 remove_diacritics 2')"
        )
        op.execute(
            "INSERT INTO initiative_fts_plain (rowid, name, summary, body)"
            " SELECT rowid, name, summary, body FROM initiative_fts"
        )
        op.execute("DROP TABLE initiative_fts")
        op.execute("ALTER TABLE initiative_fts_plain RENAME TO initiative_fts")
        op.execute(
            "CREATE TRIGGER initiative_fts_deleted AFTER DELETE ON initiatives"
            " BEGIN DELETE FROM initiative_fts WHERE rowid = OLD.id; END"
        )
        op.execute("DROP VIEW initiative_search_tags")
        return
    op.execute("DROP TRIGGER search_tags_themes ON themes")
    for table, event, _ in TAG_SOURCES:
        op.execute(f"DROP TRIGGER IF EXISTS search_tags_{event.split()[0].lower()} ON {table}")
    op.execute("DROP FUNCTION maillage_search_retag_theme()")
    op.execute("DROP FUNCTION maillage_search_retag()")
    op.execute("ALTER TABLE initiatives ADD COLUMN search_vector tsvector")
    op.execute(
        "UPDATE initiatives AS i SET search_vector = s.vector"
        " FROM initiative_search s WHERE s.id = i.id"
    )
    op.execute("CREATE INDEX ix_initiatives_search ON initiatives USING gin (search_vector)")
    op.execute("DROP TABLE initiative_search")
    op.execute("DROP FUNCTION maillage_search_tags(integer)")
