"""Public records carry every public field and nothing private; descriptions are sanitized."""

from __future__ import annotations

import orjson
import pytest

from directory import initiatives
from directory.initiatives import Author
from directory.models import Person, Revision
from directory.records import (
    correction_record,
    moderation_record,
    public_record,
    render_description,
    revision_record,
)

BASE_URL = "https://maillage.test"
PLANTED_EMAIL = "proposer-secret@private.example"
PLANTED_NOTE = "NOTE-PRIVEE-7f3a"
FULL = {
    "name": "Épicerie solidaire du Breil",
    "summary": "Produits à petits prix",
    "description": "# Titre\n\nVenez *nombreux* : <img src=x onerror=alert(1)>\n\n"
    "[site](https://epicerie.example.org) [piège](javascript:alert(1))",
    "themes": ["alimentation", "solidarite-entraide"],
    "actor_kinds": ["association", "collectivite"],
    "needs": ["precarite-alimentaire"],
    "status": "active",
    "street": "3 rue du Breil",
    "postal_code": "44100",
    "city": "Nantes",
    "insee_code": "44109",
    "latitude": 47.23,
    "longitude": -1.59,
    "website": "https://epicerie.example.org",
    "email": "contact@epicerie.example.org",
    "phone": "02 40 00 00 00",
    "fediverse": "@epicerie@mastodon.example",
    "social_links": ["https://social.example/epicerie"],
    "opening_hours": "Tu-Sa 10:00-18:00",
    "image_url": "https://epicerie.example.org/logo.png",
    "same_as": ["https://ailleurs.example/initiatives/epicerie"],
}


@pytest.fixture
async def planted(session):
    """A published initiative with a planted proposer e-mail, account and moderation note."""
    person = Person(email="compte-secret@private.example", role="contributor")
    session.add(person)
    await session.flush()
    initiative = await initiatives.create_initiative(
        session,
        FULL,
        author=Author(person.id, person.email),
        moderation_state="published",
        proposer_email=PLANTED_EMAIL,
        source="csv-departement",
        source_id="42",
    )
    initiative.moderation_note = PLANTED_NOTE
    await initiatives.moderate(
        session,
        initiative,
        "withdrawn",
        author=Author(person.id, person.email),
        message=PLANTED_NOTE,
    )
    return initiative, person


async def test_public_record_has_every_public_field(planted):
    initiative, _ = planted

    record = public_record(initiative, base_url=BASE_URL)

    assert record["uri"] == f"{BASE_URL}/initiatives/epicerie-solidaire-du-breil"
    assert record["origin"] == "maillage.test"
    assert [t["slug"] for t in record["themes"]] == ["alimentation", "solidarite-entraide"]
    assert record["actor_kinds"] == ["association", "collectivite"]
    assert record["needs"] == ["precarite-alimentaire"]
    assert record["address"] == {
        "street": "3 rue du Breil",
        "postal_code": "44100",
        "city": "Nantes",
        "insee_code": "44109",
    }
    assert record["contacts"]["fediverse"] == "@epicerie@mastodon.example"
    assert record["contacts"]["email"] == "contact@epicerie.example.org"
    assert record["opening_hours"] == "Tu-Sa 10:00-18:00"
    assert record["image"] == "https://epicerie.example.org/logo.png"
    assert record["same_as"] == ["https://ailleurs.example/initiatives/epicerie"]
    assert record["source"] == {"name": "csv-departement", "id": "42"}
    assert record["created"].endswith("Z") and record["published"].endswith("Z")


async def test_public_records_never_carry_private_data(session, planted):
    initiative, person = planted
    history = await initiatives.revisions(session, initiative.id)

    rendered = orjson.dumps(
        [public_record(initiative, base_url=BASE_URL)]
        + [revision_record(r, person) for r in history]
    ).decode()

    for secret in (PLANTED_EMAIL, PLANTED_NOTE, person.email, "proposer", "moderation_note"):
        assert secret not in rendered


async def test_moderation_records_do_carry_them(session, planted):
    initiative, person = planted
    history = await initiatives.revisions(session, initiative.id)

    rendered = orjson.dumps(
        [moderation_record(initiative, base_url=BASE_URL)]
        + [revision_record(r, person, private=True) for r in history]
    ).decode()

    assert PLANTED_EMAIL in rendered and PLANTED_NOTE in rendered and person.email in rendered


async def test_correction_record_is_for_moderators(session, planted):
    initiative, _ = planted
    await initiatives.moderate(session, initiative, "published", author=Author(None, "t"))
    correction = await initiatives.propose_correction(
        session,
        initiative,
        {"phone": "0101010101"},
        author=Author(None, ""),
        proposer_email="v@x.fr",
    )

    record = correction_record(correction, initiative)

    assert record["proposer_email"] == "v@x.fr"
    assert record["changes"] == {"phone": ["02 40 00 00 00", "0101010101"]}


def test_revision_authors_are_never_shown_by_email_to_the_public():
    anonymous = Revision(id=1, action="update", author="someone@example.org", changes={})
    imported = Revision(id=2, action="update", author="import:gogocarto", changes={})
    person = Person(id=7, email="p@example.org", display_name="")

    assert revision_record(anonymous, None)["author"] == {"name": "anonyme"}
    assert revision_record(imported, None)["author"] == {"name": "import:gogocarto"}
    assert revision_record(anonymous, person)["author"] == {"name": "compte n°7"}


@pytest.mark.parametrize(
    ("markdown", "present", "absent"),
    [
        ("<script>alert(1)</script>", "&lt;script&gt;", "<script"),
        ("<img src=x onerror=alert(1)>", "&lt;img", "<img"),
        ("[x](javascript:alert(1))", "[x](javascript:alert(1))", 'href="javascript'),
        ("[x](https://a.example)", 'rel="noopener noreferrer nofollow ugc"', "javascript"),
        ("![logo](https://a.example/l.png)", "", "<img"),
        ("**gras** et _italique_", "<strong>gras</strong>", "<script"),
        ("", "", "<p>"),
    ],
)
def test_descriptions_render_markdown_without_html(markdown, present, absent):
    html = render_description(markdown)

    assert present in html
    assert absent not in html
