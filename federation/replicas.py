"""What we keep of remote objects beside their fields: their links, and curated collections.

The inbox stores a remote initiative's fields (inbox.InboxProcessor.store_remote); this
module keeps its relations as its origin states them, and stores or removes copies of
remote curated collections under the origin rule (only the collection's origin changes it).
"""

from __future__ import annotations

import logging
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from directory import collections, relations
from directory.errors import Conflict, ValidationError
from directory.models import Initiative
from directory.models_collections import Collection
from federation import instances
from federation.fetch import Fetcher
from federation.parse import ParsedInitiative, ParseError, as_list, id_of, parse_collection
from federation.urls import Urls, host_of, same_origin

log = logging.getLogger("maillage.replicas")


class NotOurs(Exception):
    """The document speaks for an object its sender does not own."""


async def keep_links(
    session: AsyncSession,
    initiative: Initiative,
    parsed: ParsedInitiative,
    urls: Urls,
    *,
    created: bool,
) -> None:
    """Store the remote initiative's relations as its origin states them."""
    if parsed.structured and (parsed.relations or not created):
        links = [
            (kind, target, parsed.relation_notes.get((kind, target), ""))
            for kind, target in parsed.relations
        ]
        await relations.replace_remote_relations(
            session, initiative, links, local_base_url=urls.base
        )


async def store_collection(
    session: AsyncSession, document: dict[str, Any], origin: str, urls: Urls
) -> tuple[Collection, bool]:
    """Create or refresh our copy of a remote collection sent by `origin`."""
    parsed = parse_collection(document)
    if host_of(parsed.uri) != origin:
        raise NotOurs(f"la collection {parsed.uri} n'est pas sur {origin}")
    if parsed.attributed_to and host_of(parsed.attributed_to) != origin:
        raise NotOurs(f"la collection {parsed.uri} est attribuée à un autre hôte")
    try:
        return await collections.replace_remote(
            session,
            uri=parsed.uri,
            origin=origin,
            name=parsed.name,
            summary=parsed.summary,
            items=parsed.items,
            local_base_url=urls.base,
        )
    except Conflict as exc:
        raise NotOurs(str(exc)) from exc


async def remove_collection(session: AsyncSession, uri: str, origin: str) -> Collection | None:
    """Our copy of the collection at `uri` goes, if `origin` owns it; None if unknown."""
    collection = await collections.get_by_uri(session, uri)
    if collection is None:
        return None
    if collection.origin != origin:
        raise NotOurs("seule l'instance d'origine peut supprimer cette collection")
    if collection.deleted_at is None:
        await collections.remove_remote(session, collection)
    return collection


async def backfill_collections(
    session: AsyncSession, fetcher: Fetcher, actor_document: dict[str, Any], urls: Urls
) -> int:
    """Store the curated collections a followed territory actor lists (after the
    initiatives' backfill); how many. Only from an instance whose content we publish."""
    actor_uri = id_of(actor_document.get("id")) or ""
    listing = id_of(actor_document.get("curatedCollections"))
    origin = host_of(actor_uri)
    if not listing or not same_origin(listing, actor_uri):
        return 0
    if await instances.trust_of(session, origin) != "publish":
        return 0
    document = await fetcher.document(listing)
    stored = 0
    for item in as_list(document.get("orderedItems"))[:200]:
        if not isinstance(item, dict):
            continue
        try:
            async with session.begin_nested():
                await store_collection(session, item, origin, urls)
            stored += 1
        except (NotOurs, ParseError, ValidationError) as exc:
            log.info("collection %s skipped: %s", id_of(item.get("id")), exc)
    return stored
