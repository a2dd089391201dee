"""What the inbox keeps per process on `app.state`: verified public keys, recent block
decisions, and the writer that commits received activities in groups.

A busy inbox should not read the remote actor table on every POST: the key owner and PEM
are remembered for a few minutes. A signature that fails with a cached key is retried by
verify_request with `refresh=True`, which bypasses this cache (key rotation).
"""

from __future__ import annotations

import asyncio
import time

from starlette.applications import Starlette

from directory.db import Database
from federation import inbox_store, instances
from federation.remote import resolve_key
from federation.signatures import KeyResolver, PublicKey
from federation.urls import host_of
from web.activitypub import instance_fetcher

KEY_TTL = 300.0
KEY_CACHE_SIZE = 10_000


class DomainBlocked(Exception):
    """The key lives on a blocked domain: it is not fetched."""

    def __init__(self, host: str) -> None:
        super().__init__(host)
        self.host = host


def cached_key_resolver(app: Starlette, host: str) -> KeyResolver:
    """A KeyResolver answering from the per-process cache first.

    On a miss it opens its own short transaction: it refuses a blocked `host` before
    contacting it, then fetches (and caches in the database) the key's actor.
    """
    cache: dict[str, tuple[float, PublicKey]] | None = getattr(app.state, "key_cache", None)
    if cache is None:
        cache = app.state.key_cache = {}
    db = app.state.db

    async def resolve(key_id: str, refresh: bool) -> PublicKey | None:
        now = time.monotonic()
        hit = cache.get(key_id)
        if hit is not None and not refresh and now - hit[0] < KEY_TTL:
            return hit[1]
        async with db.session() as session:
            if await instances.is_blocked(session, host) or await instances.is_blocked(
                session, host_of(key_id)
            ):
                raise DomainBlocked(host)
            fetch = await instance_fetcher(app, session)
            key = await resolve_key(session, fetch, key_id, refresh=refresh)
        if key is not None:
            if len(cache) >= KEY_CACHE_SIZE:
                cache.clear()
            cache[key_id] = (now, key)
        return key

    return resolve


BLOCK_TTL = 10.0


async def blocked(app: Starlette, host: str) -> bool:
    """`instances.is_blocked`, remembered for BLOCK_TTL seconds per process.

    The inbox asks on every POST; a block decided elsewhere reaches this process within
    seconds, and the worker checks again (uncached) before it applies anything.
    """
    cache: dict[str, tuple[float, bool]] | None = getattr(app.state, "block_cache", None)
    if cache is None:
        cache = app.state.block_cache = {}
    now = time.monotonic()
    hit = cache.get(host)
    if hit is not None and now - hit[0] < BLOCK_TTL:
        return hit[1]
    async with app.state.db.session() as session:
        answer = await instances.is_blocked(session, host)
    if len(cache) >= KEY_CACHE_SIZE:
        cache.clear()
    cache[host] = (now, answer)
    return answer


class GroupWriter:
    """Stores inbox items for concurrent requests in shared transactions.

    Each request waits until its row is committed (so a 202 still means "stored"), but
    the requests that arrive while one commit is in flight share the next one: on a busy
    inbox, one disk flush serves many activities instead of one each.
    """

    def __init__(self, db: Database, *, max_batch: int = 500) -> None:
        self.db = db
        self.max_batch = max_batch
        self._waiting: list[tuple[dict, asyncio.Future[None]]] = []
        self._task: asyncio.Task[None] | None = None

    async def store(self, row: dict) -> None:
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._waiting.append((row, future))
        if self._task is None or self._task.done():
            self._task = asyncio.create_task(self._drain())
        await future

    async def _drain(self) -> None:
        while self._waiting:
            batch = self._waiting[: self.max_batch]
            del self._waiting[: self.max_batch]
            try:
                async with self.db.session() as session:
                    await inbox_store.store_items(session, [row for row, _ in batch])
            except Exception as exc:  # each waiting request answers with the error
                for _, future in batch:
                    if not future.done():
                        future.set_exception(exc)
                continue
            for _, future in batch:
                if not future.done():
                    future.set_result(None)


def group_writer(app: Starlette) -> GroupWriter:
    writer = getattr(app.state, "inbox_writer", None)
    if writer is None:
        writer = app.state.inbox_writer = GroupWriter(app.state.db)
    return writer
