"""Queries behind the collections we serve: published local initiatives (paged by cursor),
recent ones for `featured`, follower and following counts. Never commit."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload

from directory.models import Initiative, InitiativeTheme, Person, Relation, Theme
from directory.relations import federated
from federation.flow_models import Follower, Following

PAGE_SIZE = 50
FEATURED_SIZE = 5

# What rendering reads: themes with their core theme (Theme.parent is self-referential, so
# its lazy="joined" does not reach through Initiative.themes; async cannot lazy-load).
RENDER_OPTIONS = (selectinload(Initiative.themes).selectinload(Theme.parent),)


def _published_local(theme_id: int | None = None):
    query = (
        select(Initiative)
        .where(Initiative.origin.is_(None), Initiative.moderation_state == "published")
        .options(*RENDER_OPTIONS)
    )
    if theme_id is not None:
        query = query.where(
            Initiative.id.in_(
                select(InitiativeTheme.initiative_id).where(InitiativeTheme.theme_id == theme_id)
            )
        )
    return query


async def count_published_local(session: AsyncSession, *, theme_id: int | None = None) -> int:
    """How many of our initiatives are published (optionally within one theme)."""
    query = (
        _published_local(theme_id)
        .options()
        .with_only_columns(func.count(Initiative.id))
        .order_by(None)
    )
    return int((await session.execute(query)).scalar_one())


async def published_local_after(
    session: AsyncSession, *, after_id: int = 0, limit: int = PAGE_SIZE
) -> list[Initiative]:
    """Our published initiatives with id > after_id, oldest first (stable cursor paging)."""
    query = _published_local().where(Initiative.id > after_id).order_by(Initiative.id).limit(limit)
    return list((await session.execute(query)).scalars().all())


async def published_local_before(
    session: AsyncSession,
    *,
    before_id: int | None = None,
    limit: int = PAGE_SIZE,
    theme_id: int | None = None,
) -> list[Initiative]:
    """Our published initiatives, newest first, below a cursor (outboxes, featured)."""
    query = _published_local(theme_id)
    if before_id is not None:
        query = query.where(Initiative.id < before_id)
    query = query.order_by(Initiative.id.desc()).limit(limit)
    return list((await session.execute(query)).scalars().all())


async def relations_of(session: AsyncSession, initiative_id: int) -> Sequence[Relation]:
    return (await relations_by_initiative(session, [initiative_id])).get(initiative_id, [])


async def relations_by_initiative(
    session: AsyncSession, initiative_ids: Sequence[int]
) -> dict[int, list[Relation]]:
    """The links of several initiatives that their AS2 objects list (relations.federated),
    in one query (a collection page renders 50)."""
    found: dict[int, list[Relation]] = {}
    if not initiative_ids:
        return found
    query = (
        select(Relation)
        .where(Relation.initiative_id.in_(initiative_ids), federated())
        .order_by(Relation.id)
    )
    for relation in (await session.execute(query)).scalars():
        found.setdefault(relation.initiative_id, []).append(relation)
    return found


async def count_followers(session: AsyncSession, actor_name: str) -> int:
    """Accepted followers of one of our actors."""
    query = select(func.count()).where(
        Follower.actor_name == actor_name, Follower.state == "accepted"
    )
    return int((await session.execute(query.select_from(Follower))).scalar_one())


async def count_following(session: AsyncSession) -> int:
    """Actors our territory actor follows (accepted)."""
    query = select(func.count()).select_from(Following).where(Following.state == "accepted")
    return int((await session.execute(query)).scalar_one())


async def count_people(session: AsyncSession) -> int:
    query = select(func.count()).select_from(Person).where(Person.active.is_(True))
    return int((await session.execute(query)).scalar_one())


async def theme_slugs_by_iri(session: AsyncSession) -> dict[str, str]:
    """Every theme IRI we know (core and local) to its slug: what parse_initiative needs."""
    rows = (await session.execute(select(Theme.iri, Theme.slug))).all()
    return {iri: slug for iri, slug in rows}


async def initiative_for_render(session: AsyncSession, initiative_id: int) -> Initiative | None:
    """An initiative with what rendering needs loaded (themes and their core themes)."""
    query = (
        select(Initiative)
        .where(Initiative.id == initiative_id)
        .options(*RENDER_OPTIONS)
        .execution_options(populate_existing=True)
    )
    return (await session.execute(query)).scalar_one_or_none()
