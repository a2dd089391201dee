"""Inboxes: the shared `/inbox` and each actor's `/actors/{name}/inbox`.

The route checks, stores, answers 202; a worker processes (federation/inbox.py). Checks,
in order, each refusal leaving a visible record (inbox_items, state "refused", no body):
body over the cap -> 413; not a JSON activity -> 400; blocked domain -> 403; signature
missing or invalid (RFC 9421 headers included) -> 401 with the reason; key owner other
than the activity's actor -> 401. Nothing here answers 500 for bad input.
"""

from __future__ import annotations

import orjson
from starlette.requests import ClientDisconnect, Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from directory.db import Database
from federation import inbox_store, keys
from federation.parse import ParseError, parse_activity
from federation.signatures import SignatureError, verify_request
from federation.urls import host_of
from web.errors import problem
from web.federation_context import DomainBlocked, blocked, cached_key_resolver, group_writer
from web.i18n import N_


class Refusal(Exception):
    def __init__(self, status: int, reason: str, activity: dict | None = None) -> None:
        super().__init__(reason)
        self.status = status
        self.reason = reason
        self.activity = activity


async def _read_body(request: Request, cap: int) -> bytes:
    length = request.headers.get("content-length", "")
    if length.isdigit() and int(length) > cap:
        raise Refusal(
            413,
            N_("corps trop volumineux (%(size)s octets, maximum %(cap)s)", size=length, cap=cap),
        )
    chunks: list[bytes] = []
    size = 0
    try:
        async for chunk in request.stream():
            size += len(chunk)
            if size > cap:
                raise Refusal(413, N_("corps trop volumineux (plus de %(cap)s octets)", cap=cap))
            chunks.append(chunk)
    except ClientDisconnect as exc:
        raise Refusal(400, N_("requête interrompue")) from exc
    return b"".join(chunks)


def _activity(body: bytes) -> dict:
    try:
        activity = orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        raise Refusal(400, N_("JSON invalide : %(reason)s", reason=str(exc))) from exc
    if not isinstance(activity, dict):
        raise Refusal(400, N_("une activité doit être un objet JSON"))
    try:
        parse_activity(activity)
    except ParseError as exc:
        raise Refusal(
            400, N_("activité invalide : %(reason)s", reason=exc.reason), activity
        ) from exc
    return activity


async def receive(request: Request) -> Response:
    """Verify and store one activity; 202 when stored for the worker."""
    settings = request.app.state.settings
    db: Database = request.app.state.db
    name = request.path_params.get("name", "")
    activity: dict | None = None
    owner = ""
    try:
        body = await _read_body(request, settings.max_body_bytes)
        activity = _activity(body)
        actor = activity["actor"] if isinstance(activity["actor"], str) else ""
        actor = actor or str(activity["actor"].get("id", ""))
        host = host_of(actor)
        try:
            verified = await verify_request(
                request.method,
                request.url.path + (f"?{request.url.query}" if request.url.query else ""),
                request.headers,
                body,
                cached_key_resolver(request.app, host),
            )
        except SignatureError as exc:
            if isinstance(exc.__cause__, DomainBlocked):  # the resolver refused to fetch
                blocked_host = exc.__cause__.host
                raise Refusal(
                    403, N_("le domaine %(host)s est bloqué", host=blocked_host), activity
                ) from exc
            raise Refusal(
                401, N_("signature refusée : %(reason)s", reason=exc.reason), activity
            ) from exc
        owner = verified.owner
        if owner != actor:
            raise Refusal(
                401,
                N_(
                    "la clé appartient à %(owner)s, pas à l'acteur %(actor)s",
                    owner=owner,
                    actor=actor,
                ),
                activity,
            )
        if await blocked(request.app, host):
            raise Refusal(403, N_("le domaine %(host)s est bloqué", host=host), activity)
        if name:
            async with db.session() as session:
                if await keys.get_local_actor(session, name) is None:
                    raise Refusal(404, N_("pas d'acteur %(name)r ici", name=name), activity)
        # The durable write, committed together with the requests arriving meanwhile.
        row = inbox_store.item_row(
            activity, body.decode("utf-8", "replace"), key_owner=owner, recipient=name
        )
        await group_writer(request.app).store(row)
    except Refusal as refusal:
        async with db.session() as session:
            await inbox_store.record_refusal(
                session,
                f"{refusal.status} {refusal.reason}",
                activity=refusal.activity or activity,
                recipient=name,
                key_owner=owner,
            )
        return problem(request, refusal.status, refusal.reason)
    return Response(status_code=202)


def routes() -> list[BaseRoute]:
    return [
        Route("/inbox", receive, methods=["POST"]),
        Route("/actors/{name}/inbox", receive, methods=["POST"]),
    ]
