"""SQLite: the full-text table keeps prefix indexes for 3 to 6 characters.

Every search treats its last word as a prefix (typing in progress: `habit` finds
"habitants"), and FTS5 answers a prefix query by merging the doclists of every term that
starts with it: 4-8 ms for a common prefix at 100k initiatives, before ranking. With
prefix indexes, 1-2 ms, and the newest 1,000 matches ranked by bm25 in 1.9 ms instead of
7.5 ms (measured on the search benchmark's 100k directory). The index grows from 38 MB
to 131 MB at 100k; prefixes longer than 6 characters use the terms as before.

FTS5 cannot change the option of an existing table: its rows are copied out, the table
made again with `prefix`, and the rows put back (the triggers that write it name it in
their bodies and keep working). PostgreSQL: nothing to do (GIN answers prefixes itself).

Revision ID: 0016
Revises: 0015
Create Date: 2026-11-27
"""

from __future__ import annotations

from alembic import op

revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None

COLUMNS = "name, summary, body, tags"
TOKENIZE = "tokenize=\"unicode61 remove_diacritics 2 tokenchars '#'\""


def _remake(options: str) -> None:
    if op.get_bind().dialect.name != "sqlite":
        return
    op.execute(f"CREATE TEMPORARY TABLE initiative_fts_rows AS SELECT rowid AS id, {COLUMNS}"
               " FROM initiative_fts")  # fmt: skip
    op.execute("DROP TABLE initiative_fts")
    op.execute(f"CREATE VIRTUAL TABLE initiative_fts USING fts5({COLUMNS}, {options})")
    op.execute(f"INSERT INTO initiative_fts (rowid, {COLUMNS}) SELECT id, {COLUMNS}"
               " FROM initiative_fts_rows")  # fmt: skip
    op.execute("DROP TABLE initiative_fts_rows")


def upgrade() -> None:
    _remake(f"{TOKENIZE}, prefix='3 4 5 6'")


def downgrade() -> None:
    _remake(TOKENIZE)
