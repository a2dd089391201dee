"""Read-only queries behind the public pages: counts, latest, themes, communes, neighbours.

Only published initiatives; functions take a session and never commit.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, Select, and_, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from directory.facets import cached, connection_cache
from directory.models import (
    Commune,
    Initiative,
    InitiativeTheme,
    Relation,
    Revision,
    Territory,
    Theme,
)
from directory.sameas import not_shadowed
from directory.themes import all_themes

# Published, and not hidden behind its sameAs twin (shown once, see sameas.py).
PUBLISHED = and_(Initiative.moderation_state == "published", not_shadowed())


@dataclass(frozen=True)
class Overview:
    initiatives: int
    communes: int
    instances: int  # other instances whose initiatives we show


@dataclass(frozen=True)
class ThemeCount:
    theme: Theme
    count: int


async def overview(session: AsyncSession) -> Overview:
    """How many published initiatives, communes reached, other instances represented."""
    row = (
        await session.execute(
            select(
                func.count(Initiative.id),
                func.count(func.distinct(func.nullif(Initiative.insee_code, ""))),
                func.count(func.distinct(Initiative.origin)),
            ).where(PUBLISHED)
        )
    ).one()
    return Overview(initiatives=row[0], communes=row[1], instances=row[2])


async def territory(session: AsyncSession) -> Territory | None:
    return await session.scalar(select(Territory).order_by(Territory.id).limit(1))


async def latest(session: AsyncSession, limit: int = 6, **filters: str) -> list[Initiative]:
    """The most recently published initiatives, optionally of a theme or a commune."""
    query = _filtered(select(Initiative).where(PUBLISHED), **filters)
    query = query.order_by(
        func.coalesce(Initiative.published_at, Initiative.created_at).desc(), Initiative.id.desc()
    )
    return list(await session.scalars(query.limit(limit)))


def _filtered(query: Select, *, theme: str = "", commune: str = "") -> Select:
    if theme:
        query = query.where(Initiative.id.in_(_theme_members(theme)))
    if commune:
        query = query.where(Initiative.insee_code == commune)
    return query


def _theme_members(slug: str) -> Select:
    """Ids of initiatives tagged with a theme or one of its sub-themes."""
    parent = aliased(Theme)
    return (
        select(InitiativeTheme.initiative_id)
        .join(Theme, Theme.id == InitiativeTheme.theme_id)
        .outerjoin(parent, parent.id == Theme.parent_id)
        .where(or_(Theme.slug == slug, parent.slug == slug))
    )


async def _core_counts(session: AsyncSession, *conditions: Any) -> dict[str, int]:
    """Initiatives matching `conditions` per core theme slug (sub-themes counted in)."""
    parent = aliased(Theme)
    core_slug = func.coalesce(parent.slug, Theme.slug)
    rows = await session.execute(
        select(core_slug, func.count(func.distinct(InitiativeTheme.initiative_id)))
        .select_from(InitiativeTheme)
        .join(Theme, Theme.id == InitiativeTheme.theme_id)
        .outerjoin(parent, parent.id == Theme.parent_id)
        .join(Initiative, Initiative.id == InitiativeTheme.initiative_id)
        .where(*conditions)
        .group_by(core_slug)
    )
    return dict(rows.all())


async def theme_counts(session: AsyncSession) -> list[ThemeCount]:
    """Every core theme with its number of published initiatives (sub-themes included)."""
    counts = await _core_counts(session, PUBLISHED)
    return [ThemeCount(t, counts.get(t.slug, 0)) for t in await all_themes(session) if t.is_core]


async def theme(session: AsyncSession, slug: str) -> Theme | None:
    return await session.scalar(select(Theme).where(Theme.slug == slug))


async def sub_themes(session: AsyncSession, theme_id: int) -> list[Theme]:
    return list(
        await session.scalars(
            select(Theme).where(Theme.parent_id == theme_id).order_by(Theme.label_fr)
        )
    )


async def count_published(session: AsyncSession, **filters: str) -> int:
    query = _filtered(select(func.count(Initiative.id)).where(PUBLISHED), **filters)
    return int(await session.scalar(query) or 0)


async def commune(session: AsyncSession, insee_code: str) -> Commune | None:
    return await session.scalar(select(Commune).where(Commune.insee_code == insee_code))


async def commune_counts(
    session: AsyncSession, limit: int | None = None
) -> list[tuple[str, str, int]]:
    """(INSEE code, name, count) of communes with published initiatives, most first.

    The counts (and, for a code missing from `communes`, the city its initiatives give)
    read every published row: they are cached under the search_state token, renewed by
    every committed change of an initiative's state or commune (directory/facets.py).
    Names from `communes` are read fresh.
    """

    async def count() -> list[tuple[str, str, int]]:
        rows = await session.execute(
            select(Initiative.insee_code, func.max(Initiative.city), func.count(Initiative.id))
            .where(PUBLISHED, Initiative.insee_code != "")
            .group_by(Initiative.insee_code)
        )
        return [(code, city or "", n) for code, city, n in rows.all()]

    counts = await cached(await connection_cache(session), ("commune_counts",), count)
    names = await commune_names(session, [code for code, _, _ in counts])
    found = [(code, names.get(code) or city or code, n) for code, city, n in counts]
    found.sort(key=lambda row: (-row[2], row[1], row[0]))
    return found[:limit] if limit else found


async def commune_names(session: AsyncSession, codes: list[str]) -> dict[str, str]:
    names: dict[str, str] = {}
    for start in range(0, len(codes), 500):  # within every database's limit of parameters
        rows = await session.execute(
            select(Commune.insee_code, Commune.name).where(
                Commune.insee_code.in_(codes[start : start + 500])
            )
        )
        names.update(rows.all())
    return names


async def related(
    session: AsyncSession, initiative: Initiative
) -> list[tuple[Relation, Initiative | None]]:
    """Relations of an initiative, with the initiative they point to when we hold it,
    whatever its state: public pages show only those whose target is published or not held
    here (as relations.federated does), the référent's links page says why not."""
    target = aliased(Initiative)
    rows = await session.execute(
        select(Relation, target)
        .outerjoin(
            target,
            or_(
                target.id == Relation.target_id,
                # A remote initiative that reached us after the link was made.
                Relation.target_id.is_(None) & (target.uri == Relation.target_uri),
            ),
        )
        .where(Relation.initiative_id == initiative.id)
        .order_by(Relation.kind, Relation.id)
    )
    return [(relation, other) for relation, other in rows.all()]


async def similar(
    session: AsyncSession, initiative: Initiative, limit: int = 4
) -> list[Initiative]:
    """Published initiatives sharing a theme, nearest first (same commune first without GPS)."""
    theme_ids = [t.id for t in initiative.themes]
    if not theme_ids:
        return []
    query = (
        select(Initiative)
        .where(
            PUBLISHED,
            Initiative.id != initiative.id,
            Initiative.id.in_(
                select(InitiativeTheme.initiative_id).where(InitiativeTheme.theme_id.in_(theme_ids))
            ),
        )
        .limit(limit)
    )
    if initiative.latitude is not None and initiative.longitude is not None:
        # Squared degrees, longitude scaled for ~47°N: good enough to rank neighbours.
        distance = (Initiative.latitude - initiative.latitude) * (
            Initiative.latitude - initiative.latitude
        ) + 0.46 * (Initiative.longitude - initiative.longitude) * (
            Initiative.longitude - initiative.longitude
        )
        query = query.order_by(Initiative.latitude.is_(None), distance, Initiative.id)
    else:
        query = query.order_by(
            (Initiative.insee_code != initiative.insee_code), Initiative.updated_at.desc()
        )
    return list(await session.scalars(query))


async def public_revisions(session: AsyncSession, initiative_id: int) -> list[Revision]:
    """Revisions in order, newest first (authors are shown without e-mail by the page)."""
    return list(
        await session.scalars(
            select(Revision)
            .where(Revision.initiative_id == initiative_id)
            .order_by(Revision.created_at.desc(), Revision.id.desc())
        )
    )


async def bounds(session: AsyncSession) -> tuple[float, float, float, float] | None:
    """South, west, north, east of the territory, or of the published initiatives."""
    area = await territory(session)
    if area and None not in (area.min_lat, area.min_lon, area.max_lat, area.max_lon):
        return (area.min_lat, area.min_lon, area.max_lat, area.max_lon)  # type: ignore[return-value]
    return await extent(session, PUBLISHED)


async def extent(
    session: AsyncSession, *where: ColumnElement[bool]
) -> tuple[float, float, float, float] | None:
    """South, west, north, east of the initiatives meeting `where` (None if none)."""
    row = (
        await session.execute(
            select(
                func.min(Initiative.latitude),
                func.min(Initiative.longitude),
                func.max(Initiative.latitude),
                func.max(Initiative.longitude),
            ).where(*where)
        )
    ).one()
    return None if row[0] is None else (row[0], row[1], row[2], row[3])


async def commune_theme_counts(session: AsyncSession, insee_code: str) -> list[ThemeCount]:
    """Core themes present in a commune, with their number of published initiatives."""
    counts = await _core_counts(session, PUBLISHED, Initiative.insee_code == insee_code)
    return [
        ThemeCount(t, counts[t.slug])
        for t in await all_themes(session)
        if t.is_core and counts.get(t.slug)
    ]
