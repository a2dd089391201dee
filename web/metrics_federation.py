"""Federation gauges for /metrics: deliveries and inbox items by state, the oldest due
delivery's age, follows both ways (read from the database, like every gauge)."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from directory.models import utcnow
from federation import delivery_store, inbox_store
from federation.flow_models import Delivery, Follower, Following
from federation.retry import aware
from web.metrics import Gauge


async def gauges(session: AsyncSession) -> list[Gauge]:
    deliveries = Gauge("maillage_deliveries", "Outgoing deliveries by state.")
    for state, count in (await delivery_store.delivery_counts(session)).items():
        deliveries.samples.append(({"state": state}, count))
    inbox = Gauge("maillage_inbox_items", "Received activities by state.")
    for state, count in (await inbox_store.item_counts(session)).items():
        inbox.samples.append(({"state": state}, count))
    lag = Gauge("maillage_delivery_lag_seconds", "Age of the oldest pending delivery now due.")
    now = utcnow()
    oldest = await session.scalar(
        select(func.min(Delivery.next_attempt_at)).where(
            Delivery.state == "pending", Delivery.next_attempt_at <= now
        )
    )
    lag.samples.append(({}, max(0.0, (now - aware(oldest)).total_seconds()) if oldest else 0.0))
    followers = Gauge("maillage_followers", "Remote followers of our actors, by state.")
    rows = await session.execute(select(Follower.state, func.count()).group_by(Follower.state))
    followers.samples.extend(({"state": state}, count) for state, count in rows)
    following = Gauge("maillage_following", "Actors our territory actor follows, by state.")
    rows = await session.execute(select(Following.state, func.count()).group_by(Following.state))
    following.samples.extend(({"state": state}, count) for state, count in rows)
    return [deliveries, inbox, lag, followers, following]
