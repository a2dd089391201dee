"""Backfill: once an instance accepts our Follow, crawl its territory actor's paged
`initiatives` collection (cursor paging) and store every initiative; the inbox keeps us
up to date afterwards. Progress is kept in the `following` row (cursor = next page), one
page per transaction, so a restart resumes where it stopped.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy import or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from directory.db import Database
from directory.errors import ValidationError
from directory.models import utcnow
from federation.fetch import Fetcher, FetchError
from federation.flow_models import Following
from federation.inbox import InboxProcessor, Refused, first_type, ref
from federation.parse import ParseError
from federation.remote import fetch_actor
from federation.urls import host_of, same_origin

if TYPE_CHECKING:
    from web.settings import Settings

log = logging.getLogger("maillage.backfill")

LEASE = timedelta(minutes=5)
MAX_PAGES_PER_RUN = 20


async def claim_backfill(session: AsyncSession, now: datetime) -> Following | None:
    """One accepted follow whose backfill is due, under a lease."""
    query = (
        select(Following)
        .where(
            Following.state == "accepted",
            Following.backfill_state.in_(("pending", "running")),
            or_(Following.locked_until.is_(None), Following.locked_until < now),
        )
        .order_by(Following.id)
        .limit(1)
    )
    if session.bind.dialect.name == "postgresql":
        query = query.with_for_update(skip_locked=True)
    following = await session.scalar(query)
    if following is not None:
        following.locked_until = now + LEASE
        await session.flush()
    return following


class Backfiller:
    """Crawls the initiatives collections of the instances we follow."""

    def __init__(
        self,
        settings: Settings,
        db: Database,
        fetcher: Fetcher,
        processor: InboxProcessor,
        *,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self.settings = settings
        self.db = db
        self.fetcher = fetcher
        self.processor = processor
        self.clock = clock

    async def run_once(self) -> int:
        """Crawl up to MAX_PAGES_PER_RUN pages of one followed instance; items stored."""
        async with self.db.session() as session:
            following = await claim_backfill(session, self.clock())
            if following is None:
                return 0
            following_id, actor_uri = following.id, following.remote_actor_uri
            cursor, state = following.backfill_cursor, following.backfill_state
        stored = 0
        try:
            if state == "pending" or not cursor:
                cursor = await self._first_page(actor_uri)
            for _ in range(MAX_PAGES_PER_RUN):
                if not cursor:
                    break
                page = await self.fetcher.document(cursor)
                if not same_origin(ref(page.get("id")) or cursor, actor_uri):
                    raise FetchError(f"page {cursor} is not on the followed instance")
                async with self.db.session() as session:
                    count = await self._store_items(session, page, host_of(actor_uri))
                    cursor = _next(page, actor_uri)
                    await _progress(session, following_id, cursor, count, self.clock())
                stored += count
        except (FetchError, ValidationError) as exc:
            log.warning("backfill of %s stopped: %s", actor_uri, exc)
            async with self.db.session() as session:
                await session.execute(
                    update(Following)
                    .where(Following.id == following_id)
                    .values(
                        backfill_error=str(getattr(exc, "reason", exc))[:1000],
                        locked_until=self.clock() + timedelta(minutes=10),
                    )
                )
            return stored
        async with self.db.session() as session:
            await session.execute(
                update(Following)
                .where(Following.id == following_id)
                .values(
                    backfill_state="running" if cursor else "done",
                    backfill_cursor=cursor,
                    backfill_error="",
                    locked_until=None,
                )
            )
        return stored

    async def _first_page(self, actor_uri: str) -> str:
        async with self.db.session() as session:
            actor = await fetch_actor(session, self.fetcher, actor_uri, refresh=True)
            collection_url = actor.initiatives
        if not collection_url:
            raise FetchError(f"{actor_uri} does not advertise an initiatives collection")
        if not same_origin(collection_url, actor_uri):
            raise FetchError("the initiatives collection is on another origin")
        collection = await self.fetcher.document(collection_url)
        first = collection.get("first")
        if isinstance(first, dict) and ("orderedItems" in first or "items" in first):
            return ref(first) or collection_url
        return ref(first) or ""

    async def _store_items(self, session: AsyncSession, page: dict[str, Any], origin: str) -> int:
        items = page.get("orderedItems", page.get("items")) or []
        state = await self.processor.trust_state(session, origin)
        stored = 0
        for item in items if isinstance(items, list) else []:
            obj = item
            if isinstance(item, str):
                if host_of(item) != origin:
                    continue
                obj = await self.fetcher.document(item)
            if not isinstance(obj, dict) or first_type(obj.get("type")) != "Page":
                continue
            if host_of(ref(obj.get("id"))) != origin:
                continue  # never trust an instance about objects it does not own
            try:
                async with session.begin_nested():
                    await self.processor.store_remote(session, obj, origin, [origin], state)
                stored += 1
            except (Refused, ValidationError, ParseError) as exc:
                log.info("backfill: %s skipped: %s", ref(obj.get("id")), exc)
        return stored


def _next(page: dict[str, Any], actor_uri: str) -> str:
    following = ref(page.get("next"))
    return following if following and same_origin(following, actor_uri) else ""


async def _progress(
    session: AsyncSession, following_id: int, cursor: str, stored: int, now: datetime
) -> None:
    await session.execute(
        update(Following)
        .where(Following.id == following_id)
        .values(
            backfill_state="running",
            backfill_cursor=cursor,
            backfill_count=Following.backfill_count + stored,
            locked_until=now + LEASE,
        )
    )
