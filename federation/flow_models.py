"""Tables of the federation flow: inbox items, outgoing activities and their deliveries,
follows in both directions, remote instances with their trust policy, domain blocks.

Background work is data: each row carries its own state so that any worker on any machine
can claim it, and a restart loses nothing. The schema is migration 0003.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from directory.models import Base, utcnow

# Trust policies for what a remote instance sends us.
TRUST_PUBLISH = "publish"  # its initiatives are published here automatically
TRUST_HOLD = "hold"  # they wait in the moderation queue (state "proposed")
TRUST_BLOCK = "block"  # they are refused
TRUST_POLICIES = (TRUST_PUBLISH, TRUST_HOLD, TRUST_BLOCK)


class RemoteInstance(Base):
    """Another instance we know: its software, follow states, trust policy and health."""

    __tablename__ = "remote_instances"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    host: Mapped[str] = mapped_column(String(253), unique=True)
    # From its NodeInfo (federation/nodeinfo.py): name and version, and when we last asked.
    software: Mapped[str] = mapped_column(String(80), default="")
    software_version: Mapped[str] = mapped_column(String(80), default="")
    software_checked_at: Mapped[datetime | None] = mapped_column(nullable=True)
    # The actor we follow there (its territory actor for a Maillage instance).
    actor_uri: Mapped[str] = mapped_column(String(500), default="")
    trust: Mapped[str] = mapped_column(String(10), default=TRUST_HOLD)
    last_contact_at: Mapped[datetime | None] = mapped_column(nullable=True)
    last_error: Mapped[str] = mapped_column(String(1000), default="")
    last_error_at: Mapped[datetime | None] = mapped_column(nullable=True)
    error_count: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class DomainBlock(Base):
    """A blocked domain (and its subdomains): refused everywhere, in and out."""

    __tablename__ = "domain_blocks"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    domain: Mapped[str] = mapped_column(String(253), unique=True)
    reason: Mapped[str] = mapped_column(String(1000), default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Follower(Base):
    """A remote actor following one of our actors (territory, theme or instance actor)."""

    __tablename__ = "followers"
    __table_args__ = (UniqueConstraint("actor_name", "remote_actor_uri"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    actor_name: Mapped[str] = mapped_column(String(120), index=True)
    remote_actor_uri: Mapped[str] = mapped_column(String(500))
    remote_host: Mapped[str] = mapped_column(String(253), index=True)
    inbox: Mapped[str] = mapped_column(String(500))
    shared_inbox: Mapped[str] = mapped_column(String(500), default="")
    state: Mapped[str] = mapped_column(String(20), default="accepted")  # pending|accepted
    follow_activity_id: Mapped[str] = mapped_column(String(500), default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Following(Base):
    """Our territory actor following a remote actor, and the backfill of its initiatives."""

    __tablename__ = "following"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    remote_actor_uri: Mapped[str] = mapped_column(String(500), unique=True)
    remote_host: Mapped[str] = mapped_column(String(253), index=True)
    inbox: Mapped[str] = mapped_column(String(500), default="")
    state: Mapped[str] = mapped_column(String(20), default="pending")  # pending|accepted|rejected
    follow_activity_id: Mapped[str] = mapped_column(String(500), unique=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    accepted_at: Mapped[datetime | None] = mapped_column(nullable=True)
    # Backfill: pending once accepted, then running (cursor = next page URL), then done.
    backfill_state: Mapped[str] = mapped_column(String(20), default="")
    backfill_cursor: Mapped[str] = mapped_column(String(1000), default="")
    backfill_count: Mapped[int] = mapped_column(Integer, default=0)
    backfill_error: Mapped[str] = mapped_column(String(1000), default="")
    locked_until: Mapped[datetime | None] = mapped_column(nullable=True)


class InboxItem(Base):
    """An activity received on an inbox: stored raw on arrival, processed by a worker.

    Refused requests leave a row too (state "refused", no body) so that an admin sees them.
    """

    __tablename__ = "inbox_items"
    __table_args__ = (Index("ix_inbox_items_state_id", "state", "id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    activity_id: Mapped[str] = mapped_column(String(500), default="", index=True)
    activity_type: Mapped[str] = mapped_column(String(40), default="")
    actor_uri: Mapped[str] = mapped_column(String(500), default="")
    key_owner: Mapped[str] = mapped_column(String(500), default="")
    recipient: Mapped[str] = mapped_column(String(120), default="")  # "" = shared inbox
    body: Mapped[str | None] = mapped_column(Text, nullable=True)
    # pending -> done | ignored | refused | failed
    state: Mapped[str] = mapped_column(String(20), default="pending")
    reason: Mapped[str] = mapped_column(String(1000), default="")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime | None] = mapped_column(nullable=True)
    locked_until: Mapped[datetime | None] = mapped_column(nullable=True)
    received_at: Mapped[datetime] = mapped_column(default=utcnow)
    processed_at: Mapped[datetime | None] = mapped_column(nullable=True)


class SeenActivity(Base):
    """Ids of activities already processed: a second copy is ignored."""

    __tablename__ = "seen_activities"

    activity_id: Mapped[str] = mapped_column(String(500), primary_key=True)
    seen_at: Mapped[datetime] = mapped_column(default=utcnow)


class OutboxActivity(Base):
    """An activity we send, rendered and digested once; its deliveries reference it."""

    __tablename__ = "outbox_activities"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    activity_id: Mapped[str] = mapped_column(String(500), unique=True)
    activity_type: Mapped[str] = mapped_column(String(40))
    actor_name: Mapped[str] = mapped_column(String(120))
    object_uri: Mapped[str] = mapped_column(String(500), default="", index=True)
    body: Mapped[str] = mapped_column(Text)
    digest: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Delivery(Base):
    """One activity to one inbox (shared inboxes deduplicated), retried until done."""

    __tablename__ = "deliveries"
    __table_args__ = (
        UniqueConstraint("activity_pk", "inbox"),
        Index("ix_deliveries_claim", "state", "next_attempt_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    activity_pk: Mapped[int] = mapped_column(
        ForeignKey("outbox_activities.id", ondelete="CASCADE"), index=True
    )
    inbox: Mapped[str] = mapped_column(String(500))
    host: Mapped[str] = mapped_column(String(253), index=True)
    # pending -> done | failed (4xx other than 429) | gave_up (after 3 days)
    state: Mapped[str] = mapped_column(String(20), default="pending")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(default=utcnow)
    locked_until: Mapped[datetime | None] = mapped_column(nullable=True)
    last_status: Mapped[int | None] = mapped_column(Integer, nullable=True)
    last_error: Mapped[str] = mapped_column(String(1000), default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    delivered_at: Mapped[datetime | None] = mapped_column(nullable=True)


class DeliveryAttempt(Base):
    """Every attempt of a delivery, with its outcome."""

    __tablename__ = "delivery_attempts"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    delivery_id: Mapped[int] = mapped_column(
        ForeignKey("deliveries.id", ondelete="CASCADE"), index=True
    )
    attempted_at: Mapped[datetime] = mapped_column(default=utcnow)
    status: Mapped[int | None] = mapped_column(Integer, nullable=True)
    error: Mapped[str] = mapped_column(String(1000), default="")
    duration_ms: Mapped[int] = mapped_column(Integer, default=0)


class FederatedObject(Base):
    """What we last told our followers about an initiative (local, or remote we Announce).

    The worker compares it with the initiatives table to know what to send: Create/Update/
    Delete for local ones, Announce for accepted remote ones.
    """

    __tablename__ = "federated_objects"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    object_uri: Mapped[str] = mapped_column(String(500), unique=True)
    initiative_id: Mapped[int | None] = mapped_column(
        ForeignKey("initiatives.id", ondelete="SET NULL"), nullable=True, unique=True
    )
    is_local: Mapped[bool] = mapped_column(default=True)
    state: Mapped[str] = mapped_column(String(20), default="published")  # published|deleted
    themes: Mapped[list[str]] = mapped_column(JSON, default=list)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
