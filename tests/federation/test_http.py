"""The production HTTP client (aiohttp) on real loopback sockets against uvicorn."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator

import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from federation.http import AiohttpClient, BodyTooLarge, HttpOptions, NetworkError
from federation.signatures import PublicKey, SignatureError, verify_request
from tests.loopback import bind_loopback, serve


def sink_app(public_pem: str) -> Starlette:
    """Verifies signed POSTs (as an inbox would) and serves a large body."""

    async def inbox(request: Request) -> Response:
        body = await request.body()

        async def resolve(key_id: str, refresh: bool) -> PublicKey:
            return PublicKey(key_id, "https://peer.test/users/alice", public_pem)

        try:
            verified = await verify_request(
                "POST", request.url.path, request.headers, body, resolve
            )
        except SignatureError as exc:
            return JSONResponse({"error": exc.reason}, status_code=401)
        return JSONResponse({"owner": verified.owner, "host": request.headers["host"]}, 202)

    async def large(request: Request) -> Response:
        return Response(b"x" * 3_000_000, media_type="application/activity+json")

    return Starlette(routes=[Route("/inbox", inbox, methods=["POST"]), Route("/large", large)])


@pytest.fixture
async def sink(key_pairs) -> AsyncIterator[str]:
    """A uvicorn server on a free loopback port; yields its base URL."""
    sock = bind_loopback()
    async with serve(sink_app(key_pairs[0][0]), sock):
        yield f"http://127.0.0.1:{sock.getsockname()[1]}"


@pytest.fixture
async def client() -> AsyncIterator[AiohttpClient]:
    http = AiohttpClient(HttpOptions(max_body=1_000_000), allow_private_addresses=True)
    yield http
    await http.close()


async def test_signed_post_verifies_on_the_other_side(client, sink, peer_key):
    response = await client.post(f"{sink}/inbox", b'{"type": "Create"}', key=peer_key[1])
    assert response.status == 202
    assert b'"owner":"https://peer.test/users/alice"' in response.body


async def test_many_signed_posts_reuse_connections(client, sink, peer_key):
    responses = await asyncio.gather(
        *(client.post(f"{sink}/inbox", b"{}", key=peer_key[1]) for _ in range(20))
    )
    assert {r.status for r in responses} == {202}


async def test_body_over_the_cap_is_refused(client, sink):
    with pytest.raises(BodyTooLarge):
        await client.get(f"{sink}/large")


async def test_production_client_refuses_names_of_private_addresses(sink):
    """The resolver check closes DNS rebinding: localhost resolves, and is refused."""
    port = sink.rsplit(":", 1)[1]
    production = AiohttpClient()
    try:
        with pytest.raises(NetworkError, match="no public address"):
            await production.get(f"http://localhost:{port}/large")
    finally:
        await production.close()


async def test_connection_refused_is_a_network_error(client):
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    sock.close()
    with pytest.raises(NetworkError):
        await client.get(f"http://127.0.0.1:{port}/")
