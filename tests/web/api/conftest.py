"""Fixtures of the JSON API tests: accounts of every role with tokens, initiatives."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from dataclasses import dataclass

import httpx
import pytest
from argon2 import PasswordHasher
from jsonschema import Draft202012Validator

from directory import initiatives, people
from directory.db import Database
from directory.initiatives import Author
from directory.models import Initiative
from web import api_openapi
from web.api_common import PREFIX

ROLES = ("contributor", "referent", "moderator", "admin")
PASSWORD = "correct horse battery staple"
PROPOSER_EMAIL = "secret-proposer@private.example"
MODERATION_NOTE = "note privée : doublon probable avec une autre fiche"

REPAIR_CAFE = {
    "name": "Repair café de Rezé",
    "summary": "Réparer ensemble petits appareils et vélos",
    "description": "Un **samedi par mois**, à la [maison de quartier](https://rc.example.org).",
    "themes": ["reemploi-reparation"],
    "actor_kinds": ["association"],
    "needs": ["precarite-energetique"],
    "city": "Rezé",
    "insee_code": "44143",
    "latitude": 47.19,
    "longitude": -1.56,
    "website": "https://repair.example.org",
}


@pytest.fixture(autouse=True)
def fast_password_hashing(monkeypatch: pytest.MonkeyPatch) -> None:
    """argon2 at its production cost takes 0.1 s per hash; tests need many accounts."""
    monkeypatch.setattr(people, "_hasher", PasswordHasher(time_cost=1, memory_cost=1024))


@dataclass
class Caller:
    role: str
    person_id: int | None
    token: str | None

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"} if self.token else {}


@pytest.fixture
async def callers(db: Database) -> dict[str, Caller]:
    """One caller per role, each with an account and an API token; plus anonymous."""
    out = {"anonymous": Caller("anonymous", None, None)}
    async with db.session() as session:
        for role in ROLES:
            person = await people.create_person(
                session,
                email=f"{role}@maillage.test",
                password=PASSWORD,
                role=role,
                display_name=f"Camille {role.title()}",
            )
            out[role] = Caller(role, person.id, await people.issue_token(session, person))
    return out


async def make_initiative(
    db: Database,
    data: dict | None = None,
    *,
    state: str = "published",
    proposer_id: int | None = None,
    **extra,
) -> Initiative:
    """An initiative stored through the domain, with a planted private e-mail and note."""
    async with db.session() as session:
        initiative = await initiatives.create_initiative(
            session,
            {**REPAIR_CAFE, **(data or {})},
            author=Author(proposer_id, "test"),
            moderation_state=state,
            proposer_email=PROPOSER_EMAIL,
            **extra,
        )
        initiative.moderation_note = MODERATION_NOTE
    return initiative


@pytest.fixture
async def published(db: Database) -> Initiative:
    return await make_initiative(db)


@pytest.fixture
async def proposed(db: Database, callers: dict[str, Caller]) -> Initiative:
    """A proposal of the contributor, waiting for moderation."""
    return await make_initiative(
        db,
        {"name": "Jardin partagé des Dervallières", "themes": ["alimentation"]},
        state="proposed",
        proposer_id=callers["contributor"].person_id,
    )


@pytest.fixture
async def remote(db: Database) -> Initiative:
    return await make_initiative(
        db,
        {"name": "Ressourcerie de Vannes", "city": "Vannes", "insee_code": "56260"},
        origin="morbihan.example",
        uri="https://morbihan.example/initiatives/ressourcerie-de-vannes",
        via=["morbihan.example"],
    )


# --- Every response of the `api` client is checked against the OpenAPI document. ---------


def _operation(document: dict, method: str, path: str) -> dict | None:
    """The operation of the document that serves `method path` (path under /api/v1)."""
    for template, item in document["paths"].items():
        pattern = "^" + re.sub(r"\{[^/]+\}", "[^/]+", template) + "$"
        if re.match(pattern, path) and method.lower() in item:
            return item[method.lower()]
    return None


def check_against_document(document: dict, response: httpx.Response) -> None:
    """Fail when a response's status is not documented or its body breaks the schema."""
    request = response.request
    path = request.url.path.removeprefix(PREFIX)
    operation = _operation(document, request.method, path)
    if operation is None or response.status_code == 405:
        return  # not an API route: nothing promised
    declared = operation["responses"].get(str(response.status_code))
    assert declared is not None, (
        f"{request.method} {path} answered {response.status_code}, not in the document"
    )
    schema = declared.get("content", {}).get("application/json", {}).get("schema")
    if schema is None:
        assert response.status_code == 204 or path == "/openapi.json"
        return
    assert response.headers["content-type"].startswith("application/json")
    validator = Draft202012Validator(
        {"components": document["components"], **schema}, format_checker=None
    )
    errors = sorted(validator.iter_errors(response.json()), key=lambda e: list(e.path))
    assert not errors, f"{request.method} {path} {response.status_code}: " + "; ".join(
        f"{list(e.path)}: {e.message}" for e in errors[:5]
    )


@pytest.fixture
async def api(app, settings) -> AsyncIterator[httpx.AsyncClient]:
    """An HTTP client on the app whose every API response is validated by the document."""
    document = api_openapi.document(settings.base_url)

    async def validate(response: httpx.Response) -> None:
        await response.aread()
        check_against_document(document, response)

    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(
        transport=transport, base_url=settings.base_url, event_hooks={"response": [validate]}
    ) as client:
        yield client
