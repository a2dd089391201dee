"""What an app needs to talk to other instances, kept on `app.state` (never module state).

- `app.state.http`: the outgoing HttpClient. Tests set it (httpx over ASGI mounts, so
  several in-process instances reach each other); otherwise an aiohttp client is made on
  first use, allowing private addresses only when the settings do.
- `app.state.host_resolver`: optional HostResolver for the SSRF checks (tests).
- A small per-process cache of verified public keys (the key owner and PEM), so that a
  busy inbox does not read the remote actor table on every POST; a key that fails to
  verify is refetched through the normal path (`refresh=True` bypasses the cache).
"""

from __future__ import annotations

import time

from bovine.crypto.types import CryptographicSecret
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.applications import Starlette

from federation import keys
from federation.fetch import Fetcher, system_resolve
from federation.http import AiohttpClient, HttpClient
from federation.remote import resolve_key
from federation.signatures import KeyResolver, PublicKey
from federation.urls import Urls

KEY_TTL = 300.0
KEY_CACHE_SIZE = 10_000


def http_client(app: Starlette) -> HttpClient:
    """The app's outgoing client (injected by tests, aiohttp otherwise)."""
    client = getattr(app.state, "http", None)
    if client is None:
        client = AiohttpClient(allow_private_addresses=app.state.settings.allow_private_addresses)
        app.state.http = client
    return client


async def instance_key(app: Starlette, session: AsyncSession) -> CryptographicSecret:
    """The instance actor's signing key (read once per process)."""
    key = getattr(app.state, "instance_key", None)
    if key is None:
        settings = app.state.settings
        actor = await keys.instance_actor(session, settings)
        key = keys.signing_key(actor, Urls.of(settings))
        app.state.instance_key = key
    return key


async def fetcher(app: Starlette, session: AsyncSession) -> Fetcher:
    """A Fetcher with the SSRF rules and the instance actor's signature."""
    return Fetcher(
        http_client(app),
        app.state.settings,
        await instance_key(app, session),
        resolve=getattr(app.state, "host_resolver", None) or system_resolve,
    )


def cached_key_resolver(app: Starlette, session: AsyncSession, fetch: Fetcher) -> KeyResolver:
    """A KeyResolver answering from the per-process cache first."""
    cache: dict[str, tuple[float, PublicKey]] | None = getattr(app.state, "key_cache", None)
    if cache is None:
        cache = app.state.key_cache = {}

    async def resolve(key_id: str, refresh: bool) -> PublicKey | None:
        now = time.monotonic()
        hit = cache.get(key_id)
        if hit is not None and not refresh and now - hit[0] < KEY_TTL:
            return hit[1]
        key = await resolve_key(session, fetch, key_id, refresh=refresh)
        if key is not None:
            if len(cache) >= KEY_CACHE_SIZE:
                cache.clear()
            cache[key_id] = (now, key)
        return key

    return resolve
