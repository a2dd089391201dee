"""/api/v1/themes, /communes, /vocabulary: the reference data clients build forms from."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute

from directory import territory, themes
from directory.records import theme_record
from directory.vocabulary import ACTOR_KINDS, MODERATION_STATES, NEEDS, STATUSES, Term
from web.api_common import JSON, PREFIX, db_of, resource


def _terms(terms: tuple[Term, ...]) -> list[dict]:
    return [{"slug": t.slug, "labels": {"fr": t.label_fr, "en": t.label_en}} for t in terms]


async def list_themes(request: Request) -> Response:
    """Core themes (shared IRIs) then this instance's local sub-themes."""
    async with db_of(request).session() as session:
        items = [theme_record(t) for t in await themes.all_themes(session)]
    return JSON({"total": len(items), "items": items})


async def list_communes(request: Request) -> Response:
    """The instance's territory and its communes (INSEE code, name, coordinates)."""
    async with db_of(request).session() as session:
        area = await territory.get_territory(session)
        rows = await territory.communes(session)
    items = [
        {
            "insee_code": c.insee_code,
            "name": c.name,
            "postal_code": c.postal_code,
            "latitude": c.latitude,
            "longitude": c.longitude,
            "population": c.population,
        }
        for c in rows
    ]
    return JSON(
        {
            "territory": None
            if area is None
            else {
                "name": area.name,
                "kind": area.kind,
                "code": area.code,
                "bbox": [area.min_lat, area.min_lon, area.max_lat, area.max_lon]
                if area.min_lat is not None
                else None,
            },
            "total": len(items),
            "items": items,
        }
    )


async def vocabulary(request: Request) -> Response:
    """Actor kinds, needs, statuses and moderation states with French and English labels."""
    return JSON(
        {
            "actor_kinds": _terms(ACTOR_KINDS),
            "needs": _terms(NEEDS),
            "statuses": _terms(STATUSES),
            "moderation_states": _terms(MODERATION_STATES),
        }
    )


def routes() -> list[BaseRoute]:
    return [
        resource(f"{PREFIX}/themes", GET=list_themes),
        resource(f"{PREFIX}/communes", GET=list_communes),
        resource(f"{PREFIX}/vocabulary", GET=vocabulary),
    ]
