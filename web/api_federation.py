"""JSON API of the federation, admins only: instances and their trust policy, the domain
blocklist, what the inbox ignored or refused, delivery counts (under /api/v1/federation)."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from directory.db import Database
from directory.errors import ValidationError
from federation import delivery_store, follows, inbox_store, instances
from federation.flow_models import TRUST_POLICIES
from web.auth import require_role
from web.bodies import read_json

PREFIX = "/api/v1/federation"
MAX_BODY = 10_000


def _iso(moment: Any) -> str | None:
    return moment.isoformat() if moment is not None else None


async def _body(request: Request) -> dict[str, Any]:
    """The JSON object sent (400 when unreadable, 413 when too large, as the rest of the API)."""
    return await read_json(request, MAX_BODY)


def _db(request: Request) -> Database:
    return request.app.state.db


async def list_instances(request: Request) -> Response:
    """Known instances: trust policy, follow states both ways, last contact, errors."""
    async with _db(request).session() as session:
        await require_role(request, session, "admin")
        rows = await instances.list_instances(session)
        following = {f.remote_host: f for f in await follows.following_list(session)}
        followers: dict[str, int] = {}
        for follower in await follows.followers_of(session, None):
            followers[follower.remote_host] = followers.get(follower.remote_host, 0) + 1
    items = []
    for row in rows:
        ours = following.get(row.host)
        items.append(
            {
                "host": row.host,
                "software": row.software,
                "software_version": row.software_version,
                "software_checked_at": _iso(row.software_checked_at),
                "actor": row.actor_uri,
                "trust": row.trust,
                "following": ours.state if ours else None,
                "backfill": (
                    {"state": ours.backfill_state, "count": ours.backfill_count,
                     "error": ours.backfill_error}
                    if ours else None
                ),
                "followers": followers.get(row.host, 0),
                "last_contact_at": _iso(row.last_contact_at),
                "last_error": row.last_error,
                "last_error_at": _iso(row.last_error_at),
                "error_count": row.error_count,
            }
        )  # fmt: skip
    return JSONResponse({"items": items})


async def set_trust(request: Request) -> Response:
    """PUT {"trust": "publish" | "hold" | "block"} for one instance."""
    async with _db(request).session() as session:
        await require_role(request, session, "admin")
        trust = (await _body(request)).get("trust")
        if trust not in TRUST_POLICIES:
            raise ValidationError({"trust": f"attendu : {', '.join(TRUST_POLICIES)}"})
        instance = await instances.set_trust(session, request.path_params["host"], trust)
        body = {"host": instance.host, "trust": instance.trust}
    return JSONResponse(body)


async def list_blocks(request: Request) -> Response:
    async with _db(request).session() as session:
        await require_role(request, session, "admin")
        rows = await instances.blocked_domains(session)
    return JSONResponse(
        {
            "items": [
                {"domain": b.domain, "reason": b.reason, "created_at": _iso(b.created_at)}
                for b in rows
            ]
        }
    )


async def add_block(request: Request) -> Response:
    """POST {"domain": ..., "reason": ...}: the domain and its subdomains are refused."""
    async with _db(request).session() as session:
        await require_role(request, session, "admin")
        data = await _body(request)
        domain, reason = data.get("domain"), data.get("reason", "")
        errors = {}
        if not isinstance(domain, str) or not domain.strip():
            errors["domain"] = "obligatoire"
        if not isinstance(reason, str) or len(reason) > 1000:
            errors["reason"] = "un texte de 1000 caractères au plus"
        if errors:
            raise ValidationError(errors)
        block = await instances.block_domain(session, domain, reason)
        body = {"domain": block.domain, "reason": block.reason}
    return JSONResponse(body, status_code=201)


async def remove_block(request: Request) -> Response:
    async with _db(request).session() as session:
        await require_role(request, session, "admin")
        await instances.unblock_domain(session, request.path_params["domain"])
    return Response(status_code=204)


async def inbox_items(request: Request) -> Response:
    """Latest inbox items, `?state=ignored|refused|failed|done|pending`, with reasons."""
    state = request.query_params.get("state") or None
    if state not in (None, "pending", "done", "ignored", "refused", "failed"):
        raise ValidationError({"state": "inconnu"})
    async with _db(request).session() as session:
        await require_role(request, session, "admin")
        rows = await inbox_store.list_items(session, state=state, limit=200)
        counts = await inbox_store.item_counts(session)
    return JSONResponse(
        {
            "counts": counts,
            "items": [
                {
                    "id": r.id,
                    "activity_id": r.activity_id,
                    "type": r.activity_type,
                    "actor": r.actor_uri,
                    "state": r.state,
                    "reason": r.reason,
                    "received_at": _iso(r.received_at),
                    "processed_at": _iso(r.processed_at),
                }
                for r in rows
            ],
        }
    )


async def delivery_counts(request: Request) -> Response:
    async with _db(request).session() as session:
        await require_role(request, session, "admin")
        counts = await delivery_store.delivery_counts(session)
    return JSONResponse({"deliveries": counts})


def routes() -> list[BaseRoute]:
    return [
        Route(f"{PREFIX}/instances", list_instances, methods=["GET"]),
        Route(f"{PREFIX}/instances/{{host}}/trust", set_trust, methods=["PUT"]),
        Route(f"{PREFIX}/blocks", list_blocks, methods=["GET"]),
        Route(f"{PREFIX}/blocks", add_block, methods=["POST"]),
        Route(f"{PREFIX}/blocks/{{domain}}", remove_block, methods=["DELETE"]),
        Route(f"{PREFIX}/inbox", inbox_items, methods=["GET"]),
        Route(f"{PREFIX}/deliveries", delivery_counts, methods=["GET"]),
    ]


# The OpenAPI description of these routes (web/api_openapi.py merges it into /api/v1's).


def _error(code: int) -> dict[str, str]:
    return {"$ref": f"#/components/responses/{code}"}


def _ok(description: str, properties: dict[str, Any]) -> dict[str, Any]:
    schema = {"type": "object", "properties": properties}
    return {"description": description, "content": {"application/json": {"schema": schema}}}


_ITEMS = {"items": {"type": "array", "items": {"type": "object"}}}
_ADMIN = [{"bearer": []}, {"session": []}]
_DENIED = {"401": _error(401), "403": _error(403)}
_HOST = {"name": "host", "in": "path", "required": True, "schema": {"type": "string"}}
_DOMAIN = {"name": "domain", "in": "path", "required": True, "schema": {"type": "string"}}
_TRUST = {"type": "string", "enum": list(TRUST_POLICIES)}

OPENAPI_PATHS: dict[str, Any] = {
    "/federation/instances": {
        "get": {
            "summary": "Instances connues : politique de confiance, abonnements, erreurs (admin)",
            "responses": {"200": _ok("Instances", _ITEMS), **_DENIED},
            "security": _ADMIN,
        }
    },
    "/federation/instances/{host}/trust": {
        "parameters": [_HOST],
        "put": {
            "summary": "Politique de confiance d'une instance : publish, hold ou block (admin)",
            "requestBody": {
                "required": True,
                "content": {
                    "application/json": {
                        "schema": {
                            "type": "object",
                            "properties": {"trust": _TRUST},
                            "required": ["trust"],
                        }
                    }
                },
            },
            "responses": {
                "200": _ok("Politique enregistrée", {"host": {"type": "string"}, "trust": _TRUST}),
                "400": _error(400),
                "413": _error(413),
                "422": _error(422),
                **_DENIED,
            },
            "security": _ADMIN,
        },
    },
    "/federation/blocks": {
        "get": {
            "summary": "Domaines bloqués (admin)",
            "responses": {"200": _ok("Domaines bloqués", _ITEMS), **_DENIED},
            "security": _ADMIN,
        },
        "post": {
            "summary": "Bloquer un domaine et ses sous-domaines (admin)",
            "requestBody": {
                "required": True,
                "content": {
                    "application/json": {
                        "schema": {
                            "type": "object",
                            "properties": {
                                "domain": {"type": "string"},
                                "reason": {"type": "string", "maxLength": 1000},
                            },
                            "required": ["domain"],
                        }
                    }
                },
            },
            "responses": {
                "201": _ok("Bloqué", {"domain": {"type": "string"}, "reason": {"type": "string"}}),
                "400": _error(400),
                "413": _error(413),
                "422": _error(422),
                **_DENIED,
            },
            "security": _ADMIN,
        },
    },
    "/federation/blocks/{domain}": {
        "parameters": [_DOMAIN],
        "delete": {
            "summary": "Débloquer un domaine (admin)",
            "responses": {"204": {"description": "Débloqué"}, "404": _error(404), **_DENIED},
            "security": _ADMIN,
        },
    },
    "/federation/inbox": {
        "get": {
            "summary": "Activités reçues et leur sort (traitées, ignorées, refusées…) (admin)",
            "parameters": [
                {
                    "name": "state",
                    "in": "query",
                    "required": False,
                    "schema": {
                        "type": "string",
                        "enum": ["pending", "done", "ignored", "refused", "failed"],
                    },
                }
            ],
            "responses": {
                "200": _ok("Activités", {"counts": {"type": "object"}, **_ITEMS}),
                "422": _error(422),
                **_DENIED,
            },
            "security": _ADMIN,
        }
    },
    "/federation/deliveries": {
        "get": {
            "summary": "Livraisons par état (admin)",
            "responses": {"200": _ok("Compteurs", {"deliveries": {"type": "object"}}), **_DENIED},
            "security": _ADMIN,
        }
    },
}
