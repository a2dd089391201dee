"""Who is asking: an API bearer token or the signed session cookie, and role checks."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession
from starlette.exceptions import HTTPException
from starlette.requests import Request

from directory import people
from directory.initiatives import Author
from directory.models import Person
from directory.vocabulary import role_at_least


async def current_person(request: Request, session: AsyncSession) -> Person | None:
    """The account behind the request's bearer token or session cookie, if any."""
    header = request.headers.get("authorization", "")
    if header:
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise HTTPException(
                401,
                "en-tête Authorization attendu : Bearer <jeton>",
                headers={"WWW-Authenticate": "Bearer"},
            )
        person = await people.person_for_token(session, token.strip())
        if person is None:
            raise HTTPException(
                401, "jeton inconnu ou révoqué", headers={"WWW-Authenticate": "Bearer"}
            )
        return person
    person_id = request.session.get("person_id") if "session" in request.scope else None
    if person_id is None:
        return None
    person = await session.get(Person, person_id)
    return person if person is not None and person.active else None


async def require_role(request: Request, session: AsyncSession, role: str) -> Person:
    """The current person if their role is at least `role`; 401 or 403 otherwise."""
    person = await current_person(request, session)
    if person is None:
        raise HTTPException(401, "authentification requise", headers={"WWW-Authenticate": "Bearer"})
    if not role_at_least(person.role, role):
        raise HTTPException(403, f"rôle {role!r} ou supérieur requis")
    return person


def author_of(person: Person | None, fallback: str = "anonyme") -> Author:
    if person is None:
        return Author(None, fallback)
    return Author(person.id, person.email)
