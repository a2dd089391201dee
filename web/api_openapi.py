"""The OpenAPI 3.1 document of /api/v1 (served at /api/v1/openapi.json).

Written by hand next to the routes; tests check that every route is described and
validate real responses against these schemas, so the two cannot drift apart silently.
"""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from directory.search import MAX_PER_PAGE, SORTS
from directory.validation import LIST_LIMIT, TEXT_LIMITS
from directory.vocabulary import (
    ACTOR_KIND_SLUGS,
    MODERATION_STATE_SLUGS,
    NEED_SLUGS,
    STATUS_SLUGS,
)
from web.api_common import JSON, PREFIX, settings_of

Schema = dict[str, Any]


def ref(name: str) -> Schema:
    return {"$ref": f"#/components/schemas/{name}"}


def string(max_length: int | None = None, **extra: Any) -> Schema:
    schema: Schema = {"type": "string", **extra}
    if max_length:
        schema["maxLength"] = max_length
    return schema


NULLABLE_STRING = {"type": ["string", "null"]}
TIMESTAMP = {"type": ["string", "null"], "format": "date-time"}
STRINGS = {"type": "array", "items": {"type": "string"}}
LABELS = {
    "type": "object",
    "properties": {"fr": string(), "en": string()},
    "required": ["fr", "en"],
    "additionalProperties": False,
}


def obj(properties: Schema, required: list[str] | None = None, **extra: Any) -> Schema:
    """An object schema; unless said otherwise every property is required and no other."""
    return {
        "type": "object",
        "properties": properties,
        "required": list(properties) if required is None else required,
        "additionalProperties": False,
        **extra,
    }


def _list_input(allowed: frozenset[str] | None = None, *, urls: bool = False) -> Schema:
    item: Schema = {"type": "string"}
    if allowed is not None:
        item["enum"] = sorted(allowed)
    if urls:
        item |= {"format": "uri", "maxLength": 500}
    return {
        "anyOf": [
            {"type": "array", "items": item, "maxItems": LIST_LIMIT},
            {"type": "string", "description": "valeurs séparées par des virgules"},
            {"type": "null"},
        ]
    }


COORDINATE = {"type": ["number", "string", "null"]}

INITIATIVE_INPUT: Schema = {
    "name": string(TEXT_LIMITS["name"]),
    "summary": string(TEXT_LIMITS["summary"]),
    "description": string(TEXT_LIMITS["description"], description="Markdown"),
    "themes": _list_input() | {"description": "slugs de thèmes (voir /api/v1/themes)"},
    "actor_kinds": _list_input(ACTOR_KIND_SLUGS),
    "needs": _list_input(NEED_SLUGS),
    "status": {"type": ["string", "null"], "enum": [*sorted(STATUS_SLUGS), None]},
    "street": string(TEXT_LIMITS["street"]),
    "postal_code": string(10),
    "city": string(TEXT_LIMITS["city"]),
    "insee_code": string(5),
    "latitude": COORDINATE | {"description": "entre -90 et 90, avec longitude"},
    "longitude": COORDINATE | {"description": "entre -180 et 180, avec latitude"},
    "website": string(500, format="uri"),
    "email": string(254, format="email"),
    "phone": string(40),
    "fediverse": string(TEXT_LIMITS["fediverse"], description="@nom@instance ou URL"),
    "social_links": _list_input(urls=True),
    "opening_hours": string(TEXT_LIMITS["opening_hours"], description="syntaxe OSM"),
    "image_url": string(500, format="uri"),
    "same_as": _list_input(urls=True),
    "slug": string(120, pattern="^[a-z0-9](?:[a-z0-9-]{0,118}[a-z0-9])?$"),
}
for _schema in INITIATIVE_INPUT.values():
    if _schema.get("type") == "string":
        _schema["type"] = ["string", "null"]

THEME = obj(
    {
        "slug": string(),
        "iri": string(),
        "labels": LABELS,
        "core": string(description="thème principal auquel il se rattache"),
        "hashtag": string(),
    }
)

INITIATIVE_PUBLIC: Schema = {
    "id": {"type": "integer"},
    "slug": string(),
    "uri": string(format="uri", description="identifiant ActivityPub canonique"),
    "local": {"type": "boolean"},
    "origin": string(description="hôte de l'instance d'origine"),
    "via": STRINGS,
    "name": string(),
    "summary": string(),
    "description": string(description="Markdown"),
    "description_html": string(description="HTML assaini"),
    "themes": {"type": "array", "items": ref("Theme")},
    "actor_kinds": {"type": "array", "items": {"enum": sorted(ACTOR_KIND_SLUGS)}},
    "needs": {"type": "array", "items": {"enum": sorted(NEED_SLUGS)}},
    "status": {"enum": sorted(STATUS_SLUGS)},
    "address": obj(
        {
            "street": string(),
            "postal_code": string(),
            "city": string(),
            "insee_code": string(),
        }
    ),
    "latitude": {"type": ["number", "null"]},
    "longitude": {"type": ["number", "null"]},
    "contacts": obj(
        {
            "website": string(),
            "email": string(),
            "phone": string(),
            "fediverse": string(),
            "social_links": STRINGS,
        }
    ),
    "opening_hours": string(),
    "image": NULLABLE_STRING,
    "same_as": STRINGS,
    "source": {
        "oneOf": [
            {"type": "null"},
            obj({"name": string(), "id": NULLABLE_STRING}),
        ]
    },
    "created": TIMESTAMP,
    "updated": TIMESTAMP,
    "published": TIMESTAMP,
}
EXTRA_PUBLIC = {
    "moderation_state": {
        "enum": sorted(MODERATION_STATE_SLUGS),
        "description": "seulement pour la personne qui l'a proposée",
    },
    "distance_km": {"type": "number", "description": "avec near="},
}
MODERATION_FIELDS = {
    "moderation_state": {"enum": sorted(MODERATION_STATE_SLUGS)},
    "proposer_email": string(),
    "proposer_id": {"type": ["integer", "null"]},
    "moderation_note": string(),
}

ERROR = obj(
    {
        "error": string(description="message lisible (français)"),
        "status": {"type": "integer"},
        "fields": {"type": "object", "additionalProperties": {"type": "string"}},
    },
    required=["error", "status"],
)

SCHEMAS: dict[str, Schema] = {
    "Error": ERROR,
    "Theme": THEME,
    "Term": obj({"slug": string(), "labels": LABELS}),
    "Initiative": obj(
        INITIATIVE_PUBLIC | EXTRA_PUBLIC,
        required=list(INITIATIVE_PUBLIC),
        description="Champs publics ; jamais l'e-mail de la personne qui propose.",
    ),
    "ModeratedInitiative": obj(
        INITIATIVE_PUBLIC | MODERATION_FIELDS | {"distance_km": EXTRA_PUBLIC["distance_km"]},
        required=list(INITIATIVE_PUBLIC | MODERATION_FIELDS),
        description="Vue des modérateur·ices : ajoute l'état, la personne et la note.",
    ),
    "AnyInitiative": {"anyOf": [ref("Initiative"), ref("ModeratedInitiative")]},
    "InitiativeProposal": obj(
        INITIATIVE_INPUT
        | {"proposer_email": string(254, format="email", description="obligatoire sans compte")},
        required=["name"],
    ),
    "InitiativePatch": obj(
        INITIATIVE_INPUT
        | {
            "message": string(1000, description="résumé de la modification"),
            "proposer_email": string(
                254, format="email", description="correction sans compte : obligatoire"
            ),
        },
        required=[],
    ),
    "SearchResult": obj(
        {
            "total": {"type": "integer", "minimum": 0},
            "page": {"type": "integer", "minimum": 1},
            "per_page": {"type": "integer", "minimum": 1, "maximum": MAX_PER_PAGE},
            "pages": {"type": "integer", "minimum": 1},
            "next": NULLABLE_STRING,
            "previous": NULLABLE_STRING,
            "items": {"type": "array", "items": ref("AnyInitiative")},
            "facets": {
                "type": "object",
                "description": "facette -> valeur -> nombre d'initiatives",
                "additionalProperties": {
                    "type": "object",
                    "additionalProperties": {"type": "integer"},
                },
            },
        }
    ),
    "UpdateResult": obj(
        {
            "initiative": ref("AnyInitiative"),
            "changes": {
                "type": "object",
                "description": "champ -> [ancienne valeur, nouvelle valeur]",
                "additionalProperties": {"type": "array", "minItems": 2, "maxItems": 2},
            },
        }
    ),
    "CorrectionCreated": obj(
        {
            "correction": {"type": "integer"},
            "state": {"const": "proposed"},
            "changes": {"type": "object"},
        }
    ),
    "ModerationRequest": obj(
        {
            "state": {"enum": ["published", "rejected", "withdrawn"]},
            "message": string(1000, description="note privée de modération"),
        },
        required=["state"],
    ),
    "Revision": obj(
        {
            "id": {"type": "integer"},
            "action": string(),
            "created": TIMESTAMP,
            "author": obj(
                {
                    "name": string(description="jamais une adresse e-mail"),
                    "person_id": {"type": ["integer", "null"]},
                    "email": string(),
                    "label": string(),
                },
                required=["name"],
                description="person_id, email et label : modérateur·ices seulement",
            ),
            "changes": {"type": "object"},
            "message": string(),
        }
    ),
    "History": obj(
        {
            "initiative": string(),
            "total": {"type": "integer"},
            "items": {"type": "array", "items": ref("Revision")},
        }
    ),
    "Correction": obj(
        {
            "id": {"type": "integer"},
            "initiative": NULLABLE_STRING,
            "initiative_name": NULLABLE_STRING,
            "state": {"enum": sorted(MODERATION_STATE_SLUGS)},
            "changes": {"type": "object"},
            "message": string(),
            "proposer_email": string(),
            "proposer_id": {"type": ["integer", "null"]},
            "moderation_note": string(),
            "created": TIMESTAMP,
            "decided": TIMESTAMP,
        }
    ),
    "CorrectionList": obj(
        {"total": {"type": "integer"}, "items": {"type": "array", "items": ref("Correction")}}
    ),
    "CorrectionDecision": obj(
        {
            "decision": {"enum": ["approve", "reject"]},
            "message": string(1000),
            "edits": {
                "type": "object",
                "description": "champs de l'initiative à appliquer à la place des propositions",
            },
        },
        required=["decision"],
    ),
    "CorrectionDecided": obj(
        {
            "correction": ref("Correction"),
            "changes": {"type": "object"},
            "initiative": ref("AnyInitiative"),
        }
    ),
    "ThemeList": obj(
        {"total": {"type": "integer"}, "items": {"type": "array", "items": ref("Theme")}}
    ),
    "CommuneList": obj(
        {
            "territory": {
                "oneOf": [
                    {"type": "null"},
                    obj(
                        {
                            "name": string(),
                            "kind": string(),
                            "code": string(),
                            "bbox": {
                                "type": ["array", "null"],
                                "items": {"type": "number"},
                                "description": "min_lat, min_lon, max_lat, max_lon",
                            },
                        }
                    ),
                ]
            },
            "total": {"type": "integer"},
            "items": {
                "type": "array",
                "items": obj(
                    {
                        "insee_code": string(),
                        "name": string(),
                        "postal_code": string(),
                        "latitude": {"type": ["number", "null"]},
                        "longitude": {"type": ["number", "null"]},
                        "population": {"type": ["integer", "null"]},
                    }
                ),
            },
        }
    ),
    "Vocabulary": obj(
        {
            name: {"type": "array", "items": ref("Term")}
            for name in ("actor_kinds", "needs", "statuses", "moderation_states")
        }
    ),
    "TokenRequest": obj(
        {"email": string(254), "password": string(), "label": string(120)},
        required=["email", "password"],
    ),
    "TokenInfo": obj(
        {
            "id": {"type": "integer"},
            "label": string(),
            "created": TIMESTAMP,
            "last_used": TIMESTAMP,
        }
    ),
    "Token": obj(
        {
            "token": string(description="à garder : il n'est montré qu'une fois"),
            "id": {"type": "integer"},
            "label": string(),
            "created": TIMESTAMP,
            "last_used": TIMESTAMP,
            "person": obj(
                {
                    "id": {"type": "integer"},
                    "email": string(),
                    "display_name": string(),
                    "role": string(),
                }
            ),
        }
    ),
    "TokenList": obj(
        {"total": {"type": "integer"}, "items": {"type": "array", "items": ref("TokenInfo")}}
    ),
}

ERROR_TEXT = {
    "400": "Requête mal formée (JSON illisible, type de contenu ou de corps inattendu)",
    "401": "Authentification requise ou jeton invalide",
    "403": "Rôle insuffisant",
    "404": "Introuvable (ou non visible pour vous)",
    "409": "Conflit avec l'état enregistré (identifiant pris, initiative distante, état)",
    "413": "Corps de requête trop volumineux",
    "422": "Données invalides : `fields` donne la raison pour chaque champ",
    "429": "Trop d'essais infructueux : voir Retry-After",
}
RESPONSES = {
    code: {"description": text, "content": {"application/json": {"schema": ref("Error")}}}
    for code, text in ERROR_TEXT.items()
}


def _param(name: str, description: str, schema: Schema | None = None, **extra: Any) -> Schema:
    return {
        "name": name,
        "in": "query",
        "required": False,
        "description": description,
        "schema": schema or {"type": "string"},
        **extra,
    }


PARAMETERS = {
    "q": _param("q", "texte recherché (racines françaises, accents ignorés)"),
    "theme": _param("theme", "slug de thème ; répétable ou séparé par des virgules"),
    "actor_kind": _param("actor_kind", "type d'acteur", {"type": "string"}),
    "need": _param("need", "besoin couvert"),
    "commune": _param("commune", "code INSEE"),
    "status": _param("status", "active, paused, ended"),
    "origin": _param(
        "origin", "d'où viennent les initiatives", {"enum": ["all", "local", "remote"]}
    ),
    "bbox": _param("bbox", "min_lat,min_lon,max_lat,max_lon"),
    "near": _param("near", "lat,lon,rayon_km"),
    "sort": _param("sort", "ordre des résultats", {"enum": list(SORTS)}),
    "page": _param("page", "page (à partir de 1)", {"type": "integer", "minimum": 1}),
    "per_page": _param(
        "per_page", "résultats par page", {"type": "integer", "minimum": 1, "maximum": MAX_PER_PAGE}
    ),
    "moderation_state": _param(
        "moderation_state",
        "états de modération (autre que published : modérateur·ices)",
        {"type": "string"},
    ),
}
SLUG = {"name": "slug", "in": "path", "required": True, "schema": {"type": "string"}}
ID = {"name": "id", "in": "path", "required": True, "schema": {"type": "integer"}}


def _json(schema: str, description: str) -> Schema:
    return {"description": description, "content": {"application/json": {"schema": ref(schema)}}}


def _body(schema: str) -> Schema:
    return {"required": True, "content": {"application/json": {"schema": ref(schema)}}}


def _errors(*codes: int) -> dict[str, Schema]:
    return {str(c): RESPONSES[str(c)] for c in codes}


WRITE_ERRORS = (400, 401, 413, 422)
AUTH = [{"bearer": []}, {"session": []}]
OPTIONAL_AUTH = [{}, *AUTH]


def _op(summary: str, responses: dict[str, Schema], **extra: Any) -> Schema:
    return {"summary": summary, "responses": responses, **extra}


PATHS: dict[str, Schema] = {
    "/initiatives": {
        "get": _op(
            "Rechercher des initiatives (filtres, facettes, pagination)",
            {"200": _json("SearchResult", "Résultats"), **_errors(401, 403, 422)},
            parameters=[{"$ref": f"#/components/parameters/{n}"} for n in PARAMETERS],
            security=OPTIONAL_AUTH,
        ),
        "post": _op(
            "Proposer une initiative (elle attend la modération)",
            {
                "201": _json("AnyInitiative", "Proposition enregistrée ; Location donne son URL")
                | {"headers": {"Location": {"schema": {"type": "string"}}}},
                **_errors(*WRITE_ERRORS, 409),
            },
            requestBody=_body("InitiativeProposal"),
            security=OPTIONAL_AUTH,
        ),
    },
    "/initiatives/{slug}": {
        "parameters": [SLUG],
        "get": _op(
            "Lire une initiative (locale ou distante)",
            {"200": _json("AnyInitiative", "L'initiative"), **_errors(401, 404)},
            security=OPTIONAL_AUTH,
        ),
        "patch": _op(
            "Modifier (modération) ou proposer une correction (autres)",
            {
                "200": _json("UpdateResult", "Modification appliquée"),
                "202": _json("CorrectionCreated", "Correction enregistrée, en attente"),
                **_errors(*WRITE_ERRORS, 404, 409),
            },
            requestBody=_body("InitiativePatch"),
            security=OPTIONAL_AUTH,
        ),
    },
    "/initiatives/{slug}/moderation": {
        "parameters": [SLUG],
        "post": _op(
            "Publier, refuser ou retirer une initiative",
            {
                "200": _json("ModeratedInitiative", "Nouvel état"),
                **_errors(*WRITE_ERRORS, 403, 404, 409),
            },
            requestBody=_body("ModerationRequest"),
            security=AUTH,
        ),
    },
    "/initiatives/{slug}/history": {
        "parameters": [SLUG],
        "get": _op(
            "Historique des modifications",
            {"200": _json("History", "Révisions, de la plus ancienne"), **_errors(401, 404)},
            security=OPTIONAL_AUTH,
        ),
    },
    "/corrections": {
        "get": _op(
            "Corrections en attente",
            {"200": _json("CorrectionList", "File d'attente"), **_errors(401, 403)},
            security=AUTH,
        ),
    },
    "/corrections/{id}/decision": {
        "parameters": [ID],
        "post": _op(
            "Accepter ou refuser une correction",
            {
                "200": _json("CorrectionDecided", "Décision enregistrée"),
                **_errors(*WRITE_ERRORS, 403, 404, 409),
            },
            requestBody=_body("CorrectionDecision"),
            security=AUTH,
        ),
    },
    "/themes": {"get": _op("Thèmes", {"200": _json("ThemeList", "Thèmes")}, security=[{}])},
    "/communes": {
        "get": _op(
            "Territoire et communes", {"200": _json("CommuneList", "Communes")}, security=[{}]
        )
    },
    "/vocabulary": {
        "get": _op(
            "Types d'acteurs, besoins, statuts, états de modération",
            {"200": _json("Vocabulary", "Vocabulaire")},
            security=[{}],
        )
    },
    "/tokens": {
        "post": _op(
            "Obtenir un jeton d'API (e-mail et mot de passe)",
            {"201": _json("Token", "Jeton créé"), **_errors(*WRITE_ERRORS, 429)},
            requestBody=_body("TokenRequest"),
            security=[{}],
        ),
        "get": _op(
            "Mes jetons",
            {"200": _json("TokenList", "Jetons (sans leur valeur)"), **_errors(401)},
            security=AUTH,
        ),
        "delete": _op(
            "Révoquer le jeton utilisé pour cette requête",
            {"204": {"description": "Révoqué"}, **_errors(400, 401)},
            security=[{"bearer": []}],
        ),
    },
    "/tokens/{id}": {
        "parameters": [ID],
        "delete": _op(
            "Révoquer un de mes jetons (admin : n'importe lequel)",
            {"204": {"description": "Révoqué"}, **_errors(401, 404)},
            security=AUTH,
        ),
    },
    "/openapi.json": {
        "get": _op(
            "Ce document",
            {"200": {"description": "OpenAPI 3.1", "content": {"application/json": {}}}},
            security=[{}],
        )
    },
}


def document(base_url: str) -> Schema:
    """The OpenAPI 3.1 document, with this instance's URL as server."""
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "Maillage API",
            "version": "1",
            "description": (
                "Annuaire fédéré des initiatives territoriales. Erreurs : "
                '{"error", "status", "fields"?}. Authentification : jeton Bearer '
                "(POST /tokens) ou cookie de session."
            ),
        },
        "servers": [{"url": f"{base_url.rstrip('/')}{PREFIX}"}],
        "paths": PATHS,
        "components": {
            "schemas": SCHEMAS,
            "parameters": PARAMETERS,
            "responses": RESPONSES,
            "securitySchemes": {
                "bearer": {"type": "http", "scheme": "bearer"},
                "session": {"type": "apiKey", "in": "cookie", "name": "maillage_session"},
            },
        },
    }


async def openapi(request: Request) -> Response:
    return JSON(document(settings_of(request).base_url))


def routes() -> list[BaseRoute]:
    return [Route(f"{PREFIX}/openapi.json", openapi, methods=["GET"])]
