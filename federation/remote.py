"""The cache of remote actors, and the key resolver signature verification is given.

Refresh rules: an actor is refetched when its copy is older than ACTOR_TTL, or when a
signature fails with the cached key (key rotation) — but not more than once per
REFRESH_COOLDOWN, so forged signatures cannot make us hammer a server. Queries never
commit: the caller owns the unit of work.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from directory.models import utcnow
from federation.fetch import Fetcher, FetchError
from federation.models import RemoteActor
from federation.parse import ParsedActor, ParseError, has_type, id_of, parse_actor
from federation.signatures import KeyResolver, PublicKey, SignatureError
from federation.urls import same_origin

ACTOR_TTL = timedelta(days=1)
REFRESH_COOLDOWN = timedelta(minutes=1)


async def get_remote_actor(session: AsyncSession, uri: str) -> RemoteActor | None:
    return (
        await session.execute(select(RemoteActor).where(RemoteActor.uri == uri))
    ).scalar_one_or_none()


async def remote_actor_by_key(session: AsyncSession, key_id: str) -> RemoteActor | None:
    return (
        await session.execute(select(RemoteActor).where(RemoteActor.public_key_id == key_id))
    ).scalar_one_or_none()


def is_stale(actor: RemoteActor, now: datetime | None = None) -> bool:
    return (now or utcnow()) - _aware(actor.fetched_at) > ACTOR_TTL


def _aware(moment: datetime) -> datetime:
    # SQLite hands back naive datetimes; they were written in UTC.

    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


async def store_remote_actor(
    session: AsyncSession, parsed: ParsedActor, document: dict[str, Any]
) -> RemoteActor:
    """Insert or refresh the cached copy of an actor."""
    actor = await get_remote_actor(session, parsed.uri)
    if actor is None:
        actor = RemoteActor(uri=parsed.uri)
        session.add(actor)
    key = parsed.keys[0] if parsed.keys else None
    actor.host = parsed.host
    actor.ap_type = parsed.type
    actor.preferred_username = parsed.preferred_username
    actor.name = parsed.name
    actor.inbox = parsed.inbox
    actor.shared_inbox = parsed.shared_inbox
    actor.outbox = parsed.outbox
    actor.followers = parsed.followers
    actor.initiatives = parsed.initiatives
    actor.public_key_id = key.key_id if key else ""
    actor.public_key_pem = key.pem if key else ""
    actor.document = {k: v for k, v in document.items() if k != "@context"}
    actor.fetched_at = utcnow()
    actor.gone = False
    await session.flush()
    return actor


async def fetch_actor(
    session: AsyncSession, fetcher: Fetcher, uri: str, *, refresh: bool = False
) -> RemoteActor:
    """The actor at `uri`: from the cache when fresh, else fetched, checked and stored."""
    actor = await get_remote_actor(session, uri)
    if actor is not None and not actor.gone and not refresh and not is_stale(actor):
        return actor
    if actor is not None and refresh and utcnow() - _aware(actor.fetched_at) < REFRESH_COOLDOWN:
        return actor
    try:
        document = await fetcher.document(uri)
    except FetchError as exc:
        if exc.gone and actor is not None:
            actor.gone = True
        raise
    try:
        parsed = parse_actor(document)
    except ParseError as exc:
        raise FetchError(f"{uri} is not a usable actor: {exc.reason}") from exc
    if not same_origin(parsed.uri, uri):
        raise FetchError(f"{uri} answered with an actor of another origin ({parsed.uri})")
    return await store_remote_actor(session, parsed, document)


def _document_key(actor: RemoteActor, key_id: str) -> PublicKey | None:
    if actor.public_key_id == key_id and actor.public_key_pem:
        return PublicKey(key_id=key_id, owner=actor.uri, pem=actor.public_key_pem)
    try:
        parsed = parse_actor(actor.document | {"id": actor.uri})
    except ParseError:
        return None
    key = parsed.key(key_id)
    if key is None or key.owner != actor.uri:
        return None
    return PublicKey(key_id=key_id, owner=actor.uri, pem=key.pem)


async def resolve_key(
    session: AsyncSession, fetcher: Fetcher, key_id: str, *, refresh: bool = False
) -> PublicKey | None:
    """The public key `key_id` names, with the actor that owns it (who lists it).

    A key document on its own (`owner` + `publicKeyPem`) is only believed when the owner's
    actor document lists the same key id.
    """
    cached = await remote_actor_by_key(session, key_id)
    if cached is not None and not cached.gone and not refresh and not is_stale(cached):
        return _document_key(cached, key_id)
    if cached is not None:
        try:
            actor = await fetch_actor(session, fetcher, cached.uri, refresh=True)
        except FetchError as exc:
            raise SignatureError(f"cannot fetch key {key_id}: {exc.reason}") from exc
        return _document_key(actor, key_id)
    try:
        document = await fetcher.document(key_id)
    except FetchError as exc:
        raise SignatureError(f"cannot fetch key {key_id}: {exc.reason}") from exc
    if has_type(document, "Person", "Service", "Application", "Group", "Organization"):
        owner_uri = id_of(document.get("id")) or ""
    else:
        owner_uri = id_of(document.get("owner")) or id_of(document.get("controller")) or ""
    if not owner_uri or not same_origin(owner_uri, key_id):
        raise SignatureError(f"key {key_id} names no owner on its own origin")
    try:
        if owner_uri == id_of(document.get("id")):
            parsed = parse_actor(document)
            actor = await store_remote_actor(session, parsed, document)
        else:
            actor = await fetch_actor(session, fetcher, owner_uri, refresh=True)
    except (ParseError, FetchError) as exc:
        raise SignatureError(f"cannot use key {key_id}: {exc.reason}") from exc
    return _document_key(actor, key_id)


def key_resolver(session: AsyncSession, fetcher: Fetcher) -> KeyResolver:
    """A KeyResolver for verify_request bound to one session and fetcher."""

    async def resolve(key_id: str, refresh: bool) -> PublicKey | None:
        return await resolve_key(session, fetcher, key_id, refresh=refresh)

    return resolve
