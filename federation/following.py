"""Our territory actor following another instance (and stopping): `maillage follow`."""

from __future__ import annotations

from typing import TYPE_CHECKING

from sqlalchemy.ext.asyncio import AsyncSession

from directory.errors import NotFound
from federation import follows, instances, keys, render
from federation.delivery_store import enqueue_activity
from federation.fetch import Fetcher, FetchError
from federation.flow_models import Following
from federation.nodeinfo import nodeinfo_document
from federation.remote import fetch_actor
from federation.urls import Urls, host_of

if TYPE_CHECKING:
    from web.settings import Settings


async def resolve_target(fetcher: Fetcher, target: str) -> str:
    """The actor URI of `user@host`, `@user@host`, an actor URL, or a bare host.

    For a bare host, the Maillage territory actor is the one its NodeInfo names
    (`metadata.territory.actor`).
    """
    value = target.strip()
    if value.startswith(("https://", "http://")):
        return value
    if "@" in value.lstrip("@"):
        return await fetcher.webfinger(value)
    host = instances.normalise_domain(value)
    document = await nodeinfo_document(fetcher, host)
    metadata = document.get("metadata") or {}
    territory = metadata.get("territory") if isinstance(metadata, dict) else None
    actor = territory.get("actor") if isinstance(territory, dict) else None
    if not isinstance(actor, str) or host_of(actor) != host:
        raise FetchError(f"{host} does not name its territory actor (is it a Maillage instance?)")
    return actor


async def follow(
    session: AsyncSession, settings: Settings, fetcher: Fetcher, actor_uri: str
) -> Following:
    """Send Follow from our territory actor to `actor_uri`; its instance gets trust publish."""
    urls = Urls.of(settings)
    host = host_of(actor_uri)
    if await instances.is_blocked(session, host):
        raise FetchError(f"{host} est bloqué")
    remote = await fetch_actor(session, fetcher, actor_uri)
    territory = await keys.territory_actor(session, settings)
    activity = render.follow(render.new_activity_id(urls), urls.actor(territory.name), remote.uri)
    following = await follows.add_following(
        session,
        remote_actor_uri=remote.uri,
        remote_host=host,
        inbox=remote.inbox,
        follow_id=activity["id"],
    )
    instance = await instances.get_or_create_instance(session, host)
    instance.actor_uri = remote.uri
    if instance.trust == "hold":
        # Following an instance is choosing to carry its initiatives; `maillage trust` changes it.
        instance.trust = "publish"
    await enqueue_activity(
        session, activity, actor_name=territory.name, inboxes=[remote.inbox], object_uri=remote.uri
    )
    return following


async def unfollow(session: AsyncSession, settings: Settings, actor_uri: str) -> None:
    """Send Undo{Follow} and forget the follow (initiatives already received stay)."""
    urls = Urls.of(settings)
    following = await follows.get_following(session, actor_uri)
    if following is None:
        raise NotFound(f"nous ne suivons pas {actor_uri}")
    territory = await keys.territory_actor(session, settings)
    actor = urls.actor(territory.name)
    original = render.follow(following.follow_activity_id, actor, actor_uri)
    activity = render.undo(render.new_activity_id(urls), actor, original)
    if following.inbox:
        await enqueue_activity(
            session, activity, actor_name=territory.name, inboxes=[following.inbox]
        )
    await follows.remove_following(session, actor_uri)


async def decide_follower(
    session: AsyncSession,
    settings: Settings,
    actor_name: str,
    remote_actor_uri: str,
    *,
    accept: bool,
) -> None:
    """Accept or reject a follow waiting on a locked actor (manuallyApprovesFollowers)."""
    urls = Urls.of(settings)
    pending = [
        f
        for f in await follows.follows_by(session, remote_actor_uri)
        if f.actor_name == actor_name and f.state == "pending"
    ]
    if not pending:
        raise NotFound(f"pas de demande d'abonnement de {remote_actor_uri} à {actor_name}")
    follower = pending[0]
    actor = urls.actor(actor_name)
    follow_activity = {
        "id": follower.follow_activity_id,
        "type": "Follow",
        "actor": remote_actor_uri,
        "object": actor,
    }
    answer = render.accept if accept else render.reject
    activity = answer(render.new_activity_id(urls), actor, follow_activity)
    if accept:
        follower.state = "accepted"
    else:
        await follows.remove_follower(
            session, actor_name=actor_name, remote_actor_uri=remote_actor_uri
        )
    await enqueue_activity(session, activity, actor_name=actor_name, inboxes=[follower.inbox])
