"""PostgreSQL: a copy of each search vector kept in line, for ranking and walks.

`initiative_search` keeps its vectors out of line (TOAST) so that a count visits few
pages (0010). Ranking the newest matches and walking the newest ids read those vectors
one by one: 1.7 us each out of line, 0.4 us from a row of their own (bench vectors at
100k: 1,750 ranked in 3.05 ms against 0.77; a walk of 1,350 rows 2.26 ms against 1.17).
`initiative_rank` holds (id, vector) with the vector in its row: uncompressed up to a
page, compressed (lz4 where the server has it) and then out of line only beyond.

`index_initiatives` writes both tables; rows go with their initiative (cascade).
SQLite: nothing to do (FTS5 ranks from its own index).

Revision ID: 0018
Revises: 0017
Create Date: 2026-11-27
"""

from __future__ import annotations

from alembic import op

revision = "0018"
down_revision = "0017"
branch_labels = None
depends_on = None


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    # toast_tuple_target: compress or move a vector out only past (nearly) a page.
    op.execute(
        "CREATE TABLE initiative_rank ("
        " id integer PRIMARY KEY REFERENCES initiatives (id) ON DELETE CASCADE,"
        " vector tsvector NOT NULL)"
        " WITH (toast_tuple_target = 8160)"
    )
    op.execute("ALTER TABLE initiative_rank ALTER COLUMN vector SET STORAGE MAIN")
    op.execute(
        "INSERT INTO initiative_rank (id, vector)"
        " SELECT id, vector FROM initiative_search ORDER BY id"
    )


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute("DROP TABLE initiative_rank")
