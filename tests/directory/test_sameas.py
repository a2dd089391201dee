"""sameAs: the same initiative known on two instances is shown once, everywhere."""

from __future__ import annotations

import orjson
import pytest

from directory import browse, facets, initiatives, mapgrid, sameas
from directory.batch import NewInitiative, Slugs, insert_initiatives
from directory.exports import ExportContext, stream_export
from directory.imports import duplicates
from directory.initiatives import Author
from directory.models import Initiative
from directory.search import SearchQuery, search_initiatives
from directory.validation import clean_initiative

MOD = Author(None, "moderatrice")
FEDERATION = Author(None, "federation:region.test")
BBOX = (46.0, -1.0, 46.6, 0.0)


async def local(session, name: str, **fields) -> Initiative:
    return await initiatives.create_initiative(
        session, {"name": name, **fields}, author=MOD, moderation_state="published"
    )


async def remote(session, name: str, slug: str, **fields) -> Initiative:
    return await initiatives.create_initiative(
        session, {"name": name, **fields}, author=FEDERATION, moderation_state="published",
        origin="region.test", uri=f"https://region.test/initiatives/{slug}",
    )  # fmt: skip


@pytest.fixture
async def twins(db):
    """A local tiers-lieu, its copy from region.test linked by a moderator, and another."""
    async with db.session() as session:
        mine = await local(session, "Tiers-lieu La Fabrique", latitude=46.32, longitude=-0.46)
        copy = await remote(
            session, "Tiers lieu La Fabrique", "la-fabrique", latitude=46.3201, longitude=-0.46
        )
        other = await remote(
            session, "Épicerie du marais", "epicerie", latitude=46.1, longitude=-0.7
        )
        await duplicates.link_same_as(session, mine.id, copy.id, author=MOD)
        return mine.id, copy.id, other.id


async def listed(db, query: SearchQuery | None = None) -> list[int]:
    async with db.session() as session:
        result = await search_initiatives(session, query or SearchQuery(per_page=50))
    return sorted(i.id for i in result.items)


async def test_search_counts_and_facets_show_twins_once(db, twins):
    mine, _, other = twins

    assert await listed(db) == sorted([mine, other])
    assert await listed(db, SearchQuery(text="fabrique")) == [mine]
    async with db.session() as session:
        # Full text reads the hidden ids first on PostgreSQL, and excludes them as a
        # parameter: the total and the facet counts of a text query leave the twin out too.
        found = await search_initiatives(session, SearchQuery(text="fabrique", facets=True))
        assert found.total == 1 and sum(found.facets["statuses"].values()) == 1
        beside = await search_initiatives(session, SearchQuery(text="fabrique", origin="remote"))
        assert beside.total == 0 and beside.items == []
        themes = await facets.theme_rows(session)
        whole = await facets.count_facets(
            session, SearchQuery(facets=True), themes, dialect=db.dialect
        )
        narrowed = await facets.count_facets(
            session, SearchQuery(facets=True, origin="remote"), themes, dialect=db.dialect
        )
    assert whole[0] == 2 and sum(whole[1]["statuses"].values()) == 2
    assert narrowed[0] == 1


async def test_map_feeds_and_home_counts_show_twins_once(db, twins):
    mine, _, other = twins
    async with db.session() as session:
        view = await mapgrid.map_view(session, SearchQuery(), BBOX, 14)
        overview = await browse.overview(session)
        latest = await browse.latest(session)
        total = await browse.count_published(session)

    assert view.total == 2 and sorted(p.id for p in view.points) == sorted([mine, other])
    assert (overview.initiatives, total) == (2, 2)
    assert sorted(i.id for i in latest) == sorted([mine, other])


async def test_export_shows_the_local_twin_with_its_link(db, twins):
    mine, _, _ = twins
    context = ExportContext("https://maillage.test", "Niort", "LO 2.0", "https://lo.example")

    body = b"".join([c async for c in stream_export(db, "geojson", SearchQuery(), context)])

    features = {f["properties"]["id"]: f for f in orjson.loads(body)["features"]}
    assert mine in features and len(features) == 2
    assert features[mine]["properties"]["same_as"] == [
        "https://region.test/initiatives/la-fabrique"
    ]


async def test_the_copy_comes_back_when_its_twin_is_withdrawn(db, twins):
    mine, copy, other = twins
    async with db.session() as session:
        await initiatives.moderate(
            session, await initiatives.get_initiative(session, mine), "withdrawn", author=MOD
        )

    assert await listed(db) == sorted([copy, other])


async def test_same_as_received_from_another_instance_links_them(db):
    # Given a local initiative, when a remote copy arrives saying it is the same,
    async with db.session() as session:
        mine = await local(session, "Repair café", latitude=46.32, longitude=-0.46)
        copy = await remote(
            session, "Repair café de Niort", "repair", latitude=46.32, longitude=-0.46,
            same_as=[f"https://maillage.test/initiatives/{mine.slug}"],
        )  # fmt: skip
        # and a remote one names another remote one (exact URI).
        first = await remote(session, "AMAP", "amap", latitude=46.2, longitude=-0.5)
        second = await remote(
            session, "AMAP du marais", "amap-2", latitude=46.2, longitude=-0.5,
            same_as=["https://region.test/initiatives/amap"],
        )  # fmt: skip
        hidden = await sameas.hidden_ids(session)

    # then only the local one, and the first stored of the remote pair, are listed.
    assert hidden == {copy.id, second.id}
    assert await listed(db) == sorted([mine.id, first.id])


async def test_the_page_and_json_api_of_the_shown_twin(client, db, twins):
    mine, _, other = twins
    async with db.session() as session:
        slug = (await initiatives.get_initiative(session, mine)).slug

    api = (await client.get("/api/v1/initiatives", params={"per_page": 50})).json()
    page = await client.get(f"/initiatives/{slug}")
    data = (await client.get("/map/data.json", params={"bbox": "46,-1,46.6,0", "zoom": 14})).json()
    feed = await client.get("/flux.atom")

    ids = sorted(item["id"] for item in api["items"])
    assert ids == sorted([mine, other]) and api["total"] == 2
    assert "region.test/initiatives/la-fabrique" in page.text
    assert data["total"] == 2
    assert feed.text.count("<entry") == 2


async def test_cached_counts_drop_when_a_link_is_made(db):
    # Given whole-directory counts cached on the connection,
    async with db.session() as session:
        mine = await local(session, "Ressourcerie", latitude=46.32, longitude=-0.46)
        copy = await remote(
            session, "La Ressourcerie", "ressourcerie", latitude=46.32, longitude=-0.46
        )
    async with db.session() as session:
        before = await search_initiatives(session, SearchQuery())
    # when a moderator links the two,
    async with db.session() as session:
        await duplicates.link_same_as(session, mine.id, copy.id, author=MOD)
    async with db.session() as session:
        after = await search_initiatives(session, SearchQuery())

    # then the counts are computed again.
    assert (before.total, after.total) == (2, 1)
    assert sum(after.facets["statuses"].values()) == 1


async def test_a_batch_of_remote_initiatives_naming_a_local_one_is_linked(db):
    # Given a local initiative, when a backfilled page (the batch writer) brings its copy,
    async with db.session() as session:
        mine = await local(session, "Ressourcerie", latitude=46.32, longitude=-0.46)
        values = clean_initiative(
            {
                "name": "Ressourcerie de Niort",
                "latitude": 46.32,
                "longitude": -0.46,
                "same_as": [f"https://maillage.test/initiatives/{mine.slug}"],
            },
            theme_slugs=[],
        )
        item = NewInitiative(
            values, moderation_state="published", origin="region.test",
            uri="https://region.test/initiatives/ressourcerie", via=["region.test"],
        )  # fmt: skip
        [copy] = await insert_initiatives(
            session, [item], author=FEDERATION, action="federation", message="",
            themes={}, slugs=await Slugs.around(session, [values["name"]]),
        )  # fmt: skip
        hidden = await sameas.hidden_ids(session)

    # then the copy is linked and only the local one is listed.
    assert hidden == {copy}
    assert await listed(db) == [mine.id]
