"""Lists: search with facets, theme pages, commune pages."""

from __future__ import annotations

from dataclasses import replace
from urllib.parse import urlencode

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response

from directory import browse, search
from directory.errors import ValidationError
from directory.vocabulary import ACTOR_KINDS, NEEDS, STATUSES
from web.i18n import N_, lazy_language
from web.pages_common import (
    filter_choices,
    filter_query_string,
    form_values,
    known_commune,
    parse_query,
)
from web.templating import render

SORT_LABELS = (
    ("name", N_("Nom (A → Z)")),
    ("recent", N_("Les plus récentes")),
    ("relevance", N_("Pertinence")),
)


def _link(request: Request, **changes: str | None) -> str:
    """The current list URL with some parameters changed (None removes them)."""
    params = [(k, v) for k, v in request.query_params.multi_items() if k not in changes]
    params += [(k, v) for k, v in changes.items() if v]
    return f"{request.url.path}?{urlencode(params)}" if params else request.url.path


def _toggle(request: Request, name: str, value: str) -> str:
    """The URL with one facet value added or removed (and back to page 1)."""
    items = [(k, v) for k, v in request.query_params.multi_items() if k != "page"]
    if (name, value) in items:
        items.remove((name, value))
    else:
        items.append((name, value))
    return f"{request.url.path}?{urlencode(items)}" if items else request.url.path


async def search_page(request: Request) -> Response:
    """All initiatives, searchable, with facets and counts, paged and sorted."""
    query, errors = parse_query(request)
    async with request.app.state.db.session() as session:
        choices = await filter_choices(session)
        try:
            result = await search.search_initiatives(session, query)
        except ValidationError as exc:
            errors.update(exc.errors)
            query = replace(query, themes=(), page=1)
            result = await search.search_initiatives(session, query)
    lang = lazy_language(request)
    themes = {t.slug: t for t in choices.themes}
    communes = {code: name for code, name, _ in choices.communes}
    selected = {
        name: request.query_params.getlist(name)
        for name in ("theme", "actor_kind", "need", "commune", "status")
    }
    pages = max(1, -(-result.total // query.per_page))
    return await render(
        request,
        "search.html",
        {
            "query": query,
            "result": result,
            "errors": errors,
            "filters": choices,
            "form": form_values(request),
            "lambda_theme": lambda slug: themes[slug].label(lang) if slug in themes else slug,
            "lambda_commune": lambda code: communes.get(code, code),
            "vocab": {"actor_kinds": ACTOR_KINDS, "needs": NEEDS, "statuses": STATUSES},
            "selected": selected,
            "toggle": lambda name, value: _toggle(request, name, value),
            "link": lambda **changes: _link(request, **changes),
            "pages": pages,
            "sorts": SORT_LABELS,
            "list_query": filter_query_string(request),
        },
    )


async def themes_index(request: Request) -> Response:
    async with request.app.state.db.session() as session:
        counts = await browse.theme_counts(session)
    return await render(request, "themes.html", {"themes": counts})


async def theme_page(request: Request) -> Response:
    """A theme: its initiatives (latest first), sub-themes, communes, feed and embed."""
    slug = request.path_params["slug"]
    async with request.app.state.db.session() as session:
        theme = await browse.theme(session, slug)
        if theme is None:
            raise HTTPException(404, "thème introuvable")
        context = {
            "theme": theme,
            "sub_themes": await browse.sub_themes(session, theme.id),
            "count": await browse.count_published(session, theme=slug),
            "latest": await browse.latest(session, 12, theme=slug),
        }
    return await render(request, "theme.html", context)


async def commune_page(request: Request) -> Response:
    """A commune: its initiatives, the themes they cover, feed and embed."""
    code = request.path_params["insee"]
    async with request.app.state.db.session() as session:
        commune, count = await known_commune(session, code)
        latest = await browse.latest(session, 12, commune=code)
        name = commune.name if commune else (latest[0].city if latest else code)
        context = {
            "commune": commune,
            "insee": code,
            "name": name,
            "count": count,
            "latest": latest,
            "themes": await browse.commune_theme_counts(session, code),
        }
    return await render(request, "commune.html", context)
