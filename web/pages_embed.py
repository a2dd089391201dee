"""Embeddable widgets (map or list, filtered by theme, commune, need) and the snippet page."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from web.pages_common import filter_choices, filter_query_string, form_values, parse_query
from web.pages_map import fitted_bounds, listing
from web.templating import render

EMBED_FILTERS = ("theme", "commune", "need", "actor_kind", "q")
# Embeds are made to be framed by other sites.
FRAMEABLE = {"Content-Security-Policy": "frame-ancestors *"}


async def embed_map(request: Request) -> Response:
    """The map alone (with its list below), for an iframe on a collectivité's site."""
    query, _ = parse_query(request)
    async with request.app.state.db.session() as session:
        bounds = await fitted_bounds(session, query)
        total, items = await listing(session, query, 10)
    return await render(
        request,
        "embed_map.html",
        {
            "site": {},
            "person": None,
            "bounds": bounds,
            "total": total,
            "items": items,
            "embed": True,
            "list_query": filter_query_string(request, EMBED_FILTERS),
            "show_list": request.query_params.get("list", "1") != "0",
        },
        headers=FRAMEABLE,
    )


async def embed_list(request: Request) -> Response:
    """A compact list of initiatives, for an iframe."""
    query, _ = parse_query(request)
    async with request.app.state.db.session() as session:
        total, items = await listing(session, query, 50)
    return await render(
        request,
        "embed_list.html",
        {
            "site": {},
            "person": None,
            "total": total,
            "items": items,
            "embed": True,
            "list_query": filter_query_string(request, EMBED_FILTERS),
        },
        headers=FRAMEABLE,
    )


async def embed_builder(request: Request) -> Response:
    """Choose the widget and its filters; copy the snippet."""
    async with request.app.state.db.session() as session:
        choices = await filter_choices(session)
    kind = "list" if request.query_params.get("widget") == "list" else "map"
    query = filter_query_string(request, EMBED_FILTERS)
    base = request.app.state.settings.base_url
    src = f"{base}/embed/{kind}" + (f"?{query}" if query else "")
    return await render(
        request,
        "embed_builder.html",
        {
            "filters": choices,
            "form": form_values(request),
            "widget": kind,
            "src": src,
            "base": base,
        },
    )
