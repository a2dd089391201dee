"""Facet counts (themes, actor kinds, needs, communes, statuses) and their cache.

Counts follow the usual faceting rule: each value counts the initiatives that match all
current filters and carry that value (values with no initiative are left out). A core
theme counts the initiatives tagged with it or with any of its local sub-themes, which is
what filtering by it returns.

Counting the whole directory reads every published row, so filter-only results (no text,
no map area) are cached per database connection, keyed by search_state.token. Triggers
(migration 0001) give that token a new random value whenever a row or column the counts
depend on changes (initiatives' moderation state, status, origin, commune; their themes,
actor kinds, needs; the theme tree), so a cached count never outlives a committed change.
On PostgreSQL the triggers run at commit: a transaction that has written anything
neither reads nor fills the cache, or its own uncommitted writes could be cached.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Hashable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from sqlalchemy import (
    ColumnElement,
    Select,
    String,
    cast,
    func,
    literal,
    literal_column,
    null,
    select,
    text,
    union_all,
)
from sqlalchemy.ext.asyncio import AsyncSession

from directory.filters import (
    SEARCH,
    has_text,
    indexed_search,
    matching_select,
    only_moderation_states,
)
from directory.models import (
    Initiative,
    InitiativeActorKind,
    InitiativeNeed,
    InitiativeTheme,
    SearchState,
    Theme,
)
from directory.sameas import any_shadowed
from directory.vocabulary import ACTOR_KIND_SLUGS, MODERATION_STATE_SLUGS, NEED_SLUGS

if TYPE_CHECKING:
    from directory.search import SearchQuery

CACHE_KEY = "maillage.search_cache"
CACHE_SIZE = 256
FACETS = ("themes", "actor_kinds", "needs", "communes", "statuses")

Counts = tuple[int, dict[str, dict[str, int]]]


@dataclass(frozen=True)
class ThemeRow:
    id: int
    slug: str
    parent_id: int | None


async def search_token(session: AsyncSession) -> str | None:
    """The current search_state token; None when no cache may be used (see the docstring)."""
    if session.bind.dialect.name == "postgresql":
        row = (
            await session.execute(
                text(
                    "SELECT token, txid_current_if_assigned() IS NULL"
                    " FROM search_state WHERE id = 1"
                )
            )
        ).first()
        token = row[0] if row is not None and row[1] else None
    else:
        token = await session.scalar(select(SearchState.token).where(SearchState.id == 1))
    return token


async def connection_cache(session: AsyncSession) -> dict[Hashable, Any] | None:
    """This connection's cache for the current search_state token; None when unusable."""
    token = await search_token(session)
    if token is None:
        return None
    info = (await session.connection()).info
    store = info.get(CACHE_KEY)
    if store is None or store["token"] != token:
        store = info[CACHE_KEY] = {"token": token, "entries": {}}
    return store["entries"]


async def cached(
    cache: dict[Hashable, Any] | None, key: Hashable, compute: Callable[[], Awaitable[Any]]
) -> Any:
    """`compute()`'s result, kept in `cache` (from connection_cache) under `key`."""
    if cache is None:
        return await compute()
    if key in cache:
        return cache[key]
    value = await compute()
    if len(cache) >= CACHE_SIZE:
        cache.pop(next(iter(cache)))
    cache[key] = value
    return value


async def theme_rows(
    session: AsyncSession, cache: dict[Hashable, Any] | None = None
) -> list[ThemeRow]:
    """Every theme's id, slug and parent (a few dozen rows)."""

    async def load() -> list[ThemeRow]:
        rows = await session.execute(select(Theme.id, Theme.slug, Theme.parent_id))
        return [ThemeRow(*row) for row in rows]

    return await cached(cache, "themes", load)


def theme_ids_of(themes: Sequence[ThemeRow], slugs: Sequence[str]) -> list[int]:
    """The ids of these themes and of their sub-themes (for filters.conditions)."""
    wanted = {t.id for t in themes if t.slug in slugs}
    return sorted(t.id for t in themes if t.id in wanted or t.parent_id in wanted)


def _join_tables() -> list[tuple[str, Any, ColumnElement, ColumnElement]]:
    """Each join table's facet, table, value column and that value as text."""
    return [
        (
            "themes",
            InitiativeTheme,
            InitiativeTheme.theme_id,
            cast(InitiativeTheme.theme_id, String),
        ),
        ("actor_kinds", InitiativeActorKind, InitiativeActorKind.kind, InitiativeActorKind.kind),
        ("needs", InitiativeNeed, InitiativeNeed.need, InitiativeNeed.need),
    ]


async def count_facets(
    session: AsyncSession,
    query: SearchQuery,
    themes: list[ThemeRow],
    *,
    dialect: str,
    theme_ids: Sequence[int] | None = None,
) -> Counts:
    """How many initiatives match `query`, and the facet counts among them if it asks."""
    matching = matching_select(query, dialect, theme_ids)
    if not query.facets:
        return await session.scalar(select(func.count()).select_from(matching.subquery())), {}
    if dialect == "postgresql" and has_text(query):
        return await _count_tags(session, query, themes, theme_ids)
    sub_themes = any(t.parent_id is not None for t in themes)
    if only_moderation_states(query) and not await any_shadowed(session):
        parts = _whole_directory(query, dialect, sub_themes)
    else:
        parts = _filtered(matching, dialect, sub_themes)
    found: dict[str, dict[str, int]] = {name: {} for name in (*FACETS, "cores")}
    total = 0
    for facet, value, commune, count in await session.execute(union_all(*parts)):
        if facet == "row":  # one (status, commune) group of matching initiatives
            total += count
            statuses = found["statuses"]
            statuses[value] = statuses.get(value, 0) + count
            if commune:
                found["communes"][commune] = found["communes"].get(commune, 0) + count
        else:
            values = found[facet]
            values[str(value)] = values.get(str(value), 0) + count
    slugs = {str(t.id): t.slug for t in themes}
    theme_counts = {slugs[k]: v for k, v in found["themes"].items() if k in slugs}
    for key, count in found["cores"].items():
        if key in slugs:
            theme_counts[slugs[key]] = count
    found["themes"] = theme_counts
    return total, {name: _sorted(found[name]) for name in FACETS}


# Tags of initiative_search (migration 0007) back to facet values.
_TAG_FACETS = {"s": "statuses", "c": "communes", "t": "themes", "k": "actor_kinds", "n": "needs"}
_UNHYPHENATED = {
    **{("k", s.replace("-", "")): s for s in ACTOR_KIND_SLUGS},
    **{("n", s.replace("-", "")): s for s in NEED_SLUGS},
}


async def _count_tags(
    session: AsyncSession,
    query: SearchQuery,
    themes: list[ThemeRow],
    theme_ids: Sequence[int] | None,
) -> Counts:
    """Counts of a full-text query on PostgreSQL: one pass over the matches' tags.

    Each match is one narrow row of initiative_search whose tags hold every facet value
    (a core theme's tag is on its sub-themes' initiatives too, once); its one `m` tag
    (moderation state) counts the total.
    """
    found = indexed_search(query, "postgresql", theme_ids)
    tags = found.ids.with_only_columns(func.unnest(SEARCH.c.tags).label("tag"))
    if found.rest:
        tags = tags.join_from(SEARCH, Initiative, Initiative.id == SEARCH.c.id).where(*found.rest)
    counted = tags.subquery()
    slugs = {f"t{t.id}": t.slug for t in themes}
    total = 0
    found_counts: dict[str, dict[str, int]] = {name: {} for name in FACETS}
    for tag, count in await session.execute(
        select(counted.c.tag, func.count()).group_by(counted.c.tag)
    ):
        kind, value = tag[:1], tag[1:]
        if kind == "m":
            total += count
        elif kind == "t":
            if tag in slugs:
                found_counts["themes"][slugs[tag]] = count
        elif kind in ("k", "n"):
            if (slug := _UNHYPHENATED.get((kind, value))) is not None:
                found_counts[_TAG_FACETS[kind]][slug] = count
        elif kind in _TAG_FACETS:
            found_counts[_TAG_FACETS[kind]][value] = count
    return total, {name: _sorted(found_counts[name]) for name in FACETS}


def _sorted(counts: dict[str, int]) -> dict[str, int]:
    """Most frequent first, then by value; values with no initiative left out."""
    return dict(
        sorted(((k, v) for k, v in counts.items() if v > 0), key=lambda kv: (-kv[1], kv[0]))
    )


def _core_theme() -> ColumnElement:
    return cast(func.coalesce(Theme.parent_id, Theme.id), String)


def _whole_directory(query: SearchQuery, dialect: str, sub_themes: bool) -> list[Any]:
    """Counts when only moderation states filter: every row, minus the other states' rows.

    The join tables are counted whole from their (value, initiative) indexes; the few
    initiatives in other states (the moderation queue) are then subtracted.
    """
    states = query.moderation_states
    others = sorted(MODERATION_STATE_SLUGS - set(states)) if states else []
    parts: list[Any] = [
        select(literal("row"), Initiative.status, Initiative.insee_code, func.count())
        .where(*([Initiative.moderation_state.in_(states)] if states else []))
        .group_by(Initiative.status, Initiative.insee_code)
    ]
    # On SQLite, "+initiatives.id" makes the planner walk the few initiatives in other
    # states and look their rows up, rather than walk the whole join table.
    outer_id = literal_column("+initiatives.id") if dialect == "sqlite" else Initiative.id
    for facet, table, value, as_text in _join_tables():
        parts.append(select(literal(facet), as_text, null(), func.count()).group_by(value))
        if others:
            parts.append(
                select(literal(facet), as_text, null(), -func.count())
                .select_from(Initiative)
                .join(table, table.initiative_id == outer_id)
                .where(Initiative.moderation_state.in_(others))
                .group_by(value)
            )
    if sub_themes:
        # An initiative tagged with a core theme and one of its sub-themes counts once.
        distinct = func.count(InitiativeTheme.initiative_id.distinct())
        parts.append(
            select(literal("cores"), _core_theme(), null(), distinct)
            .join_from(InitiativeTheme, Theme, Theme.id == InitiativeTheme.theme_id)
            .group_by(_core_theme())
        )
        if others:
            parts.append(
                select(literal("cores"), _core_theme(), null(), -distinct)
                .join_from(InitiativeTheme, Theme, Theme.id == InitiativeTheme.theme_id)
                .join(Initiative, Initiative.id == InitiativeTheme.initiative_id)
                .where(Initiative.moderation_state.in_(others))
                .group_by(_core_theme())
            )
    return parts


def _filtered(matching: Select, dialect: str, sub_themes: bool) -> list[Any]:
    """Counts over the matching ids, materialised once and joined to each facet's table."""
    m = matching.cte("m").prefix_with("MATERIALIZED")
    # On SQLite, "+m.id" keeps the planner from scanning a whole table and probing m:
    # it walks m and looks each id up in the (initiative, value) primary keys.
    m_id = literal_column("+m.id") if dialect == "sqlite" else m.c.id
    parts: list[Any] = [
        select(literal("row"), Initiative.status, Initiative.insee_code, func.count())
        .select_from(m)
        .join(Initiative, Initiative.id == m_id)
        .group_by(Initiative.status, Initiative.insee_code)
    ]
    for facet, table, value, as_text in _join_tables():
        parts.append(
            select(literal(facet), as_text, null(), func.count())
            .select_from(m)
            .join(table, table.initiative_id == m_id)
            .group_by(value)
        )
    if sub_themes:
        parts.append(
            select(
                literal("cores"),
                _core_theme(),
                null(),
                func.count(InitiativeTheme.initiative_id.distinct()),
            )
            .select_from(m)
            .join(InitiativeTheme, InitiativeTheme.initiative_id == m_id)
            .join(Theme, Theme.id == InitiativeTheme.theme_id)
            .group_by(_core_theme())
        )
    return parts
