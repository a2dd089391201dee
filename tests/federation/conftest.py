"""Fixtures of the federation tests: URLs, key pairs, initiatives, a peer over ASGI."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
from bovine.crypto.types import CryptographicSecret

from directory import initiatives
from directory.db import Database
from directory.initiatives import Author
from directory.models import Initiative, Relation
from federation.http import HttpxClient
from federation.keys import generate_key_pair
from federation.urls import Urls
from federation.worker import Worker
from tests.conftest import _drop_postgres_database, _postgres_database
from tests.federation.peers import Clock, Network, Peer, in_process_network
from web.migrate import upgrade
from web.settings import Settings

FIXTURES = Path(__file__).parent / "fixtures"
ADMIN = Author(None, "test")

REPAIR_CAFE: dict[str, Any] = {
    "name": "Repair café de Rezé",
    "summary": "Réparer ensemble petits appareils et vélos",
    "description": "Chaque **premier samedi**, des bénévoles réparent avec vous.\n\n"
    "Plus d'infos sur [le site](https://repair.example.org).",
    "themes": ["reemploi-reparation", "solidarite-entraide"],
    "actor_kinds": ["association", "collectif-habitants"],
    "needs": ["precarite-energetique", "isolement"],
    "street": "12 rue de la Commune",
    "postal_code": "44400",
    "city": "Rezé",
    "insee_code": "44143",
    "latitude": 47.19,
    "longitude": -1.56,
    "website": "https://repair.example.org",
    "email": "contact@repair.example.org",
    "phone": "02 40 00 00 00",
    "fediverse": "@repair@mastodon.example",
    "social_links": ["https://social.example/repair"],
    "opening_hours": "Sa 10:00-12:00",
    "image_url": "https://repair.example.org/photo.jpg",
    "same_as": ["https://national.example/initiatives/repair-cafe-de-reze"],
}


def fixture_json(name: str) -> dict[str, Any]:
    """A real-world document shape stored under tests/federation/fixtures."""
    return json.loads((FIXTURES / name).read_text())


@pytest.fixture
def urls(settings: Settings) -> Urls:
    return Urls.of(settings)


@pytest.fixture(scope="session")
def key_pairs() -> list[tuple[str, str]]:
    """A few RSA-2048 key pairs (public PEM, private PEM), made once per session."""
    return [generate_key_pair() for _ in range(3)]


@pytest.fixture
def peer_key(key_pairs) -> tuple[str, CryptographicSecret]:
    """A peer actor's key: (public PEM, secret with keyId https://peer.test/users/alice#main-key)."""
    public, private = key_pairs[0]
    return public, CryptographicSecret.from_pem("https://peer.test/users/alice#main-key", private)


@pytest.fixture
def make_initiative(session) -> Callable[..., Any]:
    """Create an initiative (published unless told otherwise) from REPAIR_CAFE plus changes."""

    async def make(state: str = "published", **changes: Any) -> Initiative:
        data = {**REPAIR_CAFE, **changes}
        initiative = await initiatives.create_initiative(
            session,
            data,
            author=ADMIN,
            moderation_state=state,
            proposer_email="proposer-secret@example.org",
        )
        initiative.moderation_note = "note-de-moderation-secrete"
        await session.flush()
        return initiative

    return make


@pytest.fixture
async def repair_cafe(make_initiative, session) -> Initiative:
    """A published initiative with every field filled and one relation."""
    initiative = await make_initiative()
    session.add(
        Relation(
            initiative_id=initiative.id,
            target_uri="https://other.example/initiatives/atelier-velo",
            kind="partner",
        )
    )
    await session.commit()
    return initiative


@pytest.fixture
async def peer_client(app, settings: Settings) -> AsyncIterator[HttpxClient]:
    """An HttpxClient that reaches our app at its base URL (a peer talking to us)."""
    client = HttpxClient({settings.base_url: httpx.ASGITransport(app=app)})
    yield client
    await client.close()


@pytest.fixture
def net_settings(tmp_path: Path) -> Settings:
    """Settings for tests that touch no database (so they run once, not per backend)."""
    return Settings(
        data_dir=tmp_path,
        base_url="https://maillage.test",
        secret_key="test-secret-key-not-for-production",
        territory_username="loire-atlantique",
        allow_private_addresses=True,
    )


# --- Several instances, recording peers (the federation flow tests). ---------------------

NAMES = ("commune", "region", "national")


@pytest.fixture(scope="session")
async def instance_urls(
    database_url: str, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[dict[str, str]]:
    """One migrated database per instance name, on the session's backend."""
    urls: dict[str, str] = {}
    try:
        for name in NAMES:
            if database_url.startswith("sqlite"):
                path = tmp_path_factory.mktemp(f"fed-{name}") / "db.sqlite3"
                urls[name] = f"sqlite+aiosqlite:///{path}"
            else:
                urls[name] = await _postgres_database()
            await upgrade(urls[name])
        yield urls
    finally:
        for url in urls.values():
            if url.startswith("postgresql"):
                await _drop_postgres_database(url)


@pytest.fixture
async def network(
    instance_urls: dict[str, str], tmp_path: Path, pooled_actor_keys: None
) -> AsyncIterator[Network]:
    """Three fresh instances wired to each other through ASGI mounts."""
    async with in_process_network(instance_urls, tmp_path) as net:
        yield net


# --- Keys: a pool made once per session (RSA-2048 generation costs ~0.1 s per actor, and
# each instance has 16 actors). Tests that need a stranger's key take one of their own.

KEY_POOL_SIZE = 6


@pytest.fixture(scope="session")
def key_pool() -> list[tuple[str, str]]:
    from federation.keys import generate_key_pair

    return [generate_key_pair() for _ in range(KEY_POOL_SIZE)]


@pytest.fixture
def pooled_actor_keys(key_pool, monkeypatch: pytest.MonkeyPatch) -> None:
    """Our actors get keys from the pool (distinct per actor within an instance)."""
    import itertools

    from federation import keys

    cycle = itertools.cycle(key_pool)
    monkeypatch.setattr(keys, "generate_key_pair", lambda: next(cycle))


# --- One instance (the `app` fixture) with a recording peer at https://peer.test.


@pytest.fixture
def clock():
    return Clock()


@pytest.fixture
async def peer(key_pool) -> Peer:
    public, private = key_pool[-1]
    return Peer("peer.test", public, private)


@pytest.fixture
async def wired(
    app, settings: Settings, db: Database, peer, clock, pooled_actor_keys: None
) -> AsyncIterator[Worker]:
    """Our app and the peer reach each other; returns our worker (driven by `clock`)."""
    from federation import keys

    http = HttpxClient({settings.base_url: app, peer.base: peer.app()})
    app.state.http = http
    worker = Worker(settings, db, http, clock=clock)
    await worker.fetcher()  # creates our actors
    async with db.session() as session:
        for actor in await keys.local_actors(session):
            peer.known_keys[f"{settings.base_url}/actors/{actor.name}#main-key"] = (
                actor.public_key_pem
            )
    try:
        yield worker
    finally:
        await http.close()
