"""Public pages: home, map, list and search, initiative, themes, communes, feeds, embeds."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from directory import browse
from web import assets
from web.templating import render


async def home(request: Request) -> Response:
    """What this directory is, its territory, counts, latest initiatives, themes."""
    async with request.app.state.db.session() as session:
        context = {
            "overview": await browse.overview(session),
            "themes": await browse.theme_counts(session),
            "latest": await browse.latest(session, 6),
            "communes": await browse.commune_counts(session, 24),
        }
    return await render(request, "home.html", context)


async def accessibility(request: Request) -> Response:
    return await render(request, "accessibility.html")


def routes() -> list[BaseRoute]:
    return [
        *assets.routes(),
        Route("/", home, name="home"),
        Route("/accessibilite", accessibility, name="accessibility"),
    ]
