"""Reading request bodies with a size cap: the API, the inbox and the forms share this.

The cap is checked twice: on the declared Content-Length (refused before reading) and on
the bytes actually streamed (a missing or lying Content-Length, chunked uploads), so a
client never makes us buffer more than `limit` bytes.
"""

from __future__ import annotations

from typing import Any

import orjson
from starlette.exceptions import HTTPException
from starlette.requests import Request

from web.i18n import N_

JSON_TYPES = ("application/json",)


def _too_large(limit: int) -> HTTPException:
    return HTTPException(
        413, N_("corps de requête trop volumineux (maximum %(limit)s octets)", limit=limit)
    )


async def read_body(request: Request, limit: int) -> bytes:
    """The request body, or HTTP 413 as soon as it is known to exceed `limit` bytes."""
    declared = request.headers.get("content-length")
    if declared is not None:
        if not declared.strip().isdigit():
            raise HTTPException(400, N_("en-tête Content-Length invalide"))
        if int(declared) > limit:
            raise _too_large(limit)
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise _too_large(limit)
        chunks.append(chunk)
    return b"".join(chunks)


def is_json_type(content_type: str) -> bool:
    """application/json or any `+json` type (activity+json, ld+json, merge-patch+json)."""
    media = content_type.partition(";")[0].strip().lower()
    return media in JSON_TYPES or (media.startswith("application/") and media.endswith("+json"))


async def read_json(request: Request, limit: int, *, expect: type = dict) -> Any:
    """The JSON body as `expect` (an object by default); 400 for a wrong type or bad JSON."""
    if not is_json_type(request.headers.get("content-type", "")):
        raise HTTPException(400, N_("type de contenu attendu : application/json"))
    body = await read_body(request, limit)
    if not body.strip():
        raise HTTPException(400, N_("corps de requête vide : un document JSON est attendu"))
    try:
        data = orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        raise HTTPException(400, N_("JSON mal formé : %(reason)s", reason=str(exc))) from None
    if not isinstance(data, expect):
        if expect is dict:
            raise HTTPException(400, N_("un objet JSON est attendu"))
        raise HTTPException(
            400, N_("un document JSON de type %(type)s est attendu", type=expect.__name__)
        )
    return data
