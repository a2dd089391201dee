"""Helpers of the federation tests: a recording peer (an ASGI app with an actor and an
inbox that verifies our signatures, answering 500 until told to recover...), a clock
tests move forward, and networks of Maillage instances (in process, or on loopback)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import orjson
from bovine.crypto.types import CryptographicSecret
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from directory.db import Database
from federation.http import AiohttpClient, HttpxClient
from federation.signatures import PublicKey, SignatureError, sign_request, verify_request
from federation.worker import Worker, run_all_until_idle
from tests.conftest import _empty
from tests.loopback import bind_loopback, serve
from web.app import create_app
from web.settings import Settings

AS = "application/activity+json"


@dataclass
class Peer:
    """`https://{host}`: one actor `alice`, a shared inbox, recorded deliveries."""

    host: str
    public_pem: str
    private_pem: str
    # Our instance's keys, to verify what it sends: key id -> PEM.
    known_keys: dict[str, str] = field(default_factory=dict)
    answers: list[int] = field(default_factory=list)  # next statuses to give; then 202
    received: list[dict[str, Any]] = field(default_factory=list)
    attempts: int = 0
    retry_after: str | None = None
    # More documents served by GET at their path (collections, objects), and what the
    # actor document adds (e.g. an `initiatives` collection).
    documents: dict[str, dict[str, Any]] = field(default_factory=dict)
    actor_extra: dict[str, Any] = field(default_factory=dict)

    @property
    def base(self) -> str:
        return f"https://{self.host}"

    @property
    def actor(self) -> str:
        return f"{self.base}/users/alice"

    @property
    def key_id(self) -> str:
        return f"{self.actor}#main-key"

    @property
    def inbox(self) -> str:
        return f"{self.base}/inbox"

    def secret(self) -> CryptographicSecret:
        return CryptographicSecret.from_pem(self.key_id, self.private_pem)

    def actor_document(self) -> dict[str, Any]:
        return {
            "@context": ["https://www.w3.org/ns/activitystreams", "https://w3id.org/security/v1"],
            "id": self.actor,
            "type": "Person",
            "preferredUsername": "alice",
            "inbox": f"{self.actor}/inbox",
            "outbox": f"{self.actor}/outbox",
            "followers": f"{self.actor}/followers",
            "endpoints": {"sharedInbox": self.inbox},
            "publicKey": {"id": self.key_id, "owner": self.actor, "publicKeyPem": self.public_pem},
            **self.actor_extra,
        }

    def signed_post(
        self,
        url: str,
        activity: dict[str, Any],
        *,
        key: CryptographicSecret | None = None,
        date: datetime | None = None,
    ) -> tuple[bytes, dict[str, str]]:
        """Body and headers of a POST signed as alice (or with another key)."""
        body = orjson.dumps(activity)
        stamp = (date or datetime.now(UTC)).strftime("%a, %d %b %Y %H:%M:%S GMT")
        headers = sign_request("POST", url, key or self.secret(), body=body, date=stamp)
        headers["Content-Type"] = AS
        return body, headers

    def app(self) -> Starlette:
        async def actor(request: Request) -> Response:
            return Response(orjson.dumps(self.actor_document()), media_type=AS)

        async def inbox(request: Request) -> Response:
            body = await request.body()
            self.attempts += 1

            async def resolve(key_id: str, refresh: bool) -> PublicKey | None:
                pem = self.known_keys.get(key_id)
                owner = key_id.split("#", 1)[0]
                return PublicKey(key_id, owner, pem) if pem else None

            try:
                await verify_request("POST", request.url.path, request.headers, body, resolve)
            except SignatureError as exc:
                return JSONResponse({"error": exc.reason}, status_code=401)
            if self.answers:
                status = self.answers.pop(0)
                headers = {"Retry-After": self.retry_after} if self.retry_after else {}
                return Response(status_code=status, headers=headers)
            self.received.append(orjson.loads(body))
            return Response(status_code=202)

        async def document(request: Request) -> Response:
            found = self.documents.get(
                request.url.path + (f"?{request.url.query}" if request.url.query else "")
            )
            if found is None:
                return Response(status_code=404)
            return Response(orjson.dumps(found), media_type=AS)

        return Starlette(
            routes=[
                Route("/users/alice", actor),
                Route("/inbox", inbox, methods=["POST"]),
                Route("/users/alice/inbox", inbox, methods=["POST"]),
                Route("/{path:path}", document),
            ]
        )

    def of_type(self, kind: str) -> list[dict[str, Any]]:
        return [a for a in self.received if a.get("type") == kind]


class Clock:
    """A clock tests move forward instead of sleeping."""

    def __init__(self) -> None:
        self.now = datetime.now(UTC)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


@dataclass
class Instance:
    name: str
    settings: Settings
    db: Database
    app: object
    worker: Worker | None = None

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


@asynccontextmanager
async def in_process_network(urls: dict[str, str], tmp_path: Path) -> AsyncIterator[Network]:
    """Instances named after `urls`' keys, at https://{name}.test, talking over ASGI."""
    net = Network()
    for name, url in urls.items():
        db = Database(url)
        await _empty(db)
        settings = instance_settings(name, url, tmp_path)
        net.instances[name] = Instance(name, settings, db, create_app(settings, database=db))
    net.http = HttpxClient({i.base: i.app for i in net.instances.values()})
    for instance in net.instances.values():
        instance.app.state.http = net.http
        instance.worker = Worker(instance.settings, instance.db, net.http)
    try:
        yield net
    finally:
        for instance in net.instances.values():
            await instance.db.dispose()
        await net.http.close()


@asynccontextmanager
async def loopback_network(urls: dict[str, str], tmp_path: Path) -> AsyncIterator[Network]:
    """The same instances served by uvicorn on 127.0.0.1 ports, reached with aiohttp."""
    net = Network()
    client = AiohttpClient(allow_private_addresses=True)
    try:
        async with AsyncExitStack() as stack:
            for name, url in urls.items():
                sock = bind_loopback()
                db = Database(url)
                stack.push_async_callback(db.dispose)
                await _empty(db)
                settings = instance_settings(name, url, tmp_path).with_(
                    base_url=f"http://127.0.0.1:{sock.getsockname()[1]}"
                )
                app = create_app(settings, database=db)
                app.state.http = client
                await stack.enter_async_context(serve(app, sock, ws="none"))
                net.instances[name] = Instance(
                    name, settings, db, app, Worker(settings, db, client)
                )
            yield net
    finally:
        await client.close()
