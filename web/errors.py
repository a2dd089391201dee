"""Domain and HTTP errors: JSON for the API and machines, HTML pages for browsers.

A request gets an HTML error page when it is not for a machine path (/api, ActivityPub,
inboxes, .well-known) and its Accept header prefers text/html (browsers send it).
Messages are French in the code (marked with N_); a JSON error is translated into the
language of Accept-Language (French by default, English when asked, `Content-Language`
says which), an HTML error page into the page's language.
"""

from __future__ import annotations

import logging

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from directory.errors import Conflict, NotFound, ValidationError
from web import i18n
from web.i18n import N_

log = logging.getLogger("maillage.web")


MACHINE_PREFIXES = ("/api/", "/.well-known/", "/nodeinfo", "/inbox", "/actors/", "/ap/")


def wants_html(request: Request) -> bool:
    """Whether this request came from a browser on an HTML route."""
    path = request.url.path
    if path.startswith(MACHINE_PREFIXES) or path.endswith((".json", ".atom", ".xml", ".csv")):
        return False
    accept = request.headers.get("accept", "")
    if "activity+json" in accept or "ld+json" in accept:
        return False
    return "text/html" in accept


async def html_error(request: Request, status: int, message: str = "") -> Response:
    """The error page in the visitor's language (web/templates/error.html)."""
    from web.i18n import gettext as _
    from web.templating import render, site_context

    i18n.lazy_language(request)

    titles = {
        400: N_("Requête incorrecte"),
        401: N_("Connexion nécessaire"),
        403: N_("Accès refusé"),
        404: N_("Page introuvable"),
        405: N_("Méthode non permise"),
        409: N_("Conflit"),
        422: N_("Données invalides"),
        429: N_("Trop de requêtes"),
    }
    context: dict[str, object] = {"site": {}, "person": None}
    if status < 500:
        try:
            context.update(await site_context(request))
        except Exception:  # the error page must render even when the database does not
            log.exception("error page without site context")
    response = await render(
        request,
        "error.html",
        {
            **context,
            "status": status,
            "title": _(titles.get(status, N_("Erreur interne"))),
            "message": i18n.translate(message)
            or (
                _("La page demandée n'existe pas ou a été déplacée.")
                if status == 404
                else _("Une erreur est survenue ; elle a été enregistrée. Réessayez plus tard.")
                if status >= 500
                else ""
            ),
        },
        status_code=status,
    )
    return response


def message_of(exc: Exception) -> str:
    """The message an exception was raised with, its parameters kept (str() drops them)."""
    first = exc.args[0] if exc.args else ""
    return first if isinstance(first, str) else str(exc)


def problem(request: Request, status: int, message: str, **extra: object) -> JSONResponse:
    """A JSON error in the language of the request's Accept-Language (French by default):
    `error` and each of `fields` translated through the catalogs."""
    lang = i18n.api_language(request)
    i18n.set_language(lang)
    fields = extra.pop("fields", None)
    body: dict[str, object] = {"error": i18n.translate(message), "status": status, **extra}
    if fields is not None:
        body["fields"] = {name: i18n.translate(reason) for name, reason in fields.items()}
    return JSONResponse(body, status_code=status, headers={"Content-Language": lang})


async def _validation(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, ValidationError)
    return problem(request, 422, N_("données invalides"), fields=exc.errors)


async def _not_found(request: Request, exc: Exception) -> Response:
    if wants_html(request):
        return await html_error(request, 404)
    return problem(request, 404, message_of(exc))


async def _conflict(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, Conflict)
    fields = {exc.field: message_of(exc)} if exc.field else {}
    return problem(request, 409, message_of(exc), fields=fields)


async def _http(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    if wants_html(request) and exc.status_code >= 400:
        detail = "" if exc.status_code in (404, 405) else exc.detail
        response = await html_error(request, exc.status_code, detail)
        response.headers.update(exc.headers or {})
        return response
    response = problem(request, exc.status_code, exc.detail)
    response.headers.update(exc.headers or {})
    return response


async def _server_error(request: Request, exc: Exception) -> Response:
    log.exception("unhandled error on %s %s", request.method, request.url.path)
    if wants_html(request):
        return await html_error(request, 500)
    return problem(request, 500, N_("erreur interne ; elle a été enregistrée dans le journal"))


def handlers() -> dict:
    return {
        ValidationError: _validation,
        NotFound: _not_found,
        Conflict: _conflict,
        HTTPException: _http,
        500: _server_error,
    }
