"""PostgreSQL: the search index holds each initiative's coordinates.

A full-text search within a map area or a radius checked each match against the wide
`initiatives` table: a join that read its pages for every initiative in the box (7,600
pages for a 50 km box at 100k), 20-35 ms whatever the words. With `latitude` and
`longitude` on the narrow `initiative_search` row (16 bytes), the check is a filter on
the rows the GIN scan already visits: 4 ms for the same search (bench texts, 100k).

`index_initiatives` writes them with the row; the statement-level trigger of 0015 keeps
them when an initiative moves. SQLite: nothing to do (FTS5 rows are checked on
`initiatives` by rowid, which is its primary key).

Revision ID: 0017
Revises: 0016
Create Date: 2026-11-27
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

from alembic import op

revision = "0017"
down_revision = "0016"
branch_labels = None
depends_on = None


def _triggers_0015():  # the module whose trigger function this one extends
    path = next(Path(__file__).parent.glob("0015_*.py"))
    spec = importlib.util.spec_from_file_location("migration_0015", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _initiatives_changed(with_coordinates: bool) -> str:
    base = _triggers_0015()
    function = base.INITIATIVES_CHANGED.replace("CREATE FUNCTION", "CREATE OR REPLACE FUNCTION")
    if not with_coordinates:
        return function
    old_set = "SET tags = maillage_search_tags(n.id), moderation_state = n.moderation_state"
    old_where = f"WHERE s.id = n.id AND ({base.TAGS_CHANGED})"
    assert old_set in function and old_where in function
    return function.replace(
        old_set, old_set + ", latitude = n.latitude, longitude = n.longitude"
    ).replace(
        old_where,
        f"WHERE s.id = n.id AND ({base.TAGS_CHANGED}"
        " OR o.latitude IS DISTINCT FROM n.latitude"
        " OR o.longitude IS DISTINCT FROM n.longitude)",
    )


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute(
        "ALTER TABLE initiative_search"
        " ADD COLUMN latitude double precision, ADD COLUMN longitude double precision"
    )
    op.execute(
        "UPDATE initiative_search AS s SET latitude = i.latitude, longitude = i.longitude"
        " FROM initiatives AS i WHERE i.id = s.id AND i.latitude IS NOT NULL"
    )
    op.execute(_initiatives_changed(with_coordinates=True))


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute(_initiatives_changed(with_coordinates=False))
    op.execute("ALTER TABLE initiative_search DROP COLUMN latitude, DROP COLUMN longitude")
