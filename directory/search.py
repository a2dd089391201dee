"""Full-text index and search over initiatives (SQLite FTS5 / PostgreSQL tsvector)."""

from __future__ import annotations

import json
import math
from collections.abc import AsyncIterator, Mapping, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field, replace
from typing import Any

from sqlalchemy import (
    ClauseElement,
    ColumnElement,
    Executable,
    Integer,
    Select,
    any_,
    bindparam,
    func,
    literal,
    select,
    text,
    true,
    update,
)
from sqlalchemy.dialects import postgresql
from sqlalchemy.dialects.postgresql import aggregate_order_by
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.orm import joinedload, selectinload

from directory import facets, sameas
from directory.errors import ValidationError
from directory.filters import (
    FTS,
    FTS_TABLE,
    RANK,
    SEARCH,
    conditions,
    distance_km,
    has_text,
    indexed_search,
    matching_ids,
    matching_select,
    tag,
    tsquery,
)
from directory.messages import N_
from directory.models import Initiative, InitiativeTheme, Theme
from directory.text import fold, stemmed

__all__ = [
    "SearchQuery",
    "SearchResult",
    "index_initiatives",
    "matching_ids",
    "query_from_params",
    "search_initiatives",
]
from directory.vocabulary import (
    ACTOR_KIND_SLUGS,
    MODERATION_STATE_SLUGS,
    NEED_SLUGS,
    STATUS_SLUGS,
)


async def index_initiatives(session: AsyncSession, ids: Sequence[int]) -> None:
    """(Re)index these initiatives: name (weight A), summary and themes (B), description (C).

    Also keeps `name_key` (the folded name that name-sorted listings use). Call it in the
    same transaction as any change to an initiative's texts or themes; batches are fine.
    """
    if not ids:
        return
    ids = list(dict.fromkeys(ids))
    on_postgresql = session.bind.dialect.name == "postgresql"
    # One array parameter on PostgreSQL: an IN list of 500 was 1/5 of a batch's server time.
    names = (
        await session.execute(
            select(Initiative.id, Initiative.name).where(
                Initiative.id == any_(bindparam("ids", type_=postgresql.ARRAY(Integer)))
                if on_postgresql
                else Initiative.id.in_(bindparam("ids", expanding=True))
            ),
            {"ids": ids},
        )
    ).all()
    keys = {row.id: name_key(row.name) for row in names}
    if on_postgresql:
        await session.execute(
            text(
                "UPDATE initiatives AS i SET name_key = v.key"
                " FROM unnest(CAST(:ids AS integer[]), CAST(:keys AS text[])) AS v(id, key)"
                " WHERE i.id = v.id AND i.name_key IS DISTINCT FROM v.key"
            ),
            {"ids": list(keys), "keys": list(keys.values())},
        )
        # The narrow search table (migration 0007): tags come from the database's own
        # definition, which triggers also apply when filters' columns or rows change; and
        # the vectors again, in line, for ranking (migration 0018).
        await session.execute(
            text(
                "WITH indexed AS (INSERT INTO initiative_search AS s"
                " (id, moderation_state, tags, latitude, longitude, vector)"
                " SELECT i.id, i.moderation_state, maillage_search_tags(i.id),"
                " i.latitude, i.longitude,"
                " setweight(to_tsvector('maillage_fr', i.name), 'A')"
                " || setweight(to_tsvector('maillage_fr', i.summary || ' ' || coalesce(("
                "   SELECT string_agg(t.label_fr || ' ' || t.label_en, ' ')"
                "   FROM initiative_themes it JOIN themes t ON t.id = it.theme_id"
                "   WHERE it.initiative_id = i.id), '')), 'B')"
                " || setweight(to_tsvector('maillage_fr', i.description), 'C')"
                " FROM initiatives i WHERE i.id = ANY(CAST(:ids AS integer[]))"
                " ON CONFLICT (id) DO UPDATE SET moderation_state = excluded.moderation_state,"
                " tags = excluded.tags, latitude = excluded.latitude,"
                " longitude = excluded.longitude, vector = excluded.vector"
                " RETURNING s.id, s.vector)"
                " INSERT INTO initiative_rank (id, vector) SELECT id, vector FROM indexed"
                " ON CONFLICT (id) DO UPDATE SET vector = excluded.vector"
            ),
            {"ids": list(keys)},
        )
        return
    changed = [{"id": i, "name_key": k} for i, k in keys.items()]
    if changed:
        await session.execute(
            update(Initiative).execution_options(synchronize_session=False), changed
        )
    rows = (
        await session.execute(
            select(
                Initiative.id, Initiative.name, Initiative.summary, Initiative.description
            ).where(Initiative.id.in_(bindparam("ids", expanding=True))),
            {"ids": ids},
        )
    ).all()
    labels: dict[int, list[str]] = {}
    for initiative_id, label_fr, label_en in (
        await session.execute(
            select(InitiativeTheme.initiative_id, Theme.label_fr, Theme.label_en)
            .join(Theme, Theme.id == InitiativeTheme.theme_id)
            .where(InitiativeTheme.initiative_id.in_(bindparam("ids", expanding=True))),
            {"ids": ids},
        )
    ).all():
        labels.setdefault(initiative_id, []).extend((label_fr, label_en))
    await session.execute(
        text("DELETE FROM initiative_fts WHERE rowid IN :ids").bindparams(
            bindparam("ids", expanding=True)
        ),
        {"ids": ids},
    )
    if not rows:
        return
    await session.execute(
        text(
            "INSERT INTO initiative_fts (rowid, name, summary, body, tags) VALUES (:id, :n, :s, :b,"
            " coalesce((SELECT tags FROM initiative_search_tags WHERE id = :id), ''))"
        ),
        [
            {
                "id": row.id,
                "n": stemmed(row.name),
                "s": stemmed(row.summary + " " + " ".join(labels.get(row.id, []))),
                "b": stemmed(row.description),
            }
            for row in rows
        ],
    )


def name_key(name: str) -> str:
    """The sort key of a name: folded, punctuation-insensitive ("Écoles" sorts with "ecoles")."""
    return " ".join(fold(name).split())[:200]


# --- Query side: the interface shared by the API, pages, exports and the diagnostic. -------

SORTS = ("relevance", "name", "recent", "distance")
FACETS = ("themes", "actor_kinds", "needs", "communes", "statuses")
MAX_PER_PAGE = 100


@dataclass(frozen=True)
class SearchQuery:
    """What to look for; every public list, map, export and embed is one of these."""

    text: str = ""
    themes: tuple[str, ...] = ()  # theme slugs; a core theme also matches its sub-themes
    actor_kinds: tuple[str, ...] = ()
    needs: tuple[str, ...] = ()
    communes: tuple[str, ...] = ()  # INSEE codes
    statuses: tuple[str, ...] = ()
    moderation_states: tuple[str, ...] = ("published",)
    origin: str = "all"  # "all", "local" or "remote"
    bbox: tuple[float, float, float, float] | None = None  # min_lat, min_lon, max_lat, max_lon
    near: tuple[float, float, float] | None = None  # lat, lon, radius in km
    sort: str = "relevance"
    page: int = 1
    per_page: int = 20
    facets: bool = True
    # The ids hidden behind a sameAs twin, when already read (search_initiatives does, on
    # PostgreSQL): full-text statements then exclude them as a parameter instead of a
    # subquery, which the search index's forced bitmap plans made cost ~20 ms a query.
    shadowed: tuple[int, ...] | None = None


@dataclass
class SearchResult:
    total: int
    items: list[Initiative]
    facets: dict[str, dict[str, int]] = field(default_factory=dict)  # facet -> value -> count
    distances_km: dict[int, float] = field(default_factory=dict)  # initiative id -> km


def query_from_params(params: Mapping[str, Any]) -> SearchQuery:
    """Build a SearchQuery from URL-style parameters; raise ValidationError naming bad ones.

    Accepted: q, theme, actor_kind, need, commune, status (repeatable or comma-separated),
    origin, bbox=min_lat,min_lon,max_lat,max_lon, near=lat,lon,km, sort, page, per_page.
    `params` may be a starlette QueryParams/MultiDict (getlist) or a plain dict.
    """
    errors: dict[str, str] = {}

    def many(name: str) -> tuple[str, ...]:
        raw = params.getlist(name) if hasattr(params, "getlist") else params.get(name) or []
        if isinstance(raw, str):
            raw = [raw]
        return tuple(dict.fromkeys(v.strip() for r in raw for v in str(r).split(",") if v.strip()))

    def one(name: str, default: str = "") -> str:
        values = many(name)
        return values[-1] if values else default

    def floats(name: str, count: int) -> tuple[float, ...] | None:
        value = params.get(name)
        if not value:
            return None
        try:
            numbers = tuple(float(v) for v in str(value).split(","))
        except ValueError:
            numbers = ()
        if len(numbers) != count or not all(math.isfinite(n) for n in numbers):
            errors[name] = N_("%(count)s nombres séparés par des virgules attendus", count=count)
            return None
        return numbers

    def integer(name: str, default: int, low: int, high: int) -> int:
        value = params.get(name)
        if value in (None, ""):
            return default
        try:
            number = int(value)
        except (TypeError, ValueError):
            errors[name] = N_("nombre entier attendu")
            return default
        if not low <= number <= high:
            errors[name] = N_("entre %(low)s et %(high)s", low=low, high=high)
            return default
        return number

    text = one("q")[:200]
    statuses = many("status")
    if bad := [s for s in statuses if s not in STATUS_SLUGS]:
        errors["status"] = N_("inconnu : %(names)s", names=", ".join(bad))
    actor_kinds = many("actor_kind")
    if bad := [s for s in actor_kinds if s not in ACTOR_KIND_SLUGS]:
        errors["actor_kind"] = N_("inconnu : %(names)s", names=", ".join(bad))
    needs = many("need")
    if bad := [s for s in needs if s not in NEED_SLUGS]:
        errors["need"] = N_("inconnu : %(names)s", names=", ".join(bad))
    origin = one("origin", "all")
    if origin not in ("all", "local", "remote"):
        errors["origin"] = N_("all, local ou remote")
    sort = one("sort", "relevance" if text else "name")
    if sort not in SORTS:
        errors["sort"] = N_("un de : %(choices)s", choices=", ".join(SORTS))
    bbox = floats("bbox", 4)
    if bbox and (
        not (-90 <= bbox[0] <= bbox[2] <= 90)
        or not (-180 <= bbox[1] <= 180)
        or not (-180 <= bbox[3] <= 180)
    ):
        errors["bbox"] = N_("min_lat,min_lon,max_lat,max_lon dans les limites, min <= max")
    near = floats("near", 3)
    if near and (abs(near[0]) > 90 or abs(near[1]) > 180 or not 0 < near[2] <= 1000):
        errors["near"] = N_("lat,lon,rayon_km (rayon entre 0 et 1000 km)")
    if sort == "distance" and not near:
        errors["sort"] = N_("le tri par distance demande near=lat,lon,km")
    query = SearchQuery(
        text=text,
        themes=many("theme"),
        actor_kinds=actor_kinds,
        needs=needs,
        communes=many("commune"),
        statuses=statuses,
        origin=origin,
        bbox=bbox,  # type: ignore[arg-type]
        near=near,  # type: ignore[arg-type]
        sort=sort,
        page=integer("page", 1, 1, 10_000),
        per_page=integer("per_page", 20, 1, MAX_PER_PAGE),
    )
    if errors:
        raise ValidationError(errors)
    return query


# --- Query execution. ----------------------------------------------------------------------

# Relevance ranks (bm25 / ts_rank) at most this many matches: the most recent ones, in
# index order, so ranking costs the same for "vélo" and for a word in every description.
# Up to that many matches (most queries), the ranking is exact; beyond, further matches
# follow the ranked ones, most recent first. Ranking every match of a common word costs
# 20 ms on SQLite and 100+ ms on PostgreSQL at 100k initiatives (DESIGN.md section 7).
# The size trades relevance for time. Share of the exact ranking's top 20 ids kept (bench
# texts, 100k; queries of more than 2,000 matches in brackets): 2000, 0.73 (0.61); 1000,
# 0.68 (0.54); 750, 0.66 (0.52); 500, 0.61 (0.44). PostgreSQL full-text p95 (client +
# server CPU, 200 bench queries, before 0018): 1000, 20.5-21.2 ms; 750, 18.8-19.3; 500,
# 17.4. Ranking costs ~0.4 us a candidate from the vectors' copy in line (1.7 out of line).
RANK_CANDIDATES = 750
# bm25 weights of the FTS5 columns name, summary (with theme labels), body; ts_rank uses
# PostgreSQL's defaults for the A (name), B (summary, themes), C (description) weights.
BM25_WEIGHTS = (10.0, 4.0, 1.0, 0.0)  # the tags column never counts


def _sort(query: SearchQuery) -> str:
    if query.sort == "relevance" and not has_text(query):
        return "name"
    if query.sort == "distance" and not query.near:
        return "name"
    return query.sort


def _distance(query: SearchQuery, dialect: str) -> ColumnElement:
    if query.near:
        return distance_km(query.near[0], query.near[1], dialect)
    return literal(None)


def _sorted_page(
    query: SearchQuery, sort: str, dialect: str, limit: int, offset: int, theme_ids: list[int]
) -> Select:
    """(id, distance) rows of one page, for every sort but relevance."""
    distance = _distance(query, dialect)
    stmt = select(Initiative.id, distance.label("distance")).where(
        *conditions(query, dialect, theme_ids=theme_ids)
    )
    if sort == "recent":
        stmt = stmt.order_by(Initiative.created_at.desc(), Initiative.id.desc())
    elif sort == "distance":
        stmt = stmt.order_by(distance, Initiative.id)
    elif sort == "newest-match":  # the order of matches past the ranked window
        stmt = stmt.order_by(Initiative.id.desc())
    else:
        stmt = stmt.order_by(Initiative.name_key, Initiative.id)
    return stmt.limit(limit).offset(offset)


def _ranked_page(query: SearchQuery, limit: int, offset: int, theme_ids: list[int]) -> Select:
    """SQLite: one statement for the first RANK_CANDIDATES matches by relevance: the exact
    total of the matches, and (id, distance) of one page of them, ranked.

    Always one row at least: (total, NULL, NULL) when the page is empty. FTS5 walks its
    doclists newest first and stops at the window; the total is a second count(*) over
    the MATCH; with an area or a radius (checked on `initiatives`), the matches in it are
    read once and materialised instead, and bm25 ranks the newest of them by rowid.
    """
    found = indexed_search(query, "sqlite", theme_ids)
    distance = _distance(query, "sqlite").label("distance")
    if found.rest or query.near:
        # Matches checked against `initiatives` (area, radius): one pass over them,
        # materialised, gives the total and the newest; bm25 then ranks only those.
        m = (
            found.ids.add_columns(distance)
            .join_from(FTS, Initiative, Initiative.id == FTS.c.rowid)
            .where(*found.rest)
            .cte("m")
            .prefix_with("MATERIALIZED")
        )
        counted = select(func.count().label("total")).select_from(m)
        window = select(m).order_by(m.c.id.desc()).limit(RANK_CANDIDATES).subquery("ids")
        newest = (
            select(window.c.id, window.c.distance, _bm25().label("rank"))
            .select_from(FTS)
            .join(window, window.c.id == FTS.c.rowid)
            .where(found.ids.whereclause)
            .subquery("w")
        )
    else:
        newest = (
            found.ids.add_columns(distance, _bm25().label("rank"))
            .order_by(FTS.c.rowid.desc())
            .limit(RANK_CANDIDATES)
            .subquery("w")
        )
        matching = matching_select(query, "sqlite", theme_ids).subquery()
        counted = select(func.count().label("total")).select_from(matching)
    page = (
        select(newest.c.id, newest.c.distance, newest.c.rank)
        .order_by(newest.c.rank, newest.c.id.desc())  # bm25: lower is better
        .limit(limit)
        .offset(offset)
        .subquery("p")
    )
    counts = counted.subquery("n")
    return (
        select(counts.c.total, page.c.id, page.c.distance)
        .select_from(counts.outerjoin(page, true()))
        .order_by(page.c.rank, page.c.id.desc())
    )


# PostgreSQL reads the ranked window (the newest RANK_CANDIDATES matches) one of two ways,
# as the share of the index's ids that match (s) makes cheaper. Server CPU, 100k search
# benchmark, RANK_CANDIDATES 1000:
# - one statement (`_ranked_in_one`): every match read once by a bitmap scan of the GIN
#   index, counted and their ids sorted in one aggregate: ~0.2 us per match;
# - one statement (`_ranked_walking`): the count alone (~0.13 us per match), and a walk of
#   the ids newest first by primary key, each row's vector checked (RANK_CANDIDATES / s
#   rows; ~1.9 us a row out of line, ~0.9 from its copy in line, migration 0018); the
#   state is then checked by tag (every match less those held in another state).
# Before ranking, vectors out of line: 62% matching, 12.9 ms one way, 7.9 + 3.0 the
# other; 21%, 5.4 and 4.1 + 9; 3%, 1.5 and 1.1 + 63. With their copy in line, whole
# statements: 41% (in one) 11.5 ms, walking 8.5; 33%, 10.2 and 7.9. PostgreSQL's own
# estimate of the matches (EXPLAIN: planned, not run) picks; they cost the same at about
# WALK_SHARE.
WALK_SHARE = 0.3
# A walk gives up after RANK_CANDIDATES * WALK_REACH / s ids (the matches bunched among
# older initiatives, or fewer than estimated); the first way is then taken after all.
WALK_REACH = 4


async def _ranked_postgresql(
    session: AsyncSession,
    query: SearchQuery,
    theme_ids: list[int],
    span: int,
    limit: int,
    offset: int,
) -> tuple[list[Row], int]:
    """PostgreSQL: the rows of one ranked page, and the exact total (see WALK_SHARE).

    `span`: max - min + 1 of the search index's ids (`_Plans`).
    """
    found = indexed_search(query, "postgresql", theme_ids).ids
    estimate = await _estimated_rows(session, found)
    share = estimate / max(span, 1)
    if estimate > RANK_CANDIDATES and share >= WALK_SHARE:
        walked = await _ranked_walking(session, query, theme_ids, found, share, limit, offset)
        if walked:
            return walked
    return await _ranked_in_one(session, query, found, limit, offset)


async def _ranked_walking(
    session: AsyncSession,
    query: SearchQuery,
    theme_ids: list[int],
    found: Select,
    share: float,
    limit: int,
    offset: int,
) -> tuple[list[Row], int] | None:
    """PostgreSQL, one statement: the count of `found`, and one page of the ranked window
    read walking the ids newest first; None when the walk gave up (WALK_REACH)."""
    count = select(func.count()).select_from
    if set(query.moderation_states) == {"published"}:
        # Every match less those held in another state (a few, found in the GIN index by
        # their tag): the state column is then never read, 1.2 ms less at 56k matches.
        any_state = indexed_search(replace(query, moderation_states=()), "postgresql", theme_ids)
        held = [tag("m", state) for state in sorted(MODERATION_STATE_SLUGS - {"published"})]
        counted = select(
            (
                count(any_state.ids.subquery("found")).scalar_subquery()
                - count(
                    any_state.ids.where(SEARCH.c.tags.overlap(held)).subquery("held")
                ).scalar_subquery()
            ).label("total")
        )
    else:
        counted = select(count(found.subquery("found")).scalar_subquery().label("total"))
    newest = select(func.max(SEARCH.c.id)).scalar_subquery()
    window = (
        # The conditions as function calls, which the GIN index cannot serve: only the
        # primary key can, newest first.
        indexed_search(query, "postgresql", theme_ids, walk=True)
        .ids.add_columns(RANK.c.vector, SEARCH.c.latitude, SEARCH.c.longitude)
        .where(SEARCH.c.id > newest - int(RANK_CANDIDATES * WALK_REACH / share))
        .order_by(SEARCH.c.id.desc())
        .limit(RANK_CANDIDATES)
        .subquery("w")
    )
    rows = list(await session.execute(_with_total(counted, query, window, limit, offset)))
    total = rows[0].total
    size = rows[0].size if rows[0].id is not None else None
    # Complete when it holds the newest RANK_CANDIDATES matches, or every match.
    if size != min(total, RANK_CANDIDATES):
        return None
    return [Row(row.id, row.distance) for row in rows], total


async def _ranked_in_one(
    session: AsyncSession, query: SearchQuery, found: Select, limit: int, offset: int
) -> tuple[list[Row], int]:
    """PostgreSQL, one statement: the matches read once by a bitmap scan, counted and
    their ids sorted in the same aggregate (a materialised list and a top-N sort cost 1.6x
    as much), the newest RANK_CANDIDATES ids' vectors read by primary key (one array of
    probes), and one page of them ranked."""
    ids = postgresql.array_agg(aggregate_order_by(SEARCH.c.id, SEARCH.c.id.desc()))
    m = found.with_only_columns(
        func.count().label("total"), ids[1:RANK_CANDIDATES].label("newest")
    ).cte("m")
    counted = select(m.c.total)
    window = (
        select(SEARCH.c.id, RANK.c.vector, SEARCH.c.latitude, SEARCH.c.longitude)
        .join_from(SEARCH, RANK, RANK.c.id == SEARCH.c.id)
        .where(SEARCH.c.id.in_(select(func.unnest(m.c.newest))))
        .subquery("w")
    )
    found_rows = list(await session.execute(_with_total(counted, query, window, limit, offset)))
    rows = [Row(row.id, row.distance) for row in found_rows if row.id is not None]
    return rows, found_rows[0].total


def _with_total(
    counted: Select, query: SearchQuery, window: Any, limit: int, offset: int
) -> Select:
    """(total, id, distance, size) rows: one page of `window` ranked (`_ranked_window`),
    each with the total that `counted` gives; one row (total, NULL, ...) if none."""
    n = counted.subquery("n")
    page = _ranked_window(query, window, limit, offset).subquery("p")
    return (
        select(n.c.total, page.c.id, page.c.distance, page.c.size)
        .select_from(n.outerjoin(page, true()))
        .order_by(page.c.rank.desc(), page.c.id.desc())
    )


async def _estimated_rows(session: AsyncSession, statement: Select) -> float:
    """PostgreSQL's estimate of the rows `statement` returns (its plan, not run)."""
    plan = await session.scalar(_Explain(statement))
    return float((json.loads(plan) if isinstance(plan, str) else plan)[0]["Plan"]["Plan Rows"])


class _Explain(Executable, ClauseElement):
    """EXPLAIN (FORMAT JSON) of a statement (SQLAlchemy has no construct of its own)."""

    inherit_cache = False

    def __init__(self, statement: Select) -> None:
        self.statement = statement


@compiles(_Explain, "postgresql")
def _compile_explain(element: _Explain, compiler: Any, **kw: Any) -> str:
    return "EXPLAIN (FORMAT JSON) " + compiler.process(element.statement, **kw)


def _ranked_window(query: SearchQuery, window: Any, limit: int, offset: int) -> Select:
    """PostgreSQL: (id, distance, size, rank) of one page of `window` (id, vector,
    latitude, longitude) ranked by ts_rank; size: the window's rows."""
    rank = func.ts_rank(window.c.vector, tsquery(query))
    distance = (
        distance_km(query.near[0], query.near[1], "postgresql", window.c)
        if query.near
        else literal(None)
    )
    return (
        select(
            window.c.id,
            distance.label("distance"),
            func.count().over().label("size"),
            rank.label("rank"),
        )
        .order_by(rank.desc(), window.c.id.desc())
        .limit(limit)
        .offset(offset)
    )


def _bm25() -> ColumnElement:
    return func.bm25(FTS_TABLE, *BM25_WEIGHTS)


@dataclass
class _Plans:
    """What `_search_plans` read while changing the settings (PostgreSQL), and the
    columns that put them back, for the search's last statement to carry (`restoring`)."""

    span: int = 0  # max - min + 1 of the search index's ids, 0 when empty
    hidden: tuple[int, ...] | None = None  # sameAs-hidden ids, when asked for
    changed: bool = False  # PostgreSQL settings changed, not yet put back

    def restoring(self) -> list[ColumnElement]:
        """Columns that put the settings back once the statement carrying them has run
        (it was planned with them): one statement fewer. Empty when nothing to do."""
        if not self.changed:
            return []
        self.changed = False
        return [
            func.set_config("enable_seqscan", "on", True),
            func.set_config("plan_cache_mode", "auto", True),
        ]


@asynccontextmanager
async def _search_plans(
    session: AsyncSession, dialect: str, *, hidden: bool = False
) -> AsyncIterator[_Plans]:
    """On PostgreSQL, plan a full-text search's statements for their own values and never
    as a sequential scan (which reads every vector out of line: the planner's estimate
    leaves that out), and read what the search needs first, in the same statement
    (planned before the settings change): the span of the index's ids and, if `hidden`,
    the ids hidden behind their sameAs twin.

    The settings are back to their defaults at the end (they last as long as the
    transaction, which the caller may go on using).
    """
    if dialect != "postgresql":
        yield _Plans()
        return
    settings = select(
        func.set_config("enable_seqscan", "off", True),
        func.set_config("plan_cache_mode", "force_custom_plan", True),
    ).subquery("settings")
    span = select(func.coalesce(func.max(SEARCH.c.id) - func.min(SEARCH.c.id) + 1, 0))
    columns = [span.scalar_subquery()]
    if hidden:
        columns.append(func.array(sameas.shadowed_ids().scalar_subquery()))
    found = (await session.execute(select(*columns).select_from(settings))).one()
    plans = _Plans(found[0], tuple(sorted(found[1])) if hidden else None, changed=True)
    yield plans
    # Not after an error: the transaction is then done with (the settings go with it).
    if restoring := plans.restoring():
        await session.execute(select(*restoring))


@dataclass(frozen=True)
class Row:
    id: int
    distance: float | None


async def _page(
    session: AsyncSession, query: SearchQuery, dialect: str, theme_ids: list[int], plans: _Plans
) -> tuple[list[Any], int | None]:
    """The (id, distance) rows of the requested page, in order, and the total if known."""
    sort = _sort(query)
    start = (query.page - 1) * query.per_page
    end = start + query.per_page
    if sort != "relevance":
        return list(
            await session.execute(
                _sorted_page(query, sort, dialect, query.per_page, start, theme_ids)
            )
        ), None
    rows: list[Any] = []
    total = None
    if start < RANK_CANDIDATES:
        size = min(end, RANK_CANDIDATES) - start
        if dialect == "postgresql":
            rows, total = await _ranked_postgresql(
                session, query, theme_ids, plans.span, size, start
            )
        else:
            found = list(await session.execute(_ranked_page(query, size, start, theme_ids)))
            total = found[0].total
            rows = [Row(row.id, row.distance) for row in found if row.id is not None]
        if total <= RANK_CANDIDATES:
            return rows, total
    if end > RANK_CANDIDATES:
        first = max(start, RANK_CANDIDATES)
        stmt = _sorted_page(query, "newest-match", dialect, end - first, first, theme_ids)
        rows += await session.execute(stmt)
    return rows, total


def _cache_key(query: SearchQuery) -> tuple[Any, ...] | None:
    """The part of a query that decides its total and facets, when worth caching."""
    if query.text.strip() or query.bbox or query.near:
        return None
    lists = ("moderation_states", "statuses", "communes", "themes", "actor_kinds", "needs")
    return (*(tuple(sorted(getattr(query, name))) for name in lists), query.origin, query.facets)


async def search_initiatives(session: AsyncSession, query: SearchQuery) -> SearchResult:
    """One page of initiatives matching the query, the total, and facet counts if asked.

    Items come with their themes, actor kinds and needs loaded. Raises ValidationError
    for an unknown theme slug, sort or origin, or a page or per_page out of range.
    """
    dialect = session.bind.dialect.name
    _check(query)
    # A full-text query without themes or facets needs neither the theme list nor the
    # cache of filter-only counts (a text query's counts are never cached): one statement
    # less.
    needs_themes = bool(query.themes or query.facets or not has_text(query))
    cache = await facets.connection_cache(session) if needs_themes else None
    themes = await facets.theme_rows(session, cache) if needs_themes else []
    known = {t.slug for t in themes}
    if unknown := [s for s in query.themes if s not in known]:
        raise ValidationError({"theme": N_("inconnu : %(names)s", names=", ".join(unknown))})

    theme_ids = facets.theme_ids_of(themes, query.themes)
    # A full-text search runs within one change of the planner's settings (PostgreSQL),
    # which also reads the sameAs-hidden ids the search index leaves out.
    plans = _search_plans(
        session,
        dialect if has_text(query) else "",
        hidden=has_text(query) and query.shadowed is None,
    )
    async with plans as found:
        if found.hidden is not None:
            query = replace(query, shadowed=found.hidden)
        rows, known_total = await _page(session, query, dialect, theme_ids, found)

        async def count(counted: SearchQuery) -> facets.Counts:
            async def compute() -> facets.Counts:
                return await facets.count_facets(
                    session, counted, themes, dialect=dialect, theme_ids=theme_ids
                )

            key = _cache_key(counted)
            return await facets.cached(cache, key, compute) if key else await compute()

        if known_total is not None and not query.facets:
            total, counts = known_total, {}
        else:
            total, counts = await count(query)
        if query.facets:
            # Disjunctive facets: a facet's counts ignore that facet's own selection, so
            # they say what choosing one more value of it would add (values: alternatives).
            counts = dict(counts)
            for name in FACETS:
                if getattr(query, name):
                    counts[name] = (await count(replace(query, **{name: ()})))[1][name]
        ids = [row.id for row in rows]
        if ids:
            loading = _initiatives(session, ids, dialect, found.restoring())
            loaded = {i.id: i for i in await loading}
        else:
            loaded = {}
    return SearchResult(
        total=total,
        items=[loaded[i] for i in ids if i in loaded],
        facets=counts,
        distances_km={row.id: round(row.distance, 3) for row in rows if row.distance is not None},
    )


async def _initiatives(
    session: AsyncSession, ids: list[int], dialect: str, extra: Sequence[ColumnElement] = ()
) -> list[Initiative]:
    """These initiatives with their themes, actor kinds and needs loaded (`extra`: more
    columns for the statement to carry, `_Plans.restoring`).

    Actor kinds and needs are joined (a few rows per initiative). PostgreSQL joins the
    themes too: one statement (its connections run without JIT, which took a second to
    compile that join). SQLite loads the themes in a second statement: its planner
    materialises the whole initiative_themes x themes join for it (570 ms at 100k).
    """
    themes = joinedload if dialect == "postgresql" else selectinload
    stmt = (
        select(Initiative, *extra)
        .where(Initiative.id.in_(bindparam("ids", expanding=True)))
        .options(
            themes(Initiative.themes),
            joinedload(Initiative.actor_kind_rows),
            joinedload(Initiative.need_rows),
        )
    )
    return list((await session.scalars(stmt, {"ids": ids})).unique())


def _check(query: SearchQuery) -> None:
    errors = {}
    if query.sort not in SORTS:
        errors["sort"] = N_("un de : %(choices)s", choices=", ".join(SORTS))
    if not 1 <= query.per_page <= MAX_PER_PAGE:
        errors["per_page"] = N_("entre 1 et %(max)s", max=MAX_PER_PAGE)
    if query.page < 1:
        errors["page"] = N_("à partir de 1")
    if query.origin not in ("all", "local", "remote"):
        errors["origin"] = N_("all, local ou remote")
    if errors:
        raise ValidationError(errors)
