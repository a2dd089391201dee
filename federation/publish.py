"""From the directory to our followers: what changed since we last told them, sent.

The domain does not know federation, so nothing calls us when an initiative changes.
Instead the worker reconciles: `federated_objects` holds what we last sent about each
initiative (state and the `updated_at` it had then); one query finds every initiative
whose current state differs (newly published, edited, withdrawn, deleted) whatever wrote
it (API, admin, import, CLI, another process), and this module enqueues the activities.
That is sturdier than a hook each writer must remember, and it survives crashes: the
activity rows and the new `federated_objects` state are written in one transaction.

- Local initiative published: Create{Page} from the territory actor to its followers, and
  Announce{id} from each of its theme actors to theirs. Edited: Update{Page} to the
  territory's and those theme actors' followers (so a Mastodon user who saw it through a
  theme actor gets the update); new themes get their Announce. Withdrawn or deleted:
  Delete{Tombstone} to the same.
- Remote initiative accepted here (published): the territory actor Announces it (content
  travels commune -> région -> national) and so do its theme actors; edited: announced
  again so that instances following us refresh it from its origin; gone: Undo{Announce}.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import and_, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from directory.models import Initiative, utcnow
from federation import collections, render
from federation.delivery_store import enqueue_activity
from federation.flow_models import FederatedObject
from federation.follows import delivery_inboxes
from federation.urls import Urls

if TYPE_CHECKING:
    from web.settings import Settings

BATCH = 200


def _core_slugs(initiative: Initiative) -> list[str]:
    return sorted({t.core_slug for t in initiative.themes})


async def changed_initiatives(session: AsyncSession, *, limit: int = BATCH) -> list[tuple]:
    """(initiative or None, federated object or None) pairs whose state we have not sent."""
    published = Initiative.moderation_state == "published"
    query = (
        select(Initiative, FederatedObject)
        .outerjoin(FederatedObject, FederatedObject.initiative_id == Initiative.id)
        .where(
            or_(
                and_(
                    published,
                    or_(
                        FederatedObject.id.is_(None),
                        FederatedObject.state != "published",
                        Initiative.updated_at > FederatedObject.updated_at,
                    ),
                ),
                and_(~published, FederatedObject.state == "published"),
            )
        )
        .order_by(Initiative.updated_at, Initiative.id)
        .limit(limit)
    )
    pairs: list[tuple] = [tuple(row) for row in await session.execute(query)]
    # Initiatives deleted outright: their federated object lost its link.
    orphans = await session.scalars(
        select(FederatedObject)
        .where(FederatedObject.initiative_id.is_(None), FederatedObject.state == "published")
        .limit(limit)
    )
    pairs.extend((None, obj) for obj in orphans)
    return pairs


class Publisher:
    """Turns directory changes into outgoing activities (rows), one batch at a time."""

    def __init__(self, settings: Settings, *, clock: Callable[[], datetime] = utcnow) -> None:
        self.settings = settings
        self.clock = clock
        self.urls = Urls.of(settings)
        self.territory = settings.territory_username
        self._audiences: dict[tuple[str, ...], list[str]] = {}

    async def _inboxes(self, session: AsyncSession, audience: list[str]) -> list[str]:
        """Inboxes reaching these actors' followers (remembered for one batch)."""
        key = tuple(sorted(audience))
        if key not in self._audiences:
            self._audiences[key] = await delivery_inboxes(session, list(key))
        return self._audiences[key]

    async def _send(
        self,
        session: AsyncSession,
        make: Callable[[], dict[str, Any]],
        actor_name: str,
        audience: list[str],
        object_uri: str,
    ) -> None:
        """Build the activity (only when someone will receive it) and enqueue it."""
        inboxes = await self._inboxes(session, audience)
        if inboxes:
            await enqueue_activity(
                session,
                make(),
                actor_name=actor_name,
                inboxes=inboxes,
                object_uri=object_uri,
                now=self.clock(),
            )

    async def _announce(
        self, session: AsyncSession, actor_name: str, uri: str, extra: dict[str, Any]
    ) -> None:
        def make() -> dict[str, Any]:
            activity = render.announce(
                render.new_activity_id(self.urls),
                self.urls.actor(actor_name),
                uri,
                followers=self.urls.followers(actor_name),
                published=self.clock(),
            )
            return {**activity, **extra}

        await self._send(session, make, actor_name, [actor_name], uri)

    async def _undo_announce(self, session: AsyncSession, actor_name: str, uri: str) -> None:
        def make() -> dict[str, Any]:
            announce = render.announce(
                render.new_activity_id(self.urls),
                self.urls.actor(actor_name),
                uri,
                followers=self.urls.followers(actor_name),
            )
            return render.undo(
                render.new_activity_id(self.urls), self.urls.actor(actor_name), announce
            )

        await self._send(session, make, actor_name, [actor_name], uri)

    async def _delete(self, session: AsyncSession, uri: str, audience: list[str]) -> None:
        def make() -> dict[str, Any]:
            return render.delete(
                render.new_activity_id(self.urls),
                self.urls.actor(self.territory),
                uri,
                followers=self.urls.followers(self.territory),
                deleted=self.clock(),
            )

        await self._send(session, make, self.territory, audience, uri)

    async def _local(
        self, session: AsyncSession, initiative: Initiative | None, obj: FederatedObject | None
    ) -> FederatedObject:
        territory = self.urls.actor(self.territory)
        if initiative is None or initiative.moderation_state != "published":
            assert obj is not None

            await self._delete(session, obj.object_uri, [self.territory, *obj.themes])
            obj.state = "deleted"
            if initiative is not None:
                obj.updated_at = initiative.updated_at
            return obj
        uri = self.urls.initiative_uri(initiative)
        relations = await collections.relations_of(session, initiative.id)

        def page() -> dict[str, Any]:
            return render.render_initiative(
                initiative, self.urls, self.settings, relations=relations
            )

        themes = _core_slugs(initiative)
        if obj is not None and obj.object_uri != uri:
            # Its slug (so its id) changed: the old id is gone, the new one is created.
            if obj.state == "published":
                await self._delete(session, obj.object_uri, [self.territory, *obj.themes])
            obj.object_uri, obj.state, obj.themes = uri, "deleted", []
        if obj is None or obj.state != "published":

            def create() -> dict[str, Any]:
                return render.create(render.new_activity_id(self.urls), territory, page())

            await self._send(session, create, self.territory, [self.territory], uri)
            announced: list[str] = []
        else:

            def update() -> dict[str, Any]:
                return render.update(render.new_activity_id(self.urls), territory, page())

            await self._send(session, update, self.territory, [self.territory, *obj.themes], uri)
            announced = list(obj.themes)
        return await self._published(
            session, initiative, obj, uri, themes, announced, {}, is_local=True
        )

    async def _published(
        self,
        session: AsyncSession,
        initiative: Initiative,
        obj: FederatedObject | None,
        uri: str,
        themes: list[str],
        announced: list[str],
        extra: dict[str, Any],
        *,
        is_local: bool,
    ) -> FederatedObject:
        """Announce to the theme actors not told yet; record the object as published."""
        for slug in themes:
            if slug not in announced:
                await self._announce(session, slug, uri, extra)
        if obj is None:
            obj = FederatedObject(object_uri=uri, initiative_id=initiative.id, is_local=is_local)
            session.add(obj)
        obj.state = "published"
        obj.themes = sorted(set(announced) | set(themes))
        obj.updated_at = initiative.updated_at
        return obj

    async def _remote(
        self, session: AsyncSession, initiative: Initiative | None, obj: FederatedObject | None
    ) -> FederatedObject:
        if initiative is None or initiative.moderation_state != "published":
            assert obj is not None
            await self._undo_announce(session, self.territory, obj.object_uri)
            obj.state = "deleted"
            if initiative is not None:
                obj.updated_at = initiative.updated_at
            return obj
        uri = initiative.uri or ""
        # The path it travelled, so instances further on can show it (origin first).
        via = {"via": [*initiative.via, self.urls.host]}
        await self._announce(session, self.territory, uri, via)
        themes = _core_slugs(initiative)
        announced = list(obj.themes) if obj is not None and obj.state == "published" else []
        return await self._published(
            session, initiative, obj, uri, themes, announced, via, is_local=False
        )

    async def run_once(self, session: AsyncSession) -> int:
        """Enqueue what one batch of changes calls for; the number of initiatives handled."""
        self._audiences = {}
        pairs = await changed_initiatives(session)
        for initiative, obj in pairs:
            is_local = initiative.is_local if initiative is not None else obj.is_local
            if is_local:
                await self._local(session, initiative, obj)
            else:
                await self._remote(session, initiative, obj)
        await session.flush()
        return len(pairs)
