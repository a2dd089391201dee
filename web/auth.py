"""Who is asking: an API bearer token or the signed session cookie, and role checks.

The session cookie (signed by starlette's SessionMiddleware) carries `sid`, the token of a
session kept on the server (directory/sign_ins.py): `begin_session` on sign-in,
`end_session` on sign-out; a token whose session has ended signs nobody in.
"""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession
from starlette.exceptions import HTTPException
from starlette.requests import Request

from directory import people, sign_ins
from directory.initiatives import Author
from directory.models import Person
from directory.vocabulary import role_at_least
from web import forms
from web.i18n import N_

SESSION_KEY = "sid"


async def current_person(request: Request, session: AsyncSession) -> Person | None:
    """The account behind the request's bearer token or session cookie, if any."""
    header = request.headers.get("authorization", "")
    if header:
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise HTTPException(
                401,
                N_("en-tête Authorization attendu : Bearer <jeton>"),
                headers={"WWW-Authenticate": "Bearer"},
            )
        person = await people.person_for_token(session, token.strip())
        if person is None:
            raise HTTPException(
                401, N_("jeton inconnu ou révoqué"), headers={"WWW-Authenticate": "Bearer"}
            )
        return person
    return await session_person(request, session)


def session_token(request: Request) -> str:
    """The server-side session token of the request's cookie ('' when signed out)."""
    if "session" not in request.scope:
        return ""
    token = request.session.get(SESSION_KEY)
    return token if isinstance(token, str) else ""


async def session_person(request: Request, session: AsyncSession) -> Person | None:
    """The active account of the request's live session; a dead token is dropped from the
    cookie."""
    token = session_token(request)
    if not token:
        return None
    person = await sign_ins.person_for(session, token)
    if person is None:
        request.session.pop(SESSION_KEY, None)
    return person


async def begin_session(request: Request, session: AsyncSession, person: Person) -> None:
    """Sign `person` in: a fresh cookie session (new CSRF token) naming a new server one."""
    forms.rotate_session(request)
    agent = request.headers.get("user-agent", "")
    request.session[SESSION_KEY] = await sign_ins.open_session(session, person, user_agent=agent)


async def end_session(request: Request, session: AsyncSession) -> None:
    """Sign this browser out, on the server too (a copy of the cookie stops working)."""
    await sign_ins.end_session(session, session_token(request))
    forms.rotate_session(request)


async def require_role(request: Request, session: AsyncSession, role: str) -> Person:
    """The current person if their role is at least `role`; 401 or 403 otherwise."""
    person = await current_person(request, session)
    if person is None:
        raise HTTPException(
            401, N_("authentification requise"), headers={"WWW-Authenticate": "Bearer"}
        )
    if not role_at_least(person.role, role):
        raise HTTPException(403, N_("rôle %(role)r ou supérieur requis", role=role))
    return person


def author_of(person: Person | None, fallback: str = "anonyme") -> Author:
    if person is None:
        return Author(None, fallback)
    return Author(person.id, person.email)
