"""Personal data: export and erase on request, purge of rejected proposals' e-mails."""

from __future__ import annotations

import asyncio
import json
import os
import sys
from datetime import timedelta

from sqlalchemy import select

from directory import contributions, initiatives, moderation, people, privacy
from directory.initiatives import Author
from directory.models import Initiative, Person, Revision
from directory.models_web import StatusLink

ANON = Author(None, "anonyme")
MODO = Author(None, "modo")


async def test_export_then_erase_an_address(session):
    person = await people.create_person(session, email="Ana@Example.org", password="0123456789")
    await contributions.propose_initiative(
        session, {"name": "Avec compte"}, author=Author(person.id, person.email)
    )
    await contributions.propose_initiative(
        session, {"name": "Sans compte"}, author=ANON, proposer_email="ana@example.org"
    )

    data = await privacy.personal_data(session, " ANA@example.org ")
    counts = await privacy.erase(session, "ana@example.org")

    assert data["account"]["email"] == "ana@example.org"
    assert [p["name"] for p in data["proposals"]] == ["Avec compte", "Sans compte"]
    assert counts == {"account": 1, "proposals": 1, "corrections": 0}
    assert await session.scalar(select(Person).where(Person.email == "ana@example.org")) is None
    emails = set(await session.scalars(select(Initiative.proposer_email)))
    assert emails == {""}
    authors = set(await session.scalars(select(Revision.author)))
    assert "ana@example.org" not in authors
    assert (await privacy.personal_data(session, "ana@example.org"))["proposals"] == []


async def test_purge_only_old_rejected_proposals(session):
    old = (
        await contributions.propose_initiative(
            session, {"name": "Ancienne"}, author=ANON, proposer_email="a@example.org"
        )
    ).initiative
    recent = (
        await contributions.propose_initiative(
            session, {"name": "Récente"}, author=ANON, proposer_email="b@example.org"
        )
    ).initiative
    waiting = (
        await contributions.propose_initiative(
            session, {"name": "En attente"}, author=ANON, proposer_email="c@example.org"
        )
    ).initiative
    await moderation.reject_proposal(session, old, author=MODO, message="non")
    await moderation.reject_proposal(session, recent, author=MODO, message="non")
    old.updated_at = old.updated_at - timedelta(days=200)
    await session.flush()

    purged = await privacy.purge_rejected(session, older_than=timedelta(days=180))

    assert purged == 1
    assert [old.proposer_email, recent.proposer_email, waiting.proposer_email] == [
        "",
        "b@example.org",
        "c@example.org",
    ]
    links = list(await session.scalars(select(StatusLink.initiative_id)))
    assert old.id not in links and recent.id in links
    assert await privacy.purge_rejected(session, older_than=timedelta(days=180)) == 0


async def test_the_privacy_command_exports_and_erases(db, database_url, tmp_path):
    async with db.session() as session:
        await initiatives.create_initiative(
            session, {"name": "Proposée"}, author=ANON, proposer_email="d@example.org"
        )
    env = {**os.environ, "MAILLAGE_DATABASE_URL": database_url, "MAILLAGE_DATA_DIR": str(tmp_path)}

    async def run(*args: str) -> str:
        process = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "web.cli", "privacy", *args,
            env=env, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
        )  # fmt: skip
        out, err = await process.communicate()
        assert process.returncode == 0, err.decode()
        return out.decode()

    exported = json.loads(await run("export", "d@example.org"))
    erased = await run("erase", "d@example.org")
    purged = await run("purge", "--days", "30")

    assert [p["name"] for p in exported["proposals"]] == ["Proposée"]
    assert "e-mail retiré de 1 proposition" in erased
    assert purged.startswith("0 ")
