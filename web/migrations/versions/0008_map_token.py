"""The map's cluster grids (directory/mapgrid.py): cached under the search_state token, they
depend on each initiative's position, so moving one renews the token too, like a change of
its moderation state, status, origin or commune (triggers of 0001). Views deeper than the
cached grids group the initiatives of the view from a covering (moderation_state,
latitude, longitude) index, which replaces the index over the Morton key (no longer read).

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-27
"""

from __future__ import annotations

from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

BEFORE = ("moderation_state", "status", "origin", "insee_code")
AFTER = (*BEFORE, "latitude", "longitude")


def upgrade() -> None:
    _initiative_update_trigger(AFTER)
    op.create_index(
        "ix_initiatives_state_lat_lon", "initiatives", ["moderation_state", "latitude", "longitude"]
    )
    op.execute("DROP INDEX ix_initiatives_state_map_key")


def downgrade() -> None:
    op.execute(
        "CREATE INDEX ix_initiatives_state_map_key ON initiatives (moderation_state, map_key)"
    )
    op.drop_index("ix_initiatives_state_lat_lon", "initiatives")
    _initiative_update_trigger(BEFORE)


def _initiative_update_trigger(columns: tuple[str, ...]) -> None:
    """Recreate the trigger of `initiatives` that renews the token, watching `columns`."""
    if op.get_bind().dialect.name == "sqlite":
        op.execute("DROP TRIGGER IF EXISTS search_changed_initiatives_update")
        op.execute(
            "CREATE TRIGGER search_changed_initiatives_update AFTER UPDATE OF"
            f" {', '.join(columns)} ON initiatives BEGIN"
            " INSERT INTO search_state (id, token) VALUES (1, lower(hex(randomblob(16))))"
            " ON CONFLICT (id) DO UPDATE SET token = excluded.token; END"
        )
        return
    op.execute("DROP TRIGGER IF EXISTS search_changed ON initiatives")
    op.execute(
        "CREATE CONSTRAINT TRIGGER search_changed AFTER INSERT OR DELETE OR UPDATE OF"
        f" {', '.join(columns)} ON initiatives DEFERRABLE INITIALLY DEFERRED"
        " FOR EACH ROW EXECUTE FUNCTION maillage_search_changed()"
    )
