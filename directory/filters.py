"""The conditions a SearchQuery puts on initiatives, as SQLAlchemy expressions.

Within one facet, values are alternatives (theme A or B); across facets, all must hold.
Full text is FTS5 on SQLite (the index holds directory.text.stemmed text) and the
`search_vector` tsvector on PostgreSQL (configuration `maillage_fr`), see fulltext.py.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from sqlalchemy import (
    ColumnElement,
    Integer,
    Select,
    Text,
    all_,
    and_,
    bindparam,
    case,
    column,
    exists,
    false,
    func,
    literal_column,
    or_,
    select,
    table,
    union,
)
from sqlalchemy.dialects import postgresql

from directory.fulltext import fts5_query, tsquery_text
from directory.models import (
    Initiative,
    InitiativeActorKind,
    InitiativeNeed,
    InitiativeTheme,
    Theme,
)
from directory.sameas import not_shadowed, shadowed_ids
from directory.vocabulary import MODERATION_STATE_SLUGS

if TYPE_CHECKING:
    from directory.search import SearchQuery

EARTH_RADIUS_KM = 6371.0088
KM_PER_DEGREE = 111.195
FTS = table("initiative_fts", column("rowid"))
FTS_TABLE = literal_column("initiative_fts")
# PostgreSQL's narrow search table (migration 0007): id, moderation state, tags, tsvector.
SEARCH = table(
    "initiative_search",
    column("id"),
    column("moderation_state"),
    column("tags", postgresql.ARRAY(Text)),
    column("vector"),
    column("latitude"),
    column("longitude"),
)
# Each search vector again, kept in line for ranking and walks (migration 0018).
RANK = table("initiative_rank", column("id"), column("vector"))
CONFIG = literal_column("'maillage_fr'::regconfig")


def has_text(query: SearchQuery) -> bool:
    """Whether the query's text holds a searchable word (not only stop words or symbols)."""
    return bool(tsquery_text(query.text))


def tsquery(query: SearchQuery) -> ColumnElement:
    return func.to_tsquery(CONFIG, tsquery_text(query.text))


def text_filter(query: SearchQuery, dialect: str) -> ColumnElement[bool] | None:
    """The full-text condition, or None when the text holds no searchable word."""
    if not has_text(query):
        return None
    if dialect == "postgresql":
        return Initiative.id.in_(
            select(SEARCH.c.id).where(SEARCH.c.vector.op("@@")(tsquery(query)))
        )
    return Initiative.id.in_(
        select(FTS.c.rowid).where(FTS_TABLE.op("MATCH")(fts5_query(query.text)))
    )


def distance_km(
    lat: float, lon: float, dialect: str, coordinates: Any = Initiative
) -> ColumnElement[float]:
    """Great-circle (haversine) distance in km from (lat, lon) to each initiative.

    `coordinates`: what holds its `latitude` and `longitude` (`Initiative`, or the
    columns of PostgreSQL's search index, `SEARCH.c`).
    """
    latitude, longitude = coordinates.latitude, coordinates.longitude
    lat0 = math.radians(lat)
    dlat = func.sin((func.radians(latitude) - lat0) / 2)
    dlon = func.sin((func.radians(longitude) - math.radians(lon)) / 2)
    a = dlat * dlat + math.cos(lat0) * func.cos(func.radians(latitude)) * dlon * dlon
    smallest = func.least if dialect == "postgresql" else func.min
    return 2 * EARTH_RADIUS_KM * func.asin(func.sqrt(smallest(a, 1.0)))


def area_filters(
    query: SearchQuery, dialect: str, coordinates: Any = Initiative
) -> list[ColumnElement[bool]]:
    """Bounding box and radius; initiatives without coordinates never match either."""
    latitude, longitude = coordinates.latitude, coordinates.longitude
    conditions: list[ColumnElement[bool]] = []
    if query.bbox:
        min_lat, min_lon, max_lat, max_lon = query.bbox
        conditions.append(latitude.between(min_lat, max_lat))
        if min_lon <= max_lon:
            conditions.append(longitude.between(min_lon, max_lon))
        else:  # the box crosses the antimeridian
            conditions.append(or_(longitude >= min_lon, longitude <= max_lon))
    if query.near:
        lat, lon, km = query.near
        # A bounding box first, so the (latitude, longitude) index does the coarse work.
        dlat = km / KM_PER_DEGREE
        conditions.append(latitude.between(lat - dlat, lat + dlat))
        if abs(lat) + dlat < 89:
            dlon = km / (KM_PER_DEGREE * math.cos(math.radians(abs(lat) + dlat)))
            if -180 <= lon - dlon <= lon + dlon <= 180:
                conditions.append(longitude.between(lon - dlon, lon + dlon))
        conditions.append(distance_km(lat, lon, dialect, coordinates) <= km)
    return conditions


def conditions(
    query: SearchQuery,
    dialect: str,
    *,
    text: bool = True,
    theme_ids: Sequence[int] | None = None,
) -> list[ColumnElement[bool]]:
    """Every condition of the query on `initiatives` (the text one unless text=False).

    `theme_ids`: the ids of the query's themes and their sub-themes, when the caller
    knows them (literal ids let the planner use the theme index); else a subquery.
    Full-text searches take their filters from the search index instead (indexed_search):
    a condition added here must also go there, as a tag or in its `rest`.
    """
    # An initiative hidden behind its sameAs twin is never listed twice (sameas.py).
    found: list[ColumnElement[bool]] = [not_shadowed()]
    if query.moderation_states:
        found.append(Initiative.moderation_state.in_(query.moderation_states))
    if query.statuses:
        found.append(Initiative.status.in_(query.statuses))
    if query.origin == "local":
        found.append(Initiative.origin.is_(None))
    elif query.origin == "remote":
        found.append(Initiative.origin.is_not(None))
    if query.communes:
        found.append(Initiative.insee_code.in_(query.communes))
    # Text or a map area usually narrows most: then each candidate is checked against the
    # (initiative, value) primary key (EXISTS); otherwise the value's index drives (IN).
    probe = bool(query.bbox or query.near or (text and has_text(query)))
    if query.themes:
        found.append(_theme_condition(query.themes, theme_ids, probe))
    if query.actor_kinds:
        found.append(
            _has(InitiativeActorKind, InitiativeActorKind.kind.in_(query.actor_kinds), probe)
        )
    if query.needs:
        found.append(_has(InitiativeNeed, InitiativeNeed.need.in_(query.needs), probe))
    found += area_filters(query, dialect)
    if text and (condition := text_filter(query, dialect)) is not None:
        found.append(condition)
    return found


@dataclass(frozen=True)
class IndexedSearch:
    """A full-text query with every filter the search index can answer folded into it.

    `ids` selects the matching ids (column `id`) from the index alone; `rest` holds the
    conditions on `initiatives` that the index cannot answer, to be checked on the rows
    `ids` yields: on SQLite the map area and radius, and theme slugs not resolved to ids
    (PostgreSQL's index also holds each initiative's coordinates).
    """

    ids: Select
    rest: list[ColumnElement[bool]]


def tag(prefix: str, value: str) -> str:
    """A search tag as migration 0007 writes them: `kcollectifhabitants`, `c44109`, `t3`."""
    return prefix + value.replace("-", "").lower()


def tag_groups(
    query: SearchQuery, theme_ids: Sequence[int] | None, dialect: str
) -> tuple[list[list[str]], list[str], list[ColumnElement[bool]]]:
    """The query's filters as tags: groups (one of each must match), excluded tags, and the
    conditions on `initiatives` that tags cannot express.

    INSEE codes keep their case in PostgreSQL's tags (`c2A004`); FTS5 folds case.
    """
    groups: list[list[str]] = []
    excluded: list[str] = []
    rest: list[ColumnElement[bool]] = []
    states = set(query.moderation_states)
    if states and states != MODERATION_STATE_SLUGS:
        if "published" in states:  # few rows are in other states: exclude those
            excluded += [tag("m", s) for s in sorted(MODERATION_STATE_SLUGS - states)]
        else:
            groups.append([tag("m", s) for s in sorted(states)])
    if query.statuses:
        groups.append([tag("s", s) for s in query.statuses])
    if query.origin in ("local", "remote"):
        groups.append([tag("o", query.origin)])
    if query.communes and dialect == "postgresql":
        groups.append([f"c{c}" for c in query.communes])
    elif query.communes:
        if all(c.isascii() and c.isalnum() for c in query.communes):
            groups.append([tag("c", c) for c in query.communes])
        else:
            rest.append(Initiative.insee_code.in_(query.communes))
    if query.themes:
        if theme_ids is None:
            rest.append(_theme_condition(query.themes, None, probe=True))
        else:
            groups.append([f"t{i}" for i in theme_ids] or ["t0"])
    if query.actor_kinds:
        groups.append([tag("k", k) for k in query.actor_kinds])
    if query.needs:
        groups.append([tag("n", n) for n in query.needs])
    return groups, excluded, rest


def indexed_search(
    query: SearchQuery, dialect: str, theme_ids: Sequence[int] | None, *, walk: bool = False
) -> IndexedSearch:
    """The full-text query and its filters as one search-index lookup (see IndexedSearch).

    Call only when `has_text(query)`. `walk` (PostgreSQL only): the same conditions as
    function calls, which the GIN index cannot serve, for reading rows by primary key and
    checking each.
    """
    groups, excluded, rest = tag_groups(query, theme_ids, dialect)
    if dialect == "postgresql":
        # The map area and radius too: the index holds each initiative's coordinates.
        found = [] if walk else [SEARCH.c.vector.op("@@")(tsquery(query))]
        found += area_filters(query, dialect, SEARCH.c)
        # Never an initiative hidden behind its sameAs twin (as in `conditions`).
        if query.shadowed is None:
            found.append(SEARCH.c.id.not_in(shadowed_ids()))
        elif query.shadowed:
            hidden = bindparam("shadowed", list(query.shadowed), type_=postgresql.ARRAY(Integer))
            found.append(SEARCH.c.id != all_(hidden))
        states = set(query.moderation_states)
        if states and states != MODERATION_STATE_SLUGS:
            found.append(SEARCH.c.moderation_state.in_(sorted(states)))
        found += [
            func.arrayoverlap(SEARCH.c.tags, bindparam(None, group, type_=SEARCH.c.tags.type))
            if walk
            else SEARCH.c.tags.overlap(group)
            for group in groups
            if not group[0].startswith("m")
        ]
        ids = select(SEARCH.c.id.label("id"))
        if walk:  # the vector (its copy in line) is read only when the rest holds
            text_match = func.ts_match_vq(RANK.c.vector, tsquery(query))
            found = [case((and_(*found), text_match), else_=false()) if found else text_match]
            ids = ids.join_from(SEARCH, RANK, RANK.c.id == SEARCH.c.id)
        return IndexedSearch(ids.where(*found), rest)
    rest += area_filters(query, dialect)
    # Tags are "#"-prefixed tokens, which no stemmed text holds (see migration 0007): no
    # column filter is needed, and FTS5 skips reading positions.
    expression = fts5_query(query.text)
    for group in groups:
        expression += " AND (" + " OR ".join(f'"#{t}"' for t in group) + ")"
    if excluded:
        expression = f"({expression}) NOT (" + " OR ".join(f'"#{t}"' for t in excluded) + ")"
    ids = select(FTS.c.rowid.label("id")).where(
        FTS_TABLE.op("MATCH")(expression), FTS.c.rowid.not_in(shadowed_ids())
    )
    return IndexedSearch(ids, rest)


def matching_select(
    query: SearchQuery, dialect: str, theme_ids: Sequence[int] | None = None
) -> Select:
    """SELECT of the matching ids (column `id`); text queries go through the search index."""
    if not has_text(query):
        return select(Initiative.id).where(*conditions(query, dialect, theme_ids=theme_ids))
    found = indexed_search(query, dialect, theme_ids)
    if not found.rest:
        return found.ids
    index = found.ids.subquery()
    return select(Initiative.id).join(index, index.c.id == Initiative.id).where(*found.rest)


def _theme_condition(
    themes: Sequence[str], theme_ids: Sequence[int] | None, probe: bool
) -> ColumnElement[bool]:
    if theme_ids is None:
        wanted = select(Theme.id).where(Theme.slug.in_(themes))
        theme_ids = union(
            wanted, select(Theme.id).where(Theme.parent_id.in_(wanted))
        ).scalar_subquery()
    return _has(InitiativeTheme, InitiativeTheme.theme_id.in_(theme_ids), probe)


def _has(table: Any, condition: ColumnElement[bool], probe: bool) -> ColumnElement[bool]:
    """Initiatives with a row in `table` (themes, actor kinds, needs) meeting `condition`."""
    if probe:
        return exists().where(table.initiative_id == Initiative.id, condition)
    return Initiative.id.in_(select(table.initiative_id).where(condition))


def only_moderation_states(query: SearchQuery) -> bool:
    """True when nothing but the moderation states narrows the query (the whole directory)."""
    return not (
        query.statuses
        or query.origin != "all"
        or query.communes
        or query.themes
        or query.actor_kinds
        or query.needs
        or query.bbox
        or query.near
        or has_text(query)
    )


def matching_ids(query: SearchQuery, *, dialect: str) -> Select:
    """SELECT of the ids of every initiative the query matches, unordered and unpaged.

    For exports and the diagnostic to stream from (`await session.stream_scalars(...)`),
    or to use as a subquery (`Initiative.id.in_(matching_ids(q, dialect=...))`).
    `dialect` is "sqlite" or "postgresql" (`session.bind.dialect.name`, `Database.dialect`).
    Sorting and paging are left out; an unknown theme slug simply matches nothing.
    """
    return select(Initiative.id).where(*conditions(query, dialect))


def filter_conditions(query: SearchQuery, dialect: str = "sqlite") -> list[ColumnElement[bool]]:
    """The map's and embeds' name for `conditions` (kept when the two filters.py merged)."""
    return conditions(query, dialect)
