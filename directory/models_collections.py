"""Tables of curated collections (migration 0009): a named, ordered set of initiatives.

Kept apart from directory/models.py so each area owns its tables; both map onto the same
`Base`. A collection is ours (origin None) or a copy of a remote one (origin its host, uri
its ActivityPub id). A deleted local collection keeps its row (`deleted_at`): its slug stays
taken and its id answers with a Tombstone, as initiatives do.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from directory.models import Base, utcnow


class Collection(Base):
    """A named, ordered set of initiatives across territories, curated by référents."""

    __tablename__ = "collections"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    slug: Mapped[str] = mapped_column(String(120), unique=True)
    uri: Mapped[str | None] = mapped_column(String(500), unique=True, nullable=True)
    origin: Mapped[str | None] = mapped_column(String(253), nullable=True, index=True)
    name: Mapped[str] = mapped_column(String(200))
    summary: Mapped[str] = mapped_column(String(1000), default="")
    created_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("people.id", ondelete="SET NULL"), nullable=True
    )
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
    deleted_at: Mapped[datetime | None] = mapped_column(nullable=True)

    @property
    def is_local(self) -> bool:
        return self.origin is None


class CollectionItem(Base):
    """One initiative of a collection, by its canonical id (and our row when we hold it)."""

    __tablename__ = "collection_items"
    __table_args__ = (
        UniqueConstraint("collection_id", "target_uri"),
        Index("ix_collection_items_target_uri", "target_uri"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    collection_id: Mapped[int] = mapped_column(
        ForeignKey("collections.id", ondelete="CASCADE"), index=True
    )
    position: Mapped[int] = mapped_column(Integer, default=0)
    target_uri: Mapped[str] = mapped_column(String(500))
    initiative_id: Mapped[int | None] = mapped_column(
        ForeignKey("initiatives.id", ondelete="SET NULL"), nullable=True, index=True
    )
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    # A remote collection's item that we do not hold (migration 0014): "pending" until the
    # worker fetched it (federation/collection_items.py), "failed" with the reason if it
    # could not; "" when there is nothing to fetch.
    fetch_state: Mapped[str] = mapped_column(String(10), default="", index=True)
    fetch_error: Mapped[str] = mapped_column(String(1000), default="")
    fetch_attempts: Mapped[int] = mapped_column(Integer, default=0)
    fetch_after: Mapped[datetime | None] = mapped_column(nullable=True)
