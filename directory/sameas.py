"""sameAs: one initiative known on several instances is shown once.

Two initiatives are the same when a moderator links them (duplicates.link_same_as) or when
one of them says so in its `sameAs` (from its instance, or edited here): both are stored
as a `same_as` DuplicateDecision. Of two linked initiatives, lists, search, the map, feeds,
counts and exports show one, the twin: the local one (or, between two remote ones, the
first stored), as long as it is published. The other stays reachable by its own page.
`not_shadowed()` is the one condition every listing applies (filters.conditions).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from functools import cache
from typing import Any
from urllib.parse import urlsplit

from sqlalchemy import ColumnElement, CompoundSelect, and_, exists, or_, select, union
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from directory.imports.models import DuplicateDecision
from directory.models import Initiative

SAME_AS = "same_as"
_LOCAL_PATH = re.compile(r"^/initiatives/([^/]+)/?$")


@cache
def shadowed_ids() -> CompoundSelect:
    """Ids of the initiatives hidden behind their published sameAs twin.

    Walks the (few) sameAs decisions and probes each pair's two initiatives by id: a join
    would let SQLite start from every published initiative instead (tens of ms at 100k).
    Built once, like shadowed_row (statements are immutable; aliases cost milliseconds)."""
    shown, hidden = aliased(Initiative), aliased(Initiative)
    pair = DuplicateDecision

    def published(pair_id: Any, *more: ColumnElement[bool]) -> Any:
        return exists().where(shown.id == pair_id, shown.moderation_state == "published", *more)

    def remote(pair_id: Any) -> Any:
        return exists().where(hidden.id == pair_id, hidden.origin.is_not(None))

    # The pair is stored as (smaller id, larger id): the second is hidden when it is remote
    # (the first is local, or both are remote and the first came first) ...
    second = select(pair.second_id).where(
        pair.decision == SAME_AS, published(pair.first_id), remote(pair.second_id)
    )
    # ... the first when it is remote and the second local.
    first = select(pair.first_id).where(
        pair.decision == SAME_AS,
        published(pair.second_id, shown.origin.is_(None)),
        remote(pair.first_id),
    )
    return union(second, first)


@cache
def shadowed_row() -> ColumnElement[bool]:
    """Whether the Initiative row at hand is hidden (the rule of shadowed_ids), probed by
    its own id: for a query over a few rows, where shadowed_ids() would list every one.
    Built once (an aliased Initiative costs milliseconds to make)."""
    shown, pair = aliased(Initiative), DuplicateDecision
    behind_first = exists().where(
        pair.decision == SAME_AS,
        pair.second_id == Initiative.id,
        shown.id == pair.first_id,
        shown.moderation_state == "published",
    )
    behind_second = exists().where(
        pair.decision == SAME_AS,
        pair.first_id == Initiative.id,
        shown.id == pair.second_id,
        shown.moderation_state == "published",
        shown.origin.is_(None),
    )
    return and_(Initiative.origin.is_not(None), or_(behind_first, behind_second))


def not_shadowed() -> ColumnElement[bool]:
    """Initiatives not hidden behind a sameAs twin (the condition of every listing)."""
    return Initiative.id.not_in(shadowed_ids())


async def any_shadowed(session: AsyncSession) -> bool:
    """Whether some initiative is hidden: fast paths that count whole tables check it."""
    return bool(await session.scalar(select(exists().where(DuplicateDecision.decision == SAME_AS))))


async def hidden_ids(session: AsyncSession) -> set[int]:
    return set(await session.scalars(shadowed_ids()))


async def _resolve(session: AsyncSession, uri: str) -> int | None:
    """The initiative a sameAs URI names here: a stored remote one by its URI, or a local
    one by its page's path when the host is none of the remote origins we know."""
    found = await session.scalar(select(Initiative.id).where(Initiative.uri == uri))
    if found is not None:
        return found
    parts = urlsplit(uri)
    match = _LOCAL_PATH.match(parts.path)
    if not match or not parts.hostname:
        return None
    remote = await session.scalar(
        select(exists().where(Initiative.origin == parts.hostname.lower()))
    )
    if remote:
        return None
    return await session.scalar(
        select(Initiative.id).where(Initiative.slug == match.group(1), Initiative.origin.is_(None))
    )


async def link_twins(
    session: AsyncSession, initiative_id: int, same_as: Sequence[str] | None
) -> list[int]:
    """Record a sameAs link for each initiative `same_as` names that we hold; their ids."""
    linked = []
    for uri in dict.fromkeys(same_as or []):
        twin = await _resolve(session, uri) if isinstance(uri, str) else None
        if twin is None or twin == initiative_id:
            continue
        await link(session, initiative_id, twin, note=f"sameAs {uri}")
        linked.append(twin)
    return linked


async def link(
    session: AsyncSession, first_id: int, second_id: int, *, person_id: int | None = None,
    note: str = "",
) -> None:  # fmt: skip
    """Store that these two are the same, unless a decision about the pair exists already."""
    a, b = min(first_id, second_id), max(first_id, second_id)
    known = await session.scalar(
        select(exists().where(DuplicateDecision.first_id == a, DuplicateDecision.second_id == b))
    )
    if not known:
        session.add(
            DuplicateDecision(
                first_id=a, second_id=b, decision=SAME_AS, person_id=person_id, note=note[:1000]
            )
        )
        await session.flush()
