"""The network interface federation code is given (STYLE.md "Inject clients").

`HttpClient` is a small protocol: a signed GET and a signed POST, each returning an
`HttpResponse(status, headers, body)`. Redirects are never followed here (fetch.py checks
every hop against the SSRF rules); bodies are capped. Two implementations:
`AiohttpClient` for production (connection reuse per host, per-host concurrency limit,
timeouts) and `HttpxClient` over ASGI mounts, so several in-process instances talk to
each other without sockets in tests.
"""

from __future__ import annotations

import errno
import ipaddress
import socket
import ssl
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

import aiohttp
import httpx
from aiohttp.abc import AbstractResolver, ResolveResult
from aiohttp.resolver import DefaultResolver
from bovine.crypto.types import CryptographicSecret

from federation.signatures import sign_request

AP_ACCEPT = 'application/activity+json, application/ld+json; profile="https://www.w3.org/ns/activitystreams"'
AP_CONTENT_TYPE = "application/activity+json"
MAX_BODY = 1_000_000
USER_AGENT = "Maillage/0.1 (+https://maillage.test)"


def is_public_address(address: str) -> bool:
    """True for globally routable unicast addresses (IPv4-mapped IPv6 unwrapped)."""
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return ip.is_global and not ip.is_multicast


class PublicOnlyResolver(AbstractResolver):
    """aiohttp resolver that refuses non-public addresses (closes the DNS-rebinding gap
    between fetch.py's check and the connection)."""

    def __init__(self) -> None:
        self._inner = DefaultResolver()

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[ResolveResult]:
        results = await self._inner.resolve(host, port, family)
        public = [r for r in results if is_public_address(r["host"])]
        if not public:
            raise OSError(errno.EACCES, f"{host} resolves to no public address")
        return public

    async def close(self) -> None:
        await self._inner.close()


class BodyTooLarge(Exception):
    """The response body went over the cap."""


class NetworkError(Exception):
    """The request did not get an answer (connection refused, timeout, TLS, DNS...)."""


@dataclass(frozen=True)
class HttpResponse:
    status: int
    headers: Mapping[str, str]  # lowercase names
    body: bytes
    url: str = ""

    def header(self, name: str, default: str = "") -> str:
        return self.headers.get(name.lower(), default)


@dataclass
class HttpOptions:
    user_agent: str = USER_AGENT
    max_body: int = MAX_BODY
    timeout: float = 20.0
    connect_timeout: float = 10.0
    per_host: int = 8
    total: int = 256
    extra_headers: dict[str, str] = field(default_factory=dict)


class HttpClient(Protocol):
    """Signed GET and POST; what federation code knows of the network."""

    async def get(
        self,
        url: str,
        *,
        key: CryptographicSecret | None = None,
        accept: str = AP_ACCEPT,
        max_body: int | None = None,
    ) -> HttpResponse: ...

    async def post(
        self,
        url: str,
        body: bytes,
        *,
        key: CryptographicSecret | None = None,
        digest: str | None = None,
        content_type: str = AP_CONTENT_TYPE,
    ) -> HttpResponse: ...

    async def close(self) -> None: ...


def _get_headers(
    url: str, key: CryptographicSecret | None, accept: str, options: HttpOptions
) -> dict[str, str]:
    headers = {"Accept": accept, "User-Agent": options.user_agent, **options.extra_headers}
    if key is not None:
        headers.update(sign_request("GET", url, key))
    return headers


def _post_headers(
    url: str,
    body: bytes,
    key: CryptographicSecret | None,
    digest: str | None,
    content_type: str,
    options: HttpOptions,
) -> dict[str, str]:
    headers = {
        "Content-Type": content_type,
        "Accept": AP_ACCEPT,
        "User-Agent": options.user_agent,
        **options.extra_headers,
    }
    if key is not None:
        headers.update(sign_request("POST", url, key, body=body, digest=digest))
    return headers


async def _read_capped(chunks: AsyncIterator[bytes], announced: int | None, cap: int) -> bytes:
    """The whole body, refused (BodyTooLarge) as soon as announced or read size passes cap."""
    if announced is not None and announced > cap:
        raise BodyTooLarge(f"{announced} bytes announced, cap {cap}")
    parts: list[bytes] = []
    size = 0
    async for chunk in chunks:
        size += len(chunk)
        if size > cap:
            raise BodyTooLarge(f"more than {cap} bytes")
        parts.append(chunk)
    return b"".join(parts)


class _SignedClient:
    """Signed GET and POST over one `_send`, shared by both implementations."""

    options: HttpOptions

    async def _send(
        self, method: str, url: str, headers: dict[str, str], body: bytes | None, cap: int
    ) -> HttpResponse:
        raise NotImplementedError

    async def get(
        self,
        url: str,
        *,
        key: CryptographicSecret | None = None,
        accept: str = AP_ACCEPT,
        max_body: int | None = None,
    ) -> HttpResponse:
        headers = _get_headers(url, key, accept, self.options)
        return await self._send("GET", url, headers, None, max_body or self.options.max_body)

    async def post(
        self,
        url: str,
        body: bytes,
        *,
        key: CryptographicSecret | None = None,
        digest: str | None = None,
        content_type: str = AP_CONTENT_TYPE,
    ) -> HttpResponse:
        headers = _post_headers(url, body, key, digest, content_type, self.options)
        return await self._send("POST", url, headers, body, self.options.max_body)


class AiohttpClient(_SignedClient):
    """Production client: one aiohttp session, keep-alive per host, bounded per host."""

    def __init__(
        self,
        options: HttpOptions | None = None,
        *,
        ssl_context: ssl.SSLContext | None = None,
        allow_private_addresses: bool = False,
    ) -> None:
        self.options = options or HttpOptions()
        self._allow_private = allow_private_addresses
        self._ssl = ssl_context
        self._session: aiohttp.ClientSession | None = None

    def _client(self) -> aiohttp.ClientSession:
        # Created on first use, inside the running loop (never at import time).
        if self._session is None or self._session.closed:
            connector = aiohttp.TCPConnector(
                limit=self.options.total,
                limit_per_host=self.options.per_host,
                ssl=self._ssl if self._ssl is not None else True,
                ttl_dns_cache=300,
                resolver=None if self._allow_private else PublicOnlyResolver(),
            )
            timeout = aiohttp.ClientTimeout(
                total=self.options.timeout, sock_connect=self.options.connect_timeout
            )
            self._session = aiohttp.ClientSession(
                connector=connector, timeout=timeout, auto_decompress=True
            )
        return self._session

    async def _send(
        self, method: str, url: str, headers: dict[str, str], body: bytes | None, cap: int
    ) -> HttpResponse:
        # Host is part of the signature: let aiohttp send the same value.
        try:
            async with self._client().request(
                method, url, headers=headers, data=body, allow_redirects=False
            ) as response:
                body_bytes = await _read_capped(
                    response.content.iter_chunked(65536), response.content_length, cap
                )
                return HttpResponse(
                    status=response.status,
                    headers={k.lower(): v for k, v in response.headers.items()},
                    body=body_bytes,
                    url=str(response.url),
                )
        except (TimeoutError, aiohttp.ClientError, ssl.SSLError, OSError) as exc:
            raise NetworkError(f"{type(exc).__name__}: {exc}") from exc

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None


class HttpxClient(_SignedClient):
    """Test client: requests to `https://a.test` go to the ASGI app mounted for it."""

    def __init__(
        self,
        mounts: Mapping[str, Any] | None = None,
        options: HttpOptions | None = None,
        *,
        transport: httpx.AsyncBaseTransport | None = None,
        verify: ssl.SSLContext | bool = True,
    ) -> None:
        self.options = options or HttpOptions()
        self._client = httpx.AsyncClient(
            mounts={k: _as_transport(v) for k, v in (mounts or {}).items()},
            transport=transport,
            timeout=self.options.timeout,
            follow_redirects=False,
            verify=verify,
        )

    async def _send(
        self, method: str, url: str, headers: dict[str, str], body: bytes | None, cap: int
    ) -> HttpResponse:
        try:
            async with self._client.stream(method, url, headers=headers, content=body) as response:
                length = response.headers.get("content-length")
                announced = int(length) if length and length.isdigit() else None
                body_bytes = await _read_capped(response.aiter_bytes(), announced, cap)
                return HttpResponse(
                    status=response.status_code,
                    headers={k.lower(): v for k, v in response.headers.items()},
                    body=body_bytes,
                    url=str(response.url),
                )
        except httpx.HTTPError as exc:
            raise NetworkError(f"{type(exc).__name__}: {exc}") from exc

    async def close(self) -> None:
        await self._client.aclose()


def _as_transport(app_or_transport: Any) -> httpx.AsyncBaseTransport:
    if isinstance(app_or_transport, httpx.AsyncBaseTransport):
        return app_or_transport
    return httpx.ASGITransport(app=app_or_transport)
