"""Announce of an object embedded with a FEP-8b32 proof (eddsa-jcs-2022): stored without
asking its origin when the proof verifies with a key of the object's origin actor; a forged
or foreign proof is never stored as-is, the origin is asked instead."""

from __future__ import annotations

import hashlib
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import httpx
import jcs
import orjson
import pytest
from bovine.crypto.multibase import encode_public_key_to_multibase, multibase_58btc_encode
from cryptography.hazmat.primitives.asymmetric import ed25519
from sqlalchemy import func, select
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from directory import initiatives
from directory.models import Initiative
from federation import inbox_store, instances, keys
from federation.http import HttpxClient
from federation.parse import parse_actor
from federation.proofs import ProofError, verify_with
from federation.remote import store_remote_actor
from federation.worker import Worker

INBOX = "https://maillage.test/inbox"
AS = "application/activity+json"
CONTEXT = ["https://www.w3.org/ns/activitystreams", "https://w3id.org/security/data-integrity/v1"]


def sign(document: dict[str, Any], key: ed25519.Ed25519PrivateKey, method: str) -> dict:
    """The test's own eddsa-jcs-2022 signer (independent of the code under test)."""
    proof = {
        "@context": document["@context"],
        "type": "DataIntegrityProof",
        "cryptosuite": "eddsa-jcs-2022",
        "proofPurpose": "assertionMethod",
        "verificationMethod": method,
        "created": "2026-11-27T09:00:00.123456789Z",
    }
    data = hashlib.sha256(jcs.canonicalize(proof)).digest()
    data += hashlib.sha256(jcs.canonicalize(document)).digest()
    proof["proofValue"] = multibase_58btc_encode(key.sign(data))
    return {**document, "proof": proof}


def page(name: str = "Jardin partagé", host: str = "origin.test") -> dict[str, Any]:
    return {
        "@context": CONTEXT,
        "id": f"https://{host}/initiatives/jardin",
        "type": "Page",
        "name": name,
        "content": "<p>Un jardin pour tous</p>",
        "attributedTo": f"https://{host}/actors/commune",
    }


@dataclass
class Origin:
    """`https://{host}`: a territory actor with an Ed25519 assertion key, up or down."""

    host: str
    rsa_public: str
    key: ed25519.Ed25519PrivateKey = field(default_factory=ed25519.Ed25519PrivateKey.generate)
    up: bool = False
    requests: list[str] = field(default_factory=list)
    served: dict[str, Any] = field(default_factory=dict)

    @property
    def actor(self) -> str:
        return f"https://{self.host}/actors/commune"

    @property
    def method(self) -> str:
        return f"{self.actor}#ed25519-key"

    def actor_document(self) -> dict[str, Any]:
        return {
            "id": self.actor,
            "type": "Group",
            "inbox": f"{self.actor}/inbox",
            "publicKey": {
                "id": f"{self.actor}#main-key",
                "owner": self.actor,
                "publicKeyPem": self.rsa_public,
            },
            "assertionMethod": [
                {
                    "id": self.method,
                    "type": "Multikey",
                    "controller": self.actor,
                    "publicKeyMultibase": encode_public_key_to_multibase(self.key.public_key()),
                }
            ],
        }

    def app(self) -> Starlette:
        async def anything(request: Request) -> Response:
            self.requests.append(request.url.path)
            url = str(request.url)
            if not self.up:
                return Response(status_code=503)
            if url == self.actor:
                return Response(orjson.dumps(self.actor_document()), media_type=AS)
            if url in self.served:
                return Response(orjson.dumps(self.served[url]), media_type=AS)
            return Response(status_code=404)

        return Starlette(routes=[Route("/{path:path}", anything)])


@pytest.fixture
def origin(key_pool) -> Origin:
    return Origin("origin.test", key_pool[1][0])


@pytest.fixture
def stranger(key_pool) -> Origin:
    return Origin("evil.test", key_pool[2][0])


@pytest.fixture
async def worker(
    app, settings, db, peer, clock, origin, stranger, pooled_actor_keys
) -> AsyncIterator[Worker]:
    """Our app, the announcing peer, the origin (down unless told) and a stranger host;
    the origin's and the stranger's actors are in our cache, as after an earlier contact."""
    http = HttpxClient(
        {
            settings.base_url: app,
            peer.base: peer.app(),
            f"https://{origin.host}": origin.app(),
            f"https://{stranger.host}": stranger.app(),
        }
    )
    app.state.http = http
    worker = Worker(settings, db, http, clock=clock)
    await worker.fetcher()
    async with db.session() as session:
        for actor in await keys.local_actors(session):
            peer.known_keys[f"{settings.base_url}/actors/{actor.name}#main-key"] = (
                actor.public_key_pem
            )
        for known in (origin, stranger):
            document = known.actor_document()
            await store_remote_actor(session, parse_actor(document), document)
        await instances.set_trust(session, peer.host, "publish")
    try:
        yield worker
    finally:
        await http.close()


async def announce(app, worker, peer, obj: dict[str, Any], n: int = 1):
    activity = {
        "@context": "https://www.w3.org/ns/activitystreams",
        "id": f"{peer.actor}/announces/{n}",
        "type": "Announce",
        "actor": peer.actor,
        "object": obj,
    }
    body, headers = peer.signed_post(INBOX, activity)
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="https://maillage.test"
    ) as client:
        response = await client.post("/inbox", content=body, headers=headers)
    assert response.status_code == 202, response.text
    await worker.run_once()
    async with worker.db.session() as session:
        return (await inbox_store.list_items(session, limit=1))[0]


async def stored_names(db) -> list[str]:
    async with db.session() as session:
        return list(await session.scalars(select(Initiative.name)))


async def test_valid_proof_is_stored_without_asking_the_origin(app, worker, db, peer, origin):
    # Given a page signed by its origin actor's assertion key, and the origin down
    signed = sign(page(), origin.key, origin.method)

    item = await announce(app, worker, peer, signed)

    assert item.state == "done", item.reason
    assert "preuve FEP-8b32 vérifiée" in item.reason
    assert origin.requests == []
    async with db.session() as session:
        stored = await initiatives.get_by_uri(session, "https://origin.test/initiatives/jardin")
    assert stored.name == "Jardin partagé" and stored.origin == "origin.test"
    assert stored.via == ["origin.test", "peer.test"]


async def test_forged_proof_is_not_stored_while_the_origin_is_down(app, worker, db, peer, origin):
    forged = sign(page(), origin.key, origin.method) | {"name": "Arnaque"}

    item = await announce(app, worker, peer, forged)

    assert item.state == "pending" and "503" in item.reason, item.reason
    assert origin.requests  # the origin was asked, since the proof was refused
    assert await stored_names(db) == []


async def test_forged_proof_falls_back_to_what_the_origin_says(app, worker, db, peer, origin):
    origin.up = True
    origin.served["https://origin.test/initiatives/jardin"] = page()
    forged = sign(page(), origin.key, origin.method) | {"name": "Arnaque"}

    item = await announce(app, worker, peer, forged)

    assert item.state == "done", item.reason
    assert "preuve refusée" in item.reason and "signature invalide" in item.reason
    assert await stored_names(db) == ["Jardin partagé"]


async def test_proof_by_a_key_of_another_host_is_refused(app, worker, db, peer, origin, stranger):
    # The stranger signs a page "of" origin.test with its own (cached, valid) key
    forged = sign(page(name="Arnaque"), stranger.key, stranger.method)

    item = await announce(app, worker, peer, forged)

    assert item.state == "pending", item.reason  # waits for the origin, which is down
    assert origin.requests == ["/initiatives/jardin"]
    assert await stored_names(db) == []


async def test_proof_by_another_key_of_no_assertion_is_refused(app, worker, db, peer, origin):
    # Signed with a key the origin actor does not list (refetched once: still not listed)
    origin.up = True
    origin.served["https://origin.test/initiatives/jardin"] = page()
    other = ed25519.Ed25519PrivateKey.generate()
    forged = sign(page(name="Arnaque"), other, f"{origin.actor}#other-key")

    item = await announce(app, worker, peer, forged)

    assert item.state == "done" and "n'est pas une clé d'assertion" in item.reason
    assert await stored_names(db) == ["Jardin partagé"]


def _variant(signed: dict[str, Any], name: str) -> dict[str, Any]:
    proof = signed["proof"]
    return {
        "suite": {**signed, "proof": {**proof, "cryptosuite": "eddsa-rdfc-2022"}},
        "type": {**signed, "proof": {**proof, "type": "Ed25519Signature2020"}},
        "context": {**signed, "@context": ["https://www.w3.org/ns/activitystreams"]},
        "purpose": {**signed, "proof": {**proof, "proofPurpose": "authentication"}},
        "value": {**signed, "proof": {**proof, "proofValue": "not-base58"}},
        "created": {**signed, "proof": {**proof, "created": "2026-11-27T09:00:00Z"}},
    }[name]


@pytest.mark.parametrize("name", ["suite", "type", "context", "purpose", "value", "created"])
def test_proof_checks_refuse_altered_proofs(name):
    key = ed25519.Ed25519PrivateKey.generate()
    multikey = encode_public_key_to_multibase(key.public_key())
    signed = sign(page(), key, "https://origin.test/actors/commune#k")
    verify_with(signed, multikey)  # the reference case verifies

    with pytest.raises(ProofError):
        verify_with(_variant(signed, name), multikey)


async def test_announce_without_proof_still_fetches_from_the_origin(app, worker, db, peer, origin):
    origin.up = True
    origin.served["https://origin.test/initiatives/jardin"] = page()

    item = await announce(app, worker, peer, "https://origin.test/initiatives/jardin")

    assert item.state == "done", item.reason
    assert origin.requests == ["/initiatives/jardin"]
    async with db.session() as session:
        assert await session.scalar(select(func.count()).select_from(Initiative)) == 1


async def test_a_newer_signed_version_updates_without_asking_the_origin(
    app, worker, db, peer, origin
):
    await announce(app, worker, peer, sign(page(), origin.key, origin.method))
    newer = page(name="Jardin partagé (agrandi)") | {"updated": "2999-01-01T00:00:00Z"}

    item = await announce(app, worker, peer, sign(newer, origin.key, origin.method), n=2)

    assert item.state == "done" and "preuve FEP-8b32 vérifiée" in item.reason, item.reason
    assert origin.requests == []
    assert await stored_names(db) == ["Jardin partagé (agrandi)"]


async def test_a_replayed_older_signed_version_is_not_stored(app, worker, db, peer, origin):
    # Given the current version stored, and an old one the origin really signed
    old = sign(
        page(name="Ancien nom") | {"updated": "2020-01-01T00:00:00Z"}, origin.key, origin.method
    )
    await announce(app, worker, peer, sign(page(), origin.key, origin.method))

    # When someone announces the old signed copy again (the origin is down)
    item = await announce(app, worker, peer, old, n=2)

    # Then it is not taken as-is: the origin is asked, nothing rolls back
    assert item.state == "pending", item.reason
    assert origin.requests == ["/initiatives/jardin"]
    assert await stored_names(db) == ["Jardin partagé"]
