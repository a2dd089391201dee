"""Personal data (RGPD): what the directory holds about an e-mail address, erasing it on
request, and purging proposers' e-mails from rejected proposals after a retention delay.

Only private fields are concerned: a public contact e-mail published on an initiative is
part of the initiative and is corrected through moderation. Functions never commit.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlalchemy import delete, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from directory.models import ApiToken, Correction, Initiative, Person, Revision, SignIn, utcnow
from directory.models_web import StatusLink

RETENTION = timedelta(days=180)
ERASED = "compte supprimé"


def _iso(value: Any) -> str | None:
    return value.isoformat() if value is not None else None


async def personal_data(session: AsyncSession, email: str) -> dict[str, Any]:
    """Everything private held about `email`: account, proposals, corrections, sessions."""
    email = email.strip().lower()
    person = await session.scalar(select(Person).where(Person.email == email))
    person_id = person.id if person else -1
    proposals = await session.scalars(
        select(Initiative)
        .where(
            or_(func.lower(Initiative.proposer_email) == email, Initiative.proposer_id == person_id)
        )
        .order_by(Initiative.id)
    )
    corrections = await session.scalars(
        select(Correction)
        .where(
            or_(func.lower(Correction.proposer_email) == email, Correction.proposer_id == person_id)
        )
        .order_by(Correction.id)
    )
    sign_ins = await session.scalars(
        select(SignIn).where(SignIn.person_id == person_id).order_by(SignIn.id)
    )
    return {
        "email": email,
        "account": None
        if person is None
        else {
            "email": person.email,
            "display_name": person.display_name,
            "role": person.role,
            "active": person.active,
            "created_at": _iso(person.created_at),
        },
        "proposals": [
            {
                "slug": i.slug,
                "name": i.name,
                "state": i.moderation_state,
                "created_at": _iso(i.created_at),
                "moderation_note": i.moderation_note,
            }
            for i in proposals
        ],
        "corrections": [
            {
                "initiative_id": c.initiative_id,
                "changes": c.changes,
                "message": c.message,
                "state": c.state,
                "created_at": _iso(c.created_at),
                "moderation_note": c.moderation_note,
            }
            for c in corrections
        ],
        "sessions": [
            {
                "browser": s.user_agent,
                "created_at": _iso(s.created_at),
                "last_seen_at": _iso(s.last_seen_at),
            }
            for s in sign_ins
        ],
    }


async def erase(session: AsyncSession, email: str) -> dict[str, int]:
    """Forget `email`: its account (history kept, anonymised) and its proposer e-mails."""
    email = email.strip().lower()
    counts = {"account": 0, "proposals": 0, "corrections": 0}
    person = await session.scalar(select(Person).where(Person.email == email))
    if person is not None:
        await session.execute(
            update(Revision).where(Revision.person_id == person.id).values(author=ERASED)
        )
        await session.execute(delete(ApiToken).where(ApiToken.person_id == person.id))
        await session.execute(delete(SignIn).where(SignIn.person_id == person.id))
        await session.delete(person)
        counts["account"] = 1
    await session.execute(
        update(Revision).where(func.lower(Revision.author) == email).values(author=ERASED)
    )
    result = await session.execute(
        update(Initiative)
        .where(func.lower(Initiative.proposer_email) == email)
        .values(proposer_email="")
    )
    counts["proposals"] = result.rowcount or 0
    result = await session.execute(
        update(Correction)
        .where(func.lower(Correction.proposer_email) == email)
        .values(proposer_email="")
    )
    counts["corrections"] = result.rowcount or 0
    await session.flush()
    return counts


async def purge_rejected(session: AsyncSession, *, older_than: timedelta = RETENTION) -> int:
    """Blank the proposer e-mail (and drop the status link) of proposals and corrections
    rejected more than `older_than` ago; returns how many were purged."""
    cutoff = utcnow() - older_than
    old_initiatives = select(Initiative.id).where(
        Initiative.moderation_state == "rejected",
        Initiative.updated_at < cutoff,
        Initiative.proposer_email != "",
    )
    old_corrections = select(Correction.id).where(
        Correction.state == "rejected",
        Correction.decided_at < cutoff,
        Correction.proposer_email != "",
    )
    initiative_ids = list(await session.scalars(old_initiatives))
    correction_ids = list(await session.scalars(old_corrections))
    if initiative_ids:
        await session.execute(
            update(Initiative).where(Initiative.id.in_(initiative_ids)).values(proposer_email="")
        )
        await session.execute(
            delete(StatusLink).where(StatusLink.initiative_id.in_(initiative_ids))
        )
    if correction_ids:
        await session.execute(
            update(Correction).where(Correction.id.in_(correction_ids)).values(proposer_email="")
        )
        await session.execute(
            delete(StatusLink).where(StatusLink.correction_id.in_(correction_ids))
        )
    await session.flush()
    return len(initiative_ids) + len(correction_ids)
