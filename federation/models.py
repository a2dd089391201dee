"""Federation tables of this area: our actors and their keys, and the cache of remote actors.

Same declarative base as the directory models (one metadata, one set of migrations);
the schema is created by web/migrations/versions/0002_federation_actors.py.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Boolean, ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from directory.models import Base, utcnow

# Kinds of local actors (DESIGN.md section 4).
INSTANCE = "instance"
TERRITORY = "territory"
THEME = "theme"


class LocalActor(Base):
    """One of our actors (instance, territory, theme) with its RSA-2048 key pair."""

    __tablename__ = "local_actors"

    id: Mapped[int] = mapped_column(primary_key=True)
    # The name in URLs and WebFinger: {base}/actors/{name}, acct:{name}@{host}.
    name: Mapped[str] = mapped_column(String(80), unique=True)
    kind: Mapped[str] = mapped_column(String(20), index=True)
    theme_id: Mapped[int | None] = mapped_column(
        ForeignKey("themes.id", ondelete="CASCADE"), nullable=True, unique=True
    )
    public_key_pem: Mapped[str] = mapped_column(Text)
    private_key_pem: Mapped[str] = mapped_column(Text)
    # manuallyApprovesFollowers: follows wait for an admin instead of being auto-accepted.
    locked: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    @property
    def ap_type(self) -> str:
        return "Application" if self.kind == INSTANCE else "Group"


class RemoteActor(Base):
    """A remote actor as last fetched: where to deliver, which key it signs with."""

    __tablename__ = "remote_actors"

    id: Mapped[int] = mapped_column(primary_key=True)
    uri: Mapped[str] = mapped_column(String(500), unique=True)
    host: Mapped[str] = mapped_column(String(253), index=True)
    ap_type: Mapped[str] = mapped_column(String(40), default="Person")
    preferred_username: Mapped[str] = mapped_column(String(200), default="")
    name: Mapped[str] = mapped_column(String(300), default="")
    inbox: Mapped[str] = mapped_column(String(500), default="")
    shared_inbox: Mapped[str] = mapped_column(String(500), default="")
    outbox: Mapped[str] = mapped_column(String(500), default="")
    followers: Mapped[str] = mapped_column(String(500), default="")
    # Maillage territory actors advertise their paged `initiatives` collection (backfill).
    initiatives: Mapped[str] = mapped_column(String(500), default="")
    public_key_id: Mapped[str] = mapped_column(String(500), default="", index=True)
    public_key_pem: Mapped[str] = mapped_column(Text, default="")
    document: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    fetched_at: Mapped[datetime] = mapped_column(default=utcnow)
    # Set when the actor answered 410 Gone (or its key stopped resolving for good).
    gone: Mapped[bool] = mapped_column(Boolean, default=False)

    @property
    def delivery_inbox(self) -> str:
        """Where to deliver: the shared inbox when there is one (deduplicated per host)."""
        return self.shared_inbox or self.inbox
