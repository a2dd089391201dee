"""The map page, its JSON clusters endpoint and the list beside it; the embeddable widgets."""

from __future__ import annotations

import time
from dataclasses import replace

import orjson
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.requests import Request
from starlette.responses import Response

from directory import browse, mapgrid
from directory.errors import ValidationError
from directory.filters import only_moderation_states
from directory.models import Initiative
from directory.search import SearchQuery, query_from_params, search_initiatives
from web.errors import problem
from web.i18n import N_
from web.pages_common import filter_choices, filter_query_string, form_values, parse_query
from web.templating import render

FRANCE = (41.3, -5.2, 51.1, 9.6)


async def listing(
    session: AsyncSession, query: SearchQuery, limit: int = 20
) -> tuple[int, list[Initiative]]:
    """How many initiatives match, and the first `limit` of them (by name unless text).

    Through search: the total of a query without text or area is cached, and the page is
    read in the order of the (moderation_state, name_key) index, so a page of the list
    costs the same at 100 or 100,000 initiatives.
    """
    try:
        result = await search_initiatives(
            session, replace(query, facets=False, page=1, per_page=limit)
        )
    except ValidationError:  # an unknown theme: parse_query has reported it
        return 0, []
    return result.total, result.items


async def fitted_bounds(session: AsyncSession, query: SearchQuery) -> mapgrid.BBox:
    """Where the map opens: around what the filters match, else the whole territory."""
    if not only_moderation_states(query) and (found := await mapgrid.bounds(session, query)):
        return found
    return await browse.bounds(session) or FRANCE


def _json(data: object, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    return Response(
        orjson.dumps(data), status_code=status, media_type="application/json", headers=headers
    )


async def map_page(request: Request) -> Response:
    """Filters, the map, and the list of what it shows (the accessible alternative)."""
    query, errors = parse_query(request)
    async with request.app.state.db.session() as session:
        choices = await filter_choices(session)
        bounds = await fitted_bounds(session, query)
        total, items = await listing(session, query)
    return await render(
        request,
        "map.html",
        {
            "filters": choices,
            "form": form_values(request),
            "errors": errors,
            "bounds": bounds,
            "total": total,
            "items": items,
            "list_query": filter_query_string(request),
        },
    )


def _view(request: Request) -> tuple[tuple[float, float, float, float], int]:
    errors: dict[str, str] = {}
    bbox = None
    try:
        bbox = query_from_params({"bbox": request.query_params.get("bbox", "")}).bbox
    except ValidationError as exc:
        errors.update(exc.errors)
    if bbox is None and "bbox" not in errors:
        errors["bbox"] = N_("obligatoire : sud,ouest,nord,est")
    try:
        zoom = int(request.query_params.get("zoom", ""))
        if not 0 <= zoom <= mapgrid.MAX_ZOOM:
            raise ValueError
    except ValueError:
        errors["zoom"] = N_("entier entre 0 et %(max)s", max=mapgrid.MAX_ZOOM)
        zoom = 0
    if errors:
        raise ValidationError(errors)
    assert bbox is not None
    return bbox, zoom


async def map_data(request: Request) -> Response:
    """Clusters and points for a view: ?bbox=south,west,north,east&zoom=N and the filters."""
    started = time.perf_counter()
    try:
        bbox, zoom = _view(request)
        query, errors = parse_query(request)
        if errors:
            raise ValidationError(errors)
    except ValidationError as exc:
        return problem(request, 422, N_("paramètres invalides"), fields=exc.errors)
    async with request.app.state.db.session() as session:
        view = await mapgrid.map_view(session, query, bbox, zoom)
    elapsed = (time.perf_counter() - started) * 1000
    return _json(
        {
            "zoom": view.zoom,
            "total": view.total,
            "clusters": [
                [
                    round(c.latitude, 5),
                    round(c.longitude, 5),
                    c.count,
                    round(c.south, 5),
                    round(c.west, 5),
                    round(c.north, 5),
                    round(c.east, 5),
                ]
                for c in view.clusters
            ],
            "points": [
                [round(p.latitude, 5), round(p.longitude, 5), p.id, p.slug, p.name]
                for p in view.points
            ],
        },
        headers={"Server-Timing": f"db;dur={elapsed:.1f}", "Cache-Control": "public, max-age=60"},
    )


async def map_bounds(request: Request) -> Response:
    """South, west, north, east of what the filters match (null if nothing), to fit the map."""
    query, errors = parse_query(request)
    if errors:
        return problem(request, 422, N_("paramètres invalides"), fields=errors)
    async with request.app.state.db.session() as session:
        found = await mapgrid.bounds(session, query)
    return _json(
        {"bounds": [round(v, 5) for v in found] if found else None},
        headers={"Cache-Control": "public, max-age=60"},
    )


async def map_list(request: Request) -> Response:
    """The list beside the map for a view (HTML fragment, replaced by map.js)."""
    query, _ = parse_query(request)
    try:
        bbox, _zoom = _view(request)
    except ValidationError:
        bbox = None
    async with request.app.state.db.session() as session:
        if bbox is not None and mapgrid.grid_key(query) is not None:
            # A view that holds everything the filters match counts like no view at all
            # (a cached total) rather than over every initiative in the box.
            found = await mapgrid.bounds(session, query)
            if found is not None and mapgrid.contains(bbox, found):
                bbox = None
        total, items = await listing(session, replace(query, bbox=bbox) if bbox else query)
    return await render(
        request,
        "_map_list.html",
        {
            "site": {},
            "person": None,
            "total": total,
            "items": items,
            "embed": request.query_params.get("embed") == "1",
            "list_query": filter_query_string(request),
        },
    )
