"""Import jobs: each import is a row (progress, counts, report); its data lands in one
transaction, so a failure leaves nothing half-imported and the job can simply run again
(imports are idempotent). Periodic sources create a job when they are due.
"""

from __future__ import annotations

import contextlib
import gc
import io
import logging
import shutil
import uuid
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import IO, Any

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from directory.db import Database
from directory.errors import Conflict, NotFound, ValidationError
from directory.imports import csv, duplicates, geojson, gogocarto
from directory.imports.fetch import MAX_IMPORT_BYTES, Fetcher, FetchError, size_label
from directory.imports.models import ImportJob, ImportSource
from directory.imports.records import ParseError, Rejected, SourceRecord
from directory.imports.sync import Geocoder, sync_records
from directory.messages import N_
from directory.models import utcnow

log = logging.getLogger("maillage.imports")

KINDS = ("gogocarto", "csv", "geojson")
STALE_AFTER = timedelta(hours=2)  # a "running" job older than this died with its process
DUPLICATE_REPORT_LIMIT = 500  # possible duplicates listed in a job's report

ProgressCallback = Callable[[int, int], None]


def open_records(
    kind: str, file: IO[bytes], options: dict[str, Any]
) -> tuple[int, Iterator[SourceRecord | Rejected]]:
    """The number of records and the records of a payload; ParseError if unreadable.

    Payloads are checked whole, then read one record at a time (memory stays flat).
    """
    if kind == "gogocarto":
        return gogocarto.open_file(file)
    if kind == "csv":
        plan, rows = csv.open_file(file, options.get("columns") or {})
        return plan.rows, csv.records(plan, rows)
    if kind == "geojson":
        return geojson.open_file(file)
    raise ParseError(f"type d'import inconnu : {kind} (possibles : {', '.join(KINDS)})")


def check_size(size: int, max_bytes: int = MAX_IMPORT_BYTES) -> None:
    if size > max_bytes:
        raise ParseError(f"fichier trop gros ({size_label(size)}, maximum {size_label(max_bytes)})")


def store_payload(data_dir: Path, raw: bytes, suffix: str) -> Path:
    """Keep the bytes a job reads, so a failed job can run again from the same input."""
    folder = data_dir / "imports"
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{uuid.uuid4().hex}.{suffix}"
    path.write_bytes(raw)
    return path


def copy_payload(
    data_dir: Path, source: Path, suffix: str, max_bytes: int = MAX_IMPORT_BYTES
) -> Path:
    """`store_payload` for a file on disk, copied without reading it into memory."""
    folder = data_dir / "imports"
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{uuid.uuid4().hex}.{suffix}"
    try:
        check_size(source.stat().st_size, max_bytes)
        shutil.copyfile(source, path)
    except OSError as exc:
        raise ParseError(f"fichier illisible : {exc.strerror or exc}") from None
    return path


def read_payload(path: str, max_bytes: int = MAX_IMPORT_BYTES) -> bytes:
    file = Path(path)
    try:
        check_size(file.stat().st_size, max_bytes)
        return file.read_bytes()
    except OSError as exc:
        raise ParseError(f"fichier illisible : {exc.strerror or exc}") from None


def open_payload(path: str, max_bytes: int = MAX_IMPORT_BYTES) -> IO[bytes]:
    """The stored input of a job, open for reading; ParseError if missing or too large."""
    try:
        check_size(Path(path).stat().st_size, max_bytes)
        return open(path, "rb")  # the caller closes it
    except OSError as exc:
        raise ParseError(f"fichier illisible : {exc.strerror or exc}") from None


def is_url(location: str) -> bool:
    return location.startswith(("http://", "https://"))


async def create_job(
    session: AsyncSession,
    *,
    kind: str,
    source_key: str,
    payload_path: str = "",
    location: str = "",
    options: dict[str, Any] | None = None,
    person_id: int | None = None,
) -> ImportJob:
    """A pending import job (from a stored file, or a URL fetched when it runs)."""
    errors = {}
    if kind not in KINDS:
        errors["kind"] = N_(
            "inconnu : %(kind)s (possibles : %(choices)s)", kind=kind, choices=", ".join(KINDS)
        )
    if not source_key.strip() or len(source_key) > 120:
        errors["source"] = N_("nom de source obligatoire (120 caractères au plus)")
    if not payload_path and not is_url(location):
        errors["location"] = N_("un fichier ou une adresse http(s) est attendu")
    if errors:
        raise ValidationError(errors)
    job = ImportJob(
        kind=kind,
        source_key=source_key.strip(),
        payload_path=payload_path,
        location=location,
        options=dict(options or {}),
        person_id=person_id,
        counts={},
        report={},
    )
    session.add(job)
    await session.flush()
    return job


async def get_job(session: AsyncSession, job_id: int) -> ImportJob:
    job = await session.get(ImportJob, job_id)
    if job is None:
        raise NotFound(N_("import n°%(job_id)s introuvable", job_id=job_id))
    return job


async def list_jobs(session: AsyncSession, limit: int = 50) -> list[ImportJob]:
    return list(await session.scalars(select(ImportJob).order_by(ImportJob.id.desc()).limit(limit)))


async def retry_job(session: AsyncSession, job_id: int) -> ImportJob:
    """Put a failed job back in the queue: it runs again from its stored input."""
    job = await get_job(session, job_id)
    if job.state != "failed":
        raise Conflict(
            N_(
                "l'import n°%(job_id)s est %(state)s : seul un import échoué se relance",
                job_id=job_id,
                state=job.state,
            )
        )
    job.state, job.error, job.processed = "pending", "", 0
    job.started_at = job.finished_at = None
    await session.flush()
    return job


async def claim(db: Database, job_id: int) -> bool:
    """Mark a pending job running; False if another worker got it first."""
    async with db.session() as session:
        result = await session.execute(
            update(ImportJob)
            .where(ImportJob.id == job_id, ImportJob.state == "pending")
            .values(state="running", started_at=utcnow(), processed=0)
        )
        return result.rowcount == 1


async def _finish_failed(db: Database, job_id: int, message: str) -> None:
    async with db.session() as session:
        job = await get_job(session, job_id)
        job.state = "failed"
        job.error = message
        job.finished_at = utcnow()


async def run_job(
    db: Database,
    job_id: int,
    *,
    fetcher: Fetcher | None = None,
    geocoder: Geocoder | None = None,
    data_dir: Path | None = None,
    on_progress: ProgressCallback | None = None,
    max_bytes: int = MAX_IMPORT_BYTES,
) -> ImportJob:
    """Run one pending job to the end: done with its report, or failed with nothing written."""
    if not await claim(db, job_id):
        async with db.session() as session:
            job = await get_job(session, job_id)
        raise Conflict(
            N_(
                "l'import n°%(job_id)s n'est pas en attente (état : %(state)s)",
                job_id=job_id,
                state=job.state,
            )
        )
    async with db.session() as session:
        job = await get_job(session, job_id)
        kind, source_key, options = job.kind, job.source_key, dict(job.options)
        payload_path, location = job.payload_path, job.location
    try:
        raw = b""
        if not payload_path:
            if fetcher is None:
                raise FetchError("aucun client réseau fourni pour télécharger la source")
            raw = await fetcher.fetch(location, max_bytes=max_bytes)
            check_size(len(raw), max_bytes)
            if data_dir is not None:
                payload_path = str(store_payload(data_dir, raw, "json" if kind != "csv" else "csv"))
                raw = b""
        file = open_payload(payload_path, max_bytes) if payload_path else io.BytesIO(raw)
        with file, _frozen_heap():
            return await _run_records(
                db, job_id, file, kind=kind, source_key=source_key, options=options,
                payload_path=payload_path, geocoder=geocoder, on_progress=on_progress,
            )  # fmt: skip
    except (ParseError, FetchError, ValidationError) as exc:
        message = f"{exc} — rien n'a été importé"
        await _finish_failed(db, job_id, message)
    except Exception as exc:  # a bug must not leave the job "running" forever
        log.exception("import job %s failed", job_id)
        await _finish_failed(
            db,
            job_id,
            f"erreur interne ({type(exc).__name__}: {str(exc)[:500]}) — rien n'a été importé",
        )
    async with db.session() as session:
        return await get_job(session, job_id)


@contextlib.contextmanager
def _frozen_heap() -> Iterator[None]:
    """Leave the objects alive before the import out of the collector's full passes: an
    import allocates millions of objects, and each full pass walked the whole application
    again (a sixth of an import's CPU time)."""
    gc.collect()
    gc.freeze()
    try:
        yield
    finally:
        gc.unfreeze()


async def _run_records(
    db: Database,
    job_id: int,
    file: IO[bytes],
    *,
    kind: str,
    source_key: str,
    options: dict[str, Any],
    payload_path: str,
    geocoder: Geocoder | None,
    on_progress: ProgressCallback | None,
) -> ImportJob:
    """Sync the records of an open payload in one transaction; the job done with its report."""
    total, records = open_records(kind, file, options)
    async with db.session() as session:
        await session.execute(
            update(ImportJob)
            .where(ImportJob.id == job_id)
            .values(total=total, payload_path=payload_path)
        )

    async def progress(done: int) -> None:
        if on_progress is not None:
            on_progress(done, total)
        # On PostgreSQL the admin page follows progress from another connection; SQLite
        # allows one writer, the import itself, so its page shows progress at the end.
        if db.dialect == "postgresql":
            async with db.session() as side:
                await side.execute(
                    update(ImportJob).where(ImportJob.id == job_id).values(processed=done)
                )

    async with db.session() as session:
        report = await sync_records(
            session,
            records,
            source_key=source_key,
            run_id=job_id,
            moderation_state=options.get("moderation_state", "published"),
            withdraw_vanished=not options.get("keep_vanished", False),
            geocoder=geocoder,
            progress=progress,
        )
        body = report.as_dict()
        if report.created_ids:
            pairs = await duplicates.find_all(
                session, among=report.created_ids, limit=DUPLICATE_REPORT_LIMIT
            )
            body["possible_duplicates"] = [p.as_dict() for p in pairs]
        job = await get_job(session, job_id)
        job.state = "done"
        job.processed = report.total
        job.total = report.total
        job.counts = {k: v for k, v in body.items() if isinstance(v, int)}
        job.report = body
        job.finished_at = utcnow()
    return job


# --- Sources synced periodically ------------------------------------------------------------

EVERY_UNITS = {"m": 60, "h": 3600, "d": 86400, "w": 7 * 86400}


def parse_every(value: str) -> int:
    """`30m`, `6h`, `1d`, `1w` in seconds; ValidationError otherwise."""
    text = value.strip().lower()
    if len(text) >= 2 and text[:-1].isdigit() and text[-1] in EVERY_UNITS:
        seconds = int(text[:-1]) * EVERY_UNITS[text[-1]]
        if seconds >= 300:
            return seconds
    raise ValidationError({"every": N_("une durée comme 6h, 1d ou 1w (5 minutes au moins)")})


async def save_source(
    session: AsyncSession,
    *,
    key: str,
    kind: str,
    location: str,
    every_seconds: int | None,
    options: dict[str, Any] | None = None,
    now: datetime | None = None,
) -> ImportSource:
    """Create or update a source; with a period, its next run is due one period from now."""
    source = await session.scalar(select(ImportSource).where(ImportSource.key == key))
    if source is None:
        source = ImportSource(key=key, kind=kind, options={})
        session.add(source)
    source.kind, source.location, source.every_seconds = kind, location, every_seconds
    source.options = dict(options or {})
    start = now or utcnow()
    source.next_run_at = start + timedelta(seconds=every_seconds) if every_seconds else None
    await session.flush()
    return source


async def list_sources(session: AsyncSession) -> list[ImportSource]:
    return list(await session.scalars(select(ImportSource).order_by(ImportSource.key)))


async def queue_due_sources(session: AsyncSession, now: datetime | None = None) -> list[int]:
    """A job for each source whose next run is due; its next run moves one period on."""
    now = now or utcnow()
    due = await session.scalars(
        select(ImportSource)
        .where(ImportSource.next_run_at.is_not(None), ImportSource.next_run_at <= now)
        .order_by(ImportSource.next_run_at)
    )
    ids = []
    for source in list(due):
        job = await create_job(
            session,
            kind=source.kind,
            source_key=source.key,
            location=source.location,
            payload_path="" if is_url(source.location) else source.location,
            options=source.options,
        )
        ids.append(job.id)
        source.next_run_at = now + timedelta(seconds=source.every_seconds or 86400)
    await session.flush()
    return ids


async def pending_job_ids(session: AsyncSession, now: datetime | None = None) -> list[int]:
    """Jobs waiting to run, oldest first; a job left running by a dead process is requeued."""
    now = now or utcnow()
    await session.execute(
        update(ImportJob)
        .where(ImportJob.state == "running", ImportJob.started_at < now - STALE_AFTER)
        .values(state="pending")
    )
    return list(
        await session.scalars(
            select(ImportJob.id).where(ImportJob.state == "pending").order_by(ImportJob.id)
        )
    )


async def import_file(
    db: Database,
    *,
    kind: str,
    source_key: str,
    path: Path,
    data_dir: Path,
    options: dict[str, Any] | None = None,
    person_id: int | None = None,
    geocoder: Geocoder | None = None,
    on_progress: ProgressCallback | None = None,
    max_bytes: int = MAX_IMPORT_BYTES,
) -> ImportJob:
    """Copy this file, queue a job for it and run it now (CLI, benchmark): never read whole."""
    stored = copy_payload(data_dir, path, "csv" if kind == "csv" else "json", max_bytes)
    async with db.session() as session:
        job = await create_job(
            session, kind=kind, source_key=source_key, payload_path=str(stored),
            options=options, person_id=person_id,
        )  # fmt: skip
    return await run_job(
        db, job.id, geocoder=geocoder, data_dir=data_dir, on_progress=on_progress,
        max_bytes=max_bytes,
    )  # fmt: skip


async def import_payload(
    db: Database,
    *,
    kind: str,
    source_key: str,
    raw: bytes,
    data_dir: Path,
    options: dict[str, Any] | None = None,
    location: str = "",
    person_id: int | None = None,
    geocoder: Geocoder | None = None,
    on_progress: ProgressCallback | None = None,
    max_bytes: int = MAX_IMPORT_BYTES,
) -> ImportJob:
    """Store these bytes, queue a job for them and run it now (CLI, tests)."""
    check_size(len(raw), max_bytes)
    path = store_payload(data_dir, raw, "csv" if kind == "csv" else "json")
    async with db.session() as session:
        job = await create_job(
            session,
            kind=kind,
            source_key=source_key,
            payload_path=str(path),
            location=location,
            options=options,
            person_id=person_id,
        )
    return await run_job(
        db,
        job.id,
        geocoder=geocoder,
        data_dir=data_dir,
        on_progress=on_progress,
        max_bytes=max_bytes,
    )
