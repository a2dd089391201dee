"""The inbox under hostile input: each refused with a 4xx (or refused by the worker), nothing
stored but a visible record; and the same-origin rules of DESIGN.md section 4."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import httpx
import orjson
import pytest
from bovine.crypto.types import CryptographicSecret
from sqlalchemy import func, select

from directory import initiatives
from directory.initiatives import Author
from directory.models import Initiative
from federation import follows, inbox_store, instances, keys
from federation.flow_models import InboxItem
from federation.following import decide_follower
from federation.keys import generate_key_pair
from federation.signatures import sign_request
from web.app import create_app

ADMIN = Author(None, "test")
INBOX = "https://maillage.test/inbox"


def page(uri: str, name: str = "Atelier vélo", attributed: str | None = None) -> dict:
    return {
        "id": uri,
        "type": "Page",
        "name": name,
        "summary": "Réparer son vélo",
        "content": "<p>Réparer son vélo <script>alert(1)</script></p>",
        "attributedTo": attributed or uri.split("/initiatives/")[0] + "/users/alice",
        "themes": ["urn:maillage:theme:mobilite"],
    }


def activity(peer, kind: str, obj, n: int = 1) -> dict:
    return {
        "@context": "https://www.w3.org/ns/activitystreams",
        "id": f"{peer.actor}/activities/{kind.lower()}-{n}",
        "type": kind,
        "actor": peer.actor,
        "object": obj,
    }


@pytest.fixture
async def inbox(app, wired):
    """A client posting to our app (the worker fixture wires the peer first)."""
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="https://maillage.test"
    ) as client:
        yield client


async def post(client, body: bytes, headers: dict) -> httpx.Response:
    return await client.post("/inbox", content=body, headers=headers)


async def items(db, state: str | None = None) -> list[InboxItem]:
    async with db.session() as session:
        return await inbox_store.list_items(session, state=state)


async def initiative_count(db) -> int:
    async with db.session() as session:
        return await session.scalar(select(func.count()).select_from(Initiative))


async def assert_refused_at_door(db, response, status: int, words: str) -> None:
    assert response.status_code == status, response.text
    assert words in response.json()["error"]
    rows = await items(db)
    assert [r.state for r in rows] == ["refused"]
    assert rows[0].body is None and words in rows[0].reason
    assert await initiative_count(db) == 0


# --- Refused at the door (the route) ------------------------------------------------------


async def test_unsigned_post_is_refused(inbox, db, peer):
    body = orjson.dumps(activity(peer, "Create", page("https://peer.test/initiatives/a")))
    response = await post(inbox, body, {"Content-Type": "application/activity+json"})
    await assert_refused_at_door(db, response, 401, "not signed")


async def test_wrong_key_is_refused(inbox, db, peer):
    _, other = generate_key_pair()
    forged = CryptographicSecret.from_pem(peer.key_id, other)
    body, headers = peer.signed_post(
        INBOX, activity(peer, "Create", page("https://peer.test/initiatives/a")), key=forged
    )
    await assert_refused_at_door(db, await post(inbox, body, headers), 401, "does not verify")


async def test_key_owner_other_than_actor_is_refused(inbox, db, peer):
    claimed = activity(peer, "Create", page("https://peer.test/initiatives/a"))
    claimed["actor"] = "https://peer.test/users/bob"
    body, headers = peer.signed_post(INBOX, claimed)
    await assert_refused_at_door(db, await post(inbox, body, headers), 401, "pas à l'acteur")


async def test_tampered_body_is_refused(inbox, db, peer):
    body, headers = peer.signed_post(
        INBOX, activity(peer, "Create", page("https://peer.test/initiatives/a"))
    )
    tampered = body.replace(b"Atelier", b"Arnaque")
    await assert_refused_at_door(db, await post(inbox, tampered, headers), 401, "Digest")


async def test_expired_date_is_refused(inbox, db, peer):
    old = datetime.now(UTC) - timedelta(hours=13)
    body, headers = peer.signed_post(
        INBOX, activity(peer, "Create", page("https://peer.test/initiatives/a")), date=old
    )
    await assert_refused_at_door(db, await post(inbox, body, headers), 401, "12 hours")


async def test_rfc9421_signature_is_refused_with_401_not_500(inbox, db, peer):
    body = orjson.dumps(activity(peer, "Follow", "https://maillage.test/actors/loire-atlantique"))
    headers = {
        "Content-Type": "application/activity+json",
        "Signature-Input": 'sig1=("@method" "@target-uri");created=1700000000;keyid="k"',
        "Signature": "sig1=:AAAA:",
    }
    await assert_refused_at_door(db, await post(inbox, body, headers), 401, "RFC 9421")


async def test_two_megabyte_body_is_refused(inbox, db, peer):
    big = activity(peer, "Create", page("https://peer.test/initiatives/a"))
    big["object"]["content"] = "x" * 2_000_000
    body, headers = peer.signed_post(INBOX, big)
    await assert_refused_at_door(db, await post(inbox, body, headers), 413, "volumineux")


async def test_malformed_json_is_refused(inbox, db, peer):
    body = b'{"type": "Create", "actor": '
    response = await post(inbox, body, {"Content-Type": "application/activity+json"})
    await assert_refused_at_door(db, response, 400, "JSON invalide")


async def test_activity_without_actor_is_refused(inbox, db, peer):
    body = orjson.dumps({"id": "https://peer.test/a/1", "type": "Create"})
    response = await post(inbox, body, {"Content-Type": "application/activity+json"})
    await assert_refused_at_door(db, response, 400, "actor")


async def test_blocked_domain_is_refused(inbox, db, peer):
    async with db.session() as session:
        await instances.block_domain(session, "peer.test", "spam")
    body, headers = peer.signed_post(
        INBOX, activity(peer, "Create", page("https://peer.test/initiatives/a"))
    )
    await assert_refused_at_door(db, await post(inbox, body, headers), 403, "bloqué")


async def test_private_address_actor_is_refused(settings, db, peer, pooled_actor_keys):
    # Given a production configuration (private addresses refused)
    strict = settings.with_(allow_private_addresses=False)
    app = create_app(strict, database=db)
    loopback = "http://127.0.0.1:9/users/mallory"
    claimed = {**activity(peer, "Follow", "https://maillage.test/actors/loire-atlantique")}
    claimed["actor"] = loopback
    key = CryptographicSecret.from_pem(f"{loopback}#main-key", peer.private_pem)
    body = orjson.dumps(claimed)
    headers = sign_request("POST", INBOX, key, body=body)
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="https://maillage.test"
    ) as client:
        response = await post(client, body, headers)
    await assert_refused_at_door(db, response, 401, "non-public address")


async def test_signed_activity_is_stored_and_answered_202(inbox, db, peer):
    body, headers = peer.signed_post(
        INBOX, activity(peer, "Create", page("https://peer.test/initiatives/a"))
    )
    response = await post(inbox, body, headers)
    assert response.status_code == 202
    (item,) = await items(db)
    assert item.state == "pending" and item.key_owner == peer.actor
    assert orjson.loads(item.body)["object"]["name"] == "Atelier vélo"


# --- Refused by the worker (the same-origin rules) ----------------------------------------


async def deliver(inbox, wired, peer, payload) -> InboxItem:
    body, headers = peer.signed_post(INBOX, payload)
    response = await post(inbox, body, headers)
    assert response.status_code == 202, response.text
    await wired.run_until_idle()
    async with wired.db.session() as session:
        return (await inbox_store.list_items(session, limit=1))[0]


async def trust(db, host="peer.test", policy="publish"):
    async with db.session() as session:
        await instances.set_trust(session, host, policy)


async def test_create_is_stored_sanitized_with_its_origin(inbox, wired, db, peer):
    await trust(db)
    item = await deliver(
        inbox, wired, peer, activity(peer, "Create", page("https://peer.test/initiatives/a"))
    )
    assert item.state == "done", item.reason
    async with db.session() as session:
        stored = await initiatives.get_by_uri(session, "https://peer.test/initiatives/a")
    assert stored.origin == "peer.test" and stored.moderation_state == "published"
    assert "script" not in stored.description and "alert" not in stored.description


async def test_create_of_an_object_on_another_host_is_refused(inbox, wired, db, peer):
    await trust(db)
    item = await deliver(
        inbox, wired, peer, activity(peer, "Create", page("https://victim.test/initiatives/a"))
    )
    assert item.state == "refused" and "hôte" in item.reason
    assert await initiative_count(db) == 0


async def test_update_of_someone_elses_object_is_refused(inbox, wired, db, peer):
    # Given an initiative of ours and one received from victim.test
    async with db.session() as session:
        ours = await initiatives.create_initiative(
            session, {"name": "La nôtre"}, author=ADMIN, moderation_state="published"
        )
        await initiatives.create_initiative(
            session,
            {"name": "La leur"},
            author=ADMIN,
            moderation_state="published",
            origin="victim.test",
            uri="https://victim.test/initiatives/leur",
        )
    # When the peer sends Updates of both
    for n, uri in enumerate(
        ("https://maillage.test/initiatives/la-notre", "https://victim.test/initiatives/leur")
    ):
        item = await deliver(
            inbox, wired, peer, activity(peer, "Update", page(uri, name="Piraté"), n)
        )
        # Then each is refused and nothing changed
        assert item.state == "refused", item.reason
    async with db.session() as session:
        names = sorted(await session.scalars(select(Initiative.name)))
    assert names == ["La leur", "La nôtre"] and ours.slug == "la-notre"


async def test_delete_of_someone_elses_object_is_refused(inbox, wired, db, peer):
    async with db.session() as session:
        await initiatives.create_initiative(
            session,
            {"name": "La leur"},
            author=ADMIN,
            moderation_state="published",
            origin="victim.test",
            uri="https://victim.test/initiatives/leur",
        )
    item = await deliver(
        inbox, wired, peer, activity(peer, "Delete", "https://victim.test/initiatives/leur")
    )
    assert item.state == "refused"
    async with db.session() as session:
        assert (await session.scalar(select(Initiative.moderation_state))) == "published"


async def test_delete_by_its_origin_withdraws(inbox, wired, db, peer):
    await trust(db)
    await deliver(
        inbox, wired, peer, activity(peer, "Create", page("https://peer.test/initiatives/a"))
    )
    item = await deliver(
        inbox,
        wired,
        peer,
        activity(peer, "Delete", {"id": "https://peer.test/initiatives/a", "type": "Tombstone"}),
    )
    assert item.state == "done", item.reason
    async with db.session() as session:
        assert (await session.scalar(select(Initiative.moderation_state))) == "withdrawn"


async def test_announce_of_a_forged_object_is_refused(inbox, wired, db, peer):
    # The peer announces an object "from" itself that its origin does not serve, embedding
    # a forged copy: the embedded copy is never trusted, the origin is asked.
    await trust(db)
    forged = page("https://peer.test/initiatives/inexistante", name="Faux")
    item = await deliver(inbox, wired, peer, activity(peer, "Announce", forged))
    assert item.state == "refused", item.reason
    assert await initiative_count(db) == 0


async def test_duplicate_activity_is_ignored_visibly(inbox, wired, db, peer):
    await trust(db)
    same = activity(peer, "Create", page("https://peer.test/initiatives/a"))
    await deliver(inbox, wired, peer, same)
    item = await deliver(inbox, wired, peer, same)
    assert item.state == "ignored" and "doublon" in item.reason
    assert await initiative_count(db) == 1


async def test_unknown_activity_is_ignored_visibly(inbox, wired, db, peer):
    item = await deliver(inbox, wired, peer, activity(peer, "Like", "https://maillage.test/x"))
    assert item.state == "ignored" and "Like" in item.reason
    ignored = await items(db, "ignored")
    assert len(ignored) == 1


async def test_blocked_policy_refuses_creates(inbox, wired, db, peer):
    await trust(db, policy="block")
    body, headers = peer.signed_post(
        INBOX, activity(peer, "Create", page("https://peer.test/initiatives/a"))
    )
    response = await post(inbox, body, headers)
    assert response.status_code == 403
    assert await initiative_count(db) == 0


async def test_follow_is_accepted_and_undo_removes_it(inbox, wired, db, peer, settings):
    follow = activity(peer, "Follow", "https://maillage.test/actors/alimentation")
    item = await deliver(inbox, wired, peer, follow)
    assert item.state == "done", item.reason
    accepts = peer.of_type("Accept")
    assert len(accepts) == 1 and accepts[0]["object"]["id"] == follow["id"]
    assert accepts[0]["actor"] == "https://maillage.test/actors/alimentation"
    async with db.session() as session:
        assert [f.actor_name for f in await follows.followers_of(session)] == ["alimentation"]
    undo = activity(peer, "Undo", {k: v for k, v in follow.items() if k != "@context"})
    item = await deliver(inbox, wired, peer, undo)
    assert item.state == "done", item.reason
    async with db.session() as session:
        assert await follows.followers_of(session) == []


async def test_deleted_account_stops_following(inbox, wired, db, peer):
    await deliver(
        inbox, wired, peer, activity(peer, "Follow", "https://maillage.test/actors/mobilite")
    )
    item = await deliver(inbox, wired, peer, activity(peer, "Delete", peer.actor))
    assert item.state == "done" and "1 abonnements" in item.reason
    async with db.session() as session:
        assert await follows.followers_of(session, state=None) == []


async def test_accept_from_someone_else_is_refused(inbox, wired, db, peer, settings):
    async with db.session() as session:
        await follows.add_following(
            session,
            remote_actor_uri="https://other.test/actors/territoire",
            remote_host="other.test",
            inbox="https://other.test/inbox",
            follow_id="https://maillage.test/activities/follow-1",
        )
    item = await deliver(
        inbox, wired, peer, activity(peer, "Accept", "https://maillage.test/activities/follow-1")
    )
    assert item.state == "refused"
    async with db.session() as session:
        assert [f.state for f in await follows.following_list(session)] == ["pending"]


async def test_locked_actor_keeps_follows_pending_until_accepted(
    inbox, wired, db, peer, settings, clock
):
    async with db.session() as session:
        (await keys.get_local_actor(session, "sante")).locked = True
    follow = activity(peer, "Follow", "https://maillage.test/actors/sante")
    item = await deliver(inbox, wired, peer, follow)
    assert item.state == "done" and "attente" in item.reason
    assert peer.of_type("Accept") == []
    async with db.session() as session:
        await decide_follower(session, settings, "sante", peer.actor, accept=True)
    clock.advance(seconds=5)  # the worker's clock was frozen before the decision
    await wired.run_until_idle()
    (accept,) = peer.of_type("Accept")
    assert accept["object"]["id"] == follow["id"]
    async with db.session() as session:
        assert [f.state for f in await follows.followers_of(session, "sante", state=None)] == [
            "accepted"
        ]


@pytest.mark.parametrize(
    ("language", "words"),
    [("en", "the key belongs to"), ("fr", "la clé appartient à"), ("", "la clé appartient à")],
)
async def test_refusal_follows_accept_language(inbox, db, peer, language, words):
    claimed = activity(peer, "Create", page("https://peer.test/initiatives/a"))
    claimed["actor"] = "https://peer.test/users/bob"
    body, headers = peer.signed_post(INBOX, claimed)
    if language:
        headers["Accept-Language"] = language
    response = await post(inbox, body, headers)
    assert response.status_code == 401
    assert response.json()["error"].startswith(words)
    assert response.headers["Content-Language"] == (language or "fr")
    # The record the admins read stays in French, whatever the peer asked for.
    assert "pas à l'acteur" in (await items(db))[0].reason
