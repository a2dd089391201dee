"""Every activity we send has an id that resolves: `/activities/{token}` serves it as sent,
to whom its addressing allows, and answers 410 once the initiative it is about is gone."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest

from directory import initiatives
from directory.initiatives import Author
from federation import follows, render
from federation.delivery_store import enqueue_activity
from federation.signatures import sign_request
from federation.urls import Urls
from tests.federation.conftest import REPAIR_CAFE
from web.app import create_app

AS = "application/activity+json"
ADMIN = Author(None, "test")


@pytest.fixture
async def reader(app, wired) -> AsyncIterator[httpx.AsyncClient]:
    """A client of our app (the peer is wired, so our app can fetch alice's key)."""
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="https://maillage.test"
    ) as client:
        yield client


@pytest.fixture
async def sent_create(wired, db, peer, settings) -> dict:
    """Alice follows our territory actor; an initiative is published; the Create she got."""
    async with db.session() as session:
        await follows.add_follower(
            session,
            actor_name=settings.territory_username,
            remote_actor_uri=peer.actor,
            remote_host=peer.host,
            inbox=f"{peer.actor}/inbox",
            shared_inbox=peer.inbox,
            state="accepted",
        )
        await initiatives.create_initiative(
            session, REPAIR_CAFE, author=ADMIN, moderation_state="published"
        )
    await wired.run_until_idle()
    (create,) = peer.of_type("Create")
    return create


def signed_get(url: str, secret) -> dict[str, str]:
    return {"Accept": AS, **sign_request("GET", url, secret)}


async def test_a_sent_create_resolves_to_what_was_sent(reader, sent_create, settings):
    assert sent_create["id"].startswith(f"{settings.base_url}/activities/")

    response = await reader.get(sent_create["id"], headers={"Accept": AS})

    assert response.status_code == 200
    assert response.headers["content-type"].startswith(AS)
    assert response.json() == sent_create


async def test_ld_json_is_answered_with_the_activitystreams_profile(reader, sent_create):
    accept = 'application/ld+json; profile="https://www.w3.org/ns/activitystreams"'
    response = await reader.get(sent_create["id"], headers={"Accept": accept})
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/ld+json")


async def test_a_browser_is_sent_to_the_initiative(reader, sent_create):
    response = await reader.get(sent_create["id"], headers={"Accept": "text/html"})
    assert response.status_code == 303
    assert response.headers["location"] == sent_create["object"]["id"]


@pytest.mark.parametrize(
    ("language", "error"), [("en", "unknown activity"), ("fr", "activité inconnue")]
)
async def test_unknown_activity_is_404(reader, settings, language, error):
    response = await reader.get(
        Urls.of(settings).activity("0123456789abcdef"),
        headers={"Accept": AS, "Accept-Language": language},
    )
    assert response.status_code == 404
    assert response.json()["error"] == error
    assert response.headers["Content-Language"] == language


async def test_create_of_a_withdrawn_initiative_is_gone(reader, sent_create, wired, db):
    async with db.session() as session:
        initiative = await initiatives.get_initiative(session, "repair-cafe-de-reze")
        await initiatives.moderate(session, initiative, "withdrawn", author=ADMIN)
    await wired.run_until_idle()

    response = await reader.get(sent_create["id"], headers={"Accept": AS})

    assert response.status_code == 410
    body = response.json()
    assert body["type"] == "Tombstone" and body["formerType"] == "Create"
    assert body["id"] == sent_create["id"] and "object" not in body


async def test_an_accept_is_readable_only_by_its_addressee(reader, wired, db, peer, settings):
    # Given alice's Follow, which we accepted
    follow = {
        "id": f"{peer.actor}/follows/1",
        "type": "Follow",
        "actor": peer.actor,
        "object": f"{settings.base_url}/actors/{settings.territory_username}",
    }
    body, headers = peer.signed_post(f"{settings.base_url}/inbox", follow)
    assert (await reader.post("/inbox", content=body, headers=headers)).status_code == 202
    await wired.run_until_idle()
    (accept,) = peer.of_type("Accept")
    url = accept["id"]

    # Unsigned: refused; signed by alice (the addressee): served
    assert (await reader.get(url, headers={"Accept": AS})).status_code == 401
    signed = await reader.get(url, headers=signed_get(url, peer.secret()))
    assert signed.status_code == 200 and signed.json() == accept


async def test_a_private_activity_is_hidden_from_others(reader, wired, db, peer, settings):
    # A Follow we sent to someone on another host: alice may not read it
    urls = Urls.of(settings)
    follow = render.follow(
        render.new_activity_id(urls),
        urls.actor(settings.territory_username),
        "https://elsewhere.test/users/bob",
    )
    async with db.session() as session:
        await enqueue_activity(session, follow, actor_name=settings.territory_username, inboxes=[])

    response = await reader.get(follow["id"], headers=signed_get(follow["id"], peer.secret()))

    assert response.status_code == 404
    assert (await reader.get(follow["id"], headers={"Accept": AS})).status_code == 401


async def test_authorized_fetch_needs_a_signature_even_for_public_ones(
    sent_create, wired, db, peer, settings
):
    strict = create_app(settings.with_(authorized_fetch=True), database=db)
    strict.state.http = wired.client
    url = sent_create["id"]
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=strict), base_url=settings.base_url
    ) as client:
        unsigned = await client.get(url, headers={"Accept": AS})
        signed = await client.get(url, headers=signed_get(url, peer.secret()))
    assert unsigned.status_code == 401
    assert signed.status_code == 200 and signed.json() == sent_create
