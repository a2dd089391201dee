"""Backfill: once an instance accepts our Follow, crawl its territory actor's paged
`initiatives` collection (cursor paging) and store every initiative; the inbox keeps us
up to date afterwards. Progress is kept in the `following` row (cursor = next page), one
page per transaction, so a restart resumes where it stopped.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy import or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from directory.batch import NewInitiative, Slugs, among, insert_initiatives
from directory.db import Database
from directory.errors import ValidationError
from directory.initiatives import Author
from directory.models import Initiative, Theme, utcnow
from directory.validation import clean_initiative
from federation import replicas
from federation.fetch import Fetcher, FetchError
from federation.flow_models import Following
from federation.inbox import InboxProcessor, Refused, first_type, ref, theme_slugs_by_iri
from federation.parse import ParsedInitiative, ParseError, parse_initiative
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
        skipped: list[str] = []
        try:
            if state == "pending" or not cursor:
                cursor = await self._first_page(actor_uri)
            page = await self._page(cursor, actor_uri) if cursor else None
            for _ in range(MAX_PAGES_PER_RUN):
                if page is None:
                    break
                cursor = _next(page, actor_uri)
                # Fetch the next page while this one is stored.
                upcoming = asyncio.create_task(self._page(cursor, actor_uri)) if cursor else None
                try:
                    count, notes = await self._store_page(page, host_of(actor_uri))
                    skipped += notes
                    async with self.db.session() as session:
                        await _progress(
                            session,
                            following_id,
                            cursor,
                            count,
                            _skip_summary(skipped),
                            self.clock(),
                        )
                except BaseException:
                    if upcoming is not None:
                        upcoming.cancel()
                    raise
                stored += count
                page = await upcoming if upcoming is not None else None
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
        if not cursor:
            await self._collections(actor_uri)
        async with self.db.session() as session:
            await session.execute(
                update(Following)
                .where(Following.id == following_id)
                .values(
                    backfill_state="running" if cursor else "done",
                    backfill_cursor=cursor,
                    backfill_error=_skip_summary(skipped)[:1000],
                    locked_until=None,
                )
            )
        return stored

    async def _collections(self, actor_uri: str) -> None:
        """Its curated collections too (federation/replicas.py); a failure there is logged,
        it does not hold back the initiatives' backfill."""
        try:
            async with self.db.session() as session:
                actor = await fetch_actor(session, self.fetcher, actor_uri)
                await replicas.backfill_collections(
                    session, self.fetcher, {**actor.document, "id": actor.uri}, self.processor.urls
                )
        except (FetchError, ValidationError) as exc:
            log.warning("collections of %s not backfilled: %s", actor_uri, exc)

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

    async def _page(self, url: str, actor_uri: str) -> dict[str, Any]:
        page = await self.fetcher.document(url)
        if not same_origin(ref(page.get("id")) or url, actor_uri):
            raise FetchError(f"page {url} is not on the followed instance")
        return page

    async def _items(self, page: dict[str, Any], origin: str) -> list[dict[str, Any]]:
        """The page's initiatives (fetched when given by id), only those of the origin."""
        items = page.get("orderedItems", page.get("items")) or []
        found: list[dict[str, Any]] = []
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
            found.append(obj)
        return found

    async def _store_page(self, page: dict[str, Any], origin: str) -> tuple[int, list[str]]:
        """Store a page's initiatives; (how many, a note per object skipped).

        New initiatives go in with one batch of INSERTs per page (directory/batch.py);
        the few already known are updated one by one. When the batch collides with
        another writer (a slug or uri taken meanwhile), the page is taken again object
        by object, each in its own savepoint.
        """
        objects = await self._items(page, origin)
        if not objects:
            return 0, []
        try:
            async with self.db.session() as session:
                return await self._store_batch(session, objects, origin)
        except IntegrityError:
            async with self.db.session() as session:
                return await self._store_careful(session, objects, origin)

    async def _store_batch(
        self, session: AsyncSession, objects: list[dict[str, Any]], origin: str
    ) -> tuple[int, list[str]]:
        state = await self.processor.trust_state(session, origin)
        by_iri = await theme_slugs_by_iri(session)
        theme_ids = dict((await session.execute(select(Theme.slug, Theme.id))).all())
        uris = [ref(obj.get("id")) for obj in objects]
        known = {
            i.uri: i
            for i in await session.scalars(
                select(Initiative).where(among(session, Initiative.uri, uris))
            )
            if i.uri
        }
        new: list[NewInitiative] = []
        links: dict[str, ParsedInitiative] = {}
        skipped: list[str] = []
        stored = 0
        for uri, obj in zip(uris, objects, strict=True):
            try:
                if uri in known:
                    await self.processor.store_remote(
                        session, obj, origin, [origin], state, themes=by_iri, known=known
                    )
                    stored += 1
                    continue
                parsed = parse_initiative(obj, theme_slugs_by_iri=by_iri)
                values = clean_initiative(parsed.values, theme_slugs=theme_ids)
            except (Refused, ValidationError, ParseError) as exc:
                skipped.append(_skip_note(uri, exc))
                continue
            if any(item.uri == uri for item in new):
                skipped.append(_skip_note(uri, "en double dans la page"))
                continue
            new.append(
                NewInitiative(values, moderation_state=state, origin=origin, uri=uri, via=[origin])
            )
            links[uri] = parsed
        ids = await insert_initiatives(
            session,
            new,
            author=Author(None, f"federation:{origin}"),
            action="create",
            message="",
            themes=theme_ids,
            slugs=await Slugs.around(session, [item.values["name"] for item in new]),
        )
        for initiative_id, item in zip(ids, new, strict=True):
            if links[item.uri].relations:  # their links, as the origin states them
                initiative = await session.get(Initiative, initiative_id)
                await replicas.keep_links(
                    session, initiative, links[item.uri], self.processor.urls, created=True
                )
        return stored + len(new), skipped

    async def _store_careful(
        self, session: AsyncSession, objects: list[dict[str, Any]], origin: str
    ) -> tuple[int, list[str]]:
        state = await self.processor.trust_state(session, origin)
        themes = await theme_slugs_by_iri(session)
        stored, skipped = 0, []
        for obj in objects:
            try:
                async with session.begin_nested():
                    await self.processor.store_remote(
                        session, obj, origin, [origin], state, themes=themes
                    )
                stored += 1
            except (Refused, ValidationError, ParseError, IntegrityError) as exc:
                skipped.append(_skip_note(ref(obj.get("id")), exc))
        return stored, skipped


def _skip_note(uri: str, reason: object) -> str:
    reason = getattr(reason, "reason", None) or str(reason)
    log.info("backfill: %s skipped: %s", uri, reason)
    return f"{uri} : {reason}"


def _skip_summary(notes: list[str]) -> str:
    """What backfill_error shows when some objects were refused (the rest are stored)."""
    if not notes:
        return ""
    return f"{len(notes)} objet(s) ignoré(s) : " + " ; ".join(notes)


def _next(page: dict[str, Any], actor_uri: str) -> str:
    following = ref(page.get("next"))
    return following if following and same_origin(following, actor_uri) else ""


async def _progress(
    session: AsyncSession, following_id: int, cursor: str, stored: int, skipped: str, now: datetime
) -> None:
    """A page stored: move the cursor; objects refused so far in this run stay visible."""
    await session.execute(
        update(Following)
        .where(Following.id == following_id)
        .values(
            backfill_state="running",
            backfill_error=skipped[:1000],
            backfill_cursor=cursor,
            backfill_count=Following.backfill_count + stored,
            locked_until=now + LEASE,
        )
    )
