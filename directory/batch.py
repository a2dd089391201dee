"""Creating many initiatives at once: one multi-row INSERT per table for a whole batch.

`create_initiative` costs about 15 statements per initiative (slug, themes, revision,
search index); an import or a federation backfill stores hundreds at a time, so both
call `insert_initiatives` here instead: a few statements per batch, whatever its size.
Values must already be cleaned by `clean_initiative` (the caller reports what it
refused, record by record). Nothing here commits.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import String, any_, bindparam, insert, or_, select
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.ext.asyncio import AsyncSession

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


class Slugs:
    """Unique slugs for a batch without one query per record."""

    def __init__(self, taken: set[str]) -> None:
        self.taken = taken

    @classmethod
    async def around(cls, session: AsyncSession, names: Iterable[str]) -> Slugs:
        """The slugs already taken that these names could collide with (one query)."""
        bases = sorted({slugify(name) for name in names})
        if not bases:
            return cls(set())
        query = select(Initiative.slug).where(or_(*(Initiative.slug.like(f"{b}%") for b in bases)))
        return cls(set(await session.scalars(query)))

    def new(self, name: str) -> str:
        base = slugify(name)
        slug, n = base, 2
        while slug in self.taken:
            slug, n = f"{base}-{n}", n + 1
        self.taken.add(slug)
        return slug


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
