"""Full-text index and search over initiatives (SQLite FTS5 / PostgreSQL tsvector)."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import bindparam, select, text
from sqlalchemy.ext.asyncio import AsyncSession

from directory.errors import ValidationError
from directory.models import Initiative, InitiativeTheme, Theme
from directory.text import stemmed
from directory.vocabulary import ACTOR_KIND_SLUGS, NEED_SLUGS, STATUS_SLUGS


async def index_initiatives(session: AsyncSession, ids: Sequence[int]) -> None:
    """(Re)index these initiatives: name (weight A), summary and themes (B), description (C)."""
    if not ids:
        return
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
            {"ids": list(ids)},
        )
        return
    rows = (
        await session.execute(
            select(
                Initiative.id, Initiative.name, Initiative.summary, Initiative.description
            ).where(Initiative.id.in_(bindparam("ids", expanding=True))),
            {"ids": list(ids)},
        )
    ).all()
    labels: dict[int, list[str]] = {}
    for initiative_id, label_fr, label_en in (
        await session.execute(
            select(InitiativeTheme.initiative_id, Theme.label_fr, Theme.label_en)
            .join(Theme, Theme.id == InitiativeTheme.theme_id)
            .where(InitiativeTheme.initiative_id.in_(bindparam("ids", expanding=True))),
            {"ids": list(ids)},
        )
    ).all():
        labels.setdefault(initiative_id, []).extend((label_fr, label_en))
    await session.execute(
        text("DELETE FROM initiative_fts WHERE rowid IN :ids").bindparams(
            bindparam("ids", expanding=True)
        ),
        {"ids": list(ids)},
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
