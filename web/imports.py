"""Import and duplicate pages for admins and moderators, and the public open-data downloads.

Thin routes: parse the form, call directory.imports / directory.exports, render. Imports
started here run after the response (a background task of this process); the job page
follows their progress and shows the report.
"""

from __future__ import annotations

import contextlib
import hmac
import itertools
from typing import Any

from sqlalchemy import select
from starlette.background import BackgroundTask
from starlette.datastructures import UploadFile
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response, StreamingResponse
from starlette.routing import BaseRoute, Route

from directory import themes as themes_module
from directory.db import Database
from directory.errors import Conflict, NotFound, ValidationError
from directory.exports import FORMATS, ExportContext, stream_export
from directory.imports import conflicts, duplicates, jobs, mapping
from directory.imports import csv as csv_import
from directory.imports.fetch import MAX_IMPORT_BYTES
from directory.imports.models import ImportJob
from directory.imports.records import ParseError
from directory.models import Initiative
from directory.search import query_from_params
from web import templating
from web.auth import author_of, require_role
from web.forms import csrf_token
from web.i18n import N_
from web.importing import HttpClient, geocoder_for
from web.settings import Settings

CSRF_FIELD = "csrf_token"  # the same contract as every form of the site (session "csrf")
PREVIEW_ROWS = 5


async def _form(request: Request) -> dict[str, Any]:
    """The posted fields (uploads read as (filename, bytes), at most the import size cap + 1)
    once the CSRF token matches the session's; 403 otherwise."""
    try:
        form = await request.form(max_files=2, max_fields=200, max_part_size=MAX_IMPORT_BYTES + 1)
    except HTTPException as exc:
        raise HTTPException(400, f"formulaire illisible : {exc.detail}") from None
    try:
        fields: dict[str, Any] = {}
        for key, value in form.multi_items():
            if isinstance(value, UploadFile):
                if value.filename:
                    fields[key] = (value.filename, await value.read(MAX_IMPORT_BYTES + 1))
            else:
                fields[key] = value
    finally:
        await form.close()
    expected = request.session.get("csrf", "")
    sent = fields.get(CSRF_FIELD, "")
    if not expected or not isinstance(sent, str) or not hmac.compare_digest(sent, expected):
        raise HTTPException(403, "jeton de sécurité absent ou invalide : rechargez la page")
    return fields


async def _render(
    request: Request, name: str, context: dict[str, Any], status: int = 200
) -> Response:
    context = {"csrf_token": csrf_token(request), "csrf_field_name": CSRF_FIELD, **context}
    render = getattr(templating, "render", None)
    if render is not None:  # the site's layout and common context, when available
        return await render(request, name, context, status_code=status)
    templates = getattr(request.app.state, "import_templates", None)
    if templates is None:
        templates = request.app.state.import_templates = templating.create_templates()
    return templates.TemplateResponse(request, name, context, status_code=status)


def _db(request: Request) -> Database:
    return request.app.state.db


def _settings(request: Request) -> Settings:
    return request.app.state.settings


def _run_in_background(request: Request, job_id: int) -> BackgroundTask:
    settings, db = _settings(request), _db(request)
    client = HttpClient(settings)

    async def run() -> None:
        with contextlib.suppress(Conflict):  # a worker claimed it first
            await jobs.run_job(
                db, job_id, fetcher=client, geocoder=geocoder_for(settings, client),
                data_dir=settings.data_dir,
            )  # fmt: skip

    return BackgroundTask(run)


def _see(url: str, background: BackgroundTask | None = None) -> RedirectResponse:
    return RedirectResponse(url, status_code=303, background=background)


# --- Imports ----------------------------------------------------------------------------------


async def imports_index(request: Request) -> Response:
    async with _db(request).session() as session:
        person = await require_role(request, session, "admin")
        return await _render(
            request,
            "imports/index.html",
            {
                "person": person,
                "jobs": await jobs.list_jobs(session),
                "sources": await jobs.list_sources(session),
                "open_conflicts": len(await conflicts.open_conflicts(session)),
                "kinds": jobs.KINDS,
                "errors": {},
                "values": {},
                "max_mb": MAX_IMPORT_BYTES // (1024 * 1024),
            },
        )


def _guess_kind(filename: str, given: str) -> str:
    if given in jobs.KINDS:
        return given
    lower = filename.lower()
    if lower.endswith(".csv"):
        return "csv"
    if lower.endswith((".geojson", ".geo.json")):
        return "geojson"
    return "gogocarto"


async def imports_create(request: Request) -> Response:
    db, settings = _db(request), _settings(request)
    async with db.session() as session:
        person = await require_role(request, session, "admin")
    form = await _form(request)
    upload = form.get("file")
    url = str(form.get("url") or "").strip()
    every = str(form.get("every") or "").strip()
    source_key = str(form.get("source") or "").strip()
    errors: dict[str, str] = {}
    raw = b""
    if isinstance(upload, tuple):
        filename, raw = upload
        if len(raw) > MAX_IMPORT_BYTES:
            errors["file"] = N_(
                "fichier trop gros (maximum %(mb)s Mo)", mb=MAX_IMPORT_BYTES // 1024 // 1024
            )
        elif not raw:
            errors["file"] = N_("fichier vide")
        kind = _guess_kind(filename, str(form.get("kind") or ""))
        source_key = source_key or filename.rsplit(".", 1)[0]
    elif url:
        kind = _guess_kind(url, str(form.get("kind") or ""))
        if not jobs.is_url(url):
            errors["url"] = N_("adresse http:// ou https:// attendue")
        source_key = source_key or url.split("://", 1)[-1].split("/", 1)[0]
    else:
        errors["file"] = N_("choisissez un fichier ou indiquez une adresse")
        kind = "gogocarto"
    every_seconds = None
    if every:
        try:
            every_seconds = jobs.parse_every(every)
        except ValidationError as exc:
            errors.update(exc.errors)
    if errors:
        async with db.session() as session:
            return await _render(
                request,
                "imports/index.html",
                {
                    "person": person, "jobs": await jobs.list_jobs(session),
                    "sources": await jobs.list_sources(session), "open_conflicts": 0,
                    "kinds": jobs.KINDS, "errors": errors,
                    "values": {"url": url, "every": every, "source": source_key},
                    "max_mb": MAX_IMPORT_BYTES // (1024 * 1024),
                },
                status=422,
            )  # fmt: skip
    async with db.session() as session:
        if raw:
            path = jobs.store_payload(settings.data_dir, raw, "csv" if kind == "csv" else "json")
            job = await jobs.create_job(
                session, kind=kind, source_key=source_key, payload_path=str(path),
                person_id=person.id,
            )  # fmt: skip
        else:
            if every_seconds:
                await jobs.save_source(
                    session, key=source_key, kind=kind, location=url, every_seconds=every_seconds
                )
            job = await jobs.create_job(
                session, kind=kind, source_key=source_key, location=url, person_id=person.id
            )
        if kind == "csv":
            job.state = "draft"  # the admin checks the column mapping first
        job_id = job.id
    if kind == "csv":
        return _see(f"/admin/imports/{job_id}")
    return _see(f"/admin/imports/{job_id}", _run_in_background(request, job_id))


async def _job(session: Any, job_id: str) -> ImportJob:
    try:
        return await jobs.get_job(session, int(job_id))
    except ValueError:
        raise NotFound("import introuvable") from None


async def import_detail(request: Request) -> Response:
    async with _db(request).session() as session:
        person = await require_role(request, session, "admin")
        job = await _job(session, request.path_params["job_id"])
        context: dict[str, Any] = {"person": person, "job": job, "report": job.report or {}}
        if job.state == "draft":
            context.update(_mapping_step(job))
        duplicates_rows = []
        for pair in (job.report or {}).get("possible_duplicates", [])[:50]:
            a = await session.get(Initiative, pair["first_id"])
            b = await session.get(Initiative, pair["second_id"])
            if a and b:
                duplicates_rows.append((a, b, pair))
        context["duplicates"] = duplicates_rows
        return await _render(request, "imports/job.html", context)


def _mapping_step(job: ImportJob) -> dict[str, Any]:
    """What the CSV mapping step shows: detected mapping, headers and a preview."""
    try:
        with jobs.open_payload(job.payload_path) as file:
            plan, rows = csv_import.open_file(file, job.options.get("columns") or {})
            preview = list(csv_import.records(plan, itertools.islice(rows, PREVIEW_ROWS)))
    except ParseError as exc:
        return {"plan": None, "plan_error": str(exc), "targets": csv_import.TARGETS}
    return {"plan": plan, "plan_error": "", "preview": preview, "targets": csv_import.TARGETS}


async def import_start(request: Request) -> Response:
    db = _db(request)
    async with db.session() as session:
        await require_role(request, session, "admin")
    form = await _form(request)
    async with db.session() as session:
        job = await _job(session, request.path_params["job_id"])
        if job.state != "draft":
            raise Conflict(f"l'import n°{job.id} est déjà {job.state}")
        columns = {
            target: str(form.get(f"column_{target}") or "")
            for target in csv_import.TARGETS
            if f"column_{target}" in form
        }
        job.options = {**job.options, "columns": columns}
        try:
            with jobs.open_payload(job.payload_path) as file:
                csv_import.open_file(file, columns)
        except ParseError:
            return _see(f"/admin/imports/{job.id}")  # the page shows the problem
        job.state = "pending"
        job_id = job.id
    return _see(f"/admin/imports/{job_id}", _run_in_background(request, job_id))


async def import_retry(request: Request) -> Response:
    db = _db(request)
    async with db.session() as session:
        await require_role(request, session, "admin")
    await _form(request)
    async with db.session() as session:
        job = await _job(session, request.path_params["job_id"])
        await jobs.retry_job(session, job.id)
        job_id = job.id
    return _see(f"/admin/imports/{job_id}", _run_in_background(request, job_id))


async def conflicts_page(request: Request) -> Response:
    async with _db(request).session() as session:
        person = await require_role(request, session, "moderator")
        rows = []
        for conflict in await conflicts.open_conflicts(session):
            rows.append((conflict, await session.get(Initiative, conflict.initiative_id)))
        return await _render(request, "imports/conflicts.html", {"person": person, "rows": rows})


async def conflict_decide(request: Request) -> Response:
    db = _db(request)
    async with db.session() as session:
        person = await require_role(request, session, "moderator")
    form = await _form(request)
    async with db.session() as session:
        await conflicts.resolve_conflict(
            session, int(request.path_params["conflict_id"]),
            take_source=form.get("decision") == "source", author=author_of(person),
        )  # fmt: skip
    return _see("/admin/imports/conflits")


async def categories_page(request: Request) -> Response:
    async with _db(request).session() as session:
        person = await require_role(request, session, "admin")
        return await _render(
            request,
            "imports/categories.html",
            {
                "person": person,
                "mappings": await mapping.list_mappings(session),
                "themes": await themes_module.all_themes(session),
            },
        )


async def category_update(request: Request) -> Response:
    db = _db(request)
    async with db.session() as session:
        await require_role(request, session, "admin")
    form = await _form(request)
    async with db.session() as session:
        await mapping.set_mapping(
            session, int(request.path_params["mapping_id"]), str(form.get("theme") or "") or None
        )
    return _see("/admin/imports/categories")


# --- Duplicates -------------------------------------------------------------------------------


async def duplicates_page(request: Request) -> Response:
    async with _db(request).session() as session:
        person = await require_role(request, session, "moderator")
        pairs = await duplicates.find_all(session, limit=100)
        ids = {i for p in pairs for i in (p.first_id, p.second_id)}
        found = {
            i.id: i for i in await session.scalars(select(Initiative).where(Initiative.id.in_(ids)))
        }
        rows = [(found[p.first_id], found[p.second_id], p) for p in pairs]
        return await _render(request, "imports/duplicates.html", {"person": person, "rows": rows})


async def duplicates_decide(request: Request) -> Response:
    db = _db(request)
    async with db.session() as session:
        person = await require_role(request, session, "moderator")
    form = await _form(request)
    try:
        first, second = int(form.get("first", "")), int(form.get("second", ""))
    except ValueError:
        raise ValidationError({"first": N_("identifiants d'initiatives attendus")}) from None
    action, author, note = form.get("action"), author_of(person), str(form.get("note") or "")
    async with db.session() as session:
        if action == "merge":
            keep = int(form.get("keep") or first)
            other = second if keep == first else first
            await duplicates.merge(session, keep, other, author=author, note=note)
        elif action == "distinct":
            await duplicates.mark_distinct(session, first, second, author=author, note=note)
        elif action == "same_as":
            a, b = await session.get(Initiative, first), await session.get(Initiative, second)
            if a is None or b is None:
                raise NotFound("initiative introuvable")
            local, remote = (a, b) if a.is_local else (b, a)
            await duplicates.link_same_as(session, local.id, remote.id, author=author, note=note)
        else:
            raise ValidationError({"action": N_("merge, distinct ou same_as")})
    return _see("/admin/doublons")


# --- Open data --------------------------------------------------------------------------------


def _export_route(fmt: str):
    media_type, filename = FORMATS[fmt]

    async def export(request: Request) -> Response:
        query = query_from_params(request.query_params)
        settings = _settings(request)
        context = ExportContext(
            base_url=settings.base_url,
            instance_name=settings.territory_name,
            licence=settings.licence,
            licence_url=settings.licence_url,
        )
        return StreamingResponse(
            stream_export(_db(request), fmt, query, context),
            media_type=media_type,
            headers={
                "Content-Disposition": f'attachment; filename="{filename}"',
                "Link": f'<{settings.licence_url}>; rel="license"',
                "Access-Control-Allow-Origin": "*",
            },
        )

    return export


def routes() -> list[BaseRoute]:
    return [
        Route("/admin/imports", imports_index, methods=["GET"]),
        Route("/admin/imports", imports_create, methods=["POST"]),
        Route("/admin/imports/conflits", conflicts_page, methods=["GET"]),
        Route("/admin/imports/conflits/{conflict_id:int}", conflict_decide, methods=["POST"]),
        Route("/admin/imports/categories", categories_page, methods=["GET"]),
        Route("/admin/imports/categories/{mapping_id:int}", category_update, methods=["POST"]),
        Route("/admin/imports/{job_id:int}", import_detail, methods=["GET"]),
        Route("/admin/imports/{job_id:int}/lancer", import_start, methods=["POST"]),
        Route("/admin/imports/{job_id:int}/relancer", import_retry, methods=["POST"]),
        Route("/admin/doublons", duplicates_page, methods=["GET"]),
        Route("/admin/doublons", duplicates_decide, methods=["POST"]),
        Route("/exports/initiatives.csv", _export_route("csv")),
        Route("/exports/initiatives.geojson", _export_route("geojson")),
        Route("/exports/initiatives.jsonld", _export_route("jsonld")),
        Route("/exports/gogocarto.json", _export_route("gogocarto")),
    ]
