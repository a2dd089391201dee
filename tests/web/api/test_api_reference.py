"""Reference data: themes, communes, vocabulary."""

from __future__ import annotations

from directory import territory, themes
from directory.territory import CommuneRow
from directory.vocabulary import ACTOR_KIND_SLUGS, CORE_THEMES, NEED_SLUGS


async def test_themes_list_core_then_local_ones(api, db, settings):
    async with db.session() as session:
        await themes.add_local_theme(
            session,
            label_fr="Jardins partagés",
            label_en="Shared gardens",
            parent_slug="alimentation",
            iri_base=settings.base_url,
        )

    response = await api.get("/api/v1/themes")

    assert response.status_code == 200
    items = response.json()["items"]
    assert [t["slug"] for t in items[: len(CORE_THEMES)]] == [t.slug for t in CORE_THEMES]
    local = items[-1]
    assert local["slug"] == "jardins-partages"
    assert local["core"] == "alimentation"
    assert local["iri"] == "https://maillage.test/themes/jardins-partages"
    assert local["labels"] == {"fr": "Jardins partagés", "en": "Shared gardens"}


async def test_communes_with_territory(api, db):
    async with db.session() as session:
        await territory.set_territory(
            session,
            name="Loire-Atlantique",
            kind="departement",
            code="44",
            communes=[
                CommuneRow("44109", "Nantes", 47.218, -1.553, 320000, "44000"),
                CommuneRow("44143", "Rezé", 47.191, -1.569),
            ],
        )

    response = await api.get("/api/v1/communes")

    assert response.status_code == 200
    body = response.json()
    assert body["territory"]["name"] == "Loire-Atlantique"
    assert body["territory"]["bbox"] == [47.191, -1.569, 47.218, -1.553]
    assert [c["name"] for c in body["items"]] == ["Nantes", "Rezé"]
    assert body["items"][0]["postal_code"] == "44000"


async def test_communes_without_territory(api):
    response = await api.get("/api/v1/communes")

    assert response.json() == {"territory": None, "total": 0, "items": []}


async def test_vocabulary_in_french_and_english(api):
    response = await api.get("/api/v1/vocabulary")

    body = response.json()
    assert {t["slug"] for t in body["actor_kinds"]} == ACTOR_KIND_SLUGS
    assert {t["slug"] for t in body["needs"]} == NEED_SLUGS
    assert {"slug": "paused", "labels": {"fr": "En pause", "en": "Paused"}} in body["statuses"]
    assert [s["slug"] for s in body["moderation_states"]] == [
        "proposed",
        "published",
        "rejected",
        "withdrawn",
    ]
