"""Jinja2 environment shared by every HTML page, and `render()`, the one way pages render.

French first; English through the Babel catalogs of web/i18n.py. Every page of every area
calls `await render(request, "name.html", {...})`: it chooses the language, sets the `lang`
cookie when `?lang=` asks for one, and gives templates the common context (`lang`,
`settings`, `site`, `person`, `nav`, `lang_url`).
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from babel.dates import format_date, format_datetime
from babel.numbers import format_decimal
from jinja2 import Environment, FileSystemLoader, select_autoescape
from markdown_it import MarkdownIt
from markupsafe import Markup
from starlette.requests import Request
from starlette.responses import HTMLResponse
from starlette.templating import Jinja2Templates

from directory.vocabulary import ACTOR_KINDS, NEEDS, RELATION_KINDS, STATUSES, Term
from web import i18n

TEMPLATES = Path(__file__).parent / "templates"

# Main navigation: (path, French label); labels go through the catalog at render time.
NAV: tuple[tuple[str, str], ...] = (
    ("/", i18n.N_("Accueil")),
    ("/carte", i18n.N_("Carte")),
    ("/initiatives", i18n.N_("Initiatives")),
    ("/themes", i18n.N_("Thèmes")),
    ("/diagnostic", i18n.N_("Diagnostic")),
    ("/collections", i18n.N_("Collections")),
    ("/proposer", i18n.N_("Proposer une initiative")),
)


def _format_date(value: date | datetime | None, form: str = "long") -> str:
    if value is None:
        return ""
    lang = i18n.current_language()
    if isinstance(value, datetime):
        return format_datetime(value, "d MMMM y, HH:mm" if form == "long" else "short", locale=lang)
    return format_date(value, form, locale=lang)


def _format_number(value: int | float | None) -> str:
    return "" if value is None else format_decimal(value, locale=i18n.current_language())


def isodate(value: datetime | None) -> str:
    """RFC 3339 in UTC, as Atom wants it."""
    if value is None:
        value = datetime.now(UTC)
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


_HEADING = re.compile(r"<(/?)h([1-6])>")


def markdown_html(text: str, min_level: int = 0) -> Markup:
    """Markdown rendered to HTML and sanitized (descriptions come from anyone).

    `min_level` pushes headings down (h1 and h2 become h<min_level>, h3 the next level...)
    so that a description's own titles sit under the page's.
    """
    import nh3

    html = MarkdownIt("commonmark", {"html": False, "linkify": False}).render(text or "")
    if min_level:
        html = _HEADING.sub(lambda m: f"<{m[1]}h{min(6, max(min_level, int(m[2]) + 1))}>", html)
    return Markup(nh3.clean(html, link_rel="noopener noreferrer nofollow ugc"))


def _term_label(terms: tuple[Term, ...], slug: str) -> str:
    lang = i18n.current_language()
    return next((t.label(lang) for t in terms if t.slug == slug), slug)


def create_templates() -> Jinja2Templates:
    """Templates with autoescaping and the i18n extension (`{{ _("...") }}` in templates)."""
    env = Environment(
        loader=FileSystemLoader(TEMPLATES),
        autoescape=select_autoescape(["html", "xml", "j2"]),
        extensions=["jinja2.ext.i18n"],
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.install_gettext_callables(  # type: ignore[attr-defined]
        i18n.gettext, i18n.ngettext, newstyle=True
    )
    env.filters["date"] = _format_date
    env.filters["number"] = _format_number
    env.filters["markdown"] = markdown_html
    env.filters["isodate"] = isodate
    env.globals.update(
        tr=i18n.translate,  # a French message of the code or the domain (errors), translated
        status_label=lambda slug: _term_label(STATUSES, slug),
        need_label=lambda slug: _term_label(NEEDS, slug),
        kind_label=lambda slug: _term_label(ACTOR_KINDS, slug),
        relation_label=lambda slug: _term_label(RELATION_KINDS, slug),
    )
    return Jinja2Templates(env=env)


def templates_of(request: Request) -> Jinja2Templates:
    """The app's templates, built once per app (no module-level state)."""
    state = request.app.state
    if getattr(state, "templates", None) is None:
        state.templates = create_templates()
    return state.templates


def lang_url(request: Request, lang: str) -> str:
    """The current URL in another language (`?lang=` replaced)."""
    params = [(k, v) for k, v in request.query_params.multi_items() if k != "lang"]
    params.append(("lang", lang))
    return f"{request.url.path}?{urlencode(params)}"


async def site_context(request: Request) -> dict[str, Any]:
    """What the layout shows on every page: instance settings and the signed-in person."""
    from sqlalchemy import select

    from directory.models import InstanceSetting
    from web.auth import current_person, session_token

    site: dict[str, str] = {}
    person = None
    db = request.app.state.db
    async with db.session() as session:
        rows = await session.execute(select(InstanceSetting.key, InstanceSetting.value))
        site = {key: value for key, value in rows.all()}
        if session_token(request):
            person = await current_person(request, session)
    return {"site": site, "person": person}


async def render(
    request: Request,
    name: str,
    context: dict[str, Any] | None = None,
    *,
    status_code: int = 200,
    headers: dict[str, str] | None = None,
) -> HTMLResponse:
    """Render a page in the request's language with the common context."""
    lang = i18n.lazy_language(request)
    settings = request.app.state.settings
    common: dict[str, Any] = {
        "lang": lang,
        "languages": i18n.LANGUAGE_NAMES,
        "settings": settings,
        "nav": NAV,
        "lang_url": lambda code: lang_url(request, code),
        "path": request.url.path,
    }
    if context is None or "site" not in context:
        common.update(await site_context(request))
    common.update(context or {})
    response = templates_of(request).TemplateResponse(
        request, name, common, status_code=status_code, headers=headers
    )
    requested = request.query_params.get("lang")
    if requested in i18n.LANGUAGES and request.cookies.get(i18n.COOKIE) != requested:
        response.set_cookie(
            i18n.COOKIE, requested, max_age=365 * 24 * 3600, samesite="lax", httponly=False
        )
    return response
