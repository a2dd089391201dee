"""Remote instances' software, from their NodeInfo: asked on first contact by the worker,
refreshed daily, shown to admins; private addresses refused outside test configuration."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from directory import people
from federation import instances
from federation.fetch import Fetcher, FetchError
from federation.flow_models import RemoteInstance
from federation.http import HttpxClient
from federation.nodeinfo import fetch_software
from federation.worker import Worker
from tests.federation.test_scenario import _follow

SCHEMA = "http://nodeinfo.diaspora.software/ns/schema/"


@dataclass
class NodeInfoPeer:
    """`https://{host}`: a NodeInfo index and the documents it links, or down."""

    host: str
    software: dict[str, Any] = field(
        default_factory=lambda: {"name": "mastodon", "version": "4.3.1"}
    )
    versions: tuple[str, ...] = ("2.0",)
    href_host: str = ""
    up: bool = True
    requests: list[str] = field(default_factory=list)

    def app(self) -> Starlette:
        async def index(request: Request) -> Response:
            self.requests.append(request.url.path)
            if not self.up:
                return Response(status_code=503)
            host = self.href_host or self.host
            links = [
                {"rel": f"{SCHEMA}{v}", "href": f"https://{host}/nodeinfo/{v}"}
                for v in self.versions
            ]
            return JSONResponse({"links": links})

        async def document(request: Request) -> Response:
            self.requests.append(request.url.path)
            version = request.path_params["version"]
            return JSONResponse({"version": version, "software": {**self.software}})

        return Starlette(
            routes=[
                Route("/.well-known/nodeinfo", index),
                Route("/nodeinfo/{version}", document),
            ]
        )


@pytest.fixture
def mastodon() -> NodeInfoPeer:
    return NodeInfoPeer("mastodon.test")


@pytest.fixture
async def worker(app, settings, db, clock, mastodon, pooled_actor_keys) -> AsyncIterator[Worker]:
    http = HttpxClient({settings.base_url: app, f"https://{mastodon.host}": mastodon.app()})
    app.state.http = http
    worker = Worker(settings, db, http, clock=clock)
    try:
        yield worker
    finally:
        await http.close()


async def instance(db, host: str = "mastodon.test") -> RemoteInstance:
    async with db.session() as session:
        return await instances.get_or_create_instance(session, host)


async def test_software_is_recorded_on_first_contact(worker, db, mastodon):
    # Given an instance we just met
    await instance(db)

    # When the worker runs
    await worker.run_until_idle()

    # Then its software and version are known
    row = await instance(db)
    assert (row.software, row.software_version) == ("mastodon", "4.3.1")
    assert row.software_checked_at is not None
    assert mastodon.requests == ["/.well-known/nodeinfo", "/nodeinfo/2.0"]


async def test_software_is_refreshed_now_and_then(worker, db, mastodon, clock):
    await instance(db)
    await worker.run_until_idle()
    mastodon.software["version"] = "4.4.0"

    clock.advance(hours=2)
    await worker.run_until_idle()
    assert (await instance(db)).software_version == "4.3.1"  # not asked again so soon

    clock.advance(days=1)
    await worker.run_until_idle()
    assert (await instance(db)).software_version == "4.4.0"
    assert len(mastodon.requests) == 4


async def test_nodeinfo_2_1_is_preferred(worker, db, mastodon):
    mastodon.versions = ("2.0", "2.1")
    await instance(db)
    await worker.run_until_idle()
    assert mastodon.requests == ["/.well-known/nodeinfo", "/nodeinfo/2.1"]


async def test_a_peer_that_does_not_answer_keeps_what_we_knew(worker, db, mastodon, clock):
    await instance(db)
    await worker.run_until_idle()
    mastodon.up = False

    clock.advance(days=2)
    await worker.run_until_idle()

    row = await instance(db)
    assert (row.software, row.software_version) == ("mastodon", "4.3.1")
    assert mastodon.requests[-1] == "/.well-known/nodeinfo"


@pytest.mark.parametrize(
    ("change", "words"),
    [
        ({"href_host": "elsewhere.test"}, "another host"),
        ({"versions": ("1.0",)}, "no 2.1 or 2.0"),
        ({"software": {"name": "<script>", "version": "1"}}, "unusable"),
        ({"software": {"version": "1"}}, "unusable"),
    ],
)
async def test_unusable_nodeinfo_is_refused_with_a_reason(worker, mastodon, change, words):
    for key, value in change.items():
        setattr(mastodon, key, value)
    with pytest.raises(FetchError, match=words):
        await fetch_software(await worker.fetcher(), mastodon.host)


async def test_blocked_instances_are_not_asked(worker, db, mastodon):
    await instance(db)
    async with db.session() as session:
        await instances.block_domain(session, "mastodon.test")
    await worker.run_until_idle()
    assert mastodon.requests == []


async def test_private_addresses_are_refused_outside_test_configuration(
    settings, mastodon, key_pool
):
    # Given production settings, and a name that resolves to a private address
    production = settings.with_(allow_private_addresses=False)

    async def resolve(host: str) -> list[str]:
        return ["10.0.0.7"]

    client = HttpxClient({f"https://{mastodon.host}": mastodon.app()})
    fetcher = Fetcher(client, production, None, resolve=resolve)
    try:
        with pytest.raises(FetchError, match="non-public address"):
            await fetch_software(fetcher, mastodon.host)
        with pytest.raises(FetchError, match="loopback"):
            await fetch_software(fetcher, "localhost:8000")
    finally:
        await client.close()
    assert mastodon.requests == []


async def test_maillage_instances_identify_each_other(network):
    commune, region = network["commune"], network["region"]
    await _follow(region, commune)
    await network.settle()
    async with region.db.session() as session:
        row = await instances.get_or_create_instance(session, commune.host)
    assert row.software == "maillage" and row.software_version


async def test_admins_see_the_software(worker, db, client, mastodon):
    await instance(db)
    await worker.run_until_idle()
    async with db.session() as session:
        person = await people.create_person(
            session, email="admin@example.org", password="mot-de-passe-long", role="admin"
        )
        token = await people.issue_token(session, person)

    listed = await client.get(
        "/api/v1/federation/instances", headers={"Authorization": f"Bearer {token}"}
    )

    (item,) = listed.json()["items"]
    assert (item["software"], item["software_version"]) == ("mastodon", "4.3.1")
    assert item["software_checked_at"]
