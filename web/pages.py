"""Public pages: home, map, list and search, initiative, themes, communes, feeds, embeds.

The handlers live in web/pages_*.py and web/feeds.py by page family; this module holds
the home page and the route table.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from directory import browse
from web import assets, feeds, pages_browse, pages_embed, pages_initiative, pages_map
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
        Route("/carte", pages_map.map_page, name="map"),
        Route("/carte/liste", pages_map.map_list, name="map_list"),
        Route("/map/data.json", pages_map.map_data, name="map_data"),
        Route("/map/bounds.json", pages_map.map_bounds, name="map_bounds"),
        Route("/initiatives", pages_browse.search_page, name="initiatives"),
        Route("/initiatives/{slug}/historique", pages_initiative.history_page, name="history"),
        Route("/initiatives/{slug}", pages_initiative.initiative_page, name="initiative"),
        Route("/themes", pages_browse.themes_index, name="themes"),
        Route("/themes/{slug}/flux.atom", feeds.theme_feed, name="theme_feed"),
        Route("/themes/{slug}", pages_browse.theme_page, name="theme"),
        Route("/communes/{insee}/flux.atom", feeds.commune_feed, name="commune_feed"),
        Route("/communes/{insee}", pages_browse.commune_page, name="commune"),
        Route("/flux.atom", feeds.directory_feed, name="feed"),
        Route("/embed/map", pages_embed.embed_map, name="embed_map"),
        Route("/embed/list", pages_embed.embed_list, name="embed_list"),
        Route("/integrer", pages_embed.embed_builder, name="embed_builder"),
        Route("/accessibilite", accessibility, name="accessibility"),
    ]
