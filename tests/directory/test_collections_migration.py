"""The tables built by migration 0012 match their models (collections and what we sent)."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from directory import models_collections
from directory.models import Base
from federation import publish_collections

TABLES = {"collections", "collection_items", "federated_collections", "relations"}


def _ours(diff) -> bool:
    item = diff[0] if isinstance(diff, list) else diff
    for part in item[1:]:
        table = getattr(part, "table", None)
        name = getattr(table, "name", None) or getattr(part, "name", None)
        if name in TABLES or (isinstance(part, str) and part in TABLES):
            return True
    return False


async def test_models_and_migration_agree(db):
    assert set(Base.metadata.tables) >= TABLES, (models_collections, publish_collections)

    def compare(connection):
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        return [d for d in compare_metadata(context, Base.metadata) if _ours(d)]

    async with db.engine.connect() as connection:
        differences = await connection.run_sync(compare)
    assert differences == []
