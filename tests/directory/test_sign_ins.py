"""Server-side sessions: migration 0007 matches the model; tokens are stored hashed."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import select

from directory import people, privacy, sign_ins
from directory.models import Base, SignIn


def _about_sign_ins(diff) -> bool:
    item = diff[0] if isinstance(diff, list) else diff
    return any(
        getattr(getattr(part, "table", None), "name", None) == "sign_ins"
        or getattr(part, "name", None) == "sign_ins"
        or part == "sign_ins"
        for part in item[1:]
    )


async def test_model_and_migration_agree(db):
    def compare(connection):
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        return [d for d in compare_metadata(context, Base.metadata) if _about_sign_ins(d)]

    async with db.engine.connect() as connection:
        assert await connection.run_sync(compare) == []


async def test_only_the_hash_of_a_token_is_stored_and_it_finds_its_person(session):
    person = await people.create_person(session, email="a@example.org", password="x" * 12)
    token = await sign_ins.open_session(session, person, user_agent="UA " * 200)

    row = await session.scalar(select(SignIn))
    assert token not in row.token_hash and len(row.token_hash) == 64
    assert len(row.user_agent) == 200
    assert await sign_ins.person_for(session, token) is person
    assert await sign_ins.person_for(session, token + "x") is None

    await sign_ins.end_session(session, token)
    assert await sign_ins.person_for(session, token) is None


async def test_sessions_are_in_the_personal_data_export_and_erased_with_the_account(session):
    person = await people.create_person(session, email="b@example.org", password="x" * 12)
    await sign_ins.open_session(session, person, user_agent="Firefox")

    data = await privacy.personal_data(session, "b@example.org")
    await privacy.erase(session, "b@example.org")

    assert [s["browser"] for s in data["sessions"]] == ["Firefox"]
    assert await session.scalar(select(SignIn)) is None
