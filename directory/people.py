"""Accounts, roles, passwords (argon2id) and API tokens."""

from __future__ import annotations

import hashlib
import secrets

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from directory import sign_ins
from directory.errors import Conflict, ValidationError
from directory.messages import N_
from directory.models import ApiToken, Person, utcnow
from directory.validation import EMAIL
from directory.vocabulary import ROLE_SLUGS

_hasher = PasswordHasher()
MIN_PASSWORD = 10


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def check_password(person: Person, password: str) -> bool:
    if not person.password_hash or not person.active:
        return False
    try:
        return _hasher.verify(person.password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


async def create_person(
    session: AsyncSession,
    *,
    email: str,
    password: str,
    role: str = "contributor",
    display_name: str = "",
) -> Person:
    email = email.strip().lower()
    errors = {}
    if not EMAIL.match(email):
        errors["email"] = N_("adresse e-mail invalide")
    if len(password) < MIN_PASSWORD:
        errors["password"] = N_("au moins %(min)s caractères", min=MIN_PASSWORD)
    if role not in ROLE_SLUGS:
        errors["role"] = N_("inconnu : %(role)s", role=role)
    if errors:
        raise ValidationError(errors)
    if await session.scalar(select(Person.id).where(Person.email == email)):
        raise Conflict(N_("un compte existe déjà pour %(email)s", email=email), field="email")
    person = Person(
        email=email,
        password_hash=hash_password(password),
        role=role,
        display_name=display_name.strip()[:120],
    )
    session.add(person)
    await session.flush()
    return person


async def person_by_email(session: AsyncSession, email: str) -> Person | None:
    return await session.scalar(select(Person).where(Person.email == email.strip().lower()))


async def authenticate(session: AsyncSession, email: str, password: str) -> Person | None:
    person = await person_by_email(session, email)
    if person is None:
        _hasher.hash(password)  # same cost whether the account exists or not
        return None
    return person if check_password(person, password) else None


async def change_password(
    session: AsyncSession,
    person: Person,
    current: str,
    new: str,
    *,
    keep_session: str | None = None,
) -> int:
    """Set a new password once the current one is given; every other session of the person
    ends (all but the one of token `keep_session`). Returns how many ended."""
    errors = {}
    if not check_password(person, current):
        errors["current_password"] = N_("mot de passe actuel incorrect")
    if len(new) < MIN_PASSWORD:
        errors["password"] = N_("au moins %(min)s caractères", min=MIN_PASSWORD)
    elif len(new) > 1000:
        errors["password"] = N_("trop long (maximum 1000 caractères)")
    if errors:
        raise ValidationError(errors)
    person.password_hash = hash_password(new)
    await session.flush()
    return await sign_ins.end_sessions(session, person.id, keep=keep_session)


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


async def issue_token(session: AsyncSession, person: Person, label: str = "") -> str:
    """A new API token for `person`; the clear token is returned once and never stored."""
    token = "mlg_" + secrets.token_urlsafe(32)
    session.add(ApiToken(person_id=person.id, token_hash=_token_hash(token), label=label[:120]))
    await session.flush()
    return token


async def person_for_token(session: AsyncSession, token: str) -> Person | None:
    row = await session.scalar(select(ApiToken).where(ApiToken.token_hash == _token_hash(token)))
    if row is None or not row.person.active:
        return None
    row.last_used_at = utcnow()
    return row.person


async def revoke_token(session: AsyncSession, token: str) -> bool:
    """Delete the API token `token`; False when it did not exist."""
    row = await token_row(session, token)
    if row is None:
        return False
    await session.delete(row)
    await session.flush()
    return True


async def tokens_of(session: AsyncSession, person_id: int) -> list[ApiToken]:
    """A person's API tokens, newest first (only their hashes are stored)."""
    result = await session.scalars(
        select(ApiToken).where(ApiToken.person_id == person_id).order_by(ApiToken.id.desc())
    )
    return list(result)


async def get_token(session: AsyncSession, token_id: int) -> ApiToken | None:
    return await session.get(ApiToken, token_id)


async def delete_token(session: AsyncSession, token: ApiToken) -> None:
    await session.delete(token)
    await session.flush()


async def token_row(session: AsyncSession, token: str) -> ApiToken | None:
    """The stored row of a clear token, if it exists."""
    return await session.scalar(select(ApiToken).where(ApiToken.token_hash == _token_hash(token)))


async def people_by_ids(session: AsyncSession, ids: set[int]) -> dict[int, Person]:
    """Accounts by id (for showing who made edits)."""
    if not ids:
        return {}
    return {p.id: p for p in await session.scalars(select(Person).where(Person.id.in_(ids)))}
