"""Tables of the diagnostic's stored counts (migration 0008): the counts and what changed.

Kept apart from directory/models.py (like models_web.py); both map onto the same `Base`.
"""

from __future__ import annotations

from sqlalchemy import Boolean, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from directory.models import Base

ALL_COMMUNES = "*"  # a DiagnosticChange for every commune (e.g. the theme tree changed)
TERRITORY = "*"  # the DiagnosticCount rows summed over every commune


class DiagnosticCount(Base):
    """How many published initiatives of one commune, origin and status carry one value.

    `dimension` is "all" (value ""), "theme" (core theme id), "kind", "need", "created"
    and "ended" (month "YYYY-MM"), or "multi" (at least two kinds of actors, value "").
    Rows with insee_code TERRITORY hold the sums over every commune.
    """

    __tablename__ = "diagnostic_counts"
    __table_args__ = (Index("ix_diagnostic_counts_dimension", "dimension", "status", "insee_code"),)

    insee_code: Mapped[str] = mapped_column(String(10), primary_key=True)
    is_local: Mapped[bool] = mapped_column(Boolean, primary_key=True)
    status: Mapped[str] = mapped_column(String(20), primary_key=True)
    dimension: Mapped[str] = mapped_column(String(10), primary_key=True)
    value: Mapped[str] = mapped_column(String(80), primary_key=True)
    n: Mapped[int] = mapped_column(Integer)


class DiagnosticChange(Base):
    """A commune whose stored counts are stale: written by triggers, removed when recounted."""

    __tablename__ = "diagnostic_changes"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    insee_code: Mapped[str] = mapped_column(String(10), index=True)
