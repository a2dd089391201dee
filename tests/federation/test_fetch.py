"""Fetching remote documents: SSRF rules, content type, id, size, redirects, WebFinger."""

from __future__ import annotations

from collections.abc import AsyncIterator

import orjson
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from federation.fetch import Fetcher, FetchError, check_url, split_account
from federation.http import HttpxClient

AP = "application/activity+json"
NOTE = {"id": "https://peer.test/notes/1", "type": "Note", "content": "salut"}


def _doc(body: dict, media: str = AP, status: int = 200) -> Response:
    return Response(orjson.dumps(body), media_type=media, status_code=status)


def peer_app(seen: list[Request]) -> Starlette:
    """A peer with good and bad documents, remembering the requests it got."""

    async def note(request: Request) -> Response:
        seen.append(request)
        return _doc(NOTE)

    async def html(request: Request) -> Response:
        return Response("<html></html>", media_type="text/html")

    async def ld(request: Request) -> Response:
        media = 'application/ld+json; profile="https://www.w3.org/ns/activitystreams"'
        return _doc({**NOTE, "id": "https://peer.test/ld"}, media)

    async def other_origin(request: Request) -> Response:
        return _doc({**NOTE, "id": "https://evil.test/notes/1"})

    async def same_origin_alias(request: Request) -> Response:
        return _doc(NOTE)  # asked /@alice/1, answers with its canonical id on the same origin

    async def big(request: Request) -> Response:
        return _doc({**NOTE, "id": "https://peer.test/big", "content": "x" * 2_000_000})

    async def moved(request: Request) -> Response:
        return RedirectResponse("https://peer.test/notes/1", status_code=301)

    async def loop(request: Request) -> Response:
        return RedirectResponse("https://peer.test/loop", status_code=302)

    async def gone(request: Request) -> Response:
        return _doc({"id": "https://peer.test/gone", "type": "Tombstone"}, status=410)

    async def not_json(request: Request) -> Response:
        return Response(b"{not json", media_type=AP)

    async def webfinger(request: Request) -> Response:
        resource = request.query_params["resource"]
        if resource != "acct:alice@peer.test":
            return Response(status_code=404)
        return _doc(
            {
                "subject": resource,
                "links": [
                    {
                        "rel": "http://webfinger.net/rel/profile-page",
                        "href": "https://peer.test/@a",
                    },
                    {"rel": "self", "type": AP, "href": "https://peer.test/users/alice"},
                ],
            },
            "application/jrd+json",
        )

    return Starlette(
        routes=[
            Route("/notes/1", note),
            Route("/html", html),
            Route("/ld", ld),
            Route("/other-origin", other_origin),
            Route("/@alice/1", same_origin_alias),
            Route("/big", big),
            Route("/moved", moved),
            Route("/loop", loop),
            Route("/gone", gone),
            Route("/not-json", not_json),
            Route("/.well-known/webfinger", webfinger),
        ]
    )


@pytest.fixture
def seen() -> list[Request]:
    return []


@pytest.fixture
async def fetcher(net_settings, seen, peer_key) -> AsyncIterator[Fetcher]:
    client = HttpxClient({"https://peer.test": peer_app(seen)})
    yield Fetcher(client, net_settings, peer_key[1])
    await client.close()


async def test_document_is_fetched_with_a_signed_get(fetcher, seen):
    assert await fetcher.document("https://peer.test/notes/1") == NOTE
    assert 'keyId="https://peer.test/users/alice#main-key"' in seen[0].headers["signature"]
    assert "application/activity+json" in seen[0].headers["accept"]


async def test_ld_json_with_profile_is_accepted(fetcher):
    assert (await fetcher.document("https://peer.test/ld"))["id"] == "https://peer.test/ld"


async def test_same_origin_canonical_id_is_accepted(fetcher):
    assert (await fetcher.document("https://peer.test/@alice/1"))["id"] == NOTE["id"]


@pytest.mark.parametrize(
    ("path", "reason"),
    [
        ("/html", "not an ActivityPub document"),
        ("/other-origin", "another origin"),
        ("/big", "too large"),
        ("/loop", "too many redirects"),
        ("/not-json", "malformed JSON"),
        ("/missing", "answered 404"),
    ],
)
async def test_bad_documents_are_refused(fetcher, path, reason):
    with pytest.raises(FetchError, match=reason):
        await fetcher.document(f"https://peer.test{path}")


async def test_redirect_is_followed_on_the_same_rules(fetcher):
    assert (await fetcher.document("https://peer.test/moved"))["id"] == NOTE["id"]


async def test_gone_is_reported_as_such(fetcher):
    with pytest.raises(FetchError) as caught:
        await fetcher.document("https://peer.test/gone")
    assert caught.value.gone


async def test_webfinger_finds_the_actor(fetcher):
    for account in ("alice@peer.test", "@alice@peer.test", "acct:alice@peer.test"):
        assert await fetcher.webfinger(account) == "https://peer.test/users/alice"
    with pytest.raises(FetchError, match="answered 404"):
        await fetcher.webfinger("bob@peer.test")


@pytest.mark.parametrize("account", ["alice", "https://peer.test/users/alice", "@peer.test", "a@"])
def test_not_an_account(account):
    with pytest.raises(FetchError, match="not an account"):
        split_account(account)


# SSRF: a production configuration (allow_private_addresses off).


async def _resolve_to(address: str):
    async def resolve(host: str) -> list[str]:
        return [address]

    return resolve


@pytest.mark.parametrize(
    "url",
    [
        "https://127.0.0.1/actor",
        "https://[::1]/actor",
        "https://10.0.0.8/actor",
        "https://192.168.1.1/actor",
        "https://169.254.169.254/latest/meta-data",
        "https://[::ffff:127.0.0.1]/actor",
        "https://localhost/actor",
        "https://224.0.0.1/actor",
    ],
)
async def test_private_addresses_are_refused(net_settings, url):
    with pytest.raises(FetchError, match=r"loopback|non-public"):
        await check_url(url, net_settings.with_(allow_private_addresses=False))


async def test_names_resolving_to_private_addresses_are_refused(net_settings):
    production = net_settings.with_(allow_private_addresses=False)
    with pytest.raises(FetchError, match=r"non-public address \(10\.1\.2\.3\)"):
        await check_url("https://intranet.example/", production, await _resolve_to("10.1.2.3"))
    await check_url("https://peer.example/", production, await _resolve_to("93.184.215.14"))


@pytest.mark.parametrize(
    "url", ["ftp://peer.test/x", "file:///etc/passwd", "https://u:p@peer.test/"]
)
async def test_other_schemes_and_credentials_are_refused(net_settings, url):
    with pytest.raises(FetchError):
        await check_url(url, net_settings)


async def test_fetcher_refuses_private_address_before_any_request(net_settings, seen, peer_key):
    client = HttpxClient({"https://127.0.0.1": peer_app(seen)})
    fetcher = Fetcher(client, net_settings.with_(allow_private_addresses=False), peer_key[1])
    try:
        with pytest.raises(FetchError, match="non-public"):
            await fetcher.document("https://127.0.0.1/notes/1")
    finally:
        await client.close()
    assert seen == []
