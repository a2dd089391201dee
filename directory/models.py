"""SQLAlchemy models of the directory: initiatives, their history, themes, territory, people.

The schema itself is created by the Alembic migrations (web/migrations); these classes map
onto it. Keep both in step: tests/directory/test_migrations.py compares them.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, ClassVar

from sqlalchemy import (
    JSON,
    Boolean,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship


def utcnow() -> datetime:
    return datetime.now(UTC)


class Base(DeclarativeBase):
    type_annotation_map: ClassVar[dict[Any, Any]] = {
        datetime: DateTime(timezone=True),
        dict[str, Any]: JSON,
    }


class Theme(Base):
    """A core theme (shared IRI) or a local sub-theme mapped to a core theme."""

    __tablename__ = "themes"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    slug: Mapped[str] = mapped_column(String(80), unique=True)
    iri: Mapped[str] = mapped_column(String(300), unique=True)
    label_fr: Mapped[str] = mapped_column(String(120))
    label_en: Mapped[str] = mapped_column(String(120))
    hashtag: Mapped[str] = mapped_column(String(80), default="")
    is_core: Mapped[bool] = mapped_column(Boolean, default=False)
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("themes.id"), nullable=True)

    # join_depth: eager-load the parent even when themes are themselves loaded eagerly
    parent: Mapped[Theme | None] = relationship(remote_side=[id], lazy="joined", join_depth=1)

    def label(self, lang: str = "fr") -> str:
        return self.label_en if lang == "en" else self.label_fr

    @property
    def core_slug(self) -> str:
        return self.slug if self.is_core or self.parent is None else self.parent.slug


class Territory(Base):
    """The instance's own territory (one row)."""

    __tablename__ = "territories"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(20))
    code: Mapped[str] = mapped_column(String(20), default="")
    min_lat: Mapped[float | None] = mapped_column(Float, nullable=True)
    min_lon: Mapped[float | None] = mapped_column(Float, nullable=True)
    max_lat: Mapped[float | None] = mapped_column(Float, nullable=True)
    max_lon: Mapped[float | None] = mapped_column(Float, nullable=True)


class Commune(Base):
    """A commune of the territory, by INSEE code."""

    __tablename__ = "communes"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    insee_code: Mapped[str] = mapped_column(String(5), unique=True)
    name: Mapped[str] = mapped_column(String(200), index=True)
    latitude: Mapped[float | None] = mapped_column(Float, nullable=True)
    longitude: Mapped[float | None] = mapped_column(Float, nullable=True)
    population: Mapped[int | None] = mapped_column(Integer, nullable=True)
    postal_code: Mapped[str] = mapped_column(String(5), default="")


class Person(Base):
    __tablename__ = "people"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    email: Mapped[str] = mapped_column(String(254), unique=True)
    display_name: Mapped[str] = mapped_column(String(120), default="")
    password_hash: Mapped[str] = mapped_column(String(200), default="")
    role: Mapped[str] = mapped_column(String(20), default="contributor")
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class ApiToken(Base):
    """A bearer token for the JSON API; only its SHA-256 is stored."""

    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("people.id", ondelete="CASCADE"))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    label: Mapped[str] = mapped_column(String(120), default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_used_at: Mapped[datetime | None] = mapped_column(nullable=True)

    person: Mapped[Person] = relationship(lazy="joined")


class SignIn(Base):
    """A signed-in browser session kept on the server; the cookie only carries its token
    (SHA-256 stored), so deleting the row signs that browser out for good."""

    __tablename__ = "sign_ins"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("people.id", ondelete="CASCADE"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    user_agent: Mapped[str] = mapped_column(String(200), default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_seen_at: Mapped[datetime] = mapped_column(default=utcnow)


class InitiativeTheme(Base):
    __tablename__ = "initiative_themes"
    __table_args__ = (Index("ix_initiative_themes_theme_id", "theme_id", "initiative_id"),)

    initiative_id: Mapped[int] = mapped_column(
        ForeignKey("initiatives.id", ondelete="CASCADE"), primary_key=True
    )
    theme_id: Mapped[int] = mapped_column(ForeignKey("themes.id"), primary_key=True)


class InitiativeActorKind(Base):
    __tablename__ = "initiative_actor_kinds"
    __table_args__ = (Index("ix_initiative_actor_kinds_kind", "kind", "initiative_id"),)

    initiative_id: Mapped[int] = mapped_column(
        ForeignKey("initiatives.id", ondelete="CASCADE"), primary_key=True
    )
    kind: Mapped[str] = mapped_column(String(40), primary_key=True)


class InitiativeNeed(Base):
    __tablename__ = "initiative_needs"
    __table_args__ = (Index("ix_initiative_needs_need", "need", "initiative_id"),)

    initiative_id: Mapped[int] = mapped_column(
        ForeignKey("initiatives.id", ondelete="CASCADE"), primary_key=True
    )
    need: Mapped[str] = mapped_column(String(40), primary_key=True)


class Initiative(Base):
    __tablename__ = "initiatives"
    __table_args__ = (
        UniqueConstraint("source", "source_id", name="uq_initiatives_source"),
        Index("ix_initiatives_lat_lon", "latitude", "longitude"),
        Index("ix_initiatives_state_id", "moderation_state", "id"),
        # The map: initiatives of a view grouped by cell without the table (mapgrid.py).
        Index("ix_initiatives_state_lat_lon", "moderation_state", "latitude", "longitude"),
        # Search: sorted listings and facet counts read these indexes without the table.
        Index("ix_initiatives_state_name", "moderation_state", "name_key", "id"),
        Index("ix_initiatives_state_created", "moderation_state", "created_at", "id"),
        Index("ix_initiatives_facets", "moderation_state", "status", "insee_code", "origin"),
        # What search filters read of each full-text match, without the (wide) table.
        Index(
            "ix_initiatives_filters",
            "id",
            "moderation_state",
            "status",
            "insee_code",
            "latitude",
            "longitude",
            "origin",
        ),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    slug: Mapped[str] = mapped_column(String(120), unique=True)
    # Canonical ActivityPub id. Set for remote initiatives; local ones derive it from the
    # instance's base URL and slug (federation/urls.py), so a base URL change moves them.
    uri: Mapped[str | None] = mapped_column(String(500), unique=True, nullable=True)
    # None for local initiatives, else the remote instance's host.
    origin: Mapped[str | None] = mapped_column(String(253), nullable=True, index=True)
    # Hosts the object travelled through to reach us (Announce path), origin first.
    via: Mapped[list[str]] = mapped_column(JSON, default=list)

    name: Mapped[str] = mapped_column(String(200))
    # The name folded for sorting ("Écoles" next to "Ecoles"); kept by search.index_initiatives.
    name_key: Mapped[str] = mapped_column(String(200), default="")
    summary: Mapped[str] = mapped_column(String(300), default="")
    description: Mapped[str] = mapped_column(Text, default="")
    status: Mapped[str] = mapped_column(String(20), default="active")
    moderation_state: Mapped[str] = mapped_column(String(20), default="proposed")

    street: Mapped[str] = mapped_column(String(300), default="")
    postal_code: Mapped[str] = mapped_column(String(10), default="")
    city: Mapped[str] = mapped_column(String(200), default="")
    insee_code: Mapped[str] = mapped_column(String(5), default="", index=True)
    latitude: Mapped[float | None] = mapped_column(Float, nullable=True)
    longitude: Mapped[float | None] = mapped_column(Float, nullable=True)

    website: Mapped[str] = mapped_column(String(500), default="")
    email: Mapped[str] = mapped_column(String(254), default="")
    phone: Mapped[str] = mapped_column(String(40), default="")
    fediverse: Mapped[str] = mapped_column(String(300), default="")
    social_links: Mapped[list[str]] = mapped_column(JSON, default=list)
    opening_hours: Mapped[str] = mapped_column(String(500), default="")
    image_url: Mapped[str] = mapped_column(String(500), default="")

    source: Mapped[str | None] = mapped_column(String(120), nullable=True)
    source_id: Mapped[str | None] = mapped_column(String(200), nullable=True)
    same_as: Mapped[list[str]] = mapped_column(JSON, default=list)

    # Private: never federated, exported or shown publicly.
    proposer_email: Mapped[str] = mapped_column(String(254), default="")
    proposer_id: Mapped[int | None] = mapped_column(
        ForeignKey("people.id", ondelete="SET NULL"), nullable=True
    )
    moderation_note: Mapped[str] = mapped_column(Text, default="")

    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    published_at: Mapped[datetime | None] = mapped_column(nullable=True)

    themes: Mapped[list[Theme]] = relationship(
        secondary="initiative_themes", lazy="selectin", order_by="Theme.id"
    )
    actor_kind_rows: Mapped[list[InitiativeActorKind]] = relationship(
        lazy="selectin", cascade="all, delete-orphan", order_by="InitiativeActorKind.kind"
    )
    need_rows: Mapped[list[InitiativeNeed]] = relationship(
        lazy="selectin", cascade="all, delete-orphan", order_by="InitiativeNeed.need"
    )

    @property
    def actor_kinds(self) -> list[str]:
        return [row.kind for row in self.actor_kind_rows]

    @property
    def needs(self) -> list[str]:
        return [row.need for row in self.need_rows]

    @property
    def is_local(self) -> bool:
        return self.origin is None


class Relation(Base):
    """A link from an initiative to another one (here or on another instance)."""

    __tablename__ = "relations"
    __table_args__ = (
        UniqueConstraint("initiative_id", "target_uri", "kind"),
        Index("ix_relations_target_uri", "target_uri"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    initiative_id: Mapped[int] = mapped_column(
        ForeignKey("initiatives.id", ondelete="CASCADE"), index=True
    )
    target_uri: Mapped[str] = mapped_column(String(500))
    target_id: Mapped[int | None] = mapped_column(
        ForeignKey("initiatives.id", ondelete="SET NULL"), nullable=True, index=True
    )
    kind: Mapped[str] = mapped_column(String(20))
    note: Mapped[str] = mapped_column(String(1000), default="")
    created_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("people.id", ondelete="SET NULL"), nullable=True
    )
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Revision(Base):
    """One edit of an initiative: who, when, and each changed field's old and new value."""

    __tablename__ = "revisions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    initiative_id: Mapped[int] = mapped_column(
        ForeignKey("initiatives.id", ondelete="CASCADE"), index=True
    )
    person_id: Mapped[int | None] = mapped_column(
        ForeignKey("people.id", ondelete="SET NULL"), nullable=True
    )
    # Who, in words, when there is no account: "import:gogocarto", "federation:host", ...
    author: Mapped[str] = mapped_column(String(254), default="")
    action: Mapped[str] = mapped_column(String(20))
    changes: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    message: Mapped[str] = mapped_column(String(1000), default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Correction(Base):
    """A proposed change to a published initiative, waiting for a moderator."""

    __tablename__ = "corrections"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    initiative_id: Mapped[int] = mapped_column(
        ForeignKey("initiatives.id", ondelete="CASCADE"), index=True
    )
    changes: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    state: Mapped[str] = mapped_column(String(20), default="proposed", index=True)
    proposer_email: Mapped[str] = mapped_column(String(254), default="")
    proposer_id: Mapped[int | None] = mapped_column(
        ForeignKey("people.id", ondelete="SET NULL"), nullable=True
    )
    message: Mapped[str] = mapped_column(String(2000), default="")
    moderation_note: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    decided_at: Mapped[datetime | None] = mapped_column(nullable=True)


class SearchState(Base):
    """One row whose token changes (by trigger) whenever cached facet counts go stale."""

    __tablename__ = "search_state"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    token: Mapped[str] = mapped_column(String(32))


class InstanceSetting(Base):
    """Instance settings an admin changes at run time (welcome text, logo, ...)."""

    __tablename__ = "instance_settings"

    key: Mapped[str] = mapped_column(String(80), primary_key=True)
    value: Mapped[str] = mapped_column(Text, default="")
