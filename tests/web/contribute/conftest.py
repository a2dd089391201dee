"""Fixtures for the contribution, sign-in, moderation and admin pages."""

from __future__ import annotations

import re
import time
from collections.abc import Awaitable, Callable

import httpx
import pytest
from itsdangerous import Signer

from directory import initiatives, people, territory
from directory.initiatives import Author
from directory.models import Initiative, Person
from directory.territory import CommuneRow
from web.settings import Settings

PASSWORD = "correct horse battery"
CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')

REZE = CommuneRow("44143", "Rezé", 47.1806, -1.5497, 42000, "44400")
NANTES = CommuneRow("44109", "Nantes", 47.2184, -1.5536, 320000, "44000")
SAINT_HERBLAIN = CommuneRow("44162", "Saint-Herblain", 47.2122, -1.6497, 46000, "44800")
LA_BAULE = CommuneRow("44055", "La Baule-Escoublac", 47.2867, -2.3903, 16000, "44500")
SAINTE_LUCE = CommuneRow("44172", "Sainte-Luce-sur-Loire", 47.2503, -1.4853, 15000, "44980")


def stamp(settings: Settings, age: float = 30) -> str:
    """A fill-time stamp as the form would carry it, shown `age` seconds ago."""
    return (
        Signer(settings.secret_key, salt="maillage.form-stamp")
        .sign(str(int(time.time() - age)))
        .decode()
    )


async def csrf_of(client: httpx.AsyncClient, path: str = "/connexion") -> str:
    """The session's CSRF token, read from a page's form (the session cookie is kept)."""
    response = await client.get(path)
    found = CSRF.search(response.text)
    assert found, f"no CSRF field on {path}"
    return found.group(1)


def proposal(settings: Settings, token: str, **fields: object) -> dict:
    """A complete, valid anonymous proposal form."""
    data: dict[str, object] = {
        "csrf_token": token,
        "form_stamp": stamp(settings),
        "site_web_bis": "",
        "name": "Repair café de Rezé",
        "summary": "Réparer ensemble petits appareils et vélos",
        "description": "Chaque **samedi** matin.",
        "themes": ["reemploi-reparation"],
        "actor_kinds": ["association"],
        "needs": ["precarite-energetique"],
        "status": "active",
        "city": "Rezé",
        "insee_code": "",
        "street": "2 rue de la Paix",
        "postal_code": "",
        "latitude": "",
        "longitude": "",
        "website": "https://repair.example.org",
        "email": "",
        "phone": "",
        "fediverse": "",
        "social_links": "",
        "opening_hours": "Sa 10:00-12:00",
        "image_url": "",
        "proposer_email": "Camille@Example.org",
    }
    data.update(fields)
    return data


@pytest.fixture
async def communes(db) -> None:
    async with db.session() as session:
        await territory.set_territory(
            session,
            name="Loire-Atlantique",
            kind="departement",
            code="44",
            communes=[REZE, NANTES, SAINT_HERBLAIN, LA_BAULE, SAINTE_LUCE],
        )


async def _person(db, email: str, role: str) -> Person:
    async with db.session() as session:
        return await people.create_person(
            session, email=email, password=PASSWORD, role=role, display_name=role.capitalize()
        )


@pytest.fixture
async def moderator(db) -> Person:
    return await _person(db, "modo@example.org", "moderator")


@pytest.fixture
async def admin(db) -> Person:
    return await _person(db, "admin@example.org", "admin")


@pytest.fixture
async def contributor(db) -> Person:
    return await _person(db, "contrib@example.org", "contributor")


SignIn = Callable[[Person], Awaitable[str]]


@pytest.fixture
def sign_in(client: httpx.AsyncClient) -> SignIn:
    """Sign `person` in through the form; returns the new session's CSRF token."""

    async def go(person: Person) -> str:
        token = await csrf_of(client)
        response = await client.post(
            "/connexion",
            data={"csrf_token": token, "email": person.email, "password": PASSWORD},
        )
        assert response.status_code == 303, response.text
        return await csrf_of(client, "/deconnexion")

    return go


@pytest.fixture
async def published(db) -> Initiative:
    async with db.session() as session:
        initiative = await initiatives.create_initiative(
            session,
            {
                "name": "Jardin partagé des Trois-Moulins",
                "summary": "Un jardin ouvert à tous",
                "themes": ["alimentation"],
                "city": "Rezé",
                "insee_code": "44143",
                "latitude": 47.19,
                "longitude": -1.55,
            },
            author=Author(None, "test"),
            moderation_state="published",
        )
        return initiative


async def count(db, model) -> int:
    from sqlalchemy import func, select

    async with db.session() as session:
        return await session.scalar(select(func.count()).select_from(model)) or 0
