"""Synchronising a source's records with the directory, idempotently by (source, source id).

New records are added, changed ones updated with a revision, vanished ones withdrawn (never
deleted), and a field edited here since the last import is never overwritten: the
disagreement is stored as an ImportConflict for a moderator. Writes are batched (one
multi-row INSERT per chunk): one row per statement would cap imports near 1k records/s.
Nothing here commits; the job (jobs.py) owns the transaction, so an import lands whole or
not at all.
"""

from __future__ import annotations

import hashlib
from collections.abc import Awaitable, Callable, Iterable, Iterator
from itertools import islice
from typing import Any, Protocol

import orjson
from sqlalchemy import Column, Integer, MetaData, Table, Text, delete, insert, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from directory.batch import NewInitiative, Slugs, emptied, insert_initiatives
from directory.batch import among as _among
from directory.errors import ValidationError
from directory.imports import mapping
from directory.imports.models import ImportConflict, ImportRecord
from directory.imports.records import RawRecord, Rejected, SourceRecord
from directory.imports.report import REPORT_LIMIT, SyncReport
from directory.initiatives import Author, diff, field_values, update_initiative
from directory.models import (
    Initiative,
    Revision,
    Theme,
    utcnow,
)
from directory.validation import clean_initiative

CHUNK = 500

Progress = Callable[[int], Awaitable[None]]


class Geocoder(Protocol):
    async def geocode(
        self, *, street: str, postal_code: str, city: str
    ) -> tuple[float, float] | None: ...


def digest(values: dict[str, Any]) -> str:
    return hashlib.sha256(orjson.dumps(values, option=orjson.OPT_SORT_KEYS)).hexdigest()


def _raw_digest(record: RawRecord, themes: list[str]) -> str:
    """The digest of an element as the source gives it, and of the themes it maps to (an
    admin's new category mapping changes it)."""
    body = hashlib.sha256(record.source_form)
    body.update(b"|" + ",".join(themes).encode())
    return body.hexdigest()


def _count_unmapped(report: SyncReport, categories: list[Any], mapped: dict[str, Any]) -> None:
    for category in categories:
        if not (mapped.get(category.key) or mapped.get(category.parent)):
            report.unmapped_categories[category.label or category.key] += 1


_SEEN = Table(
    "import_source_ids_seen",
    MetaData(),
    Column("source_id", Text, primary_key=True),
    Column("position", Integer, nullable=False),
    prefixes=["TEMPORARY"],
)


class _Seen:
    """The source ids already met in this file, with their position, in a temporary table:
    a chunk reads those of its own ids and adds its new ones (a file may hold 100k ids)."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def start(self) -> None:
        await emptied(self.session, _SEEN)

    async def among(self, ids: list[str]) -> dict[str, int]:
        rows = await self.session.execute(
            select(_SEEN.c.source_id, _SEEN.c.position).where(
                _among(self.session, _SEEN.c.source_id, ids)
            )
        )
        return dict(rows.all())

    async def add(self, positions: dict[str, int]) -> None:
        if positions:
            await self.session.execute(
                insert(_SEEN), [{"source_id": k, "position": v} for k, v in positions.items()]
            )

    async def end(self) -> None:
        await self.session.execute(delete(_SEEN))


def _chunks(items: Iterable[Any], size: int) -> Iterator[list[Any]]:
    iterator = iter(items)
    while batch := list(islice(iterator, size)):
        yield batch


async def sync_records(
    session: AsyncSession,
    records: Iterable[RawRecord | SourceRecord | Rejected],
    *,
    source_key: str,
    run_id: int,
    moderation_state: str = "published",
    withdraw_vanished: bool = True,
    geocoder: Geocoder | None = None,
    progress: Progress | None = None,
) -> SyncReport:
    """Bring the directory in line with these records of `source_key`; never commits."""
    report = SyncReport()
    author = Author(None, f"import:{source_key}")
    themes = {slug: tid for tid, slug in (await session.execute(select(Theme.id, Theme.slug)))}
    seen = _Seen(session)
    await seen.start()
    # Initiatives that carry this source's ids but were stored before import tracking
    # existed (or by hand): matched by id, not duplicated. Usually none.
    untracked = dict(
        (
            await session.execute(
                select(Initiative.source_id, Initiative.id).where(
                    Initiative.source == source_key,
                    Initiative.id.not_in(
                        select(ImportRecord.initiative_id).where(
                            ImportRecord.source_key == source_key,
                            ImportRecord.initiative_id.is_not(None),
                        )
                    ),
                )
            )
        ).all()
    )
    for chunk in _chunks(records, CHUNK):
        await _sync_chunk(
            session,
            chunk,
            report=report,
            source_key=source_key,
            run_id=run_id,
            moderation_state=moderation_state,
            author=author,
            themes=themes,
            seen=seen,
            untracked=untracked,
            geocoder=geocoder,
        )
        # Keep memory flat over 100k records: nothing of a finished chunk stays in the session.
        await session.flush()
        session.expunge_all()
        if progress is not None:
            await progress(report.total)
    await seen.end()
    if withdraw_vanished:
        await _withdraw_vanished(session, report, source_key, run_id, author)
    return report


async def _sync_chunk(
    session: AsyncSession,
    chunk: list[RawRecord | SourceRecord | Rejected],
    *,
    report: SyncReport,
    source_key: str,
    run_id: int,
    moderation_state: str,
    author: Author,
    themes: dict[str, int],
    seen: _Seen,
    untracked: dict[str, int],
    geocoder: Geocoder | None,
) -> None:
    report.total += len(chunk)
    categories = [c for r in chunk if not isinstance(r, Rejected) for c in r.categories]
    mapped = await mapping.resolve(session, source_key, categories)
    # Only what decides "unchanged" is read for every record; the stored values (large) are
    # loaded for the few that changed.
    ids = list({r.source_id for r in chunk if not isinstance(r, Rejected) and r.source_id})
    existing = {
        row.source_id: row
        for row in await session.execute(
            select(
                ImportRecord.id,
                ImportRecord.source_id,
                ImportRecord.digest,
                ImportRecord.vanished,
                ImportRecord.initiative_id,
            ).where(
                ImportRecord.source_key == source_key,
                _among(session, ImportRecord.source_id, ids),
            )
        )
    } if ids else {}  # fmt: skip
    # Ids met in an earlier chunk (from the table) or in this one, with their position.
    met = await seen.among(list({r.source_id for r in chunk if not isinstance(r, Rejected)}))
    new_ids: dict[str, int] = {}
    cleaned: list[tuple[SourceRecord, dict[str, Any]]] = []
    still_there: list[str] = []  # refused now, but present: not to be withdrawn
    unchanged: list[str] = []
    for record in chunk:
        if isinstance(record, RawRecord):
            themes_of = mapping.themes_for(record.categories, mapped)
            sig = _raw_digest(record, themes_of)
            row = existing.get(record.source_id)
            if (
                record.source_id not in met
                and row is not None
                and row.initiative_id is not None
                and row.digest == sig
                and not row.vanished
            ):
                met[record.source_id] = new_ids[record.source_id] = record.position
                unchanged.append(record.source_id)
                _count_unmapped(report, record.categories, mapped)
                continue
            parsed = record.parse()
            if isinstance(parsed, SourceRecord):
                parsed.digest = sig
            record = parsed
        if isinstance(record, Rejected):
            report.reject(record.position, record.source_id, record.name, record.reason)
            if record.source_id:
                still_there.append(record.source_id)
            continue
        if record.source_id in met:
            report.reject(
                record.position,
                record.source_id,
                record.name,
                f"identifiant en double dans le fichier (déjà à la position {met[record.source_id]})",
            )
            continue
        met[record.source_id] = new_ids[record.source_id] = record.position
        data = dict(record.fields)
        data["themes"] = mapping.themes_for(record.categories, mapped)
        _count_unmapped(report, record.categories, mapped)
        try:
            values = clean_initiative(data, theme_slugs=themes)
        except ValidationError as exc:
            reason = "; ".join(f"{f} : {r}" for f, r in exc.errors.items())
            report.reject(record.position, record.source_id, record.name, reason)
            still_there.append(record.source_id)
            continue
        if (
            values["latitude"] is None
            and geocoder is not None
            and (values["city"] or values["postal_code"])
        ):
            found = await geocoder.geocode(
                street=values["street"], postal_code=values["postal_code"], city=values["city"]
            )
            if found:
                values["latitude"], values["longitude"] = found
                report.geocoded += 1
                record.warnings.append("coordonnées trouvées par géocodage de l'adresse")
        entry = {"position": record.position, "source_id": record.source_id, "name": record.name}
        if values["latitude"] is None:
            report.without_coordinates_count += 1
            if len(report.without_coordinates) < REPORT_LIMIT:
                report.without_coordinates.append(entry)
        if record.warnings:
            report.warnings_count += 1
            if len(report.warnings) < REPORT_LIMIT:
                report.warnings.append({**entry, "warnings": record.warnings})
        cleaned.append((record, values))

    await seen.add(new_ids)
    new: list[tuple[SourceRecord, dict[str, Any], str]] = []
    for record, values in cleaned:
        sig = record.digest or digest(values)
        row = existing.get(record.source_id)
        if row is not None and row.initiative_id is not None:
            if row.digest == sig and not row.vanished:
                unchanged.append(record.source_id)
                continue
            tracked = await session.get(ImportRecord, row.id)
            assert tracked is not None
        elif record.source_id in untracked:
            initiative = await session.get(Initiative, untracked.pop(record.source_id))
            assert initiative is not None
            tracked = ImportRecord(
                source_key=source_key,
                source_id=record.source_id,
                initiative_id=initiative.id,
                digest="",
                values=field_values(initiative),
                vanished=False,
            )
            session.add(tracked)
        else:
            if row is not None:  # its initiative is gone: start afresh
                await session.execute(delete(ImportRecord).where(ImportRecord.id == row.id))
            new.append((record, values, sig))
            continue
        await _update_one(session, tracked, values, sig, report, run_id, moderation_state, author)
    report.unchanged += len(unchanged)
    for batch in (unchanged, still_there):
        if batch:
            await session.execute(
                update(ImportRecord)
                .where(
                    ImportRecord.source_key == source_key,
                    _among(session, ImportRecord.source_id, batch),
                )
                .values(last_job_id=run_id)
            )
    if new:
        await _create_many(
            session, new, report, source_key, run_id, moderation_state, author, themes
        )


async def _create_many(
    session: AsyncSession,
    new: list[tuple[SourceRecord, dict[str, Any], str]],
    report: SyncReport,
    source_key: str,
    run_id: int,
    moderation_state: str,
    author: Author,
    themes: dict[str, int],
) -> None:
    ids = await insert_initiatives(
        session,
        [
            NewInitiative(
                values,
                moderation_state=moderation_state if record.published else "proposed",
                source=source_key,
                source_id=record.source_id,
            )
            for record, values, _ in new
        ],
        author=author,
        action="import",
        message=f"import {source_key} n°{run_id}",
        themes=themes,
        slugs=await Slugs.around(session, [values["name"] for _, values, _ in new]),
    )
    tracked = [
        {
            "source_key": source_key,
            "source_id": record.source_id,
            "initiative_id": initiative_id,
            "digest": sig,
            "values": values,
            "vanished": False,
            "last_job_id": run_id,
        }
        for initiative_id, (record, values, sig) in zip(ids, new, strict=True)
    ]
    await session.execute(insert(ImportRecord), tracked)
    report.created += len(ids)
    report.created_ids.add(ids)


def _same(field: str, a: Any, b: Any) -> bool:
    return not diff({field: a}, {field: b})


async def _update_one(
    session: AsyncSession,
    tracked: ImportRecord,
    values: dict[str, Any],
    sig: str,
    report: SyncReport,
    run_id: int,
    moderation_state: str,
    author: Author,
) -> None:
    """Apply what the source changed, except fields also edited here (listed as a conflict)."""
    initiative = await session.get(Initiative, tracked.initiative_id)
    assert initiative is not None
    baseline = tracked.values
    current = field_values(initiative)
    upstream = diff(baseline, values)
    local = diff(baseline, current)
    apply: dict[str, Any] = {}
    conflict: dict[str, list[Any]] = {}
    for name, (_old, new) in upstream.items():
        if name in local and not _same(name, current.get(name), new):
            conflict[name] = [current.get(name), new]
        elif not _same(name, current.get(name), new):
            apply[name] = new
    touched = False
    if apply:
        await update_initiative(
            session, initiative, apply, author=author, action="import",
            message=f"import {tracked.source_key} n°{run_id}",
        )  # fmt: skip
        touched = True
    if conflict:
        session.add(
            ImportConflict(
                job_id=run_id if run_id > 0 else None,
                initiative_id=initiative.id,
                source_key=tracked.source_key,
                source_id=tracked.source_id,
                fields=conflict,
            )
        )
        report.conflicts += 1
        touched = True
    if tracked.vanished and initiative.moderation_state == "withdrawn":
        await _set_state(session, initiative, moderation_state, author, "de retour dans la source")
        report.restored += 1
        touched = True
    tracked.values, tracked.digest = values, sig
    tracked.vanished, tracked.last_job_id = False, run_id
    if touched:
        report.updated += 1
    else:
        report.unchanged += 1


async def _set_state(
    session: AsyncSession, initiative: Initiative, state: str, author: Author, message: str
) -> None:
    old = initiative.moderation_state
    initiative.moderation_state = state
    initiative.updated_at = utcnow()
    if state == "published" and initiative.published_at is None:
        initiative.published_at = initiative.updated_at
    session.add(
        Revision(
            initiative_id=initiative.id,
            author=author.label,
            action="moderate",
            changes={"moderation_state": [old, state]},
            message=message,
        )
    )


async def _withdraw_vanished(
    session: AsyncSession, report: SyncReport, source_key: str, run_id: int, author: Author
) -> None:
    """Withdraw (never delete) what the source no longer lists."""
    gone = (
        await session.execute(
            select(ImportRecord.id, ImportRecord.initiative_id).where(
                ImportRecord.source_key == source_key,
                ImportRecord.vanished.is_(False),
                or_(ImportRecord.last_job_id.is_(None), ImportRecord.last_job_id != run_id),
            )
        )
    ).all()
    now = utcnow()
    for batch in _chunks(gone, CHUNK):
        record_ids = [r[0] for r in batch]
        initiative_ids = [r[1] for r in batch if r[1] is not None]
        states = dict(
            (
                await session.execute(
                    select(Initiative.id, Initiative.moderation_state).where(
                        Initiative.id.in_(initiative_ids),
                        Initiative.moderation_state.in_(("published", "proposed")),
                    )
                )
            ).all()
        )
        if states:
            await session.execute(
                update(Initiative)
                .where(Initiative.id.in_(list(states)))
                .values(moderation_state="withdrawn", updated_at=now)
            )
            await session.execute(
                insert(Revision),
                [
                    {
                        "initiative_id": iid,
                        "author": author.label,
                        "action": "moderate",
                        "changes": {"moderation_state": [old, "withdrawn"]},
                        "message": f"absente de la source {source_key} (import n°{run_id})",
                        "created_at": now,
                    }
                    for iid, old in states.items()
                ],
            )
        await session.execute(
            update(ImportRecord).where(ImportRecord.id.in_(record_ids)).values(vanished=True)
        )
        report.withdrawn += len(states)
