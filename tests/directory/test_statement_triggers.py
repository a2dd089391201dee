"""Search tags and the diagnostic's changed communes when one statement writes many rows
(PostgreSQL keeps them with statement-level triggers since migration 0015), and that
migration going down to the row-level triggers and up again."""

from __future__ import annotations

from pathlib import Path

import pytest
from alembic import command
from sqlalchemy import delete, insert, text, update

from directory import diagnostic
from directory.db import Database
from directory.initiatives import Author, create_initiative
from directory.models import Initiative, InitiativeActorKind, InitiativeNeed
from tests.conftest import migrated_database
from web.migrate import alembic_config, upgrade

ADMIN = Author(None, "test")


async def tags(session, initiative_id: int) -> set[str]:
    """The search tags of an initiative, as `m<state>`, `s<status>`, ... on both databases."""
    if session.bind.dialect.name == "postgresql":
        found = await session.scalar(
            text("SELECT tags FROM initiative_search WHERE id = :id"), {"id": initiative_id}
        )
        return {t.lower() for t in found}
    found = await session.scalar(
        text("SELECT tags FROM initiative_fts WHERE rowid = :id"), {"id": initiative_id}
    )
    return {t.removeprefix("#") for t in found.split()}


async def two_published(session) -> tuple[int, int]:
    ids = []
    for name, code in (("Épicerie", "44109"), ("Jardin", "44143")):
        initiative = await create_initiative(
            session,
            {"name": name, "themes": ["alimentation"], "insee_code": code},
            author=ADMIN,
            moderation_state="published",
        )
        ids.append(initiative.id)
    await session.flush()
    await diagnostic.refresh(session)
    return ids[0], ids[1]


async def test_one_update_of_many_initiatives_retags_each_and_marks_each_commune(session):
    a, b = await two_published(session)
    await session.execute(
        update(Initiative).where(Initiative.id.in_([a, b])).values(status="ended")
    )
    assert {"sended", "mpublished"} <= await tags(session, a)
    assert "sended" in await tags(session, b)
    assert await diagnostic.changed_communes(session) == {"44109", "44143"}
    await diagnostic.refresh(session)
    # A change no count or tag depends on records nothing
    await session.execute(update(Initiative).where(Initiative.id.in_([a, b])).values(name="X"))
    assert await diagnostic.changed_communes(session) == set()
    # Withdrawn: both communes again, and the state in the tags
    await session.execute(
        update(Initiative).where(Initiative.id == a).values(moderation_state="withdrawn")
    )
    assert "mwithdrawn" in await tags(session, a)
    assert await diagnostic.changed_communes(session) == {"44109"}


async def test_one_insert_and_one_delete_of_many_links(session):
    a, b = await two_published(session)
    # One multi-row INSERT for both initiatives
    await session.execute(
        insert(InitiativeNeed).values(
            [{"initiative_id": a, "need": "isolement"}, {"initiative_id": b, "need": "mobilite"}]
        )
    )
    await session.execute(
        insert(InitiativeActorKind),
        [{"initiative_id": i, "kind": "collectif-habitants"} for i in (a, b)],
    )
    assert {"nisolement", "kcollectifhabitants"} <= await tags(session, a)
    assert {"nmobilite", "kcollectifhabitants"} <= await tags(session, b)
    assert await diagnostic.changed_communes(session) == {"44109", "44143"}
    await diagnostic.refresh(session)
    await session.execute(delete(InitiativeNeed).where(InitiativeNeed.initiative_id.in_([a, b])))
    assert not any(t.startswith("n") for t in await tags(session, a) | await tags(session, b))
    assert await diagnostic.changed_communes(session) == {"44109", "44143"}


async def test_a_commune_is_recorded_once_per_transaction(session):
    a, b = await two_published(session)
    await session.execute(update(Initiative).values(insee_code="44215"))
    await session.execute(
        insert(InitiativeNeed), [{"initiative_id": i, "need": "sante"} for i in (a, b)]
    )
    rows = await session.scalars(text("SELECT insee_code FROM diagnostic_changes"))
    assert sorted(rows) == ["44109", "44143", "44215"]


@pytest.fixture
async def fresh_url(database_url: str, tmp_path: Path):
    """A database of its own (migrated to head), on the session's backend."""
    backend = "sqlite" if database_url.startswith("sqlite") else "postgresql"
    async with migrated_database(backend, tmp_path) as url:
        yield url


async def test_migration_0015_goes_down_and_up(fresh_url: str):
    db = Database(fresh_url)

    def downgrade(connection) -> None:
        config = alembic_config(fresh_url)
        config.attributes["connection"] = connection
        command.downgrade(config, "0014")

    async def statement_triggers() -> int:
        async with db.session() as session:
            if db.dialect != "postgresql":
                return 0
            return await session.scalar(
                text(
                    "SELECT count(*) FROM pg_trigger WHERE NOT tgisinternal"
                    " AND tgname LIKE 'search_diagnostic_%'"
                )
            )

    try:
        assert await statement_triggers() == (12 if db.dialect == "postgresql" else 0)
        async with db.session() as session:  # written by today's code, at head
            a, _ = await two_published(session)
        async with db.engine.begin() as connection:
            await connection.run_sync(downgrade)
        assert await statement_triggers() == 0
        # The row-level triggers of 0010 and 0013 are back and keep tags and communes
        async with db.session() as session:
            await session.execute(
                update(Initiative).where(Initiative.id == a).values(status="ended", latitude=47.2)
            )
            assert "sended" in await tags(session, a)
            assert await diagnostic.changed_communes(session) == {"44109"}
        await db.dispose()
        await upgrade(fresh_url)
        assert await statement_triggers() == (12 if db.dialect == "postgresql" else 0)
        async with db.session() as session:
            await session.execute(
                update(Initiative).where(Initiative.id == a).values(status="active")
            )
            assert "sactive" in await tags(session, a)
            if db.dialect == "postgresql":  # 0017 copied the coordinates into the index
                found = text("SELECT latitude FROM initiative_search WHERE id = :id")
                assert await session.scalar(found, {"id": a}) == 47.2
                copies = text(  # and 0018 the vectors, in line
                    "SELECT count(r.id), count(*) FILTER (WHERE s.vector = r.vector)"
                    " FROM initiative_search s LEFT JOIN initiative_rank r USING (id)"
                )
                assert tuple((await session.execute(copies)).one()) == (2, 2)
    finally:
        await db.dispose()
