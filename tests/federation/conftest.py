"""Several Maillage instances in one process: each its own database, app and worker, all
talking through httpx mounted over their ASGI apps (no sockets).

`network` gives a `Network` of three instances: a commune, its région and a national
directory, each on the backend the session is parametrized with.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest

from directory.db import Database
from federation.http import HttpxClient
from federation.worker import Worker, run_all_until_idle
from tests.conftest import _drop_postgres_database, _empty, _postgres_database
from tests.federation.peers import Clock, Peer
from web.app import create_app
from web.migrate import upgrade
from web.settings import Settings

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


@dataclass
class Instance:
    name: str
    settings: Settings
    db: Database
    app: object
    worker: Worker | None = None
    client: httpx.AsyncClient | None = None

    @property
    def base(self) -> str:
        return self.settings.base_url

    @property
    def host(self) -> str:
        return self.settings.host


@dataclass
class Network:
    instances: dict[str, Instance] = field(default_factory=dict)
    http: HttpxClient | None = None

    def __getitem__(self, name: str) -> Instance:
        return self.instances[name]

    async def settle(self) -> int:
        """Run every worker until nobody has anything left to do."""
        return await run_all_until_idle([i.worker for i in self.instances.values()])


def instance_settings(name: str, url: str, tmp_path: Path) -> Settings:
    return Settings(
        data_dir=tmp_path / name,
        database_url=url,
        base_url=f"https://{name}.test",
        secret_key=f"secret-{name}",
        territory_name=name.capitalize(),
        territory_kind="commune",
        territory_username=name,
        allow_private_addresses=True,
    )


@pytest.fixture
async def network(instance_urls: dict[str, str], tmp_path: Path) -> AsyncIterator[Network]:
    """Three fresh instances wired to each other through ASGI mounts."""
    net = Network()
    for name, url in instance_urls.items():
        db = Database(url)
        await _empty(db)
        settings = instance_settings(name, url, tmp_path)
        net.instances[name] = Instance(name, settings, db, create_app(settings, database=db))
    mounts = {i.base: i.app for i in net.instances.values()}
    net.http = HttpxClient(mounts)
    for instance in net.instances.values():
        instance.app.state.http = net.http
        instance.worker = Worker(instance.settings, instance.db, net.http)
        instance.client = httpx.AsyncClient(
            transport=httpx.ASGITransport(app=instance.app), base_url=instance.base
        )
    try:
        yield net
    finally:
        for instance in net.instances.values():
            await instance.client.aclose()
            await instance.db.dispose()
        await net.http.close()


# --- Keys: a pool made once per session (RSA-2048 generation costs ~0.1 s per actor, and
# each instance has 16 actors). Tests that need a stranger's key take one of their own.

KEY_POOL_SIZE = 6


@pytest.fixture(scope="session")
def key_pool() -> list[tuple[str, str]]:
    from federation.keys import generate_key_pair

    return [generate_key_pair() for _ in range(KEY_POOL_SIZE)]


@pytest.fixture(autouse=True)
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
async def wired(app, settings: Settings, db: Database, peer, clock) -> AsyncIterator[Worker]:
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
