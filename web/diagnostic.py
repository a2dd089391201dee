"""The territorial diagnostic page (/diagnostic) and its data as CSV (/diagnostic.csv).

Charts are server-rendered SVG bars (web/templates/_charts.html): no JavaScript, every
bar carries its value as text and a hatch pattern, and each chart has its data table.
"""

from __future__ import annotations

import csv
import io
from urllib.parse import urlencode

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from directory import diagnostic
from directory.diagnostic import Diagnostic
from directory.territory import communes
from directory.themes import all_themes
from directory.vocabulary import ACTOR_KINDS, NEEDS
from web.i18n import lazy_language
from web.pages_common import parse_query
from web.templating import render

TABLES = ("themes", "actor_kinds", "needs", "communes", "coverage", "months")
FILTERS = ("theme", "actor_kind", "need", "commune", "status", "q")


def _include_remote(request: Request) -> bool:
    return request.query_params.get("suivies", "") in ("1", "on", "true")


def _filters(request: Request, **changes: str) -> str:
    """The URL's diagnostic filters as a query string (for CSV links and toggles)."""
    items = [
        (k, v)
        for k, v in request.query_params.multi_items()
        if (k in FILTERS or k == "suivies") and v.strip() and k not in changes
    ]
    items += [(k, v) for k, v in changes.items() if v]
    return urlencode(items)


async def _compute(request: Request) -> tuple[Diagnostic, dict[str, str], list]:
    query, errors = parse_query(request, sort="name", page=1)
    async with request.app.state.db.session() as session:
        result = await diagnostic.compute(session, query, include_remote=_include_remote(request))
        known = await communes(session)
        themes = await all_themes(session)
    return result, errors, [known, themes]


async def diagnostic_page(request: Request) -> Response:
    """The diagnostic of the territory or one commune, with its filters, charts and tables."""
    result, errors, (known, themes) = await _compute(request)
    lang = lazy_language(request)
    selected = {name: request.query_params.get(name, "") for name in FILTERS}
    return await render(
        request,
        "diagnostic.html",
        {
            "d": result,
            "errors": errors,
            "communes": sorted(known, key=lambda c: c.name),
            "themes": [t for t in themes if t.parent_id is None],
            "actor_kinds": ACTOR_KINDS,
            "needs": NEEDS,
            "selected": selected,
            "include_remote": _include_remote(request),
            "filters": _filters(request),
            "csv_link": lambda table="": "/diagnostic.csv?" + _filters(request, table=table),
            "toggle_remote": "/diagnostic?"
            + _filters(request, suivies="" if _include_remote(request) else "1"),
            "tables": TABLES,
            "lambda_label": lambda row: row.label(lang),
            "lambda_commune": lambda row: row.name,
            "lambda_month": lambda row: row.month,
        },
    )


def csv_rows(d: Diagnostic, table: str, lang: str = "fr") -> list[list[object]]:
    """One table of the diagnostic as rows (header first)."""

    def rate(value: float | None) -> object:
        return "" if value is None else value

    if table in ("themes", "actor_kinds", "needs"):
        rows = {"themes": d.by_theme, "actor_kinds": d.by_actor_kind, "needs": d.by_need}[table]
        header = [table.rstrip("s"), "label", "initiatives", "per_10000_inhabitants"]
        return [header] + [[r.key, r.label(lang), r.count, rate(r.per_10k)] for r in rows]
    if table == "communes":
        header = [
            "insee_code",
            "commune",
            "initiatives",
            "population",
            "per_10000_inhabitants",
            "has_coordinates",
            "known_commune",
        ]
        return [header] + [
            [
                c.insee_code,
                c.name,
                c.count,
                c.population or "",
                rate(c.per_10k),
                int(c.has_coordinates),
                int(c.known),
            ]
            for c in d.by_commune
        ]
    if table == "coverage":
        needs = d.coverage.needs
        header = ["insee_code", "commune", *[n.slug for n in needs]]
        return [header] + [
            [c.insee_code, c.name, *[d.coverage.count(n.slug, c.insee_code) for n in needs]]
            for c in d.coverage.communes
        ]
    return [["month", "created", "ended"]] + [[m.month, m.created, m.ended] for m in d.months]


async def diagnostic_csv(request: Request) -> Response:
    """The diagnostic's tables as CSV: one with table=..., else every table in sections."""
    table = request.query_params.get("table", "")
    if table and table not in TABLES:
        return Response(
            f"table : une de {', '.join(TABLES)}\n", status_code=422, media_type="text/plain"
        )
    result, _errors, _ = await _compute(request)
    lang = lazy_language(request)
    out = io.StringIO()
    writer = csv.writer(out)
    for n, name in enumerate([table] if table else TABLES):
        if not table:
            if n:
                writer.writerow([])
            writer.writerow([f"# {name}"])
        writer.writerows(csv_rows(result, name, str(lang)))
    filename = f"diagnostic-{table or 'complet'}.csv"
    return Response(
        out.getvalue(),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )


def routes() -> list[BaseRoute]:
    return [
        Route("/diagnostic", diagnostic_page, name="diagnostic"),
        Route("/diagnostic.csv", diagnostic_csv, name="diagnostic_csv"),
    ]
