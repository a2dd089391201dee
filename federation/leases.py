"""Leased claims on queue tables (deliveries, inbox items): one worker at a time per row."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Select, update
from sqlalchemy.ext.asyncio import AsyncSession


async def lease_ids(
    session: AsyncSession, model: Any, due: Select, *, now: datetime, lease: timedelta
) -> list[int]:
    """Ids selected by `due` (SKIP LOCKED on PostgreSQL), now leased until `now + lease`."""
    if session.bind.dialect.name == "postgresql":
        due = due.with_for_update(skip_locked=True)
    ids = list(await session.scalars(due))
    if ids:
        await session.execute(
            update(model).where(model.id.in_(ids)).values(locked_until=now + lease)
        )
    return ids
