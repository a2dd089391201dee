"""Domain and HTTP errors as JSON for the API (HTML pages install their own handlers)."""

from __future__ import annotations

import logging

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from directory.errors import Conflict, NotFound, ValidationError

log = logging.getLogger("maillage.web")


def problem(status: int, message: str, **extra: object) -> JSONResponse:
    return JSONResponse({"error": message, "status": status, **extra}, status_code=status)


async def _validation(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, ValidationError)
    return problem(422, "données invalides", fields=exc.errors)


async def _not_found(request: Request, exc: Exception) -> Response:
    return problem(404, str(exc))


async def _conflict(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, Conflict)
    fields = {exc.field: str(exc)} if exc.field else {}
    return problem(409, str(exc), fields=fields)


async def _http(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    response = problem(exc.status_code, exc.detail)
    response.headers.update(exc.headers or {})
    return response


async def _server_error(request: Request, exc: Exception) -> Response:
    log.exception("unhandled error on %s %s", request.method, request.url.path)
    return problem(500, "erreur interne ; elle a été enregistrée dans le journal")


def handlers() -> dict:
    return {
        ValidationError: _validation,
        NotFound: _not_found,
        Conflict: _conflict,
        HTTPException: _http,
        500: _server_error,
    }
