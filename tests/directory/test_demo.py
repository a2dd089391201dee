"""The demo data set: real communes, invented initiatives, deterministic and idempotent."""

from __future__ import annotations

from collections import Counter
from urllib.parse import urlsplit

import pytest
from sqlalchemy import func, select

from directory import demo, people
from directory.models import Commune, Correction, Initiative, InitiativeTheme, Person, Theme
from directory.territory import get_territory
from directory.vocabulary import ACTOR_KIND_SLUGS, CORE_THEME_SLUGS, NEED_SLUGS

PASSWORD = "mot-de-passe-de-test"


@pytest.fixture(scope="module")
def communes():
    return demo.communes_44()


@pytest.fixture(scope="module")
def generated(communes):
    return demo.generate_initiatives(communes)


def test_communes_are_the_207_of_loire_atlantique(communes):
    by_code = {c.insee_code: c for c in communes}

    assert len(communes) == len(by_code) == 207
    assert all(code.startswith("44") for code in by_code)
    assert (by_code["44109"].name, by_code["44109"].postal_code) == ("Nantes", "44000")
    assert by_code["44184"].name == "Saint-Nazaire"
    assert by_code["44143"].name == "Rezé"
    assert by_code["44003"].name == "Ancenis-Saint-Géréon"  # commune nouvelle (2019)
    # Every commune lies inside the département's bounding box and has its figures.
    assert all(46.85 < c.latitude < 47.85 and -2.6 < c.longitude < -0.9 for c in communes)
    assert all(c.population and c.postal_code.startswith("44") for c in communes)
    assert 1_400_000 < sum(c.population for c in communes) < 1_600_000
    assert max(communes, key=lambda c: c.population).name == "Nantes"


def test_generation_is_deterministic(communes):
    first = demo.generate_initiatives(communes, count=50, seed=7)

    assert first == demo.generate_initiatives(communes, count=50, seed=7)
    assert first != demo.generate_initiatives(communes, count=50, seed=8)


def test_generated_set_covers_every_theme_need_and_actor_kind(generated):
    assert len(generated) == demo.DEFAULT_COUNT >= 300
    assert {t for i in generated for t in i.data["themes"]} == CORE_THEME_SLUGS
    assert {n for i in generated for n in i.data["needs"]} == NEED_SLUGS
    assert {k for i in generated for k in i.data["actor_kinds"]} == ACTOR_KIND_SLUGS
    assert {i.data["status"] for i in generated} == {"active", "paused", "ended"}
    states = Counter(i.moderation_state for i in generated)
    assert set(states) == {"published", "proposed", "rejected", "withdrawn"}
    assert states["published"] > len(generated) * 0.75
    assert states["proposed"] >= 10
    assert sum(1 for i in generated if i.correction) >= 10
    assert len({i.data["insee_code"] for i in generated}) >= 80


def test_generated_contacts_are_fictional(generated):
    for item in generated:
        data = item.data
        for url in (data["website"], *data["social_links"]):
            assert not url or urlsplit(url).hostname.endswith(".example.org")
        assert not data["email"] or data["email"].endswith(".example.org")
        assert not data["phone"] or data["phone"].startswith("02 61 91 ")
        assert not data["fediverse"] or data["fediverse"].endswith("@social.example.org")
        assert not item.proposer_email or item.proposer_email.endswith("@example.org")
        assert demo.FICTION_NOTE in data["description"]


def test_generated_names_read_as_french(generated):
    texts = [i.data["name"] + " " + i.data["description"] for i in generated]
    assert not [t for t in texts if " de Le " in t or " de Les " in t or " à Le " in t]
    assert any("du Pellerin" in t or "des Sorinières" in t or "d'Orvault" in t for t in texts)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Repair café de Le Pellerin", "Repair café du Pellerin"),
        ("habitants de Les Sorinières", "habitants des Sorinières"),
        ("Fablab de Orvault", "Fablab d'Orvault"),
        ("installés à Le Croisic", "installés au Croisic"),
        ("AMAP de La Baule-Escoublac", "AMAP de La Baule-Escoublac"),
        ("Vélo-école de Héric", "Vélo-école de Héric"),
    ],
)
def test_french_contracts_articles(text, expected):
    assert demo.french(text) == expected


async def _count(session, column, *where) -> int:
    return await session.scalar(select(func.count(column)).where(*where))


async def test_load_demo_stores_territory_initiatives_corrections_and_admin(session, generated):
    summary = await demo.load_demo(session, admin_password=PASSWORD)

    territory = await get_territory(session)
    assert (territory.name, territory.kind, territory.code) == (
        "Loire-Atlantique",
        "departement",
        "44",
    )
    assert await _count(session, Commune.id) == summary.communes == 207
    assert summary.created == await _count(session, Initiative.id) == demo.DEFAULT_COUNT
    stored = Counter(
        (
            await session.execute(
                select(Initiative.moderation_state, func.count()).group_by(
                    Initiative.moderation_state
                )
            )
        ).all()
    )
    expected = Counter(i.moderation_state for i in generated)
    assert {state: n for (state, n) in stored} == dict(expected)
    pending = await _count(session, Correction.id, Correction.state == "proposed")
    assert pending == summary.corrections == sum(1 for i in generated if i.correction)
    used_themes = set(
        await session.scalars(
            select(Theme.slug).join(InitiativeTheme, InitiativeTheme.theme_id == Theme.id)
        )
    )
    assert used_themes == CORE_THEME_SLUGS
    admin = await people.person_by_email(session, demo.ADMIN_EMAIL)
    assert admin.role == "admin" and people.check_password(admin, PASSWORD)
    rejected = await session.scalar(
        select(Initiative).where(Initiative.moderation_state == "rejected").limit(1)
    )
    assert rejected.moderation_note and rejected.proposer_email.endswith("@example.org")


async def test_load_demo_twice_adds_nothing(db):
    async with db.session() as session:
        first = await demo.load_demo(session, admin_password=PASSWORD, count=30)
    async with db.session() as session:
        again = await demo.load_demo(session, admin_password=PASSWORD, count=30)
        initiatives = await _count(session, Initiative.id)
        accounts = await _count(session, Person.id)
        communes = await _count(session, Commune.id)
        corrections = await _count(session, Correction.id)

    assert (first.created, first.existing, first.admin_created) == (30, 0, True)
    assert (again.created, again.existing, again.admin_created) == (0, 30, False)
    assert (initiatives, accounts, communes) == (30, 1, 207)
    assert corrections == first.corrections


async def test_load_demo_with_a_larger_count_adds_only_the_missing_ones(db):
    async with db.session() as session:
        await demo.load_demo(session, admin_password=PASSWORD, count=10)
    async with db.session() as session:
        more = await demo.load_demo(session, admin_password=PASSWORD, count=15)
        names = list(await session.scalars(select(Initiative.name).order_by(Initiative.id)))

    assert (more.created, more.existing) == (5, 10)
    expected = demo.generate_initiatives(demo.communes_44(), count=15)
    assert names == [i.data["name"] for i in expected]


async def test_load_demo_resets_a_changed_admin_password(db):
    async with db.session() as session:
        await demo.load_demo(session, admin_password=PASSWORD, count=1)
    async with db.session() as session:
        await demo.load_demo(session, admin_password="un-autre-mot-de-passe", count=1)
        admin = await people.person_by_email(session, demo.ADMIN_EMAIL)

    assert people.check_password(admin, "un-autre-mot-de-passe")
    assert not people.check_password(admin, PASSWORD)
