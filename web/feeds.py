"""Atom feeds: the whole directory, a theme, a commune (newest published first)."""

from __future__ import annotations

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response

from directory import browse
from web.i18n import gettext as _
from web.i18n import lazy_language
from web.pages_common import known_commune
from web.templating import isodate, templates_of

FEED_SIZE = 50


async def _feed(request: Request, title: str, alternate: str, **filters: str) -> Response:
    settings = request.app.state.settings
    async with request.app.state.db.session() as session:
        items = await browse.latest(session, FEED_SIZE, **filters)
    lang = lazy_language(request)
    templates = templates_of(request)
    updated = max((i.updated_at for i in items if i.updated_at), default=None)
    body = templates.get_template("feed.xml").render(
        lang=lang,
        settings=settings,
        items=items,
        title=title,
        self_url=f"{settings.base_url}{request.url.path}",
        alternate=f"{settings.base_url}{alternate}",
        updated=isodate(updated),
    )
    return Response(
        body,
        media_type="application/atom+xml; charset=utf-8",
        headers={"Cache-Control": "public, max-age=300"},
    )


async def directory_feed(request: Request) -> Response:
    settings = request.app.state.settings
    lazy_language(request)
    return await _feed(request, _("Nouvelles initiatives") + f" — {settings.territory_name}", "/")


async def theme_feed(request: Request) -> Response:
    slug = request.path_params["slug"]
    async with request.app.state.db.session() as session:
        theme = await browse.theme(session, slug)
    if theme is None:
        raise HTTPException(404, "thème introuvable")
    lang = lazy_language(request)
    return await _feed(request, theme.label(lang), f"/themes/{slug}", theme=slug)


async def commune_feed(request: Request) -> Response:
    code = request.path_params["insee"]
    async with request.app.state.db.session() as session:
        commune, _count = await known_commune(session, code)
    name = commune.name if commune else code
    return await _feed(request, name, f"/communes/{code}", commune=code)
