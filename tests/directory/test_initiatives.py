"""Initiatives: creation, validation, updates with history, moderation, corrections."""

from __future__ import annotations

import pytest

from directory import initiatives, themes
from directory.errors import Conflict, NotEditable, ValidationError
from directory.initiatives import Author

ADMIN = Author(None, "test")
REPAIR_CAFE = {
    "name": "Repair café de Rezé",
    "summary": "Réparer ensemble petits appareils et vélos",
    "themes": ["reemploi-reparation"],
    "actor_kinds": ["association"],
    "needs": ["precarite-energetique"],
    "city": "Rezé",
    "insee_code": "44143",
    "latitude": 47.19,
    "longitude": -1.56,
    "website": "https://repair.example.org",
}


async def test_create_records_fields_and_first_revision(session):
    initiative = await initiatives.create_initiative(session, REPAIR_CAFE, author=ADMIN)

    assert initiative.slug == "repair-cafe-de-reze"
    assert initiative.moderation_state == "proposed"
    assert [t.slug for t in initiative.themes] == ["reemploi-reparation"]
    assert initiative.actor_kinds == ["association"]
    history = await initiatives.revisions(session, initiative.id)
    assert [r.action for r in history] == ["create"]
    assert history[0].changes["name"] == [None, "Repair café de Rezé"]


async def test_same_name_gets_a_distinct_slug(session):
    first = await initiatives.create_initiative(session, REPAIR_CAFE, author=ADMIN)
    second = await initiatives.create_initiative(session, REPAIR_CAFE, author=ADMIN)
    assert (first.slug, second.slug) == ("repair-cafe-de-reze", "repair-cafe-de-reze-2")


async def test_explicit_duplicate_slug_is_a_conflict(session):
    await initiatives.create_initiative(session, {**REPAIR_CAFE, "slug": "rc"}, author=ADMIN)
    with pytest.raises(Conflict) as caught:
        await initiatives.create_initiative(session, {**REPAIR_CAFE, "slug": "rc"}, author=ADMIN)
    assert caught.value.field == "slug"


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("latitude", 91),
        ("longitude", "east"),
        ("themes", ["astrologie"]),
        ("actor_kinds", ["licorne"]),
        ("name", ""),
        ("name", "x" * 201),
        ("email", "pas-un-mail"),
        ("website", "javascript:alert(1)"),
        ("colour", "red"),
    ],
)
async def test_invalid_field_is_named(session, field, value):
    with pytest.raises(ValidationError) as caught:
        await initiatives.create_initiative(session, {**REPAIR_CAFE, field: value}, author=ADMIN)
    assert field in caught.value.errors


async def test_update_records_old_and_new_values(session):
    initiative = await initiatives.create_initiative(session, REPAIR_CAFE, author=ADMIN)

    changes = await initiatives.update_initiative(
        session,
        initiative,
        {"summary": "Tous les samedis", "needs": ["isolement"]},
        author=Author(None, "moderatrice"),
    )

    assert changes == {
        "summary": ["Réparer ensemble petits appareils et vélos", "Tous les samedis"],
        "needs": [["precarite-energetique"], ["isolement"]],
    }
    last = (await initiatives.revisions(session, initiative.id))[-1]
    assert (last.action, last.author, last.changes) == ("update", "moderatrice", changes)


async def test_remote_initiative_is_not_editable_here(session):
    initiative = await initiatives.create_initiative(
        session,
        REPAIR_CAFE,
        author=ADMIN,
        origin="nantes.test",
        uri="https://nantes.test/initiatives/rc",
        moderation_state="published",
    )
    with pytest.raises(NotEditable):
        await initiatives.update_initiative(session, initiative, {"name": "x"}, author=ADMIN)


async def test_correction_leaves_initiative_until_approved(session):
    initiative = await initiatives.create_initiative(
        session, REPAIR_CAFE, author=ADMIN, moderation_state="published"
    )
    correction = await initiatives.propose_correction(
        session,
        initiative,
        {"phone": "02 40 00 00 00"},
        author=ADMIN,
        proposer_email="habitant@example.org",
    )
    assert initiative.phone == ""

    await initiatives.decide_correction(session, correction, approve=True, author=ADMIN)

    assert initiative.phone == "02 40 00 00 00"
    assert correction.state == "published"
    with pytest.raises(Conflict):
        await initiatives.decide_correction(session, correction, approve=True, author=ADMIN)


async def test_local_sub_theme_loads_its_core_theme_through_the_initiative(db):
    async with db.session() as session:
        await themes.add_local_theme(
            session,
            label_fr="Ressourceries",
            parent_slug="reemploi-reparation",
            iri_base="https://maillage.test",
        )
        created = await initiatives.create_initiative(
            session, {**REPAIR_CAFE, "themes": ["ressourceries"]}, author=ADMIN
        )
    async with db.session() as session:
        loaded = await initiatives.get_initiative(session, created.id)
        # No lazy load may happen here under async SQLAlchemy: it would raise.
        assert [t.core_slug for t in loaded.themes] == ["reemploi-reparation"]
