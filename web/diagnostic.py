"""The territorial diagnostic page (/diagnostic) and its data as CSV (/diagnostic.csv).

Charts are drawn in the browser by Observable Plot (npm, served from node_modules at
/assets/plot and /assets/d3) from the JSON the page carries (`chart_rows`), by
web/static/js/diagnostic-charts.js: every bar is hatched and carries its value as text.
Each chart's data table is rendered by the server beside it: it describes the chart
(aria-describedby) and is the alternative without JavaScript.
The uncovered needs are also on a map (web/static/js/diagnostic-map.js, Leaflet), whose
accessible alternative is the table of communes with uncovered needs.
"""

from __future__ import annotations

import csv
import io
from urllib.parse import urlencode

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from directory import diagnostic, relations
from directory.db import Database
from directory.diagnostic import Diagnostic
from directory.errors import NotEditable, NotFound
from directory.models import Initiative, Relation
from directory.territory import communes
from directory.themes import all_themes
from directory.vocabulary import ACTOR_KINDS, NEEDS, RELATION_KINDS
from federation import lookup
from web.activitypub import instance_fetcher
from web.api_common import JSON, json_body, path_id
from web.auth import require_role
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
    uncovered = result.coverage.uncovered_by_commune()
    points = [
        {
            "name": c.name,
            "code": c.insee_code,
            "lat": c.latitude,
            "lon": c.longitude,
            "needs": [n.label(str(lang)) for n in needs],
        }
        for c, needs in uncovered
        if c.latitude is not None and c.longitude is not None
    ]
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
            "uncovered": uncovered,
            "uncovered_points": points,
            "charts": chart_rows(result, str(lang)),
        },
    )


def chart_rows(d: Diagnostic, lang: str = "fr") -> dict[str, list[dict[str, object]]]:
    """Each chart's bars as {label, value}, read by web/static/js/diagnostic-charts.js."""
    recent = d.months[-24:]
    return {
        "themes": [{"label": r.label(lang), "value": r.count} for r in d.by_theme if r.count],
        "actors": [{"label": r.label(lang), "value": r.count} for r in d.by_actor_kind if r.count],
        "needs": [{"label": r.label(lang), "value": r.count} for r in d.by_need if r.count],
        "communes": [{"label": c.name, "value": c.count} for c in d.by_commune if c.count][:20],
        "months-created": [{"label": m.month, "value": m.created} for m in recent],
        "months-ended": (
            [{"label": m.month, "value": m.ended} for m in recent]
            if any(m.ended for m in d.months)
            else []
        ),
    }


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


async def refresh_counts(db: Database) -> int:
    """Worker task: recount the communes changed since the last round (0 when none)."""
    async with db.session() as session:
        if not await diagnostic.changed_communes(session):
            return 0
    # A new transaction whose first statement is the refresh's write (see refresh()).
    async with db.session() as session:
        return await diagnostic.refresh(session)


# --- Référents: links between initiatives (JSON API). ----------------------------------


def _relation_json(relation: Relation) -> dict[str, object]:
    return {
        "id": relation.id,
        "kind": relation.kind,
        "target": relation.target_uri,
        "note": relation.note,
        "created_at": relation.created_at.isoformat() if relation.created_at else None,
    }


async def _local_initiative(session: AsyncSession, slug: str) -> Initiative:
    initiative = await session.scalar(select(Initiative).where(Initiative.slug == slug))
    if initiative is None or initiative.moderation_state != "published":
        raise NotFound("initiative introuvable")
    if not initiative.is_local:
        raise NotEditable(f"cette initiative appartient à {initiative.origin}")
    return initiative


async def relations_endpoint(request: Request) -> Response:
    """GET the links of an initiative; POST {target, kind, note} to add one (référent+)."""
    slug = request.path_params["slug"]
    # Made before this unit of work writes: the first call stores the instance actor in a
    # transaction of its own (on SQLite, one writer at a time).
    fetcher = await instance_fetcher(request.app) if request.method == "POST" else None
    async with request.app.state.db.session() as session:
        if request.method == "GET":
            initiative = await _local_initiative(session, slug)
            found = await relations.relations_of(session, initiative)
            return JSON({"items": [_relation_json(r) for r in found]})
        person = await require_role(request, session, "referent")
        data = await json_body(request)
        initiative = await _local_initiative(session, slug)
        # A remote target is fetched and validated first (and stored), then linked.
        assert fetcher is not None
        await lookup.ensure_remote_initiative(
            session,
            fetcher,
            request.app.state.settings,
            request.app.state.db,
            str(data.get("target") or ""),
            vouched_by=person,
        )
        relation = await relations.add_relation(
            session,
            initiative,
            target=str(data.get("target") or ""),
            kind=str(data.get("kind") or ""),
            note=str(data.get("note") or ""),
            person_id=person.id,
            base_url=request.app.state.settings.base_url,
        )
        body = _relation_json(relation)
    return JSON(body, status_code=201)


async def relation_delete(request: Request) -> Response:
    """DELETE one link of an initiative (référent+)."""
    async with request.app.state.db.session() as session:
        person = await require_role(request, session, "referent")
        initiative = await _local_initiative(session, request.path_params["slug"])
        await relations.remove_relation(session, initiative, path_id(request), person_id=person.id)
    return Response(status_code=204)


def _error(code: int) -> dict[str, object]:
    return {
        "description": f"Erreur {code} (voir components.responses)",
        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}},
    }


_RELATION = {
    "type": "object",
    "properties": {
        "id": {"type": "integer"},
        "kind": {"type": "string", "enum": [k.slug for k in RELATION_KINDS]},
        "target": {"type": "string", "description": "identifiant (URI) de l'initiative liée"},
        "note": {"type": "string"},
        "created_at": {"type": ["string", "null"], "format": "date-time"},
    },
}
_SLUG = {"name": "slug", "in": "path", "required": True, "schema": {"type": "string"}}
_REFERENT = [{"bearer": []}, {"session": []}]

# Described in the API's one OpenAPI document (web/api_openapi.py merges them).
OPENAPI_PATHS: dict[str, object] = {
    "/initiatives/{slug}/relations": {
        "parameters": [_SLUG],
        "get": {
            "summary": "Liens d'une initiative locale vers d'autres initiatives",
            "responses": {
                "200": {
                    "description": "Liens",
                    "content": {
                        "application/json": {
                            "schema": {
                                "type": "object",
                                "properties": {"items": {"type": "array", "items": _RELATION}},
                            }
                        }
                    },
                },
                "404": _error(404),
                "409": _error(409),
            },
            "security": [{}],
        },
        "post": {
            "summary": "Lier l'initiative à une initiative publiée, ici ou sur une autre instance "
            "(l'adresse distante est récupérée et vérifiée d'abord ; référent ou plus)",
            "requestBody": {
                "required": True,
                "content": {
                    "application/json": {
                        "schema": {
                            "type": "object",
                            "properties": {
                                "target": {
                                    "type": "string",
                                    "description": "identifiant local, ou adresse (URI)",
                                },
                                "kind": _RELATION["properties"]["kind"],
                                "note": {"type": "string", "maxLength": relations.NOTE_LIMIT},
                            },
                            "required": ["target", "kind"],
                        }
                    }
                },
            },
            "responses": {
                "201": {
                    "description": "Lien créé",
                    "content": {"application/json": {"schema": _RELATION}},
                },
                **{str(c): _error(c) for c in (400, 401, 403, 404, 409, 413, 422)},
            },
            "security": _REFERENT,
        },
    },
    "/initiatives/{slug}/relations/{id}": {
        "parameters": [
            _SLUG,
            {"name": "id", "in": "path", "required": True, "schema": {"type": "integer"}},
        ],
        "delete": {
            "summary": "Retirer un lien (référent ou plus)",
            "responses": {
                "204": {"description": "Lien retiré"},
                **{str(c): _error(c) for c in (401, 403, 404, 409)},
            },
            "security": _REFERENT,
        },
    },
}


def routes() -> list[BaseRoute]:
    return [
        Route("/diagnostic", diagnostic_page, name="diagnostic"),
        Route("/diagnostic.csv", diagnostic_csv, name="diagnostic_csv"),
        Route(
            "/api/v1/initiatives/{slug}/relations",
            relations_endpoint,
            methods=["GET", "POST"],
            name="api_relations",
        ),
        Route(
            "/api/v1/initiatives/{slug}/relations/{id:int}",
            relation_delete,
            methods=["DELETE"],
            name="api_relation",
        ),
    ]
