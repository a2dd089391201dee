"""sameAs links change what lists and counts show: renew the facet cache's token.

Initiatives hidden behind their sameAs twin (directory/sameas.py) depend on the same_as
rows of duplicate_decisions; the facet counts cached per connection (directory/facets.py)
must be dropped when one is added or removed, like when an initiative changes (0001).

Revision ID: 0011
Revises: 0010
Create Date: 2026-11-27
"""

from __future__ import annotations

from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None

BUMP = (
    "INSERT INTO search_state (id, token) VALUES (1, lower(hex(randomblob(16))))"
    " ON CONFLICT (id) DO UPDATE SET token = excluded.token;"
)
EVENTS = ("INSERT", "DELETE", "UPDATE OF decision, first_id, second_id")


def upgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        for event in EVENTS:
            name = f"search_changed_duplicate_decisions_{event.split()[0].lower()}"
            op.execute(
                f"CREATE TRIGGER {name} AFTER {event} ON duplicate_decisions BEGIN {BUMP} END"
            )
        return
    # The function of 0001: deferred to commit, once per transaction.
    op.execute(
        "CREATE CONSTRAINT TRIGGER search_changed AFTER INSERT OR DELETE OR UPDATE OF"
        " decision, first_id, second_id ON duplicate_decisions DEFERRABLE INITIALLY DEFERRED"
        " FOR EACH ROW EXECUTE FUNCTION maillage_search_changed()"
    )


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        for event in EVENTS:
            name = f"search_changed_duplicate_decisions_{event.split()[0].lower()}"
            op.execute(f"DROP TRIGGER IF EXISTS {name}")
        return
    op.execute("DROP TRIGGER IF EXISTS search_changed ON duplicate_decisions")
