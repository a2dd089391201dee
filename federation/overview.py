"""What the admin's federation page shows: each remote instance with its follows in both
directions and its delivery health. Query functions over the flow tables; never commit.

(Written by the web contribution area on top of federation/flow_models.py.)
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from federation.flow_models import Delivery, DomainBlock, Follower, Following, RemoteInstance


@dataclass
class InstanceOverview:
    host: str
    software: str = ""
    software_version: str = ""
    trust: str = "hold"
    last_contact_at: datetime | None = None
    last_error: str = ""
    last_error_at: datetime | None = None
    error_count: int = 0
    known: bool = False  # a remote_instances row exists
    following: list[Following] = field(default_factory=list)  # we follow them
    followers: list[Follower] = field(default_factory=list)  # they follow us
    deliveries: dict[str, int] = field(default_factory=dict)  # state -> count
    recent_failure: str = ""


async def overview(session: AsyncSession) -> list[InstanceOverview]:
    """Every instance we know, follow or are followed by, sorted by host."""
    rows: dict[str, InstanceOverview] = {}

    def of(host: str) -> InstanceOverview:
        return rows.setdefault(host, InstanceOverview(host=host))

    for remote in await session.scalars(select(RemoteInstance)):
        item = of(remote.host)
        item.software, item.trust, item.known = remote.software, remote.trust, True
        item.software_version = remote.software_version
        item.last_contact_at, item.last_error = remote.last_contact_at, remote.last_error
        item.last_error_at, item.error_count = remote.last_error_at, remote.error_count
    for following in await session.scalars(select(Following).order_by(Following.id)):
        of(following.remote_host).following.append(following)
    for follower in await session.scalars(select(Follower).order_by(Follower.id)):
        of(follower.remote_host).followers.append(follower)
    counts = await session.execute(
        select(Delivery.host, Delivery.state, func.count()).group_by(Delivery.host, Delivery.state)
    )
    for host, state, count in counts.all():
        of(host).deliveries[state] = count
    failures = await session.execute(
        select(Delivery.host, Delivery.last_error)
        .where(Delivery.last_error != "")
        .order_by(Delivery.id.desc())
        .limit(200)
    )
    for host, error in failures.all():
        if host in rows and not rows[host].recent_failure:
            rows[host].recent_failure = error
    return [rows[host] for host in sorted(rows)]


async def blocks(session: AsyncSession) -> list[DomainBlock]:
    return list(await session.scalars(select(DomainBlock).order_by(DomainBlock.domain)))
