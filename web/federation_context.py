"""What the inbox keeps per process on `app.state`: verified public keys, recent block
decisions, and the writer that commits received activities in groups.

A busy inbox should not read the remote actor table on every POST: the key owner and PEM
are remembered for a few minutes. A signature that fails with a cached key is retried by
verify_request with `refresh=True`, which bypasses this cache (key rotation).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import Any

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


class Remembered:
    """Answers remembered for `ttl` seconds per process; concurrent misses for one key share
    a single lookup (a busy inbox would otherwise send every request in flight to the
    database, or to the peer, each time an entry expires)."""

    def __init__(self, ttl: float) -> None:
        self.ttl = ttl
        self.values: dict[str, tuple[float, Any]] = {}
        self.pending: dict[str, asyncio.Task[Any]] = {}

    async def get(self, key: str, load: Callable[[], Awaitable[Any]], *, refresh: bool = False):
        hit = self.values.get(key)
        if hit is not None and not refresh and time.monotonic() - hit[0] < self.ttl:
            return hit[1]
        task = None if refresh else self.pending.get(key)
        if task is None:
            task = asyncio.ensure_future(self._load(key, load))
            if not refresh:
                self.pending[key] = task
        # shield: one request giving up (client gone) does not cancel the others' lookup.
        return await asyncio.shield(task)

    async def _load(self, key: str, load: Callable[[], Awaitable[Any]]) -> Any:
        try:
            value = await load()
        finally:
            self.pending.pop(key, None)
        if value is not None:
            if len(self.values) >= KEY_CACHE_SIZE:
                self.values.clear()
            self.values[key] = (time.monotonic(), value)
        return value


def _remembered(app: Starlette, name: str, ttl: float) -> Remembered:
    found = getattr(app.state, name, None)
    if found is None:
        found = Remembered(ttl)
        setattr(app.state, name, found)
    return found


def cached_key_resolver(app: Starlette, host: str) -> KeyResolver:
    """A KeyResolver answering from the per-process cache first.

    On a miss it opens its own short transaction: it refuses a blocked `host` before
    contacting it, then fetches (and caches in the database) the key's actor.
    """
    cache = _remembered(app, "key_cache", KEY_TTL)
    db = app.state.db

    async def resolve(key_id: str, refresh: bool) -> PublicKey | None:
        async def load() -> PublicKey | None:
            async with db.session() as session:
                if await instances.is_blocked(session, host) or await instances.is_blocked(
                    session, host_of(key_id)
                ):
                    raise DomainBlocked(host)
                fetch = await instance_fetcher(app, session)
                return await resolve_key(session, fetch, key_id, refresh=refresh)

        # The blocked host is part of the key: a cached key never skips the host check.
        return await cache.get(f"{host} {key_id}", load, refresh=refresh)

    return resolve


BLOCK_TTL = 10.0


async def blocked(app: Starlette, host: str) -> bool:
    """`instances.is_blocked`, remembered for BLOCK_TTL seconds per process.

    The inbox asks on every POST; a block decided elsewhere reaches this process within
    seconds, and the worker checks again (uncached) before it applies anything.
    """

    async def load() -> bool:
        async with app.state.db.session() as session:
            return await instances.is_blocked(session, host)

    return await _remembered(app, "block_cache", BLOCK_TTL).get(host, load)


class GroupWriter:
    """Stores inbox items for concurrent requests in shared transactions.

    Each request waits until its row is committed (so a 202 still means "stored"), but
    the requests that arrive while one commit is in flight share the next one: on a busy
    inbox, one disk flush serves many activities instead of one each. While requests keep
    arriving, one connection serves the successive commits (a pool checkout, with its
    liveness ping, per commit cost more than the insert at small batch sizes); it goes back
    to the pool as soon as nothing waits.
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
            batch: list[tuple[dict, asyncio.Future[None]]] = []
            try:
                async with self.db.engine.connect() as connection:
                    if connection.dialect.name == "postgresql":
                        # asyncpg runs an executemany as one implicit transaction (all
                        # rows or none), committed, its WAL flushed, before it returns:
                        # no BEGIN and COMMIT round trips around each batch.
                        await connection.execution_options(isolation_level="AUTOCOMMIT")
                    while self._waiting:
                        batch = self._waiting[: self.max_batch]
                        del self._waiting[: self.max_batch]
                        async with connection.begin():
                            await inbox_store.store_items(connection, [row for row, _ in batch])
                        _settle(batch, None)
            except Exception as exc:  # the batch's requests answer with the error
                if not batch:  # no connection at all: the next batch waiting does
                    batch = self._waiting[: self.max_batch]
                    del self._waiting[: self.max_batch]
                _settle(batch, exc)  # those still waiting get a fresh connection


def _settle(batch: list[tuple[dict, asyncio.Future[None]]], error: Exception | None) -> None:
    for _, future in batch:
        if not future.done():
            if error is None:
                future.set_result(None)
            else:
                future.set_exception(error)


def group_writer(app: Starlette) -> GroupWriter:
    writer = getattr(app.state, "inbox_writer", None)
    if writer is None:
        writer = app.state.inbox_writer = GroupWriter(app.state.db)
    return writer
