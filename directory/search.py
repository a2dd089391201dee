"""Full-text index and search over initiatives (SQLite FTS5 / PostgreSQL tsvector)."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Select,
    bindparam,
    column,
    func,
    literal,
    literal_column,
    or_,
    select,
    table,
    text,
    update,
)
from sqlalchemy.ext.asyncio import AsyncSession

from directory import facets
from directory.errors import ValidationError
from directory.fulltext import fts5_query, tsquery_text
from directory.models import (
    Initiative,
    InitiativeActorKind,
    InitiativeNeed,
    InitiativeTheme,
    Theme,
)
from directory.text import fold, stemmed
from directory.vocabulary import ACTOR_KIND_SLUGS, NEED_SLUGS, STATUS_SLUGS


async def index_initiatives(session: AsyncSession, ids: Sequence[int]) -> None:
    """(Re)index these initiatives: name (weight A), summary and themes (B), description (C).

    Also keeps `name_key` (the folded name that name-sorted listings use). Call it in the
    same transaction as any change to an initiative's texts or themes; batches are fine.
    """
    if not ids:
        return
    ids = list(dict.fromkeys(ids))
    names = (
        await session.execute(
            select(Initiative.id, Initiative.name).where(
                Initiative.id.in_(bindparam("ids", expanding=True))
            ),
            {"ids": ids},
        )
    ).all()
    if names:
        await session.execute(
            update(Initiative).execution_options(synchronize_session=False),
            [{"id": row.id, "name_key": name_key(row.name)} for row in names],
        )
    if session.bind.dialect.name == "postgresql":
        await session.execute(
            text(
                "UPDATE initiatives AS i SET search_vector ="
                " setweight(to_tsvector('maillage_fr', i.name), 'A')"
                " || setweight(to_tsvector('maillage_fr', i.summary || ' ' || coalesce(("
                "   SELECT string_agg(t.label_fr || ' ' || t.label_en, ' ')"
                "   FROM initiative_themes it JOIN themes t ON t.id = it.theme_id"
                "   WHERE it.initiative_id = i.id), '')), 'B')"
                " || setweight(to_tsvector('maillage_fr', i.description), 'C')"
                " WHERE i.id = ANY(:ids)"
            ),
            {"ids": ids},
        )
        return
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
        text("INSERT INTO initiative_fts (rowid, name, summary, body) VALUES (:id, :n, :s, :b)"),
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
            errors[name] = f"{count} nombres séparés par des virgules attendus"
            return None
        return numbers

    def integer(name: str, default: int, low: int, high: int) -> int:
        value = params.get(name)
        if value in (None, ""):
            return default
        try:
            number = int(value)
        except (TypeError, ValueError):
            errors[name] = "nombre entier attendu"
            return default
        if not low <= number <= high:
            errors[name] = f"entre {low} et {high}"
            return default
        return number

    text = one("q")[:200]
    statuses = many("status")
    if bad := [s for s in statuses if s not in STATUS_SLUGS]:
        errors["status"] = f"inconnu : {', '.join(bad)}"
    actor_kinds = many("actor_kind")
    if bad := [s for s in actor_kinds if s not in ACTOR_KIND_SLUGS]:
        errors["actor_kind"] = f"inconnu : {', '.join(bad)}"
    needs = many("need")
    if bad := [s for s in needs if s not in NEED_SLUGS]:
        errors["need"] = f"inconnu : {', '.join(bad)}"
    origin = one("origin", "all")
    if origin not in ("all", "local", "remote"):
        errors["origin"] = "all, local ou remote"
    sort = one("sort", "relevance" if text else "name")
    if sort not in SORTS:
        errors["sort"] = f"un de : {', '.join(SORTS)}"
    bbox = floats("bbox", 4)
    if bbox and (
        not (-90 <= bbox[0] <= bbox[2] <= 90)
        or not (-180 <= bbox[1] <= 180)
        or not (-180 <= bbox[3] <= 180)
    ):
        errors["bbox"] = "min_lat,min_lon,max_lat,max_lon dans les limites, min <= max"
    near = floats("near", 3)
    if near and (abs(near[0]) > 90 or abs(near[1]) > 180 or not 0 < near[2] <= 1000):
        errors["near"] = "lat,lon,rayon_km (rayon entre 0 et 1000 km)"
    if sort == "distance" and not near:
        errors["sort"] = "le tri par distance demande near=lat,lon,km"
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

EARTH_RADIUS_KM = 6371.0088
KM_PER_DEGREE = 111.195
# PostgreSQL ranks (ts_rank) at most this many matches, taken best field first (see
# _ranked_postgresql): ranking every match of a common word costs 100+ ms at 100k rows.
RANK_CANDIDATES = 2000
_FTS = table("initiative_fts", column("rowid"))
_FTS_TABLE = literal_column("initiative_fts")
_SEARCH_VECTOR = literal_column("initiatives.search_vector")
_CONFIG = literal_column("'maillage_fr'::regconfig")


def _text_filter(query: SearchQuery, dialect: str) -> ColumnElement[bool] | None:
    """The full-text condition, or None when the text holds no searchable word."""
    if dialect == "postgresql":
        words = tsquery_text(query.text)
        if not words:
            return None
        return _SEARCH_VECTOR.op("@@")(func.to_tsquery(_CONFIG, words))
    match = fts5_query(query.text)
    if not match:
        return None
    return Initiative.id.in_(select(_FTS.c.rowid).where(_FTS_TABLE.op("MATCH")(match)))


def distance_km(lat: float, lon: float, dialect: str) -> ColumnElement[float]:
    """Great-circle (haversine) distance in km from (lat, lon) to each initiative."""
    lat0 = math.radians(lat)
    dlat = func.sin((func.radians(Initiative.latitude) - lat0) / 2)
    dlon = func.sin((func.radians(Initiative.longitude) - math.radians(lon)) / 2)
    a = dlat * dlat + math.cos(lat0) * func.cos(func.radians(Initiative.latitude)) * dlon * dlon
    smallest = func.least if dialect == "postgresql" else func.min
    return 2 * EARTH_RADIUS_KM * func.asin(func.sqrt(smallest(a, 1.0)))


def _area_filters(query: SearchQuery, dialect: str) -> list[ColumnElement[bool]]:
    conditions: list[ColumnElement[bool]] = []
    if query.bbox:
        min_lat, min_lon, max_lat, max_lon = query.bbox
        conditions.append(Initiative.latitude.between(min_lat, max_lat))
        if min_lon <= max_lon:
            conditions.append(Initiative.longitude.between(min_lon, max_lon))
        else:  # the box crosses the antimeridian
            conditions.append(or_(Initiative.longitude >= min_lon, Initiative.longitude <= max_lon))
    if query.near:
        lat, lon, km = query.near
        # A bounding box first, so the (latitude, longitude) index does the coarse work.
        dlat = km / KM_PER_DEGREE
        conditions.append(Initiative.latitude.between(lat - dlat, lat + dlat))
        cos_lat = math.cos(math.radians(min(89.9, abs(lat) + dlat)))
        dlon = km / (KM_PER_DEGREE * cos_lat) if cos_lat > 0 else 360
        if abs(lat) + dlat < 89.9 and dlon < 180 and -180 <= lon - dlon <= lon + dlon <= 180:
            conditions.append(Initiative.longitude.between(lon - dlon, lon + dlon))
        conditions.append(distance_km(lat, lon, dialect) <= km)
    return conditions


def _filters(query: SearchQuery, dialect: str, *, text: bool = True) -> list[ColumnElement[bool]]:
    """Every condition of the query on `initiatives` (text included unless text=False)."""
    conditions: list[ColumnElement[bool]] = []
    if query.moderation_states:
        conditions.append(Initiative.moderation_state.in_(query.moderation_states))
    if query.statuses:
        conditions.append(Initiative.status.in_(query.statuses))
    if query.origin == "local":
        conditions.append(Initiative.origin.is_(None))
    elif query.origin == "remote":
        conditions.append(Initiative.origin.is_not(None))
    if query.communes:
        conditions.append(Initiative.insee_code.in_(query.communes))
    if query.themes:
        wanted = select(Theme.id).where(Theme.slug.in_(query.themes))
        theme_ids = select(Theme.id).where(
            or_(Theme.slug.in_(query.themes), Theme.parent_id.in_(wanted))
        )
        conditions.append(
            Initiative.id.in_(
                select(InitiativeTheme.initiative_id).where(InitiativeTheme.theme_id.in_(theme_ids))
            )
        )
    if query.actor_kinds:
        conditions.append(
            Initiative.id.in_(
                select(InitiativeActorKind.initiative_id).where(
                    InitiativeActorKind.kind.in_(query.actor_kinds)
                )
            )
        )
    if query.needs:
        conditions.append(
            Initiative.id.in_(
                select(InitiativeNeed.initiative_id).where(InitiativeNeed.need.in_(query.needs))
            )
        )
    conditions += _area_filters(query, dialect)
    if text and (condition := _text_filter(query, dialect)) is not None:
        conditions.append(condition)
    return conditions


def matching_ids(query: SearchQuery, *, dialect: str) -> Select:
    """SELECT of the ids of every initiative the query matches, unordered and unpaged.

    For exports and the diagnostic to stream from (`await session.stream_scalars(...)`),
    or to use as a subquery (`Initiative.id.in_(matching_ids(q, dialect=...))`).
    `dialect` is "sqlite" or "postgresql" (`session.bind.dialect.name`, `Database.dialect`).
    Sorting and paging are left out; unknown theme slugs simply match nothing.
    """
    return select(Initiative.id).where(*_filters(query, dialect))


def _effective_sort(query: SearchQuery, has_text: bool) -> str:
    if query.sort == "relevance" and not has_text:
        return "name"
    if query.sort == "distance" and not query.near:
        return "name"
    return query.sort


def _ordered(query: SearchQuery, sort: str, dialect: str) -> Select:
    """A SELECT of (id, distance or None), in the query's order, paged."""
    distance = distance_km(*query.near[:2], dialect) if query.near else literal(None)
    stmt = select(Initiative.id, distance.label("distance"))
    if sort == "relevance":
        return _ranked(query, dialect)
    stmt = stmt.where(*_filters(query, dialect))
    if sort == "recent":
        stmt = stmt.order_by(Initiative.created_at.desc(), Initiative.id.desc())
    elif sort == "distance":
        stmt = stmt.order_by(distance, Initiative.id)
    else:
        stmt = stmt.order_by(Initiative.name_key, Initiative.id)
    return stmt.limit(query.per_page).offset((query.page - 1) * query.per_page)


def _ranked(query: SearchQuery, dialect: str) -> Select:
    """Best matches first: name (weight A) above summary and themes (B) above description (C)."""
    distance = distance_km(*query.near[:2], dialect) if query.near else literal(None)
    others = _filters(query, dialect, text=False)
    offset = (query.page - 1) * query.per_page
    if dialect == "postgresql":
        tsquery = func.to_tsquery(_CONFIG, tsquery_text(query.text))
        rank = func.ts_rank(_SEARCH_VECTOR, tsquery)
        return (
            select(Initiative.id, distance.label("distance"))
            .where(*others, _SEARCH_VECTOR.op("@@")(tsquery))
            .order_by(rank.desc(), Initiative.id)
            .limit(query.per_page)
            .offset(offset)
        )
    rank = func.bm25(_FTS_TABLE, 10.0, 4.0, 1.0)
    return (
        select(Initiative.id, distance.label("distance"))
        .join_from(_FTS, Initiative, Initiative.id == _FTS.c.rowid)
        .where(_FTS_TABLE.op("MATCH")(fts5_query(query.text)), *others)
        .order_by(rank, Initiative.id)
        .limit(query.per_page)
        .offset(offset)
    )


def _cache_key(query: SearchQuery) -> tuple[Any, ...] | None:
    """The part of a query that determines total and facets, when worth caching."""
    if query.text.strip() or query.bbox or query.near:
        return None
    lists = ("moderation_states", "statuses", "communes", "themes", "actor_kinds", "needs")
    return (*(tuple(sorted(getattr(query, name))) for name in lists), query.origin, query.facets)


async def search_initiatives(session: AsyncSession, query: SearchQuery) -> SearchResult:
    """One page of initiatives matching the query, the total, and facet counts if asked.

    Raises ValidationError for an unknown theme slug or a bad sort, page or per_page.
    """
    dialect = session.bind.dialect.name
    _check(query)
    themes = await facets.theme_rows(session)
    known = {t.slug for t in themes}
    if unknown := [s for s in query.themes if s not in known]:
        raise ValidationError({"theme": f"inconnu : {', '.join(unknown)}"})
    has_text = _text_filter(query, dialect) is not None
    sort = _effective_sort(query, has_text)

    rows = (await session.execute(_ordered(query, sort, dialect))).all()

    async def count() -> facets.Counts:
        return await facets.count_facets(
            session, matching_ids(query, dialect=dialect), themes, facets=query.facets
        )

    key = _cache_key(query)
    total, counts = await (facets.cached(session, key, count) if key else count())
    ids = [row.id for row in rows]
    loaded = {
        i.id: i
        for i in await session.scalars(
            select(Initiative).where(Initiative.id.in_(bindparam("ids", expanding=True))),
            {"ids": ids},
        )
    }
    return SearchResult(
        total=total,
        items=[loaded[i] for i in ids if i in loaded],
        facets=counts,
        distances_km={row.id: round(row.distance, 3) for row in rows if row.distance is not None},
    )


def _check(query: SearchQuery) -> None:
    errors = {}
    if query.sort not in SORTS:
        errors["sort"] = f"un de : {', '.join(SORTS)}"
    if not 1 <= query.per_page <= MAX_PER_PAGE:
        errors["per_page"] = f"entre 1 et {MAX_PER_PAGE}"
    if query.page < 1:
        errors["page"] = "à partir de 1"
    if query.origin not in ("all", "local", "remote"):
        errors["origin"] = "all, local ou remote"
    if errors:
        raise ValidationError(errors)
