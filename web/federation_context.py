"""What the inbox keeps per process on `app.state`: its fetcher and verified public keys.

Loading the instance actor's private key costs ~0.18 s (cryptography checks the RSA key),
so the fetcher that signs our key lookups is built once per process, not per request.

A busy inbox should not read the remote actor table on every POST: the key owner and PEM
are remembered for a few minutes. A signature that fails with a cached key is retried by
verify_request with `refresh=True`, which bypasses this cache (key rotation).
"""

from __future__ import annotations

import time

from sqlalchemy.ext.asyncio import AsyncSession
from starlette.applications import Starlette

from federation.fetch import Fetcher
from federation.remote import resolve_key
from federation.signatures import KeyResolver, PublicKey
from web.activitypub import instance_fetcher

KEY_TTL = 300.0
KEY_CACHE_SIZE = 10_000


async def inbox_fetcher(app: Starlette, session: AsyncSession) -> Fetcher:
    """The instance fetcher, made once per process."""
    fetcher = getattr(app.state, "inbox_fetcher", None)
    if fetcher is None:
        fetcher = app.state.inbox_fetcher = await instance_fetcher(app, session)
    return fetcher


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
