"""Signed-in sessions kept on the server, so that they can be ended for good.

A browser's signed cookie carries only a random token; the `sign_ins` row (its SHA-256)
says whose session it is. Signing out deletes the row: the cookie, even copied elsewhere,
then names nothing. A session unused for LIFETIME is over too. Lowering a person's role,
disabling the account (directory/accounts.py) and changing the password
(directory/people.py) end their sessions.
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import UTC, datetime, timedelta

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from directory.models import Person, SignIn, utcnow

LIFETIME = timedelta(days=14)  # the cookie's own max_age too (web/app.py)
TOUCH_EVERY = timedelta(minutes=5)  # last_seen_at is written at most this often


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


async def open_session(session: AsyncSession, person: Person, *, user_agent: str = "") -> str:
    """A new session for `person`; returns the token the cookie will carry (shown once)."""
    await session.execute(delete(SignIn).where(SignIn.last_seen_at < utcnow() - LIFETIME))
    token = secrets.token_urlsafe(32)
    session.add(SignIn(person_id=person.id, token_hash=_hash(token), user_agent=user_agent[:200]))
    await session.flush()
    return token


async def find(session: AsyncSession, token: str) -> SignIn | None:
    """The live session named by `token`, or None (unknown, ended, expired)."""
    if not token:
        return None
    row = await session.scalar(select(SignIn).where(SignIn.token_hash == _hash(token)))
    if row is None:
        return None
    now = utcnow()
    seen = _aware(row.last_seen_at)
    if seen < now - LIFETIME:
        await session.delete(row)
        await session.flush()
        return None
    if seen < now - TOUCH_EVERY:
        row.last_seen_at = now
        await session.flush()
    return row


async def person_for(session: AsyncSession, token: str) -> Person | None:
    """The active account behind a live session token, if any."""
    row = await find(session, token)
    if row is None:
        return None
    person = await session.get(Person, row.person_id)
    return person if person is not None and person.active else None


async def end_session(session: AsyncSession, token: str) -> None:
    """Sign one browser out (nothing happens for an unknown token)."""
    if token:
        await session.execute(delete(SignIn).where(SignIn.token_hash == _hash(token)))


async def end_sessions(session: AsyncSession, person_id: int, *, keep: str | None = None) -> int:
    """End every session of a person, except the one of token `keep`; how many ended."""
    query = delete(SignIn).where(SignIn.person_id == person_id)
    if keep:
        query = query.where(SignIn.token_hash != _hash(keep))
    result = await session.execute(query)
    return result.rowcount or 0


async def end_session_of(session: AsyncSession, person_id: int, sign_in_id: int) -> bool:
    """End one session of a person, by its id (the list of their sessions shows ids)."""
    result = await session.execute(
        delete(SignIn).where(SignIn.id == sign_in_id, SignIn.person_id == person_id)
    )
    return bool(result.rowcount)


async def sessions_of(session: AsyncSession, person_id: int) -> list[SignIn]:
    """A person's live sessions, the most recently used first."""
    rows = await session.scalars(
        select(SignIn)
        .where(SignIn.person_id == person_id, SignIn.last_seen_at >= utcnow() - LIFETIME)
        .order_by(SignIn.last_seen_at.desc(), SignIn.id.desc())
    )
    return list(rows)


def is_token_of(row: SignIn, token: str) -> bool:
    """Whether `row` is the session of `token` (to mark « this browser » in a list)."""
    return bool(token) and secrets.compare_digest(row.token_hash, _hash(token))
