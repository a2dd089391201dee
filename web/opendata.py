"""The open-data page: what can be downloaded, in which formats, under which licence."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from directory import search
from web.templating import render

FORMATS = (
    ("/exports/initiatives.csv", "CSV", "text/csv"),
    ("/exports/initiatives.geojson", "GeoJSON", "application/geo+json"),
    ("/exports/initiatives.jsonld", "JSON-LD (schema.org)", "application/ld+json"),
    ("/exports/gogocarto.json", "GoGoCarto", "application/json"),
)


async def open_data(request: Request) -> Response:
    """List the downloads, carrying the page's filters into each link."""
    query = search.query_from_params(request.query_params)
    filters = str(request.query_params)
    return await render(
        request,
        "opendata.html",
        {
            "formats": [
                (f"{path}?{filters}" if filters else path, label, mime)
                for path, label, mime in FORMATS
            ],
            "filtered": any(
                (
                    query.text,
                    query.themes,
                    query.actor_kinds,
                    query.needs,
                    query.communes,
                    query.statuses,
                )
            ),
        },
    )


def routes() -> list[BaseRoute]:
    return [Route("/donnees", open_data, name="open_data")]
