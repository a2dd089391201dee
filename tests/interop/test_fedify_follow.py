"""Fedify follows our territory actor with a signed Follow: we verify it, accept it, and the
Create{Page} we publish next reaches it, signed in a way Fedify verifies."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
from pathlib import Path

import pytest

from directory import initiatives
from directory.initiatives import Author
from federation import follows
from federation.http import AiohttpClient
from federation.worker import Worker
from tests.federation.conftest import REPAIR_CAFE

pytestmark = pytest.mark.interop
ROOT = Path(__file__).resolve().parents[2]


async def test_fedify_follows_us_and_receives_accept_and_create(tls_instance, node, certificate):
    settings, db = tls_instance.settings, tls_instance.db
    worker = Worker(settings, db, AiohttpClient(allow_private_addresses=True))
    await worker.fetcher()  # our actors exist before Fedify looks them up
    process = await asyncio.create_subprocess_exec(
        node,
        str(ROOT / "tests" / "interop" / "peer.mjs"),
        "follow",
        f"acct:{settings.territory_username}@{settings.host}",
        "40",
        "--signed",
        cwd=ROOT,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        env={**os.environ, "NODE_EXTRA_CA_CERTS": str(certificate.cert)},
    )
    try:
        first = json.loads(await asyncio.wait_for(process.stdout.readline(), 60))
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
        result = json.loads((await process.stdout.read()).decode().strip().splitlines()[-1])
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
