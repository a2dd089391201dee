"""Follows with Fedify, both ways, with and without authorized fetch.

Fedify follows our territory actor with a signed Follow: we verify it (fetching its key
with a signed GET), accept it, and the Create{Page} we publish next reaches it, signed in a
way Fedify verifies. And our territory actor follows Fedify's: Fedify verifies our Follow,
looks us up with a signed GET and answers with a signed Accept we verify. With authorized
fetch on, both sides refuse unsigned reads of their actors.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
from pathlib import Path
from typing import Any

import pytest

from directory import initiatives
from directory.initiatives import Author
from federation import follows
from federation.following import follow
from federation.http import AiohttpClient
from federation.worker import Worker
from tests.federation.conftest import REPAIR_CAFE

pytestmark = pytest.mark.interop
ROOT = Path(__file__).resolve().parents[2]


async def _start_peer(node: str, certificate, *args: str) -> asyncio.subprocess.Process:
    return await asyncio.create_subprocess_exec(
        node,
        str(ROOT / "tests" / "interop" / "peer.mjs"),
        *args,
        cwd=ROOT,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        env={**os.environ, "NODE_EXTRA_CA_CERTS": str(certificate.cert)},
    )


async def _first_line(process: asyncio.subprocess.Process) -> dict[str, Any]:
    line = await asyncio.wait_for(process.stdout.readline(), 60)
    if not line:
        raise AssertionError(f"peer printed nothing: {(await process.stderr.read()).decode()}")
    return json.loads(line)


async def _last_line(process: asyncio.subprocess.Process) -> dict[str, Any]:
    return json.loads((await process.stdout.read()).decode().strip().splitlines()[-1])


def _peer_flags(authorized_fetch: bool) -> list[str]:
    return ["--signed", *(["--authorized-fetch"] if authorized_fetch else [])]


def _assert_reads_of_our_territory_actor(instance, authorized_fetch: bool) -> None:
    """Fedify read our territory actor, never getting a 500. With authorized fetch on, its
    signed GETs are verified: its RFC 9421 knock gets a 401 (bovine's verifier would raise
    on those headers), then its draft-cavage retry a 200."""
    seen = instance.log.to(f"/actors/{instance.settings.territory_username}")
    assert seen, "Fedify never fetched our territory actor"
    assert all(r.status in (200, 401) for r in seen), seen
    if authorized_fetch:
        assert ("draft-cavage", 200) in {(r.signature, r.status) for r in seen}, seen
        assert all(r.status == 401 for r in seen if r.signature == "rfc9421"), seen


@pytest.mark.parametrize("authorized_fetch", [False, True], ids=["open", "authorized-fetch"])
async def test_fedify_follows_us_and_receives_accept_and_create(
    serve_tls, node, certificate, authorized_fetch
):
    instance = await serve_tls(authorized_fetch=authorized_fetch)
    settings, db = instance.settings, instance.db
    worker = Worker(settings, db, AiohttpClient(allow_private_addresses=True))
    await worker.fetcher()  # our actors exist before Fedify looks them up
    process = await _start_peer(
        node,
        certificate,
        "follow",
        f"acct:{settings.territory_username}@{settings.host}",
        "40",
        *_peer_flags(authorized_fetch),
    )
    try:
        first = await _first_line(process)
        assert first == {"event": "followed", "status": 202, "actor": first["actor"]}
        published = False
        # Drive our worker while the peer waits for our answers (it exits once it has them).
        while process.returncode is None:
            await worker.run_once()
            async with db.session() as session:
                followers = await follows.followers_of(session, settings.territory_username)
            if followers and not published:
                async with db.session() as session:
                    await initiatives.create_initiative(
                        session,
                        REPAIR_CAFE,
                        author=Author(None, "test"),
                        moderation_state="published",
                    )
                published = True
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(process.wait(), 0.2)
        result = await _last_line(process)
    finally:
        if process.returncode is None:
            process.kill()
        await worker.client.close()
    assert result["ok"], result.get("error")
    territory = f"{settings.base_url}/actors/{settings.territory_username}"
    assert result["complete"], result
    assert followers[0].remote_actor_uri == first["actor"]
    assert result["accept"]["actor"] == territory
    assert result["create"]["actor"] == territory
    page = result["create"]["object"]
    assert page["isPage"] and page["name"] == REPAIR_CAFE["name"]
    assert page["id"] == f"{settings.base_url}/initiatives/repair-cafe-de-reze"
    # Every activity we sent carried a signature Fedify verified as our territory actor's
    assert set(result["signers"]) == {territory}
    _assert_reads_of_our_territory_actor(instance, authorized_fetch)
    if authorized_fetch:
        # We fetched Fedify's key with GETs it verified as signed by our instance actor
        instance_actor = f"{settings.base_url}/actors/instance"
        assert result["actorFetches"], "we never fetched the peer's key"
        assert {f["signer"] for f in result["actorFetches"]} == {instance_actor}


@pytest.mark.parametrize("authorized_fetch", [False, True], ids=["open", "authorized-fetch"])
async def test_we_follow_fedify_and_it_accepts(serve_tls, node, certificate, authorized_fetch):
    instance = await serve_tls(authorized_fetch=authorized_fetch)
    settings, db = instance.settings, instance.db
    worker = Worker(settings, db, AiohttpClient(allow_private_addresses=True))
    fetcher = await worker.fetcher()
    process = await _start_peer(
        node, certificate, "accept-follow", "40", *_peer_flags(authorized_fetch)
    )
    try:
        ready = await _first_line(process)
        assert ready["event"] == "ready", ready
        # When our territory actor follows the peer's actor
        async with db.session() as session:
            await follow(session, settings, fetcher, ready["actor"])
        following = None
        for _ in range(600):  # at most ~2 minutes
            await worker.run_once()
            async with db.session() as session:
                following = await follows.get_following(session, ready["actor"])
            if process.returncode is not None and following.state != "pending":
                break
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(process.wait(), 0.2)
        result = await _last_line(process)
    finally:
        if process.returncode is None:
            process.kill()
        await worker.client.close()
    # Then Fedify verified our Follow and accepted it, and we verified its Accept
    assert result["ok"], result.get("error")
    territory = f"{settings.base_url}/actors/{settings.territory_username}"
    assert result["follow"] == {
        "id": following.follow_activity_id,
        "actor": territory,
        "object": ready["actor"],
    }
    assert result["followSigner"] == territory
    assert result["follower"]["inbox"] == f"{territory}/inbox"
    assert result["acceptStatus"] == 202
    assert following.state == "accepted"
    # Fedify looked us up with a signed GET (knocking with RFC 9421 first)
    _assert_reads_of_our_territory_actor(instance, authorized_fetch)
    if authorized_fetch:
        # Our reads of its actor were signed by our instance actor, and verified by Fedify
        fetches = result["actorFetches"]
        assert fetches and {f["signer"] for f in fetches} == {
            f"{settings.base_url}/actors/instance"
        }
