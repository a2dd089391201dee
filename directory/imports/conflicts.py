"""Conflicts between a source's change and a local edit: listed, then decided by a moderator."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from directory.errors import Conflict, NotFound
from directory.imports.models import ImportConflict
from directory.initiatives import Author, get_initiative, update_initiative
from directory.messages import N_
from directory.models import utcnow


async def open_conflicts(session: AsyncSession, limit: int = 200) -> list[ImportConflict]:
    return list(
        await session.scalars(
            select(ImportConflict)
            .where(ImportConflict.state == "open")
            .order_by(ImportConflict.id)
            .limit(limit)
        )
    )


async def resolve_conflict(
    session: AsyncSession, conflict_id: int, *, take_source: bool, author: Author
) -> ImportConflict:
    """Keep the local values, or apply the source's (with a revision)."""
    conflict = await session.get(ImportConflict, conflict_id)
    if conflict is None:
        raise NotFound(N_("conflit %(conflict_id)s introuvable", conflict_id=conflict_id))
    if conflict.state != "open":
        raise Conflict(N_("ce conflit est déjà réglé (%(state)s)", state=conflict.state))
    if take_source:
        initiative = await get_initiative(session, conflict.initiative_id)
        await update_initiative(
            session,
            initiative,
            {field: values[1] for field, values in conflict.fields.items()},
            author=author,
            action="import",
            message=f"conflit n°{conflict.id} : valeurs de la source {conflict.source_key}",
        )
    conflict.state = "took_source" if take_source else "kept_local"
    conflict.resolved_at = utcnow()
    await session.flush()
    return conflict
