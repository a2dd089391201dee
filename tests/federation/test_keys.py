"""Our actors: created lazily and once, each with its own RSA-2048 key."""

from __future__ import annotations

import pytest
from cryptography.hazmat.primitives.serialization import load_pem_public_key

from federation.keys import (
    ActorNameClash,
    ensure_actors,
    get_or_create_actor,
    local_actors,
    signing_key,
)
from federation.signatures import PublicKey, sign_request, verify_request


async def test_ensure_actors_creates_instance_territory_and_one_per_core_theme(session, settings):
    actors = await ensure_actors(session, settings)

    assert [(a.name, a.kind, a.ap_type) for a in actors[:2]] == [
        ("instance", "instance", "Application"),
        ("loire-atlantique", "territory", "Group"),
    ]
    themes = [a for a in actors if a.kind == "theme"]
    assert len(themes) == 14 and all(a.theme_id for a in themes)
    assert len({a.public_key_pem for a in actors}) == len(actors)
    assert load_pem_public_key(actors[0].public_key_pem.encode()).key_size == 2048


async def test_ensure_actors_is_idempotent(session, settings):
    first = await ensure_actors(session, settings)
    second = await ensure_actors(session, settings)
    assert [(a.id, a.public_key_pem) for a in first] == [(a.id, a.public_key_pem) for a in second]


async def test_actors_are_created_one_at_a_time_on_demand(session, settings):
    territory = await get_or_create_actor(session, settings, "loire-atlantique")
    assert [a.name for a in await local_actors(session)] == ["loire-atlantique"]
    assert await get_or_create_actor(session, settings, "loire-atlantique") is not None
    assert (await get_or_create_actor(session, settings, "loire-atlantique")).id == territory.id
    assert await get_or_create_actor(session, settings, "personne") is None


@pytest.mark.parametrize("name", ["instance", "alimentation"])
async def test_territory_name_clash_is_refused(session, settings, name):
    with pytest.raises(ActorNameClash):
        await ensure_actors(session, settings.with_(territory_username=name))


async def test_signing_key_signs_as_the_actor(session, settings, urls):
    actor = await get_or_create_actor(session, settings, "loire-atlantique")
    secret = signing_key(actor, urls)
    assert secret.key_id == "https://maillage.test/actors/loire-atlantique#main-key"

    async def resolve(key_id: str, refresh: bool) -> PublicKey:
        return PublicKey(key_id, urls.actor(actor.name), actor.public_key_pem)

    headers = sign_request("POST", "https://peer.test/inbox", secret, body=b"{}")
    verified = await verify_request(
        "POST", "/inbox", {k.lower(): v for k, v in headers.items()}, b"{}", resolve
    )
    assert verified.owner == urls.actor("loire-atlantique")
