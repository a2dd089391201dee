"""Creating many initiatives at once: one multi-row INSERT per table for a whole batch.

`create_initiative` costs about 15 statements per initiative (slug, themes, revision,
search index); an import or a federation backfill stores hundreds at a time, so both
call `insert_initiatives` here instead: a few statements per batch, whatever its size.
Values must already be cleaned by `clean_initiative` (the caller reports what it
refused, record by record). Nothing here commits.
"""

from __future__ import annotations

import bisect
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import String, Table, any_, bindparam, delete, insert, select
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.schema import CreateTable

from directory import sameas, search
from directory.initiatives import COLUMNS, Author
from directory.models import (
    Initiative,
    InitiativeActorKind,
    InitiativeNeed,
    InitiativeTheme,
    Revision,
    utcnow,
)
from directory.text import slugify


def among(session: AsyncSession, column: Any, values: list[str]) -> Any:
    """`column IN values`, as `= ANY(array)` on PostgreSQL: one parameter, not hundreds,
    which asyncpg prepares much faster (10x on 500 values)."""
    if session.bind.dialect.name == "postgresql":
        return column == any_(bindparam(None, values, type_=ARRAY(String)))
    return column.in_(values)


async def emptied(session: AsyncSession, table: Table) -> None:
    """A temporary table of this transaction's connection, made if missing, and empty.

    Emptied, not dropped: PostgreSQL drops no table that a cursor of the transaction read.
    """
    await session.execute(CreateTable(table, if_not_exists=True))
    await session.execute(delete(table))


class Slugs:
    """Unique slugs for a batch without one query per record."""

    def __init__(self, taken: set[str]) -> None:
        self.taken = taken

    @classmethod
    async def around(cls, session: AsyncSession, names: Iterable[str]) -> Slugs:
        """The slugs already taken that `new` may meet for these names (one query or a few,
        on the unique index), so whatever the size of the directory.

        `new` tries a name's base, then base-2, base-3...; a candidate is used up by the
        database, by a name of the batch whose base starts with this base, or (the base
        itself, when it ends in -<number>) by the names of the shorter base it extends.
        So the candidates are read in order until as many are free as there are such
        names: `new` never goes past the last one read."""
        ordered = sorted(slugify(name) for name in names)
        taken: set[str] = set()
        wanted: dict[str, int] = {}  # base -> free candidates needed
        for base in set(ordered):
            start = bisect.bisect_left(ordered, base)
            end = bisect.bisect_left(ordered, base + "-\uffff")  # base, and base-...
            wanted[base] = sum(1 for b in ordered[start:end] if b == base or b[len(base)] == "-")
            wanted[base] += 1 if _NUMBERED.search(base) else 0
        read = dict.fromkeys(wanted, 0)  # base -> candidates read
        while wanted:
            batch = {
                base: [_candidate(base, read[base] + k) for k in range(max(needed, read[base]))]
                for base, needed in wanted.items()
            }
            flat = [slug for candidates in batch.values() for slug in candidates]
            found = set(
                await session.scalars(
                    select(Initiative.slug).where(among(session, Initiative.slug, flat))
                )
            )
            taken |= found
            for base, candidates in batch.items():
                read[base] += len(candidates)
                wanted[base] -= sum(1 for slug in candidates if slug not in found)
                if wanted[base] <= 0:
                    del wanted[base]
        return cls(taken)

    def new(self, name: str) -> str:
        base = slugify(name)
        slug, n = base, 2
        while slug in self.taken:
            slug, n = f"{base}-{n}", n + 1
        self.taken.add(slug)
        return slug


_NUMBERED = re.compile(r"-[0-9]+$")


def _candidate(base: str, k: int) -> str:
    """The k-th slug `Slugs.new` tries for a base: base, base-2, base-3..."""
    return base if k == 0 else f"{base}-{k + 1}"


@dataclass
class NewInitiative:
    """One initiative to create: cleaned values and where it comes from."""

    values: Mapping[str, Any]
    moderation_state: str = "proposed"
    source: str | None = None
    source_id: str | None = None
    origin: str | None = None
    uri: str | None = None
    via: Sequence[str] = field(default_factory=list)


async def insert_initiatives(
    session: AsyncSession,
    items: Sequence[NewInitiative],
    *,
    author: Author,
    action: str,
    message: str,
    themes: Mapping[str, int],
    slugs: Slugs,
) -> list[int]:
    """Insert these initiatives with their themes, kinds, needs, first revision and search
    entry; their ids, in the order of `items`.

    `themes` maps theme slugs to ids; `slugs` hands out the new slugs. A slug or uri taken
    meanwhile by another transaction raises IntegrityError (the caller retries, one by one).
    """
    if not items:
        return []
    now = utcnow()
    rows = []
    for item in items:
        values = item.values
        row = {column: values[column] for column in COLUMNS}
        row.update(
            slug=slugs.new(values["name"]),
            name=values["name"],
            moderation_state=item.moderation_state,
            source=item.source,
            source_id=item.source_id,
            origin=item.origin,
            uri=item.uri,
            via=list(item.via),
            proposer_id=author.person_id,
            proposer_email="",
            moderation_note="",
            created_at=now,
            updated_at=now,
            published_at=now if item.moderation_state == "published" else None,
        )
        rows.append(row)
    # A plain executemany, then one SELECT for the ids: RETURNING with ordered rows makes
    # SQLAlchemy fall back to one INSERT per row on SQLite.
    await session.execute(insert(Initiative), rows)
    by_slug = dict(
        (
            await session.execute(
                select(Initiative.slug, Initiative.id).where(
                    among(session, Initiative.slug, [row["slug"] for row in rows])
                )
            )
        ).all()
    )
    ids = [by_slug[row["slug"]] for row in rows]
    theme_rows, kind_rows, need_rows, revisions = [], [], [], []
    for initiative_id, item in zip(ids, items, strict=True):
        values = item.values
        theme_rows += [
            {"initiative_id": initiative_id, "theme_id": themes[s]} for s in values["themes"]
        ]
        kind_rows += [{"initiative_id": initiative_id, "kind": k} for k in values["actor_kinds"]]
        need_rows += [{"initiative_id": initiative_id, "need": k} for k in values["needs"]]
        revisions.append(
            {
                "initiative_id": initiative_id,
                "person_id": author.person_id,
                "author": author.label,
                "action": action,
                "changes": {k: [None, v] for k, v in values.items() if v not in ("", [], None)},
                "message": message,
                "created_at": now,
            }
        )
    for model, batch in (
        (InitiativeTheme, theme_rows),
        (InitiativeActorKind, kind_rows),
        (InitiativeNeed, need_rows),
        (Revision, revisions),
    ):
        if batch:
            await session.execute(insert(model), batch)
    await search.index_initiatives(session, ids)
    for initiative_id, item in zip(ids, items, strict=True):
        if item.values["same_as"]:
            await sameas.link_twins(session, initiative_id, item.values["same_as"])
    return ids
