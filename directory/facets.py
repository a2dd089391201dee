"""Facet counts (themes, actor kinds, needs, communes, statuses) over a filtered set.

Counts follow the usual faceting rule: each value counts the initiatives that match all
current filters and carry that value (values with no initiative are left out). A core
theme counts the initiatives tagged with it or with any of its local sub-themes, which is
what filtering by it returns.

Counting over the whole directory reads every published row, so filter-only results
(no text, no map area) are cached per database connection, keyed by search_state.token.
Database triggers (migration 0001) give that token a new random value whenever a column
or row the counts depend on changes, so a cached count is never served after a committed
change. On PostgreSQL the triggers run at commit: a transaction that has written anything
neither reads nor fills the cache (its own uncommitted writes would otherwise be cached).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Hashable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import String, cast, func, literal, select, text, union_all
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql import Select

from directory.models import (
    Initiative,
    InitiativeActorKind,
    InitiativeNeed,
    InitiativeTheme,
    SearchState,
    Theme,
)

CACHE_KEY = "maillage.search_cache"
CACHE_SIZE = 256

Counts = tuple[int, dict[str, dict[str, int]]]


@dataclass(frozen=True)
class ThemeRow:
    id: int
    slug: str
    parent_id: int | None


async def theme_rows(session: AsyncSession) -> list[ThemeRow]:
    """Every theme's id, slug and parent (a few dozen rows)."""
    rows = await session.execute(select(Theme.id, Theme.slug, Theme.parent_id))
    return [ThemeRow(*row) for row in rows]


async def count_facets(
    session: AsyncSession, matching: Select, themes: list[ThemeRow], *, facets: bool = True
) -> Counts:
    """The number of initiatives `matching` selects (ids), and the facet counts among them."""
    m = matching.cte("m").prefix_with("MATERIALIZED")
    parts = [select(literal("total"), literal(""), func.count()).select_from(m)]
    if facets:
        by_initiative = Initiative.id == m.c.id
        parts += [
            select(literal("statuses"), Initiative.status, func.count())
            .join_from(m, Initiative, by_initiative)
            .group_by(Initiative.status),
            select(literal("communes"), Initiative.insee_code, func.count())
            .join_from(m, Initiative, by_initiative)
            .where(Initiative.insee_code != "")
            .group_by(Initiative.insee_code),
            select(literal("themes"), cast(InitiativeTheme.theme_id, String), func.count())
            .join_from(m, InitiativeTheme, InitiativeTheme.initiative_id == m.c.id)
            .group_by(InitiativeTheme.theme_id),
            select(literal("actor_kinds"), InitiativeActorKind.kind, func.count())
            .join_from(m, InitiativeActorKind, InitiativeActorKind.initiative_id == m.c.id)
            .group_by(InitiativeActorKind.kind),
            select(literal("needs"), InitiativeNeed.need, func.count())
            .join_from(m, InitiativeNeed, InitiativeNeed.initiative_id == m.c.id)
            .group_by(InitiativeNeed.need),
        ]
        if any(t.parent_id is not None for t in themes):
            # An initiative tagged with a core theme and one of its sub-themes counts once.
            core = func.coalesce(Theme.parent_id, Theme.id)
            parts.append(
                select(
                    literal("cores"),
                    cast(core, String),
                    func.count(InitiativeTheme.initiative_id.distinct()),
                )
                .join_from(m, InitiativeTheme, InitiativeTheme.initiative_id == m.c.id)
                .join(Theme, Theme.id == InitiativeTheme.theme_id)
                .group_by(core)
            )
    total = 0
    found: dict[str, dict[str, int]] = {}
    for facet, value, count in await session.execute(union_all(*parts)):
        if facet == "total":
            total = count
        else:
            found.setdefault(facet, {})[value] = count
    if not facets:
        return total, {}
    slugs = {str(t.id): t.slug for t in themes}
    theme_counts = {slugs[k]: v for k, v in found.get("themes", {}).items() if k in slugs}
    for key, count in found.get("cores", {}).items():
        if key in slugs:
            theme_counts[slugs[key]] = count
    found["themes"] = theme_counts
    return total, {
        name: dict(sorted(found.get(name, {}).items(), key=lambda kv: (-kv[1], kv[0])))
        for name in ("themes", "actor_kinds", "needs", "communes", "statuses")
    }


async def cached(
    session: AsyncSession, key: Hashable, compute: Callable[[], Awaitable[Any]]
) -> Any:
    """`compute()`'s result, reused on this connection until search_state.token changes."""
    if session.bind.dialect.name == "postgresql":
        row = (
            await session.execute(
                text(
                    "SELECT token, txid_current_if_assigned() IS NULL FROM search_state WHERE id = 1"
                )
            )
        ).first()
        token = row[0] if row is not None and row[1] else None
    else:
        token = await session.scalar(select(SearchState.token).where(SearchState.id == 1))
    if token is None:
        return await compute()
    connection = await session.connection()
    store = connection.info.get(CACHE_KEY)
    if store is None or store["token"] != token:
        store = connection.info[CACHE_KEY] = {"token": token, "entries": {}}
    entries: dict[Hashable, Any] = store["entries"]
    if key in entries:
        return entries[key]
    value = await compute()
    if len(entries) >= CACHE_SIZE:
        entries.pop(next(iter(entries)))
    entries[key] = value
    return value
