"""Our actors and their RSA-2048 keys, created lazily and idempotently in the database."""

from __future__ import annotations

from typing import TYPE_CHECKING

from bovine.crypto import generate_rsa_public_private_key
from bovine.crypto.types import CryptographicSecret
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from directory.models import Theme
from federation.models import INSTANCE, TERRITORY, THEME, LocalActor
from federation.urls import INSTANCE_ACTOR, Urls

if TYPE_CHECKING:
    from web.settings import Settings


class ActorNameClash(ValueError):
    """The territory username collides with the instance actor or a core theme actor."""


def generate_key_pair() -> tuple[str, str]:
    """A new RSA-2048 key pair as (public PEM, private PEM)."""
    return generate_rsa_public_private_key()


async def local_actors(session: AsyncSession) -> list[LocalActor]:
    """All our actors, instance first, then territory, then themes by name."""
    rows = (await session.execute(select(LocalActor))).scalars().all()
    order = {INSTANCE: 0, TERRITORY: 1, THEME: 2}
    return sorted(rows, key=lambda a: (order.get(a.kind, 3), a.name))


async def get_local_actor(session: AsyncSession, name: str) -> LocalActor | None:
    return (
        await session.execute(select(LocalActor).where(LocalActor.name == name))
    ).scalar_one_or_none()


async def _wanted(session: AsyncSession, settings: Settings) -> list[tuple[str, str, int | None]]:
    themes = (
        (await session.execute(select(Theme).where(Theme.is_core.is_(True)).order_by(Theme.id)))
        .scalars()
        .all()
    )
    territory = settings.territory_username
    if territory == INSTANCE_ACTOR or territory in {t.slug for t in themes}:
        raise ActorNameClash(
            f"MAILLAGE_TERRITORY_USERNAME={territory!r} is already the name of another actor"
        )
    return [
        (INSTANCE_ACTOR, INSTANCE, None),
        (territory, TERRITORY, None),
        *((t.slug, THEME, t.id) for t in themes),
    ]


async def _create(session: AsyncSession, name: str, kind: str, theme_id: int | None) -> None:
    public_pem, private_pem = generate_key_pair()
    try:
        # A savepoint absorbs the race when another process creates the same actor.
        async with session.begin_nested():
            session.add(
                LocalActor(
                    name=name,
                    kind=kind,
                    theme_id=theme_id,
                    public_key_pem=public_pem,
                    private_key_pem=private_pem,
                )
            )
    except IntegrityError:
        pass  # created concurrently; the first key wins


async def ensure_actors(session: AsyncSession, settings: Settings) -> list[LocalActor]:
    """Create whichever of our actors do not exist yet (keys included); return them all."""
    existing = {a.name: a for a in await local_actors(session)}
    for name, kind, theme_id in await _wanted(session, settings):
        actor = existing.get(name)
        if actor is None:
            await _create(session, name, kind, theme_id)
        elif actor.kind != kind:
            raise ActorNameClash(f"actor {name!r} exists as a {actor.kind} actor")
    return await local_actors(session)


async def get_or_create_actor(
    session: AsyncSession, settings: Settings, name: str
) -> LocalActor | None:
    """The actor called `name`, created (alone: key generation costs ~0.1 s) if it should
    exist; None when no such actor belongs to this instance."""
    actor = await get_local_actor(session, name)
    if actor is not None:
        return actor
    for wanted, kind, theme_id in await _wanted(session, settings):
        if wanted == name:
            await _create(session, name, kind, theme_id)
            return await get_local_actor(session, name)
    return None


async def actor_by_kind(session: AsyncSession, settings: Settings, kind: str) -> LocalActor:
    """The instance or territory actor, created if needed."""
    name = INSTANCE_ACTOR if kind == INSTANCE else settings.territory_username
    actor = await get_or_create_actor(session, settings, name)
    assert actor is not None
    return actor


async def instance_actor(session: AsyncSession, settings: Settings) -> LocalActor:
    """The instance actor (signs our outgoing GETs), created if needed."""
    return await actor_by_kind(session, settings, INSTANCE)


async def territory_actor(session: AsyncSession, settings: Settings) -> LocalActor:
    """The territory actor (author of our initiatives), created if needed."""
    return await actor_by_kind(session, settings, TERRITORY)


def signing_key(actor: LocalActor, urls: Urls) -> CryptographicSecret:
    """The bovine secret that signs requests as `actor` (keyId `{actor}#main-key`)."""
    return CryptographicSecret.from_pem(urls.key_id(actor.name), actor.private_key_pem)
