"""The remote actor cache and the key resolver: what is believed, and when it is refetched."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta

import orjson
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from federation.fetch import Fetcher, FetchError
from federation.http import HttpxClient
from federation.remote import (
    ACTOR_TTL,
    fetch_actor,
    get_remote_actor,
    key_resolver,
    resolve_key,
)
from federation.signatures import SignatureError, sign_request, verify_request

ALICE = "https://peer.test/users/alice"


class Peer:
    """A peer whose documents a test can change between fetches."""

    def __init__(self, public_pem: str) -> None:
        self.public_pem = public_pem
        self.requests: list[str] = []
        self.gone = False
        self.extra: dict[str, dict] = {}

    def actor(self) -> dict:
        return {
            "id": ALICE,
            "type": "Person",
            "preferredUsername": "alice",
            "inbox": f"{ALICE}/inbox",
            "endpoints": {"sharedInbox": "https://peer.test/inbox"},
            "publicKey": {
                "id": f"{ALICE}#main-key",
                "owner": ALICE,
                "publicKeyPem": self.public_pem,
            },
        }

    def app(self) -> Starlette:
        async def serve(request: Request) -> Response:
            self.requests.append(request.url.path)
            if request.url.path == "/users/alice":
                if self.gone:
                    return Response(status_code=410)
                body = self.actor()
            elif request.url.path in self.extra:
                body = self.extra[request.url.path]
            else:
                return Response(status_code=404)
            return Response(orjson.dumps(body), media_type="application/activity+json")

        return Starlette(routes=[Route("/{path:path}", serve)])


@pytest.fixture
def peer(key_pairs) -> Peer:
    return Peer(key_pairs[0][0])


@pytest.fixture
async def fetcher(peer, settings) -> AsyncIterator[Fetcher]:
    client = HttpxClient({"https://peer.test": peer.app()})
    yield Fetcher(client, settings, None)
    await client.close()


async def test_actor_is_fetched_once_then_served_from_the_cache(session, fetcher, peer):
    first = await fetch_actor(session, fetcher, ALICE)
    second = await fetch_actor(session, fetcher, ALICE)

    assert first.id == second.id and peer.requests == ["/users/alice"]
    assert (first.inbox, first.shared_inbox, first.delivery_inbox) == (
        f"{ALICE}/inbox",
        "https://peer.test/inbox",
        "https://peer.test/inbox",
    )
    assert first.public_key_id == f"{ALICE}#main-key" and first.host == "peer.test"


async def test_stale_actor_is_refetched(session, fetcher, peer):
    actor = await fetch_actor(session, fetcher, ALICE)
    actor.fetched_at -= ACTOR_TTL + timedelta(minutes=1)
    await fetch_actor(session, fetcher, ALICE)
    assert peer.requests == ["/users/alice", "/users/alice"]


async def test_refresh_has_a_cooldown(session, fetcher, peer):
    """Forged signatures must not make us refetch an actor on every request."""
    await fetch_actor(session, fetcher, ALICE)
    await fetch_actor(session, fetcher, ALICE, refresh=True)
    assert peer.requests == ["/users/alice"]


async def test_gone_actor_is_marked(session, fetcher, peer):
    actor = await fetch_actor(session, fetcher, ALICE)
    actor.fetched_at -= ACTOR_TTL + timedelta(minutes=1)
    peer.gone = True
    with pytest.raises(FetchError):
        await fetch_actor(session, fetcher, ALICE)
    assert (await get_remote_actor(session, ALICE)).gone


async def test_key_resolves_to_its_owner(session, fetcher, peer):
    key = await resolve_key(session, fetcher, f"{ALICE}#main-key")
    assert (key.owner, key.key_id) == (ALICE, f"{ALICE}#main-key")
    assert key.pem == peer.public_pem
    again = await resolve_key(session, fetcher, f"{ALICE}#main-key")
    assert again == key and peer.requests == ["/users/alice"]


async def test_separate_key_document_is_believed_only_if_the_owner_lists_it(
    session, fetcher, peer, key_pairs
):
    peer.extra["/keys/1"] = {
        "id": "https://peer.test/keys/1",
        "type": "CryptographicKey",
        "owner": ALICE,
        "publicKeyPem": key_pairs[1][0],
    }
    assert await resolve_key(session, fetcher, "https://peer.test/keys/1") is None


async def test_key_claiming_an_owner_elsewhere_is_refused(session, fetcher, peer, key_pairs):
    peer.extra["/keys/2"] = {
        "id": "https://peer.test/keys/2",
        "owner": "https://other.test/users/mallory",
        "publicKeyPem": key_pairs[1][0],
    }
    with pytest.raises(SignatureError, match="no owner on its own origin"):
        await resolve_key(session, fetcher, "https://peer.test/keys/2")


async def test_rotated_key_is_picked_up_on_signature_failure(session, fetcher, peer, key_pairs):
    """The cached key fails, the actor is refetched, the new key verifies."""
    from bovine.crypto.types import CryptographicSecret

    actor = await fetch_actor(session, fetcher, ALICE)
    actor.fetched_at -= timedelta(minutes=5)  # past the refresh cooldown
    peer.public_pem = key_pairs[1][0]  # alice rotated her key
    secret = CryptographicSecret.from_pem(f"{ALICE}#main-key", key_pairs[1][1])
    body = b"{}"
    headers = {
        k.lower(): v
        for k, v in sign_request("POST", "https://maillage.test/inbox", secret, body=body).items()
    }

    verified = await verify_request("POST", "/inbox", headers, body, key_resolver(session, fetcher))

    assert verified.owner == ALICE and peer.requests == ["/users/alice", "/users/alice"]
