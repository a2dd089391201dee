"""The moderation queue: proposals and corrections, their field-by-field diffs, decisions.

Functions never commit; every decision leaves a revision (directory/initiatives.py), so the
full history of an initiative says who decided what, when and why.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from directory import initiatives, relations
from directory.errors import Conflict, ValidationError
from directory.initiatives import TRACKED, Author, field_values
from directory.messages import N_
from directory.models import Correction, Initiative, Person
from directory.vocabulary import role_at_least

REASON_LIMIT = 1000


@dataclass(frozen=True)
class QueueItem:
    """One thing waiting for a moderator."""

    kind: str  # "proposal" or "correction"
    id: int
    initiative: Initiative
    created_at: datetime
    proposer: str  # account e-mail, anonymous proposer e-mail, or origin host
    fields: tuple[str, ...]  # the fields it sets or changes


@dataclass(frozen=True)
class DiffRow:
    """One field of a diff: its value before, the value proposed, and (corrections) now."""

    field: str
    old: Any
    new: Any
    current: Any = None
    stale: bool = False  # the initiative changed since the correction was proposed


def _present(value: Any) -> bool:
    return value not in (None, "", [])


async def _labels(session: AsyncSession, ids: set[int]) -> dict[int, str]:
    if not ids:
        return {}
    rows = await session.execute(select(Person.id, Person.email).where(Person.id.in_(ids)))
    return dict(rows.all())


async def queue(session: AsyncSession, *, limit: int = 50, offset: int = 0) -> list[QueueItem]:
    """Proposed initiatives and pending corrections, oldest first (first come, first served).

    A page of `limit` items from `offset`: a held federation backfill can queue thousands.
    """
    upto = offset + limit
    proposals = list(
        await session.scalars(
            select(Initiative)
            .where(Initiative.moderation_state == "proposed")
            .order_by(Initiative.created_at, Initiative.id)
            .limit(upto)
        )
    )
    pending = (
        await session.execute(
            select(Correction, Initiative)
            .join(Initiative, Initiative.id == Correction.initiative_id)
            .where(Correction.state == "proposed")
            .order_by(Correction.created_at, Correction.id)
            .limit(upto)
        )
    ).all()
    people = await _labels(
        session,
        {i.proposer_id for i in proposals if i.proposer_id}
        | {c.proposer_id for c, _ in pending if c.proposer_id},
    )
    items = [
        QueueItem(
            "proposal",
            i.id,
            i,
            i.created_at,
            people.get(i.proposer_id or 0) or i.proposer_email or (i.origin or ""),
            tuple(f for f, v in field_values(i).items() if _present(v)),
        )
        for i in proposals
    ]
    items += [
        QueueItem(
            "correction",
            c.id,
            i,
            c.created_at,
            people.get(c.proposer_id or 0) or c.proposer_email,
            tuple(c.changes),
        )
        for c, i in pending
    ]
    items.sort(key=lambda item: (item.created_at, item.kind, item.id))
    return items[offset:upto]


async def pending_count(session: AsyncSession) -> int:
    """How many items wait in the queue (for the navigation badge)."""
    proposals = await session.scalar(
        select(func.count())
        .select_from(Initiative)
        .where(Initiative.moderation_state == "proposed")
    )
    corrections = await session.scalar(
        select(func.count()).select_from(Correction).where(Correction.state == "proposed")
    )
    return (proposals or 0) + (corrections or 0)


def proposal_diff(initiative: Initiative) -> list[DiffRow]:
    """A new proposal as a diff from nothing: every field it fills."""
    return [
        DiffRow(field, None, value)
        for field, value in field_values(initiative).items()
        if _present(value)
    ]


def correction_diff(correction: Correction, initiative: Initiative) -> list[DiffRow]:
    """A correction field by field, in display order, flagging fields changed meanwhile."""
    now = field_values(initiative)
    order = {field: n for n, field in enumerate(TRACKED)}
    rows = []
    for field in sorted(correction.changes, key=lambda f: order.get(f, len(order))):
        old, new = correction.changes[field]
        current = now.get(field, initiative.slug if field == "slug" else None)
        stale = (
            sorted(current or []) != sorted(old or []) if isinstance(old, list) else current != old
        )
        rows.append(DiffRow(field, old, new, current, stale))
    return rows


def clean_reason(message: str, *, required: bool) -> str:
    """A moderator's message to the proposer, checked."""
    message = (message or "").strip()
    if required and not message:
        raise ValidationError({"message": N_("obligatoire : dites au proposant pourquoi")})
    if len(message) > REASON_LIMIT:
        raise ValidationError(
            {
                "message": N_(
                    "trop long (%(n)s caractères, maximum %(limit)s)",
                    n=len(message),
                    limit=REASON_LIMIT,
                )
            }
        )
    return message


async def approve_proposal(
    session: AsyncSession,
    initiative: Initiative,
    *,
    author: Author,
    edits: Mapping[str, Any] | None = None,
    message: str = "",
) -> dict[str, list[Any]]:
    """Publish a proposed initiative, after applying the moderator's edits if any."""
    if initiative.moderation_state != "proposed":
        raise Conflict(
            N_("cette proposition est déjà %(state)s", state=initiative.moderation_state)
        )
    message = clean_reason(message, required=False)
    changes: dict[str, list[Any]] = {}
    if edits:
        changes = await initiatives.update_initiative(
            session,
            initiative,
            edits,
            author=author,
            action="moderation-edit",
            message="modifiée avant publication",
        )
    await initiatives.moderate(session, initiative, "published", author=author, message=message)
    return changes


async def approve_linked_target(
    session: AsyncSession, target: Initiative, person: Person | None
) -> bool:
    """A moderator's (or admin's) own link to a remote initiative awaiting moderation is
    its moderation: it is published, the revision naming them. True if it was."""
    if person is None or not role_at_least(person.role, "moderator"):
        return False
    if not relations.awaiting_moderation(target):
        return False
    await approve_proposal(session, target, author=Author(person.id, person.email))
    return True


async def reject_proposal(
    session: AsyncSession, initiative: Initiative, *, author: Author, message: str
) -> None:
    """Refuse a proposed initiative; the message is shown to the proposer."""
    if initiative.moderation_state != "proposed":
        raise Conflict(
            N_("cette proposition est déjà %(state)s", state=initiative.moderation_state)
        )
    message = clean_reason(message, required=True)
    await initiatives.moderate(session, initiative, "rejected", author=author, message=message)


async def decide_correction(
    session: AsyncSession,
    correction: Correction,
    *,
    approve: bool,
    author: Author,
    message: str = "",
    edits: Mapping[str, Any] | None = None,
) -> dict[str, list[Any]]:
    """Approve (possibly edited) or reject a correction; rejecting needs a message."""
    message = clean_reason(message, required=not approve)
    return await initiatives.decide_correction(
        session, correction, approve=approve, author=author, message=message, edits=edits
    )


async def history(session: AsyncSession, initiative_id: int) -> list[tuple[Any, str]]:
    """The revisions of an initiative, newest first, each with who made it in words."""
    revisions = await initiatives.revisions(session, initiative_id)
    people = await _labels(session, {r.person_id for r in revisions if r.person_id})
    return [(r, people.get(r.person_id or 0) or r.author or "anonyme") for r in reversed(revisions)]


async def corrections_of(session: AsyncSession, initiative_id: int) -> list[Correction]:
    """Every correction ever proposed for an initiative, newest first."""
    return list(
        await session.scalars(
            select(Correction)
            .where(Correction.initiative_id == initiative_id)
            .order_by(Correction.id.desc())
        )
    )
