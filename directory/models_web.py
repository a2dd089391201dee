"""Tables of the contribution and moderation area (migration 0004): rate counters, status links.

Kept apart from directory/models.py so each area owns its tables; both map onto the same
`Base`, so `Base.metadata` holds them once this module is imported.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from directory.models import Base, utcnow


class RateCounter(Base):
    """Hits of one key (e.g. "propose:ip:203.0.113.5") in one fixed time window.

    Stored in the database so that every web process behind the proxy sees the same count.
    """

    __tablename__ = "rate_counters"

    key: Mapped[str] = mapped_column(String(300), primary_key=True)
    window_start: Mapped[int] = mapped_column(Integer, primary_key=True, index=True)
    count: Mapped[int] = mapped_column(Integer, default=0)


class StatusLink(Base):
    """A private link that shows an anonymous proposer the state of their proposal.

    Only the SHA-256 of the token is kept, as for API tokens.
    """

    __tablename__ = "status_links"

    token_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    initiative_id: Mapped[int | None] = mapped_column(
        ForeignKey("initiatives.id", ondelete="CASCADE"), nullable=True, index=True
    )
    correction_id: Mapped[int | None] = mapped_column(
        ForeignKey("corrections.id", ondelete="CASCADE"), nullable=True, index=True
    )
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
