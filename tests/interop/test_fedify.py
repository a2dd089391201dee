"""Fedify, an independent and strict ActivityPub implementation, reads us over TLS."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from directory import initiatives
from directory.initiatives import Author
from federation import follows
from federation.flow_models import OutboxActivity
from federation.publish import Publisher
from tests.federation.conftest import REPAIR_CAFE

pytestmark = pytest.mark.interop


async def _publish(instance) -> str:
    async with instance.db.session() as session:
        initiative = await initiatives.create_initiative(
            session, REPAIR_CAFE, author=Author(None, "test"), moderation_state="published"
        )
        return f"{instance.base_url}/initiatives/{initiative.slug}"


async def test_fedify_looks_up_our_territory_actor_by_webfinger(tls_instance, peer):
    host = tls_instance.settings.host

    actor = await peer("lookup", f"acct:loire-atlantique@{host}")

    assert actor["ok"], actor.get("error")
    base = f"{tls_instance.base_url}/actors/loire-atlantique"
    assert (actor["type"], actor["id"], actor["preferredUsername"]) == (
        "Group",
        base,
        "loire-atlantique",
    )
    assert actor["inbox"] == f"{base}/inbox"
    assert actor["sharedInbox"] == f"{tls_instance.base_url}/inbox"
    assert actor["publicKey"] == {"id": f"{base}#main-key", "owner": base}
    assert actor["followers"] == f"{base}/followers" and actor["featured"] == f"{base}/featured"
    assert actor["icon"] == f"{base}/icon.png"
    assert [field["name"] for field in actor["attachment"]] == ["Site web", "Territoire"]


async def test_fedify_finds_the_instance_actor_by_host(tls_instance, peer):
    host = tls_instance.settings.host
    actor = await peer("lookup", f"acct:{host}@{host}")
    assert actor["ok"], actor.get("error")
    assert actor["type"] == "Application"
    assert actor["id"] == f"{tls_instance.base_url}/actors/instance"


async def test_fedify_parses_our_page(tls_instance, peer):
    url = await _publish(tls_instance)

    page = await peer("object", url)

    assert page["ok"], page.get("error")
    assert (page["type"], page["id"], page["url"]) == ("Page", url, url)
    assert page["name"] == "Repair café de Rezé"
    assert page["summary"] == "Réemploi et réparation, Solidarité et entraide · Rezé"
    territory = f"{tls_instance.base_url}/actors/loire-atlantique"
    assert page["attributedTo"] == [territory] and page["audience"] == [territory]
    assert page["to"] == ["https://www.w3.org/ns/activitystreams#Public"]
    assert page["tags"] == ["#ReparationLocale", "#Entraide"]
    assert page["location"]["type"] == "Place"
    assert (page["location"]["latitude"], page["location"]["longitude"]) == (47.19, -1.56)


async def test_signed_lookups_when_authorized_fetch_is_on(serve_tls, peer):
    instance = await serve_tls(authorized_fetch=True)
    url = await _publish(instance)
    host = instance.settings.host

    actor = await peer("lookup", f"acct:loire-atlantique@{host}", "--signed")
    signed_page = await peer("object", url, "--signed")
    unsigned_page = await peer("object", url)

    assert actor["ok"], actor.get("error")
    assert actor["id"] == f"{instance.base_url}/actors/loire-atlantique"
    assert signed_page["ok"], signed_page.get("error")
    assert signed_page["type"] == "Page" and signed_page["id"] == url
    assert not unsigned_page["ok"]  # 401 without a signature


async def _sent_create(instance) -> str:
    """Publish an initiative to one (unreachable) follower; the id of the Create we sent."""
    async with instance.db.session() as session:
        await follows.add_follower(
            session,
            actor_name=instance.settings.territory_username,
            remote_actor_uri="https://follower.invalid/users/bob",
            remote_host="follower.invalid",
            inbox="https://follower.invalid/inbox",
        )
        await initiatives.create_initiative(
            session, REPAIR_CAFE, author=Author(None, "test"), moderation_state="published"
        )
    async with instance.db.session() as session:
        await Publisher(instance.settings).run_once(session)
    async with instance.db.session() as session:
        return await session.scalar(
            select(OutboxActivity.activity_id).where(OutboxActivity.activity_type == "Create")
        )


async def test_signed_gets_of_a_paged_collection_and_an_activity(serve_tls, peer):
    # Given authorized fetch, and a Create we sent
    instance = await serve_tls(authorized_fetch=True)
    activity_id = await _sent_create(instance)
    outbox = f"{instance.base_url}/actors/loire-atlantique/outbox?page=true"

    # When Fedify reads a page of our outbox (a query string under the signature) and the
    # activity at its id, signed
    page = await peer("object", outbox, "--signed")
    create = await peer("object", activity_id, "--signed")

    # Then both verify (Fedify also checks that each document carries the id it asked for)
    assert page["ok"], page.get("error")
    assert (page["type"], page["id"]) == ("OrderedCollectionPage", outbox)
    assert create["ok"], create.get("error")
    assert (create["type"], create["id"]) == ("Create", activity_id)
    target = outbox.removeprefix(instance.base_url)
    assert ("draft-cavage", 200) in {(r.signature, r.status) for r in instance.log.to(target)}
