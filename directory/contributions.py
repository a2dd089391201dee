"""What contributors do: propose initiatives and corrections, and follow their state.

An anonymous proposer gets a private status link (only its hash is stored); a signed-in
contributor finds their proposals under their account. Functions never commit.
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from directory import initiatives
from directory.errors import NotEditable, NotFound, ValidationError
from directory.initiatives import Author
from directory.messages import N_
from directory.models import Correction, Initiative
from directory.models_web import StatusLink
from directory.validation import EMAIL

MESSAGE_LIMIT = 2000


@dataclass(frozen=True)
class Submitted:
    """A stored proposal and, for an anonymous proposer, the clear token of its status link."""

    initiative: Initiative | None
    correction: Correction | None
    token: str


def clean_proposer(email: str, message: str, *, signed_in: bool) -> tuple[str, str]:
    """The proposer's e-mail (required when anonymous) and message, checked."""
    errors: dict[str, str] = {}
    email = (email or "").strip().lower()
    message = (message or "").strip()
    if not signed_in and not email:
        errors["proposer_email"] = N_("obligatoire pour vous tenir au courant de la suite")
    elif email and (len(email) > 254 or not EMAIL.match(email)):
        errors["proposer_email"] = N_("adresse e-mail invalide")
    if len(message) > MESSAGE_LIMIT:
        errors["message"] = N_(
            "trop long (%(n)s caractères, maximum %(limit)s)", n=len(message), limit=MESSAGE_LIMIT
        )
    if errors:
        raise ValidationError(errors)
    return email, message


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


async def _status_link(
    session: AsyncSession, *, initiative_id: int | None = None, correction_id: int | None = None
) -> str:
    token = secrets.token_urlsafe(24)
    session.add(
        StatusLink(
            token_hash=_hash(token), initiative_id=initiative_id, correction_id=correction_id
        )
    )
    await session.flush()
    return token


async def propose_initiative(
    session: AsyncSession,
    data: Mapping[str, Any],
    *,
    author: Author,
    proposer_email: str = "",
) -> Submitted:
    """Store a new initiative waiting for moderation, with a status link when anonymous."""
    initiative = await initiatives.create_initiative(
        session, data, author=author, moderation_state="proposed", proposer_email=proposer_email
    )
    token = "" if author.person_id else await _status_link(session, initiative_id=initiative.id)
    return Submitted(initiative, None, token)


async def propose_correction(
    session: AsyncSession,
    initiative: Initiative,
    data: Mapping[str, Any],
    *,
    author: Author,
    proposer_email: str = "",
    message: str = "",
) -> Submitted:
    """Store a correction of a published local initiative, with a status link when anonymous."""
    if initiative.moderation_state != "published":
        raise NotEditable(N_("seules les initiatives publiées peuvent recevoir une correction"))
    correction = await initiatives.propose_correction(
        session,
        initiative,
        data,
        author=author,
        proposer_email=proposer_email,
        message=message,
    )
    token = "" if author.person_id else await _status_link(session, correction_id=correction.id)
    return Submitted(None, correction, token)


async def by_status_token(session: AsyncSession, token: str) -> Initiative | Correction:
    """The proposal a private status link points to; NotFound for an unknown token."""
    link = await session.get(StatusLink, _hash(token)) if token else None
    if link is not None and link.initiative_id is not None:
        found = await session.get(Initiative, link.initiative_id)
        if found is not None:
            return found
    if link is not None and link.correction_id is not None:
        found = await session.get(Correction, link.correction_id)
        if found is not None:
            return found
    raise NotFound(N_("lien de suivi inconnu ou expiré"))


async def proposals_of(
    session: AsyncSession, person_id: int
) -> tuple[list[Initiative], list[tuple[Correction, Initiative]]]:
    """A contributor's proposed initiatives and corrections, newest first."""
    proposed = await session.scalars(
        select(Initiative)
        .where(Initiative.proposer_id == person_id)
        .order_by(Initiative.created_at.desc(), Initiative.id.desc())
    )
    corrections = await session.execute(
        select(Correction, Initiative)
        .join(Initiative, Initiative.id == Correction.initiative_id)
        .where(Correction.proposer_id == person_id)
        .order_by(Correction.created_at.desc(), Correction.id.desc())
    )
    return list(proposed), [(c, i) for c, i in corrections.all()]
