"""GET /api/v1/initiatives: search, filters, facets, pagination, moderation queue, privacy."""

from __future__ import annotations

import pytest

from tests.web.api.conftest import MODERATION_NOTE, PROPOSER_EMAIL, make_initiative

BASE = "/api/v1/initiatives"


@pytest.fixture
async def directory_of_25(db) -> None:
    """25 published initiatives over two themes and two communes, 3 proposals, 1 remote."""
    for n in range(25):
        food = n % 5 == 0  # 5 about food, 20 about repair
        await make_initiative(
            db,
            {
                "name": f"Initiative {n:02d} " + ("épicerie solidaire" if food else "atelier vélo"),
                "themes": ["alimentation"] if food else ["reemploi-reparation"],
                "insee_code": "44109" if n % 2 else "44143",
                "actor_kinds": ["collectivite"] if n == 3 else ["association"],
            },
        )
    for n in range(3):
        await make_initiative(db, {"name": f"Proposition {n}"}, state="proposed")
    await make_initiative(
        db,
        {
            "name": "Ressourcerie lointaine",
            "insee_code": "56260",
            "latitude": 47.658,
            "longitude": -2.760,
        },
        origin="morbihan.example",
        uri="https://morbihan.example/initiatives/ressourcerie",
    )


async def test_first_page_with_total_facets_and_links(api, directory_of_25):
    response = await api.get(f"{BASE}?per_page=10")

    assert response.status_code == 200
    body = response.json()
    assert body["total"] == 26  # published: 25 local + 1 remote; proposals excluded
    assert (body["page"], body["per_page"], body["pages"]) == (1, 10, 3)
    assert len(body["items"]) == 10
    assert body["previous"] is None
    assert body["next"].endswith("page=2") and "per_page=10" in body["next"]
    assert body["facets"]["themes"]["alimentation"] == 5
    assert body["facets"]["themes"]["reemploi-reparation"] == 21
    assert body["facets"]["actor_kinds"]["collectivite"] == 1


async def test_pages_cover_everything_once(api, directory_of_25):
    seen: list[str] = []
    url = f"{BASE}?per_page=7"
    while url:
        body = (await api.get(url)).json()
        seen += [i["slug"] for i in body["items"]]
        url = body["next"]

    assert len(seen) == len(set(seen)) == 26


async def test_page_past_the_end_is_empty_not_an_error(api, directory_of_25):
    response = await api.get(f"{BASE}?page=50")

    assert response.status_code == 200
    assert response.json()["items"] == []
    assert response.json()["total"] == 26


async def test_filters_narrow_results_and_facets(api, directory_of_25):
    body = (await api.get(f"{BASE}?theme=alimentation&commune=44143")).json()

    assert body["total"] == 3  # n = 0, 10, 20
    assert all(i["themes"][0]["slug"] == "alimentation" for i in body["items"])
    assert all(i["address"]["insee_code"] == "44143" for i in body["items"])


async def test_text_search_uses_stems_and_folds_accents(api, directory_of_25):
    body = (await api.get(f"{BASE}?q=epiceries")).json()

    assert body["total"] == 5
    assert all("épicerie" in i["name"] for i in body["items"])


async def test_origin_filter_and_remote_records(api, directory_of_25):
    body = (await api.get(f"{BASE}?origin=remote")).json()

    assert [i["origin"] for i in body["items"]] == ["morbihan.example"]
    assert body["items"][0]["uri"] == "https://morbihan.example/initiatives/ressourcerie"


@pytest.mark.parametrize("role", ("moderator", "admin"))
async def test_moderators_list_the_queue_with_private_fields(api, callers, directory_of_25, role):
    response = await api.get(f"{BASE}?moderation_state=proposed", headers=callers[role].headers)

    assert response.status_code == 200
    body = response.json()
    assert body["total"] == 3
    assert {i["moderation_state"] for i in body["items"]} == {"proposed"}
    assert body["items"][0]["proposer_email"] == PROPOSER_EMAIL


@pytest.mark.parametrize("role", ("anonymous", "contributor", "referent"))
async def test_others_cannot_list_the_queue(api, callers, directory_of_25, role):
    response = await api.get(f"{BASE}?moderation_state=proposed", headers=callers[role].headers)

    assert response.status_code == (401 if role == "anonymous" else 403)


@pytest.mark.parametrize("role", ("anonymous", "contributor", "moderator"))
async def test_public_list_never_shows_private_fields(api, callers, directory_of_25, role):
    response = await api.get(f"{BASE}?per_page=100", headers=callers[role].headers)

    assert PROPOSER_EMAIL not in response.text
    assert MODERATION_NOTE not in response.text
    assert "Proposition" not in response.text


async def test_near_adds_distances(api, directory_of_25):
    body = (await api.get(f"{BASE}?near=47.19,-1.56,5&sort=distance")).json()

    assert body["total"] == 25  # the remote one, in Vannes, is 100 km away
    distances = [i["distance_km"] for i in body["items"]]
    assert distances == sorted(distances)


@pytest.mark.parametrize(
    "filters",
    [
        "theme=alimentation&theme=reemploi-reparation&commune=44109",
        "theme=alimentation,reemploi-reparation&commune=44109",
    ],
)
async def test_several_values_per_facet_with_disjunctive_counts(api, directory_of_25, filters):
    body = (await api.get(f"{BASE}?q=initiative&{filters}&per_page=100")).json()

    # Either theme, and the commune: the 12 odd-numbered local initiatives.
    assert body["total"] == 12
    assert {i["address"]["insee_code"] for i in body["items"]} == {"44109"}
    # A facet's counts leave out its own selection, so another value can be added.
    assert body["facets"]["communes"] == {"44143": 13, "44109": 12}
    assert body["facets"]["themes"] == {"reemploi-reparation": 10, "alimentation": 2}
    assert body["facets"]["actor_kinds"] == {"association": 11, "collectivite": 1}


async def test_one_value_per_facet_still_works(api, directory_of_25):
    body = (await api.get(f"{BASE}?q=initiative&theme=alimentation")).json()
    assert body["total"] == 5
    assert body["facets"]["themes"] == {"reemploi-reparation": 20, "alimentation": 5}
