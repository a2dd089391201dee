"""Inbox items as rows: store on arrival, claim for processing, mark the outcome, list.

Functions never commit. A refused request is recorded (state "refused", reason, no body)
so that an admin sees what was turned away and why.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import func, insert, or_, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from directory.models import utcnow
from federation.flow_models import InboxItem, SeenActivity
from federation.leases import lease_ids

LEASE = timedelta(minutes=5)
MAX_ATTEMPTS = 5


def _str(value: object, limit: int) -> str:
    return value[:limit] if isinstance(value, str) else ""


def item_row(activity: dict, body: str, *, key_owner: str, recipient: str = "") -> dict:
    """The columns of a verified activity's inbox item (for store_items)."""
    return {
        "activity_id": _str(activity.get("id"), 500),
        "activity_type": _str(activity.get("type"), 40),
        "actor_uri": _str(activity.get("actor"), 500),
        "key_owner": key_owner[:500],
        "recipient": recipient[:120],
        "body": body,
        "state": "pending",
        "reason": "",
        "attempts": 0,
        "received_at": utcnow(),
    }


async def store_items(session: AsyncSession | AsyncConnection, rows: list[dict]) -> None:
    """Insert several verified activities in one statement (the inbox's group commit).

    A Core insert on the table: the ORM's bulk path costs more per row than the insert
    itself on a busy inbox, and nothing here needs the objects back."""
    await session.execute(insert(InboxItem.__table__), rows)


async def record_refusal(
    session: AsyncSession,
    reason: str,
    *,
    activity: dict | None = None,
    recipient: str = "",
    key_owner: str = "",
) -> InboxItem:
    """A visible trace of a refused request: who claimed to send what, and why; no body."""
    activity = activity or {}
    item = InboxItem(
        activity_id=_str(activity.get("id"), 500),
        activity_type=_str(activity.get("type"), 40),
        actor_uri=_str(activity.get("actor"), 500),
        key_owner=key_owner[:500],
        recipient=recipient[:120],
        body=None,
        state="refused",
        reason=reason[:1000],
        processed_at=utcnow(),
    )
    session.add(item)
    await session.flush()
    return item


async def claim_items(
    session: AsyncSession, *, limit: int = 50, now: datetime | None = None
) -> list[InboxItem]:
    """Take pending items under a lease (SKIP LOCKED on PostgreSQL); commit to publish it."""
    now = now or utcnow()
    due = (
        select(InboxItem.id)
        .where(
            InboxItem.state == "pending",
            or_(InboxItem.next_attempt_at.is_(None), InboxItem.next_attempt_at <= now),
            or_(InboxItem.locked_until.is_(None), InboxItem.locked_until < now),
        )
        .order_by(InboxItem.id)
        .limit(limit)
    )
    ids = await lease_ids(session, InboxItem, due, now=now, lease=LEASE)
    if not ids:
        return []
    return list(
        await session.scalars(select(InboxItem).where(InboxItem.id.in_(ids)).order_by(InboxItem.id))
    )


async def finish_item(
    session: AsyncSession,
    item_id: int,
    state: str,
    reason: str = "",
    *,
    now: datetime | None = None,
) -> None:
    """Mark an item done, ignored (with the reason) or refused."""
    await session.execute(
        update(InboxItem)
        .where(InboxItem.id == item_id)
        .values(
            state=state,
            reason=reason[:1000],
            locked_until=None,
            processed_at=now or utcnow(),
            attempts=InboxItem.attempts + 1,
        )
    )


async def retry_item(
    session: AsyncSession, item_id: int, error: str, *, attempts: int, when: datetime
) -> None:
    """A processing failure (peer unreachable...): try later, or mark failed after a few."""
    values: dict[str, object] = {
        "attempts": attempts,
        "reason": error[:1000],
        "locked_until": None,
        "next_attempt_at": when,
    }
    if attempts >= MAX_ATTEMPTS:
        values.update(state="failed", processed_at=utcnow())
    await session.execute(update(InboxItem).where(InboxItem.id == item_id).values(values))


async def first_time(session: AsyncSession, activity_id: str) -> bool:
    """Record an activity id as processed; False when it had been seen before."""
    if not activity_id:
        return True
    insert = pg_insert if session.bind.dialect.name == "postgresql" else sqlite_insert
    result = await session.execute(
        insert(SeenActivity)
        .values(activity_id=activity_id[:500], seen_at=utcnow())
        .on_conflict_do_nothing(index_elements=["activity_id"])
    )
    return bool(result.rowcount)


async def list_items(
    session: AsyncSession, *, state: str | None = None, limit: int = 100
) -> list[InboxItem]:
    """Latest inbox items, optionally by state ("ignored", "refused"...): the admin listing."""
    query = select(InboxItem).order_by(InboxItem.id.desc()).limit(limit)
    if state is not None:
        query = query.where(InboxItem.state == state)
    return list(await session.scalars(query))


async def item_counts(session: AsyncSession) -> dict[str, int]:
    rows = await session.execute(select(InboxItem.state, func.count()).group_by(InboxItem.state))
    return {state: count for state, count in rows}
