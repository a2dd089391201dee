"""Tables of imports: sources (with their schedule), jobs, imported records, conflicts,
category mappings and duplicate decisions. Created by web/migrations/versions/0005_imports.py.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Boolean, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from directory.models import Base, utcnow

JOB_STATES = ("pending", "running", "done", "failed")


class ImportSource(Base):
    """A named source (its key is what initiatives carry in `source`), maybe synced periodically."""

    __tablename__ = "import_sources"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    key: Mapped[str] = mapped_column(String(120), unique=True)
    kind: Mapped[str] = mapped_column(String(20))  # gogocarto, csv, geojson
    location: Mapped[str] = mapped_column(String(1000), default="")  # URL or file path
    every_seconds: Mapped[int | None] = mapped_column(Integer, nullable=True)
    next_run_at: Mapped[datetime | None] = mapped_column(nullable=True, index=True)
    options: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class ImportJob(Base):
    """One run of an import: progress, counts and the report of each refused record."""

    __tablename__ = "import_jobs"
    __table_args__ = (Index("ix_import_jobs_state_id", "state", "id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    source_key: Mapped[str] = mapped_column(String(120), index=True)
    kind: Mapped[str] = mapped_column(String(20))
    location: Mapped[str] = mapped_column(String(1000), default="")
    # The file this job reads (an upload or a download kept under the data directory), so
    # that a failed job can run again from the same bytes.
    payload_path: Mapped[str] = mapped_column(String(1000), default="")
    options: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    state: Mapped[str] = mapped_column(String(20), default="pending")
    total: Mapped[int] = mapped_column(Integer, default=0)
    processed: Mapped[int] = mapped_column(Integer, default=0)
    counts: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    report: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    error: Mapped[str] = mapped_column(Text, default="")
    person_id: Mapped[int | None] = mapped_column(
        ForeignKey("people.id", ondelete="SET NULL"), nullable=True
    )
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    started_at: Mapped[datetime | None] = mapped_column(nullable=True)
    finished_at: Mapped[datetime | None] = mapped_column(nullable=True)


class ImportRecord(Base):
    """What a source last said about one of its records, to detect upstream and local change."""

    __tablename__ = "import_records"
    __table_args__ = (UniqueConstraint("source_key", "source_id", name="uq_import_records"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    source_key: Mapped[str] = mapped_column(String(120))
    source_id: Mapped[str] = mapped_column(String(200))
    initiative_id: Mapped[int | None] = mapped_column(
        ForeignKey("initiatives.id", ondelete="SET NULL"), nullable=True, index=True
    )
    digest: Mapped[str] = mapped_column(String(64))
    values: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    vanished: Mapped[bool] = mapped_column(Boolean, default=False)
    last_job_id: Mapped[int | None] = mapped_column(Integer, nullable=True)


class ImportConflict(Base):
    """A field the source changed that was also edited here: kept local until decided."""

    __tablename__ = "import_conflicts"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    job_id: Mapped[int | None] = mapped_column(
        ForeignKey("import_jobs.id", ondelete="SET NULL"), nullable=True
    )
    initiative_id: Mapped[int] = mapped_column(
        ForeignKey("initiatives.id", ondelete="CASCADE"), index=True
    )
    source_key: Mapped[str] = mapped_column(String(120))
    source_id: Mapped[str] = mapped_column(String(200))
    fields: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)  # field -> [local, source]
    state: Mapped[str] = mapped_column(String(20), default="open", index=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    resolved_at: Mapped[datetime | None] = mapped_column(nullable=True)


class CategoryMapping(Base):
    """A source category mapped onto a theme (core or local); editable by the admin."""

    __tablename__ = "category_mappings"
    __table_args__ = (UniqueConstraint("source_key", "category", name="uq_category_mappings"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    source_key: Mapped[str] = mapped_column(String(120))
    category: Mapped[str] = mapped_column(String(200))  # the source's id, or its folded label
    label: Mapped[str] = mapped_column(String(300), default="")
    theme_slug: Mapped[str | None] = mapped_column(String(80), nullable=True)
    automatic: Mapped[bool] = mapped_column(Boolean, default=True)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class DuplicateDecision(Base):
    """A moderator's decision about two initiatives: merged, distinct, or the same (sameAs)."""

    __tablename__ = "duplicate_decisions"
    __table_args__ = (UniqueConstraint("first_id", "second_id", name="uq_duplicate_pair"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    first_id: Mapped[int] = mapped_column(ForeignKey("initiatives.id", ondelete="CASCADE"))
    second_id: Mapped[int] = mapped_column(
        ForeignKey("initiatives.id", ondelete="CASCADE"), index=True
    )
    decision: Mapped[str] = mapped_column(String(20))
    person_id: Mapped[int | None] = mapped_column(
        ForeignKey("people.id", ondelete="SET NULL"), nullable=True
    )
    note: Mapped[str] = mapped_column(String(1000), default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
