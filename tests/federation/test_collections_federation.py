"""Links and curated collections travel: commune -> région, in process (httpx over ASGI)."""

from __future__ import annotations

import httpx
import pytest
from sqlalchemy import select
from starlette.applications import Starlette
from starlette.responses import Response
from starlette.routing import Route

from directory import collections, moderation, relations
from directory.initiatives import Author, create_initiative
from directory.models import Initiative, Relation
from directory.models_collections import Collection, CollectionItem
from federation import collection_items, instances, lookup
from federation.collection_items import MAX_ATTEMPTS, ItemFetcher
from federation.fetch import Fetcher
from federation.flow_models import OutboxActivity
from federation.following import follow
from federation.http import HttpxClient
from federation.inbox import InboxProcessor, Refused
from tests.federation.peers import Clock

ADMIN = Author(None, "test")
AS = {"Accept": "application/activity+json"}


async def _follow(follower, followed) -> None:
    fetcher = await follower.worker.fetcher()
    async with follower.db.session() as session:
        await follow(session, follower.settings, fetcher, f"{followed.base}/actors/{followed.name}")


async def _publish(instance, name: str) -> Initiative:
    async with instance.db.session() as session:
        return await create_initiative(
            session,
            {"name": name, "themes": ["fablabs-numerique"]},
            author=ADMIN,
            moderation_state="published",
        )


async def _copy(instance, uri: str) -> Collection | None:
    async with instance.db.session() as session:
        return await session.scalar(select(Collection).where(Collection.uri == uri))


async def _remote(instance, uri: str) -> Initiative | None:
    async with instance.db.session() as session:
        return await session.scalar(select(Initiative).where(Initiative.uri == uri))


@pytest.fixture
async def linked(network):
    """The région follows the commune; the commune has two initiatives, one link between
    them, and a collection of both."""
    commune, region = network["commune"], network["region"]
    await _follow(region, commune)
    await network.settle()
    fablab = await _publish(commune, "Fablab de la médiathèque")
    visors = await _publish(commune, "Visières solidaires")
    async with commune.db.session() as session:
        fablab = await session.get(Initiative, fablab.id)
        await relations.add_relation(
            session,
            fablab,
            target="visieres-solidaires",
            kind="partner",
            note="Prêt de machines",
            person_id=None,
            base_url=commune.base,
        )
        made = await collections.create_collection(
            session, name="Fablabs et visières", summary="Printemps 2020", person=None
        )
        for slug in ("visieres-solidaires", "fablab-de-la-mediatheque"):
            await collections.add_item(session, made, target=slug, base_url=commune.base)
    await network.settle()
    return {
        "fablab": f"{commune.base}/initiatives/fablab-de-la-mediatheque",
        "visors": f"{commune.base}/initiatives/{visors.slug}",
        "collection": f"{commune.base}/collections/{made.slug}",
        "slug": made.slug,
    }


async def test_links_and_collections_reach_followers(network, linked):
    commune, region = network["commune"], network["region"]
    # Then the région holds the commune's collection, items in order, under its origin
    copy = await _copy(region, linked["collection"])
    assert copy is not None and copy.origin == "commune.test"
    assert copy.name == "Fablabs et visières" and copy.summary == "Printemps 2020"
    async with region.db.session() as session:
        items = await collections.items_of(session, copy)
    assert [i.initiative.name for i in items] == [
        "Visières solidaires",
        "Fablab de la médiathèque",
    ]
    # And the link, with its note, on its copy of the initiative
    fablab = await _remote(region, linked["fablab"])
    visors = await _remote(region, linked["visors"])
    async with region.db.session() as session:
        (relation,) = await session.scalars(
            select(Relation).where(Relation.initiative_id == fablab.id)
        )
    assert (relation.kind, relation.note) == ("partner", "Prêt de machines")
    assert relation.target_uri == linked["visors"] and relation.target_id == visors.id
    # And its pages show both
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=region.app), base_url=region.base
    ) as client:
        listed = await client.get("/collections")
        assert "Fablabs et visières" in listed.text and "commune.test" in listed.text
        page = await client.get(f"/collections/{copy.slug}")
        assert "Visières solidaires" in page.text
        shown = await client.get(f"/initiatives/{fablab.slug}")
        assert "Initiatives liées" in shown.text and "Prêt de machines" in shown.text

    # When the commune removes the link and renames the collection
    async with commune.db.session() as session:
        mine = await session.scalar(
            select(Initiative).where(Initiative.slug == "fablab-de-la-mediatheque")
        )
        (link,) = await relations.relations_of(session, mine)
        await relations.remove_relation(session, mine, link.id)
        made = await collections.get_collection(session, linked["slug"])
        await collections.update_collection(session, made, name="Visières 2020", summary="")
    await network.settle()
    # Then the région follows (an Update of each object)
    assert (await _copy(region, linked["collection"])).name == "Visières 2020"
    async with region.db.session() as session:
        assert list(await session.scalars(select(Relation))) == []

    # The Create we sent is served at its id, until the collection goes
    async with commune.db.session() as session:
        sent = await session.scalar(
            select(OutboxActivity.activity_id).where(
                OutboxActivity.object_uri == linked["collection"],
                OutboxActivity.activity_type == "Create",
            )
        )
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=commune.app), base_url=commune.base, headers=AS
    ) as client:
        served = await client.get(sent)
        assert served.status_code == 200
        assert served.json()["object"]["type"] == "OrderedCollection"

        # When the commune deletes the collection, the région's copy goes
        async with commune.db.session() as session:
            made = await collections.get_collection(session, linked["slug"])
            await collections.delete_collection(session, made)
        await network.settle()
        assert (await _copy(region, linked["collection"])).deleted_at is not None
        assert (await client.get(sent)).status_code == 410
    async with region.db.session() as session:
        assert await collections.list_collections(session) == []


def _activity(kind: str, actor: str, obj, n: int) -> dict:
    return {
        "@context": "https://www.w3.org/ns/activitystreams",
        "id": f"{actor}#hostile-{n}",
        "type": kind,
        "actor": actor,
        "object": obj,
    }


async def test_only_a_collections_origin_changes_it(network, linked):
    region, national = network["region"], network["national"]
    fetcher = await region.worker.fetcher()
    processor = InboxProcessor(region.settings, region.db, fetcher)
    intruder = f"{national.base}/actors/national"
    forged = {
        "id": linked["collection"],
        "type": "OrderedCollection",
        "name": "Collection détournée",
        "attributedTo": intruder,
        "orderedItems": [],
    }
    # A peer updating (or deleting) a collection that lives on another instance is refused
    for n, (kind, obj) in enumerate(
        [("Update", forged), ("Create", forged), ("Delete", linked["collection"])]
    ):
        async with region.db.session() as session:
            with pytest.raises(Refused):
                await processor.apply(session, _activity(kind, intruder, obj, n))
    # And a collection on the peer's own host that claims someone else's authorship too
    own = {**forged, "id": f"{national.base}/collections/x", "attributedTo": linked["fablab"]}
    async with region.db.session() as session:
        await instances.set_trust(session, national.host, "publish")
    async with region.db.session() as session:
        with pytest.raises(Refused):
            await processor.apply(session, _activity("Create", intruder, own, 9))
    copy = await _copy(region, linked["collection"])
    assert copy.name == "Fablabs et visières" and copy.deleted_at is None
    assert await _copy(region, own["id"]) is None


async def test_a_new_follower_backfills_existing_collections(network):
    commune, region = network["commune"], network["region"]
    # Given a collection the commune made before anyone followed it
    await _publish(commune, "Visières solidaires")
    async with commune.db.session() as session:
        made = await collections.create_collection(session, name="Déjà là", person=None)
        await collections.add_item(
            session, made, target="visieres-solidaires", base_url=commune.base
        )
    await network.settle()
    # When the région follows the commune
    await _follow(region, commune)
    await network.settle()
    # Then it backfilled the collection along with the initiatives
    copy = await _copy(region, f"{commune.base}/collections/{made.slug}")
    assert copy is not None and copy.name == "Déjà là"
    async with region.db.session() as session:
        (item,) = await collections.items_of(session, copy)
    assert item.initiative is not None and item.initiative.name == "Visières solidaires"


# --- Items from a third instance: fetched by the worker, validated, shown as they stand. ---


async def _page(instance, path: str) -> str:
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=instance.app), base_url=instance.base
    ) as client:
        response = await client.get(path)
    assert response.status_code == 200
    return response.text


async def _item(instance, target: str) -> CollectionItem:
    async with instance.db.session() as session:
        return await session.scalar(
            select(CollectionItem).where(CollectionItem.target_uri == target)
        )


@pytest.mark.parametrize("trust", ["publish", "hold"])  # the région's policy for national
async def test_an_item_from_a_third_instance_is_fetched_by_the_worker(network, trust):
    commune, region, national = network["commune"], network["region"], network["national"]
    async with region.db.session() as session:
        await instances.set_trust(session, national.host, trust)
    await _follow(region, commune)
    await network.settle()
    # Given a commune collection that lists an initiative of national's, which the région
    # does not follow (held for moderation on the commune, so never announced from there)
    bike = await _publish(national, "Atelier vélo national")
    bike_uri = f"{national.base}/initiatives/{bike.slug}"
    await _publish(commune, "Visières solidaires")
    fetcher = await commune.worker.fetcher()
    async with commune.db.session() as session:
        await lookup.ensure_remote_initiative(
            session, fetcher, commune.settings, commune.db, bike_uri
        )
        made = await collections.create_collection(session, name="Ateliers", person=None)
        for target in ("visieres-solidaires", bike_uri):
            await collections.add_item(session, made, target=target, base_url=commune.base)
    # When the région receives it (its worker fetches the third instance's item)
    await network.settle()
    # Then it holds national's initiative, under its own policy for national
    copy = await _copy(region, f"{commune.base}/collections/{made.slug}")
    stored = await _remote(region, bike_uri)
    expected = "published" if trust == "publish" else "proposed"
    assert (stored.origin, stored.moderation_state) == ("national.test", expected)
    item = await _item(region, bike_uri)
    assert (item.initiative_id, item.fetch_state, item.fetch_error) == (stored.id, "", "")
    # And the collection page shows it, or says it awaits moderation
    page = await _page(region, f"/collections/{copy.slug}")
    assert "Visières solidaires" in page
    if trust == "publish":
        assert "Atelier vélo national" in page and "autre instance" not in page
    else:
        assert "Atelier vélo national" not in page
        assert "en attente de modération ici" in page


async def test_third_instance_items_that_fail_are_recorded_and_shown(network, caplog):
    commune, region, national = network["commune"], network["region"], network["national"]
    await _follow(region, commune)
    await network.settle()
    async with region.db.session() as session:
        await instances.block_domain(session, "blocked.test", "spam")
    missing = f"{national.base}/initiatives/absente"
    group = f"{national.base}/actors/national"  # an actor, not a Page
    blocked = "https://blocked.test/initiatives/x"
    busy = "https://busy.test/initiatives/x"  # answers 503
    # Given a collection from the commune (trusted) listing those
    fetcher = await region.worker.fetcher()
    processor = InboxProcessor(region.settings, region.db, fetcher)
    actor = f"{commune.base}/actors/{commune.name}"
    listed = {
        "id": f"{commune.base}/collections/tiers",
        "type": "OrderedCollection",
        "name": "Tiers",
        "attributedTo": actor,
        "orderedItems": [missing, group, blocked, busy],
    }
    async with region.db.session() as session:
        await processor.apply(session, _activity("Create", actor, listed, 0))
    copy = await _copy(region, listed["id"])
    # Before the worker fetches them, the page says so
    page = await _page(region, f"/collections/{copy.slug}")
    assert page.count("en cours de récupération") == 4
    # When the worker tries
    down = Starlette(routes=[Route("/{path:path}", lambda r: Response(status_code=503))])
    client = HttpxClient({national.base: national.app, "https://busy.test": down})
    clock = Clock()
    items = ItemFetcher(
        region.settings, region.db, Fetcher(client, region.settings, fetcher.key), clock=clock
    )
    assert await items.run_once() == 4
    # Then the refused ones failed with their reason; the unreachable one waits for a retry
    reasons = {t: (await _item(region, t)).fetch_error for t in (missing, group, blocked)}
    assert "rien à cette adresse (404)" in reasons[missing]
    assert "ne désigne pas une initiative (type Group)" in reasons[group]
    assert "blocked.test est bloqué" in reasons[blocked]
    assert {(await _item(region, t)).fetch_state for t in reasons} == {"failed"}
    waiting = await _item(region, busy)
    assert (waiting.fetch_state, waiting.fetch_attempts) == ("pending", 1)
    assert "503" in waiting.fetch_error
    assert await items.run_once() == 0  # not due yet
    page = await _page(region, f"/collections/{copy.slug}")
    assert page.count("qui n'a pas pu être récupérée") == 3
    assert page.count("en cours de récupération") == 1
    # And after the last try, it fails too, in the log and for the admin's page
    for _ in range(MAX_ATTEMPTS - 1):
        clock.advance(hours=7)
        assert await items.run_once() == 1
    assert (await _item(region, busy)).fetch_state == "failed"
    assert f"collection item {busy} not fetched" in caplog.text
    async with region.db.session() as session:
        listed_failures = await collection_items.failures(session)
    assert {item.target_uri for item, _name in listed_failures} == {missing, group, blocked, busy}
    assert {name for _item_, name in listed_failures} == {"Tiers"}
    assert await _remote(region, missing) is None
    # An update by its origin gives failed items another chance
    async with region.db.session() as session:
        await processor.apply(session, _activity("Update", actor, listed, 1))
    assert (await _item(region, busy)).fetch_state == "pending"
    await client.close()


# --- A link to a target held for moderation: not sent until a moderator approves it. ---


@pytest.mark.parametrize("decision", ["approve", "reject"])
async def test_a_link_federates_once_its_target_is_approved(network, decision):
    commune, region, national = network["commune"], network["region"], network["national"]
    await _follow(region, commune)
    await network.settle()
    # Given a commune initiative that a référent links to one of national's, an instance
    # the commune never met (so its copy awaits moderation there)
    fablab = await _publish(commune, "Fablab de la médiathèque")
    bike = await _publish(national, "Atelier vélo national")
    bike_uri = f"{national.base}/initiatives/{bike.slug}"
    fetcher = await commune.worker.fetcher()
    async with commune.db.session() as session:
        held = await lookup.ensure_remote_initiative(
            session, fetcher, commune.settings, commune.db, bike_uri
        )
        assert held.moderation_state == "proposed"
        await relations.add_relation(
            session,
            await session.get(Initiative, fablab.id),
            target=bike_uri,
            kind="similar",
            person_id=None,
            base_url=commune.base,
        )
    # When the commune's worker sends what changed
    await network.settle()
    # Then followers get the initiative without that link, and so does a GET of its id
    fablab_uri = f"{commune.base}/initiatives/{fablab.slug}"
    assert await _links(region, fablab_uri) == []
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=commune.app), base_url=commune.base, headers=AS
    ) as client:
        assert (await client.get(fablab_uri)).json()["relations"] == []
    # When a moderator decides on the target
    async with commune.db.session() as session:
        held = await session.get(Initiative, held.id)
        if decision == "approve":
            await moderation.approve_proposal(session, held, author=ADMIN)
        else:
            await moderation.reject_proposal(session, held, author=ADMIN, message="Hors sujet")
    await network.settle()
    # Then an approval sends the initiative's Update with the link; a refusal, nothing
    expected = [bike_uri] if decision == "approve" else []
    assert await _links(region, fablab_uri) == expected
    # And the commune's public page shows the link only once approved, as followers get it
    shown = await _page(commune, f"/initiatives/{fablab.slug}")
    assert ("Atelier vélo national" in shown) is (decision == "approve")
    assert bike_uri not in shown  # (once approved, its link is to our copy)


async def _links(instance, uri: str) -> list[str]:
    """The targets of the links an instance holds for its copy of `uri`."""
    async with instance.db.session() as session:
        copy = await session.scalar(select(Initiative).where(Initiative.uri == uri))
        assert copy is not None
        return list(
            await session.scalars(
                select(Relation.target_uri).where(Relation.initiative_id == copy.id)
            )
        )
