"""Fetching remote ActivityPub documents under the rules of DESIGN.md section 4.

Every hop is checked against the SSRF rules (the host is resolved; loopback, private,
link-local, multicast and reserved addresses are refused unless
settings.allow_private_addresses), redirects are followed by hand (at most 3), the answer
must carry an ActivityPub content type, stay under the body cap, and name itself with the
id that was asked for (or an id on the origin that finally answered). GETs are signed
with the instance actor's key, so servers with authorized fetch answer.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode, urljoin, urlsplit, urlunsplit

import orjson
from bovine.crypto.types import CryptographicSecret

from federation.http import (
    AP_ACCEPT,
    BodyTooLarge,
    HttpClient,
    HttpResponse,
    NetworkError,
    is_public_address,
)
from federation.urls import same_origin

if TYPE_CHECKING:
    from web.settings import Settings

MAX_REDIRECTS = 3
JRD_ACCEPT = "application/jrd+json, application/json"
AP_TYPES = ("application/activity+json", "application/ld+json")

# Resolves a host name to its IP addresses (injected in tests; the system resolver otherwise).
HostResolver = Callable[[str], Awaitable[list[str]]]


class FetchError(Exception):
    """A remote document that could not be fetched or was refused, with the reason."""

    def __init__(self, reason: str, *, status: int | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.status = status

    @property
    def gone(self) -> bool:
        return self.status == 410


async def system_resolve(host: str) -> list[str]:
    """The addresses the system resolver gives for `host`."""
    infos = await asyncio.get_running_loop().getaddrinfo(host, None, type=socket.SOCK_STREAM)
    return sorted({info[4][0] for info in infos})


async def check_url(url: str, settings: Settings, resolve: HostResolver = system_resolve) -> None:
    """Refuse URLs we must not contact: other schemes, and non-public addresses."""
    parts = urlsplit(url)
    if parts.scheme not in ("https", "http") or not parts.hostname:
        raise FetchError(f"not an http(s) URL: {url!r}")
    if parts.username or parts.password:
        raise FetchError("URLs with credentials are refused")
    if settings.allow_private_addresses:
        return
    host = parts.hostname
    try:
        addresses = [str(ipaddress.ip_address(host))]
    except ValueError:
        if host == "localhost" or host.endswith(".localhost"):
            raise FetchError(f"{host} is a loopback name") from None
        try:
            addresses = await resolve(host)
        except OSError as exc:
            raise FetchError(f"cannot resolve {host}: {exc}") from exc
    if not addresses:
        raise FetchError(f"cannot resolve {host}")
    for address in addresses:
        if not is_public_address(address):
            raise FetchError(f"{host} resolves to a non-public address ({address})")


def is_activitypub_type(content_type: str) -> bool:
    """`application/activity+json` or `application/ld+json` (any profile)."""
    return content_type.split(";", 1)[0].strip().lower() in AP_TYPES


def _strip_fragment(url: str) -> str:
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc, parts.path, parts.query, ""))


def parse_json_object(body: bytes) -> dict[str, Any]:
    """A JSON object from bytes, or FetchError."""
    try:
        data = orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        raise FetchError(f"malformed JSON: {exc}") from exc
    if not isinstance(data, dict):
        raise FetchError("the document is not a JSON object")
    return data


class Fetcher:
    """Fetches remote documents with the SSRF, content-type, size and id rules."""

    def __init__(
        self,
        client: HttpClient,
        settings: Settings,
        key: CryptographicSecret | None,
        *,
        resolve: HostResolver = system_resolve,
    ) -> None:
        self.client = client
        self.settings = settings
        self.key = key
        self.resolve = resolve

    async def get(self, url: str, *, accept: str = AP_ACCEPT) -> HttpResponse:
        """GET with the rules applied to each hop; returns the final 2xx/4xx/5xx answer."""
        current = _strip_fragment(url)
        for _ in range(MAX_REDIRECTS + 1):
            await check_url(current, self.settings, self.resolve)
            try:
                response = await self.client.get(
                    current, key=self.key, accept=accept, max_body=self.settings.max_body_bytes
                )
            except BodyTooLarge as exc:
                raise FetchError(f"the document is too large ({exc})") from exc
            except NetworkError as exc:
                raise FetchError(f"no answer from {current}: {exc}") from exc
            if response.status in (301, 302, 303, 307, 308) and response.header("location"):
                current = _strip_fragment(urljoin(current, response.header("location")))
                continue
            return HttpResponse(response.status, response.headers, response.body, current)
        raise FetchError(f"too many redirects from {url}")

    async def document(self, url: str) -> dict[str, Any]:
        """The ActivityPub document at `url`, checked (content type, size, id)."""
        response = await self.get(url)
        if response.status != 200:
            raise FetchError(f"{url} answered {response.status}", status=response.status)
        content_type = response.header("content-type")
        if not is_activitypub_type(content_type):
            raise FetchError(f"{url} is not an ActivityPub document ({content_type or 'no type'})")
        document = parse_json_object(response.body)
        doc_id = document.get("id")
        if not isinstance(doc_id, str) or not doc_id:
            raise FetchError(f"the document at {url} has no id")
        asked = _strip_fragment(url)
        if doc_id not in (asked, response.url) and not same_origin(doc_id, response.url):
            raise FetchError(f"{url} answered with a document of another origin ({doc_id})")
        return document

    async def webfinger(self, account: str) -> str:
        """The actor URI of `user@host` (or `acct:user@host`, `@user@host`) by WebFinger."""
        user, host = split_account(account)
        scheme = urlsplit(self.settings.base_url).scheme or "https"
        resource = f"acct:{user}@{host}"
        url = f"{scheme}://{host}/.well-known/webfinger?{urlencode({'resource': resource})}"
        response = await self.get(url, accept=JRD_ACCEPT)
        if response.status != 200:
            raise FetchError(
                f"WebFinger for {resource} answered {response.status}", status=response.status
            )
        jrd = parse_json_object(response.body)
        for link in jrd.get("links") or []:
            if (
                isinstance(link, dict)
                and link.get("rel") == "self"
                and is_activitypub_type(str(link.get("type", "")))
                and isinstance(link.get("href"), str)
            ):
                return link["href"]
        raise FetchError(f"WebFinger for {resource} names no ActivityPub actor")


def split_account(account: str) -> tuple[str, str]:
    """('user', 'host') from `acct:user@host`, `@user@host` or `user@host`."""
    value = account.strip()
    value = value.removeprefix("acct:").lstrip("@")
    user, sep, host = value.rpartition("@")
    if not sep or not user or not host or "/" in host or "@" in user:
        raise FetchError(f"not an account (user@host): {account!r}")
    return user, host.lower()
