"""Migration 0016: SQLite's full-text table with prefix indexes, going down and up again
with its rows, and the triggers that write it still writing it."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from sqlalchemy import text, update

from directory.db import Database
from directory.initiatives import Author, create_initiative
from directory.models import Initiative
from directory.search import SearchQuery, search_initiatives
from web.migrate import alembic_config, upgrade

ADMIN = Author(None, "test")


async def fts_options(db: Database) -> str:
    async with db.session() as session:
        return await session.scalar(
            text("SELECT sql FROM sqlite_master WHERE name = 'initiative_fts'")
        )


async def found(db: Database, words: str) -> tuple[int, list[str]]:
    async with db.session() as session:
        result = await search_initiatives(session, SearchQuery(text=words, facets=False))
    return result.total, [i.name for i in result.items]


async def test_migration_0016_keeps_rows_and_triggers_down_and_up(tmp_path: Path):
    url = f"sqlite+aiosqlite:///{tmp_path / 'prefix.sqlite3'}"
    await upgrade(url)
    db = Database(url)

    def downgrade(connection) -> None:
        config = alembic_config(url)
        config.attributes["connection"] = connection
        command.downgrade(config, "0015")

    try:
        assert "prefix='3 4 5 6'" in await fts_options(db)
        async with db.session() as session:
            garden = await create_initiative(
                session,
                {"name": "Jardin des habitants", "themes": ["alimentation"]},
                author=ADMIN,
                moderation_state="published",
            )
            await create_initiative(
                session,
                {"name": "Habitat partagé du bourg", "themes": ["habitat"]},
                author=ADMIN,
                moderation_state="published",
            )
        # prefixes of 3 to 6 characters (served by the prefix indexes)
        assert (await found(db, "hab"))[0] == 2
        assert await found(db, "jardin habit") == (1, ["Jardin des habitants"])

        async with db.engine.begin() as connection:
            await connection.run_sync(downgrade)
        assert "prefix" not in await fts_options(db)
        assert (await found(db, "habit"))[0] == 2
        await db.dispose()
        await upgrade(url)
        assert "prefix='3 4 5 6'" in await fts_options(db)
        assert (await found(db, "habit"))[0] == 2
        # the search-tags triggers write the remade table: an ended initiative leaves the
        # "active" filter
        async with db.session() as session:
            await session.execute(
                update(Initiative).where(Initiative.id == garden.id).values(status="ended")
            )
            tags = await session.scalar(
                text("SELECT tags FROM initiative_fts WHERE rowid = :id"), {"id": garden.id}
            )
        assert "#sended" in tags.split()
    finally:
        await db.dispose()
