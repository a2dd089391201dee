"""Follows in both directions: remote actors following ours, ours following theirs.

Query functions; they never commit.
"""

from __future__ import annotations

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from directory.models import utcnow
from federation.flow_models import Follower, Following


async def add_follower(
    session: AsyncSession,
    *,
    actor_name: str,
    remote_actor_uri: str,
    remote_host: str,
    inbox: str,
    shared_inbox: str = "",
    state: str = "accepted",
    follow_activity_id: str = "",
) -> Follower:
    """Record (or refresh) a remote follower of one of our actors."""
    follower = await session.scalar(
        select(Follower).where(
            Follower.actor_name == actor_name, Follower.remote_actor_uri == remote_actor_uri
        )
    )
    if follower is None:
        follower = Follower(actor_name=actor_name, remote_actor_uri=remote_actor_uri)
        session.add(follower)
    follower.remote_host = remote_host
    follower.inbox = inbox
    follower.shared_inbox = shared_inbox
    follower.state = state
    follower.follow_activity_id = follow_activity_id
    await session.flush()
    return follower


async def remove_follower(session: AsyncSession, *, actor_name: str, remote_actor_uri: str) -> bool:
    """Forget a follower; True when there was one."""
    result = await session.execute(
        delete(Follower).where(
            Follower.actor_name == actor_name, Follower.remote_actor_uri == remote_actor_uri
        )
    )
    return bool(result.rowcount)


async def followers_of(
    session: AsyncSession, actor_name: str | None = None, *, state: str | None = "accepted"
) -> list[Follower]:
    """Followers of one actor (or all), oldest first."""
    query = select(Follower).order_by(Follower.id)
    if actor_name is not None:
        query = query.where(Follower.actor_name == actor_name)
    if state is not None:
        query = query.where(Follower.state == state)
    return list(await session.scalars(query))


async def follows_by(session: AsyncSession, remote_actor_uri: str) -> list[Follower]:
    """Every follow a remote actor has of our actors (any state)."""
    return list(
        await session.scalars(select(Follower).where(Follower.remote_actor_uri == remote_actor_uri))
    )


async def delivery_inboxes(session: AsyncSession, actor_names: list[str]) -> list[str]:
    """Distinct inboxes reaching every accepted follower of these actors (shared first)."""
    rows = await session.execute(
        select(Follower.shared_inbox, Follower.inbox).where(
            Follower.actor_name.in_(actor_names), Follower.state == "accepted"
        )
    )
    return sorted({shared or inbox for shared, inbox in rows})


async def add_following(
    session: AsyncSession, *, remote_actor_uri: str, remote_host: str, inbox: str, follow_id: str
) -> Following:
    """Record a Follow we send (pending until the remote side accepts)."""
    following = await get_following(session, remote_actor_uri)
    if following is None:
        following = Following(remote_actor_uri=remote_actor_uri, follow_activity_id=follow_id)
        session.add(following)
    following.remote_host = remote_host
    following.inbox = inbox
    following.follow_activity_id = follow_id
    following.state = "pending"
    following.accepted_at = None
    await session.flush()
    return following


async def get_following(session: AsyncSession, remote_actor_uri: str) -> Following | None:
    return await session.scalar(
        select(Following).where(Following.remote_actor_uri == remote_actor_uri)
    )


async def following_by_follow_id(session: AsyncSession, follow_id: str) -> Following | None:
    return await session.scalar(select(Following).where(Following.follow_activity_id == follow_id))


async def mark_following(session: AsyncSession, following: Following, state: str) -> None:
    """Accepted (starts the backfill) or rejected."""
    following.state = state
    if state == "accepted":
        following.accepted_at = utcnow()
        following.backfill_state = "pending"
        following.backfill_cursor = ""
    await session.flush()


async def following_list(session: AsyncSession) -> list[Following]:
    return list(await session.scalars(select(Following).order_by(Following.id)))


async def remove_following(session: AsyncSession, remote_actor_uri: str) -> Following | None:
    following = await get_following(session, remote_actor_uri)
    if following is not None:
        await session.delete(following)
        await session.flush()
    return following
