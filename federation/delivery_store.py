"""Outgoing activities and their deliveries as rows: enqueue, claim, record outcomes.

Claiming uses `FOR UPDATE SKIP LOCKED` on PostgreSQL so that any number of workers share
the queue; on SQLite one in-process worker claims (the database serialises writers). A
claimed row carries a lease (`locked_until`); a worker that dies mid-batch leaves rows
whose lease expires, and another worker takes them again. Functions never commit.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

import orjson
from sqlalchemy import func, insert, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from directory.models import utcnow
from federation.flow_models import Delivery, DeliveryAttempt, OutboxActivity
from federation.leases import lease_ids
from federation.signatures import digest_header
from federation.urls import host_of

LEASE = timedelta(minutes=2)


async def enqueue_activity(
    session: AsyncSession,
    activity: dict,
    *,
    actor_name: str,
    inboxes: Sequence[str],
    object_uri: str = "",
    now: datetime | None = None,
) -> OutboxActivity:
    """Store an activity (rendered and digested once) and one delivery per distinct inbox."""
    body = orjson.dumps(activity)
    row = OutboxActivity(
        activity_id=activity["id"],
        activity_type=activity.get("type", ""),
        actor_name=actor_name,
        object_uri=object_uri,
        body=body.decode(),
        digest=digest_header(body),
    )
    session.add(row)
    await session.flush()
    now = now or utcnow()
    targets = sorted(set(inboxes))
    for start in range(0, len(targets), 1000):
        await session.execute(
            insert(Delivery),
            [
                {
                    "activity_pk": row.id,
                    "inbox": inbox,
                    "host": host_of(inbox),
                    "state": "pending",
                    "attempts": 0,
                    "next_attempt_at": now,
                    "last_error": "",
                    "created_at": now,
                }
                for inbox in targets[start : start + 1000]
            ],
        )
    return row


@dataclass(frozen=True)
class ClaimedDelivery:
    """What a worker needs to send one delivery, read once at claim time."""

    id: int
    inbox: str
    host: str
    attempts: int
    created_at: datetime
    activity_pk: int
    actor_name: str
    body: bytes
    digest: str


async def claim_deliveries(
    session: AsyncSession, *, limit: int = 100, now: datetime | None = None
) -> list[ClaimedDelivery]:
    """Take up to `limit` due deliveries under a lease; commit right after to publish it."""
    now = now or utcnow()
    due = (
        select(Delivery.id)
        .where(
            Delivery.state == "pending",
            Delivery.next_attempt_at <= now,
            or_(Delivery.locked_until.is_(None), Delivery.locked_until < now),
        )
        .order_by(Delivery.next_attempt_at, Delivery.id)
        .limit(limit)
    )
    ids = await lease_ids(session, Delivery, due, now=now, lease=LEASE)
    if not ids:
        return []
    rows = (
        await session.execute(
            select(
                Delivery.id,
                Delivery.inbox,
                Delivery.host,
                Delivery.attempts,
                Delivery.created_at,
                Delivery.activity_pk,
            )
            .where(Delivery.id.in_(ids))
            .order_by(Delivery.id)
        )
    ).all()
    # A fan-out claims many rows of one activity: its body is read (and encoded) once.
    activities = {
        pk: (actor_name, body.encode(), digest)
        for pk, actor_name, body, digest in await session.execute(
            select(
                OutboxActivity.id,
                OutboxActivity.actor_name,
                OutboxActivity.body,
                OutboxActivity.digest,
            ).where(OutboxActivity.id.in_({r[5] for r in rows}))
        )
    }
    return [
        ClaimedDelivery(
            id=r[0],
            inbox=r[1],
            host=r[2],
            attempts=r[3],
            created_at=r[4],
            activity_pk=r[5],
            actor_name=activities[r[5]][0],
            body=activities[r[5]][1],
            digest=activities[r[5]][2],
        )
        for r in rows
    ]


@dataclass(frozen=True)
class Outcome:
    """The result of one attempt and what it means for the delivery's next state."""

    delivery_id: int
    state: str  # done | pending (retry) | failed | gave_up
    status: int | None
    error: str
    duration_ms: int
    next_attempt_at: datetime | None = None


async def record_outcomes(
    session: AsyncSession, outcomes: Sequence[Outcome], *, now: datetime | None = None
) -> None:
    """Write each attempt and move each delivery on; batched (one statement per kind)."""
    if not outcomes:
        return
    now = now or utcnow()
    await session.execute(
        insert(DeliveryAttempt.__table__),  # Core: no ORM bookkeeping per attempt row
        [
            {
                "delivery_id": o.delivery_id,
                "attempted_at": now,
                "status": o.status,
                "error": o.error[:1000],
                "duration_ms": o.duration_ms,
            }
            for o in outcomes
        ],
    )
    done = [o for o in outcomes if o.state == "done"]
    # The common case, success, in one statement per status code.
    for status in {o.status for o in done}:
        await session.execute(
            update(Delivery)
            .where(Delivery.id.in_([o.delivery_id for o in done if o.status == status]))
            .values(
                state="done",
                attempts=Delivery.attempts + 1,
                locked_until=None,
                last_status=status,
                last_error="",
                delivered_at=now,
            )
        )
    for o in outcomes:
        if o.state == "done":
            continue
        values: dict[str, object] = {
            "state": o.state,
            "attempts": Delivery.attempts + 1,
            "locked_until": None,
            "last_status": o.status,
            "last_error": o.error[:1000],
        }
        if o.next_attempt_at is not None:
            values["next_attempt_at"] = o.next_attempt_at
        await session.execute(update(Delivery).where(Delivery.id == o.delivery_id).values(values))


async def delivery_counts(session: AsyncSession) -> dict[str, int]:
    """Deliveries by state (for metrics and the admin page)."""
    rows = await session.execute(select(Delivery.state, func.count()).group_by(Delivery.state))
    return {state: count for state, count in rows}


async def pending_deliveries(session: AsyncSession) -> int:
    """How many deliveries are due or waiting for a retry."""
    return int(
        await session.scalar(
            select(func.count()).select_from(Delivery).where(Delivery.state == "pending")
        )
        or 0
    )


async def deliveries_for_inbox(session: AsyncSession, inbox: str) -> list[Delivery]:
    return list(
        await session.scalars(select(Delivery).where(Delivery.inbox == inbox).order_by(Delivery.id))
    )


async def attempts_of(session: AsyncSession, delivery_id: int) -> list[DeliveryAttempt]:
    return list(
        await session.scalars(
            select(DeliveryAttempt)
            .where(DeliveryAttempt.delivery_id == delivery_id)
            .order_by(DeliveryAttempt.id)
        )
    )
