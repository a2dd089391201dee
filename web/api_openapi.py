"""The OpenAPI 3.1 document of /api/v1 (served at /api/v1/openapi.json).

Written by hand next to the routes; tests check that every route is described and
validate real responses against these schemas, so the two cannot drift apart silently.
"""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute

from directory import themes
from directory.search import MAX_PER_PAGE, SORTS
from directory.validation import LIST_LIMIT, TEXT_LIMITS
from directory.vocabulary import (
    ACTOR_KIND_SLUGS,
    MODERATION_STATE_SLUGS,
    NEED_SLUGS,
    STATUS_SLUGS,
)
from web import api_federation, diagnostic
from web.api_common import JSON, PREFIX, db_of, resource, settings_of

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


def _list_input(item: Schema) -> Schema:
    # A comma-separated string is accepted too (forms, CSV); JSON clients send arrays.
    return {"type": ["array", "null"], "items": item, "maxItems": LIST_LIMIT}


def _optional(pattern: str, max_length: int, **extra: Any) -> Schema:
    """A text field that may be empty or null, else matches `pattern`."""
    return {
        "type": ["string", "null"],
        "pattern": f"^({pattern})?$",
        "maxLength": max_length,
        **extra,
    }


def _text(max_length: int, **extra: Any) -> Schema:
    return {"type": ["string", "null"], "maxLength": max_length, **extra}


HTTP_URL = r"https?://[^\s/?#\[\]]+([/?#][^\s]*)?"
_EMAIL_CHAR = r"[^@\s<>\"'\u0000-\u001f\u007f\u0085]"
EMAIL_PATTERN = f"{_EMAIL_CHAR}+@{_EMAIL_CHAR}+\\.{_EMAIL_CHAR}+"
SLUG_PATTERN = "^[a-z0-9](?:[a-z0-9-]{0,118}[a-z0-9])?$"
URL_ITEM = {"type": "string", "pattern": f"^{HTTP_URL}$", "maxLength": 500}


def initiative_input(theme_slugs: list[str] | None) -> Schema:
    """Initiative fields as accepted on input (theme slugs listed when known)."""
    theme_item: Schema = {"type": "string"}
    if theme_slugs is not None:
        theme_item["enum"] = theme_slugs
    return {
        "name": {
            "type": "string",
            "minLength": 1,
            "maxLength": TEXT_LIMITS["name"],
            "pattern": r"[^\s\u0000-\u001f\u007f\u0085]",
        },
        "summary": _text(TEXT_LIMITS["summary"]),
        "description": _text(TEXT_LIMITS["description"], description="Markdown"),
        "themes": _list_input(theme_item) | {"description": "slugs (voir /api/v1/themes)"},
        "actor_kinds": _list_input({"enum": sorted(ACTOR_KIND_SLUGS)}),
        "needs": _list_input({"enum": sorted(NEED_SLUGS)}),
        "status": {"enum": [*sorted(STATUS_SLUGS), None]},
        "street": _text(TEXT_LIMITS["street"]),
        "postal_code": _optional("[0-9A-Za-z-][0-9A-Za-z -]{0,8}[0-9A-Za-z-]|[0-9A-Za-z-]", 10),
        "city": _text(TEXT_LIMITS["city"]),
        "insee_code": _optional(r"\d{5}|2[ABab]\d{3}", 5, description="code INSEE"),
        "latitude": {"type": ["number", "null"], "minimum": -90, "maximum": 90},
        "longitude": {"type": ["number", "null"], "minimum": -180, "maximum": 180},
        "website": _optional(HTTP_URL, 500),
        "email": _optional(EMAIL_PATTERN, 254, description="contact public"),
        "phone": _optional(r"[0-9+().-][0-9+(). -]{2,38}[0-9+().-]", 40),
        "fediverse": _optional(
            r"@?[\w.-]+@[\w.-]+\.[a-zA-Z]{2,}|" + HTTP_URL,
            TEXT_LIMITS["fediverse"],
            description="@nom@instance ou adresse web",
        ),
        "social_links": _list_input(URL_ITEM),
        "opening_hours": _text(TEXT_LIMITS["opening_hours"], description="syntaxe OSM"),
        "image_url": _optional(HTTP_URL, 500),
        "same_as": _list_input(URL_ITEM),
        "slug": _optional(SLUG_PATTERN.strip("^$"), 120),
    }


BOTH_COORDINATES = {
    # On creation, a latitude needs a longitude and the other way round.
    "dependentSchemas": {
        "latitude": {"properties": {"longitude": {"type": "number"}}, "required": ["longitude"]},
        "longitude": {"properties": {"latitude": {"type": "number"}}, "required": ["latitude"]},
    }
}
PROPOSER_EMAIL = _optional(EMAIL_PATTERN, 254)


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
        "error": string(
            description="message lisible, dans la langue d'Accept-Language (français par défaut)"
        ),
        "status": {"type": "integer"},
        "fields": {
            "type": "object",
            "additionalProperties": {"type": "string"},
            "description": "champ -> raison, dans la même langue que `error`",
        },
    },
    required=["error", "status"],
)


def schemas(theme_slugs: list[str] | None = None) -> dict[str, Schema]:
    """Component schemas; theme slugs are listed when known (they vary per instance)."""
    return {
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
            initiative_input(theme_slugs)
            | {"proposer_email": PROPOSER_EMAIL | {"description": "obligatoire sans compte"}},
            required=["name"],
            **BOTH_COORDINATES,
        ),
        "InitiativePatch": obj(
            initiative_input(theme_slugs)
            | {
                "message": _text(1000, description="résumé de la modification"),
                "proposer_email": PROPOSER_EMAIL | {"description": "correction sans compte"},
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
                    "description": (
                        "facette -> valeur -> nombre d'initiatives. Les nombres d'une facette"
                        " ignorent les valeurs choisies dans cette même facette (et tiennent"
                        " compte de tous les autres filtres) : ils disent ce qu'ajouterait"
                        " une valeur de plus. Facettes : themes, actor_kinds, needs,"
                        " communes, statuses."
                    ),
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
                "message": _text(1000, description="note privée de modération"),
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
                "message": _text(1000),
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
CONTENT_LANGUAGE = {
    "description": "langue des messages de l'erreur : fr ou en",
    "schema": {"enum": ["fr", "en"]},
}
RESPONSES = {
    code: {
        "description": text,
        "headers": {"Content-Language": CONTENT_LANGUAGE},
        "content": {"application/json": {"schema": ref("Error")}},
    }
    for code, text in ERROR_TEXT.items()
}
# Every operation takes it (path-level parameter): the language of its error messages.
ACCEPT_LANGUAGE = {
    "name": "Accept-Language",
    "in": "header",
    "required": False,
    "description": (
        "langue des messages d'erreur : `en` pour l'anglais (en-GB, en;q=0.8... aussi), "
        "français sinon"
    ),
    "schema": {"type": "string", "examples": ["en", "fr", "en-GB,en;q=0.9"]},
}
LANGUAGE_REF = {"$ref": "#/components/parameters/AcceptLanguage"}


def with_language(paths: dict[str, Schema]) -> dict[str, Schema]:
    """Each path item with the Accept-Language header among its shared parameters."""
    return {
        path: {**item, "parameters": [*item.get("parameters", []), LANGUAGE_REF]}
        for path, item in paths.items()
    }


def _param(name: str, description: str, schema: Schema | None = None) -> Schema:
    return {
        "name": name,
        "in": "query",
        "required": False,
        "description": description,
        "schema": schema or {"type": "string"},
    }


def _many(name: str, description: str, item: Schema) -> Schema:
    """A repeatable parameter (?need=a&need=b; a comma-separated value works too)."""
    description += " ; plusieurs valeurs possibles (l'une ou l'autre)"
    return _param(name, description, {"type": "array", "items": item}) | {
        "style": "form",
        "explode": True,
    }


NUMBER = r"-?\d+(\.\d+)?"


def parameters(theme_slugs: list[str] | None) -> dict[str, Schema]:
    theme_item: Schema = {"type": "string"}
    if theme_slugs is not None:
        theme_item["enum"] = theme_slugs
    return {
        "q": _param("q", "texte recherché (racines françaises, accents ignorés)"),
        "theme": _many("theme", "thème (un thème principal inclut ses sous-thèmes)", theme_item),
        "actor_kind": _many("actor_kind", "type d'acteur", {"enum": sorted(ACTOR_KIND_SLUGS)}),
        "need": _many("need", "besoin couvert", {"enum": sorted(NEED_SLUGS)}),
        "commune": _many("commune", "code INSEE", {"type": "string"}),
        "status": _many("status", "statut", {"enum": sorted(STATUS_SLUGS)}),
        "origin": _param("origin", "provenance", {"enum": ["all", "local", "remote"]}),
        "bbox": _param(
            "bbox",
            "min_lat,min_lon,max_lat,max_lon (min <= max)",
            {"type": "string", "pattern": f"^{NUMBER},{NUMBER},{NUMBER},{NUMBER}$"},
        ),
        "near": _param(
            "near",
            "lat,lon,rayon_km (rayon jusqu'à 1000 km) ; ajoute distance_km",
            {"type": "string", "pattern": f"^{NUMBER},{NUMBER},{NUMBER}$"},
        ),
        "sort": _param("sort", "ordre ; distance demande near", {"enum": list(SORTS)}),
        "page": _param(
            "page", "page (à partir de 1)", {"type": "integer", "minimum": 1, "maximum": 10_000}
        ),
        "per_page": _param(
            "per_page",
            "résultats par page",
            {"type": "integer", "minimum": 1, "maximum": MAX_PER_PAGE},
        ),
        "moderation_state": _many(
            "moderation_state",
            "états de modération (autres que published : modérateur·ices)",
            {"enum": sorted(MODERATION_STATE_SLUGS)},
        ),
    }


SLUG = {"name": "slug", "in": "path", "required": True, "schema": {"type": "string"}}
ID = {
    "name": "id",
    "in": "path",
    "required": True,
    "schema": {"type": "integer", "minimum": 1, "maximum": 2**31 - 1},
}


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
            description=(
                "Chaque filtre à facette (theme, actor_kind, need, commune, status) accepte"
                " plusieurs valeurs, répétées (`?theme=a&theme=b`) ou séparées par des"
                " virgules (`?theme=a,b`) : les valeurs d'une même facette sont des"
                " alternatives (OU), les facettes se cumulent (ET)."
            ),
            parameters=[{"$ref": f"#/components/parameters/{n}"} for n in parameters(None)],
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
    **api_federation.OPENAPI_PATHS,
    **diagnostic.OPENAPI_PATHS,
}


# /api/v1/federation (web/api_federation.py, admins): described here so that the API has
# one document; shapes kept open (additional properties) as that module owns them.
FEDERATION_PATHS: dict[str, Schema] = {
    "/federation/instances": {
        "get": _op(
            "Instances connues : confiance, abonnements, dernier contact, erreurs (admin)",
            {
                "200": {
                    "description": "Instances",
                    "content": {
                        "application/json": {
                            "schema": {
                                "type": "object",
                                "properties": {"items": {"type": "array"}},
                                "required": ["items"],
                            }
                        }
                    },
                },
                **_errors(401, 403),
            },
            security=AUTH,
        )
    },
    "/federation/instances/{host}/trust": {
        "parameters": [
            {"name": "host", "in": "path", "required": True, "schema": {"type": "string"}}
        ],
        "put": _op(
            "Politique de confiance d'une instance : publish, hold ou block (admin)",
            {
                "200": {"description": "Nouvelle politique", "content": {"application/json": {}}},
                **_errors(400, 401, 403, 404, 422),
            },
            requestBody={
                "required": True,
                "content": {
                    "application/json": {
                        "schema": obj({"trust": {"enum": ["publish", "hold", "block"]}})
                    }
                },
            },
            security=AUTH,
        ),
    },
    "/federation/blocks": {
        "get": _op(
            "Domaines bloqués (admin)",
            {
                "200": {"description": "Domaines", "content": {"application/json": {}}},
                **_errors(401, 403),
            },
            security=AUTH,
        ),
        "post": _op(
            "Bloquer un domaine et ses sous-domaines (admin)",
            {
                "201": {"description": "Bloqué", "content": {"application/json": {}}},
                **_errors(400, 401, 403, 409, 422),
            },
            requestBody={
                "required": True,
                "content": {
                    "application/json": {
                        "schema": obj(
                            {"domain": string(), "reason": string(1000)}, required=["domain"]
                        )
                    }
                },
            },
            security=AUTH,
        ),
    },
    "/federation/blocks/{domain}": {
        "parameters": [
            {"name": "domain", "in": "path", "required": True, "schema": {"type": "string"}}
        ],
        "delete": _op(
            "Débloquer un domaine (admin)",
            {"204": {"description": "Débloqué"}, **_errors(401, 403, 404)},
            security=AUTH,
        ),
    },
    "/federation/inbox": {
        "get": _op(
            "Dernières activités reçues, avec la raison d'un refus (admin)",
            {
                "200": {"description": "Activités", "content": {"application/json": {}}},
                **_errors(401, 403, 422),
            },
            parameters=[
                _param(
                    "state",
                    "état",
                    {"enum": ["pending", "done", "ignored", "refused", "failed"]},
                )
            ],
            security=AUTH,
        )
    },
    "/federation/deliveries": {
        "get": _op(
            "Livraisons sortantes par état (admin)",
            {
                "200": {"description": "Comptes", "content": {"application/json": {}}},
                **_errors(401, 403),
            },
            security=AUTH,
        )
    },
}


def document(base_url: str, theme_slugs: list[str] | None = None) -> Schema:
    """The OpenAPI 3.1 document, with this instance's URL as server and its themes."""
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "Maillage API",
            "version": "1",
            "description": (
                "Annuaire fédéré des initiatives territoriales. Erreurs : "
                '{"error", "status", "fields"?}, en français par défaut, en anglais avec '
                "`Accept-Language: en` (l'en-tête `Content-Language` de la réponse dit "
                "laquelle). Authentification : jeton Bearer (POST /tokens) ou cookie de session."
            ),
        },
        "servers": [{"url": f"{base_url.rstrip('/')}{PREFIX}"}],
        "paths": with_language(PATHS | FEDERATION_PATHS),
        "components": {
            "schemas": schemas(theme_slugs),
            "parameters": parameters(theme_slugs) | {"AcceptLanguage": ACCEPT_LANGUAGE},
            "responses": RESPONSES,
            "securitySchemes": {
                "bearer": {"type": "http", "scheme": "bearer"},
                "session": {"type": "apiKey", "in": "cookie", "name": "maillage_session"},
            },
        },
    }


async def openapi(request: Request) -> Response:
    async with db_of(request).session() as session:
        theme_slugs = [t.slug for t in await themes.all_themes(session)]
    return JSON(document(settings_of(request).base_url, theme_slugs))


def routes() -> list[BaseRoute]:
    return [resource(f"{PREFIX}/openapi.json", GET=openapi)]
