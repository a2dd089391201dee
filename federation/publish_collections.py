"""Our curated collections to our followers: Create, Update, Delete{OrderedCollection}.

Like federation/publish.py for initiatives, the worker reconciles rather than being told:
`federated_collections` holds what we last sent about each of our collections (state and
the `updated_at` it had then); any collection that differs gets its activity, from the
territory actor to its followers, in the same transaction as the new state.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, Integer, String, and_, or_, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Mapped, mapped_column

from directory import collections
from directory.models import Base, utcnow
from directory.models_collections import Collection
from federation import render
from federation.publish import BATCH, Publisher


class FederatedCollection(Base):
    """What we last told our followers about one of our collections (migration 0009)."""

    __tablename__ = "federated_collections"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    collection_id: Mapped[int] = mapped_column(
        ForeignKey("collections.id", ondelete="CASCADE"), unique=True
    )
    object_uri: Mapped[str] = mapped_column(String(500), unique=True)
    state: Mapped[str] = mapped_column(String(20), default="published")  # published|deleted
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


async def changed_collections(
    session: AsyncSession, *, limit: int = BATCH
) -> list[tuple[Collection, FederatedCollection | None]]:
    """Our collections whose current state we have not sent yet."""
    alive = Collection.deleted_at.is_(None)
    query = (
        select(Collection, FederatedCollection)
        .outerjoin(FederatedCollection, FederatedCollection.collection_id == Collection.id)
        .where(
            Collection.origin.is_(None),
            or_(
                and_(
                    alive,
                    or_(
                        FederatedCollection.id.is_(None),
                        FederatedCollection.state != "published",
                        Collection.updated_at > FederatedCollection.updated_at,
                    ),
                ),
                and_(~alive, FederatedCollection.state == "published"),
            ),
        )
        .order_by(Collection.updated_at, Collection.id)
        .limit(limit)
    )
    return [(c, f) for c, f in (await session.execute(query)).all()]


class CollectionPublisher(Publisher):
    """Turns changes to our collections into outgoing activities, one batch at a time."""

    async def _collection(
        self, session: AsyncSession, collection: Collection, sent: FederatedCollection | None
    ) -> None:
        territory = self.urls.actor(self.territory)
        uri = self.urls.collection(collection.slug)
        if collection.deleted_at is not None:
            assert sent is not None

            def delete() -> dict[str, Any]:
                return render.delete(
                    render.new_activity_id(self.urls),
                    territory,
                    uri,
                    followers=self.urls.followers(self.territory),
                    deleted=collection.deleted_at,
                    former_type="OrderedCollection",
                )

            await self._send(session, delete, self.territory, [self.territory], uri)
            sent.state, sent.updated_at = "deleted", collection.updated_at
            return
        items = await collections.item_uris(session, collection)
        body = render.render_collection(collection, items, self.urls, self.settings)
        kind = render.update if sent is not None and sent.state == "published" else render.create

        def activity() -> dict[str, Any]:
            return kind(render.new_activity_id(self.urls), territory, body)

        await self._send(session, activity, self.territory, [self.territory], uri)
        if sent is None:
            sent = FederatedCollection(collection_id=collection.id, object_uri=uri)
            session.add(sent)
        sent.state, sent.updated_at = "published", collection.updated_at

    async def run_once(self, session: AsyncSession) -> int:
        """Enqueue what one batch of collection changes calls for; how many were handled."""
        self._audiences = {}
        pairs = await changed_collections(session)
        for collection, sent in pairs:
            await self._collection(session, collection, sent)
        await session.flush()
        return len(pairs)
