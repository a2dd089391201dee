"""Administration of accounts: list, change role, deactivate, with the last admin protected."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from directory import sign_ins
from directory.errors import Conflict, NotFound, ValidationError
from directory.messages import N_
from directory.models import Person
from directory.vocabulary import ROLE_RANK, ROLE_SLUGS


async def list_people(session: AsyncSession) -> list[Person]:
    """Every account, most powerful roles first, then by e-mail."""
    people = list(await session.scalars(select(Person).order_by(Person.email)))
    return sorted(people, key=lambda p: (not p.active, -ROLE_RANK.get(p.role, -1), p.email))


async def get_person(session: AsyncSession, person_id: int) -> Person:
    person = await session.get(Person, person_id)
    if person is None:
        raise NotFound(N_("compte %(person_id)s introuvable", person_id=person_id))
    return person


async def _other_active_admins(session: AsyncSession, person: Person) -> int:
    return (
        await session.scalar(
            select(func.count())
            .select_from(Person)
            .where(Person.role == "admin", Person.active, Person.id != person.id)
        )
    ) or 0


async def set_role(session: AsyncSession, person: Person, role: str) -> None:
    """Give an account another role; the last active admin keeps theirs."""
    if role not in ROLE_SLUGS:
        raise ValidationError({"role": N_("rôle inconnu : %(role)s", role=role)})
    if (
        person.role == "admin"
        and role != "admin"
        and not await _other_active_admins(session, person)
    ):
        raise Conflict(N_("c'est le dernier compte administrateur actif"), field="role")
    lowered = ROLE_RANK[role] < ROLE_RANK.get(person.role, len(ROLE_RANK))
    person.role = role
    await session.flush()
    if lowered:  # what the person could do in an open session, they no longer may
        await sign_ins.end_sessions(session, person.id)


async def set_active(session: AsyncSession, person: Person, active: bool) -> None:
    """Deactivate (sign-in and tokens refused, history kept) or reactivate an account."""
    if not active and person.role == "admin" and not await _other_active_admins(session, person):
        raise Conflict(N_("c'est le dernier compte administrateur actif"), field="active")
    person.active = active
    await session.flush()
    if not active:
        await sign_ins.end_sessions(session, person.id)


async def set_display_name(session: AsyncSession, person: Person, name: str) -> None:
    name = (name or "").strip()
    if len(name) > 120:
        raise ValidationError({"display_name": N_("trop long (maximum 120 caractères)")})
    person.display_name = name
    await session.flush()
