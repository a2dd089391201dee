"""The imports tables built by migration 0005 match directory/imports/models.py."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from directory.imports import models
from directory.models import Base

TABLES = {
    "import_sources", "import_jobs", "import_records", "import_conflicts",
    "category_mappings", "duplicate_decisions",
}  # fmt: skip


def _ours(diff) -> bool:
    item = diff[0] if isinstance(diff, list) else diff
    for part in item[1:]:
        table = getattr(part, "table", None)
        name = getattr(table, "name", None) or getattr(part, "name", None)
        if name in TABLES or (isinstance(part, str) and part in TABLES):
            return True
    return False


async def test_models_and_migration_agree(db):
    assert set(Base.metadata.tables) >= TABLES, models.__name__

    def compare(connection):
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        return [d for d in compare_metadata(context, Base.metadata) if _ours(d)]

    async with db.engine.connect() as connection:
        differences = await connection.run_sync(compare)
    assert differences == []
