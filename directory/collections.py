"""Collections: a named, ordered set of initiatives across territories, curated by référents.

E.g. "Fablabs de bibliothèques qui ont fabriqué des visières". An item is a published
initiative we hold, local or remote (relations.resolve_target says which are acceptable).
Our collections are edited here by the référent who made them and by moderators and
admins; remote ones are copies that only their origin changes (federation/replicas.py).
Functions never commit.
"""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from directory.errors import Conflict, NotEditable, NotFound, ValidationError
from directory.models import Initiative, Person, utcnow
from directory.models_collections import Collection, CollectionItem
from directory.relations import awaiting_moderation, canonical_uri, resolve_target
from directory.text import slugify
from directory.vocabulary import role_at_least

NAME_LIMIT = 200
SUMMARY_LIMIT = 1000
ITEMS_LIMIT = 500
# Path segments under /collections/ that pages use: never a collection's slug.
RESERVED_SLUGS = frozenset({"nouvelle", "flux-atom"})


@dataclass(frozen=True)
class Item:
    """One item as pages show it: the row, the published initiative when we hold it, and
    whether we hold it awaiting moderation (relations.awaiting_moderation: a remote one,
    from an instance on "hold"), or `withheld`: held here but not public (a local proposal,
    a refused or withdrawn initiative), which public pages leave out. Otherwise
    `item.fetch_state` says whether the worker is still fetching it or failed."""

    item: CollectionItem
    initiative: Initiative | None
    awaiting_moderation: bool = False
    withheld: bool = False


def may_edit(person: Person | None, collection: Collection) -> bool:
    """Moderators and admins edit every local collection; a référent, those they made."""
    if person is None or not person.active or not collection.is_local:
        return False
    if collection.deleted_at is not None:
        return False
    if role_at_least(person.role, "moderator"):
        return True
    return role_at_least(person.role, "referent") and collection.created_by_id == person.id


def may_create(person: Person | None) -> bool:
    return person is not None and person.active and role_at_least(person.role, "referent")


def _clean(name: str, summary: str) -> tuple[str, str]:
    name = " ".join((name or "").split())
    summary = (summary or "").strip().replace("\r\n", "\n")
    errors: dict[str, str] = {}
    if not name:
        errors["name"] = "obligatoire"
    elif len(name) > NAME_LIMIT:
        errors["name"] = f"{NAME_LIMIT} caractères au plus"
    if len(summary) > SUMMARY_LIMIT:
        errors["summary"] = f"{SUMMARY_LIMIT} caractères au plus"
    if errors:
        raise ValidationError(errors)
    return name, summary


async def unique_slug(session: AsyncSession, name: str) -> str:
    base = slugify(name)
    if base == "initiative":
        base = "collection"
    taken = set(
        await session.scalars(select(Collection.slug).where(Collection.slug.like(f"{base}%")))
    )
    taken |= RESERVED_SLUGS
    if base not in taken:
        return base
    for n in range(2, 1000):
        if f"{base}-{n}" not in taken:
            return f"{base}-{n}"
    return f"{base}-{secrets.token_hex(3)}"


async def create_collection(
    session: AsyncSession, *, name: str, summary: str = "", person: Person | None
) -> Collection:
    """A new, empty local collection; ValidationError with the fields at fault."""
    name, summary = _clean(name, summary)
    now = utcnow()
    collection = Collection(
        slug=await unique_slug(session, name),
        name=name,
        summary=summary,
        created_by_id=person.id if person is not None else None,
        created_at=now,
        updated_at=now,
    )
    session.add(collection)
    await session.flush()
    return collection


def _editable(collection: Collection) -> None:
    if not collection.is_local:
        raise NotEditable(f"cette collection appartient à {collection.origin}")
    if collection.deleted_at is not None:
        raise NotFound("collection supprimée")


def _touch(collection: Collection) -> None:
    collection.updated_at = utcnow()


async def update_collection(
    session: AsyncSession, collection: Collection, *, name: str, summary: str
) -> bool:
    """Rename and describe; True when something changed."""
    _editable(collection)
    name, summary = _clean(name, summary)
    if (name, summary) == (collection.name, collection.summary):
        return False
    collection.name, collection.summary = name, summary
    _touch(collection)
    await session.flush()
    return True


async def delete_collection(session: AsyncSession, collection: Collection) -> None:
    """Delete one of our collections (its id then answers with a Tombstone)."""
    _editable(collection)
    collection.deleted_at = utcnow()
    _touch(collection)
    await session.flush()


async def get_collection(session: AsyncSession, slug: str) -> Collection:
    """A collection by slug, deleted ones included (callers decide); NotFound otherwise."""
    found = await session.scalar(select(Collection).where(Collection.slug == slug))
    if found is None:
        raise NotFound("collection introuvable")
    return found


async def get_by_uri(session: AsyncSession, uri: str) -> Collection | None:
    return await session.scalar(select(Collection).where(Collection.uri == uri))


async def list_collections(session: AsyncSession) -> list[tuple[Collection, int]]:
    """Current collections (ours first, then remote ones), with their number of items."""
    count = (
        select(func.count(CollectionItem.id))
        .where(CollectionItem.collection_id == Collection.id)
        .scalar_subquery()
    )
    rows = await session.execute(
        select(Collection, count)
        .where(Collection.deleted_at.is_(None))
        .order_by(Collection.origin.is_not(None), Collection.origin, Collection.name)
    )
    return [(c, n) for c, n in rows.all()]


async def item_rows(session: AsyncSession, collection: Collection) -> list[CollectionItem]:
    return list(
        await session.scalars(
            select(CollectionItem)
            .where(CollectionItem.collection_id == collection.id)
            .order_by(CollectionItem.position, CollectionItem.id)
        )
    )


async def items_of(
    session: AsyncSession, collection: Collection, *, public: bool = False
) -> list[Item]:
    """The items in order, each with its published initiative when we hold one; `public`
    leaves out the withheld ones (for everyone's pages; the editor shows them all)."""
    rows = await session.execute(
        select(CollectionItem, Initiative)
        .outerjoin(
            Initiative,
            or_(
                Initiative.id == CollectionItem.initiative_id,
                # A remote initiative that reached us after it was listed.
                (CollectionItem.initiative_id.is_(None))
                & (Initiative.uri == CollectionItem.target_uri),
            ),
        )
        .where(CollectionItem.collection_id == collection.id)
        .order_by(CollectionItem.position, CollectionItem.id)
    )
    items = [_item(item, initiative) for item, initiative in rows.all()]
    return [i for i in items if not i.withheld] if public else items


def _item(item: CollectionItem, initiative: Initiative | None) -> Item:
    if initiative is None or initiative.moderation_state == "published":
        return Item(item, initiative)
    if awaiting_moderation(initiative):
        return Item(item, None, awaiting_moderation=True)
    return Item(item, None, withheld=True)


async def item_uris(session: AsyncSession, collection: Collection) -> list[str]:
    """The items' canonical ids, in order (what the collection's AS2 object lists)."""
    return [row.target_uri for row in await item_rows(session, collection)]


async def add_item(
    session: AsyncSession, collection: Collection, *, target: str, base_url: str
) -> CollectionItem:
    """Append a published initiative (slug, our URL or a known URI; a remote one may await
    moderation: relations.resolve_target); nothing stored on error."""
    _editable(collection)
    initiative = await resolve_target(session, target, base_url)
    uri = canonical_uri(initiative, base_url)
    rows = await item_rows(session, collection)
    if any(row.target_uri == uri for row in rows):
        raise Conflict("cette initiative est déjà dans la collection", field="target")
    if len(rows) >= ITEMS_LIMIT:
        raise ValidationError({"target": f"{ITEMS_LIMIT} initiatives au plus par collection"})
    item = CollectionItem(
        collection_id=collection.id,
        position=(rows[-1].position + 1) if rows else 0,
        target_uri=uri,
        initiative_id=initiative.id,
    )
    session.add(item)
    _touch(collection)
    await session.flush()
    return item


async def remove_item(session: AsyncSession, collection: Collection, item_id: int) -> None:
    _editable(collection)
    item = await session.get(CollectionItem, item_id)
    if item is None or item.collection_id != collection.id:
        raise NotFound("cette initiative n'est pas dans la collection")
    await session.delete(item)
    _touch(collection)
    await session.flush()


async def move_item(
    session: AsyncSession, collection: Collection, item_id: int, offset: int
) -> None:
    """Move an item `offset` places (-1 up, +1 down), within the bounds of the list."""
    _editable(collection)
    rows = await item_rows(session, collection)
    index = next((n for n, row in enumerate(rows) if row.id == item_id), None)
    if index is None:
        raise NotFound("cette initiative n'est pas dans la collection")
    target = max(0, min(len(rows) - 1, index + offset))
    if target == index:
        return
    rows.insert(target, rows.pop(index))
    await _renumber(session, collection, rows)


async def reorder(session: AsyncSession, collection: Collection, item_ids: Sequence[int]) -> None:
    """Put the items in this order (every item exactly once)."""
    _editable(collection)
    rows = {row.id: row for row in await item_rows(session, collection)}
    if sorted(item_ids) != sorted(rows):
        raise ValidationError({"order": "l'ordre doit citer chaque initiative une fois"})
    await _renumber(session, collection, [rows[i] for i in item_ids])


async def _renumber(
    session: AsyncSession, collection: Collection, rows: Sequence[CollectionItem]
) -> None:
    for position, row in enumerate(rows):
        row.position = position
    _touch(collection)
    await session.flush()


# Copies of remote collections (their origin speaks for them; federation calls these).


async def replace_remote(
    session: AsyncSession,
    *,
    uri: str,
    origin: str,
    name: str,
    summary: str,
    items: Sequence[str],
    local_base_url: str,
) -> tuple[Collection, bool]:
    """Create or refresh our copy of a remote collection; (collection, created).

    The caller has checked that `origin` speaks for `uri`; a copy held for another origin
    is refused (Conflict). An item naming a remote initiative we do not hold is left
    "pending" for the worker to fetch (federation/collection_items.py); a refresh by the
    origin gives failed ones another chance.
    """
    name, summary = _clean(name, summary[:SUMMARY_LIMIT])
    collection = await get_by_uri(session, uri)
    created = collection is None
    if collection is None:
        now = utcnow()
        collection = Collection(
            slug=await unique_slug(session, f"{name} {origin.split(':')[0]}"),
            uri=uri,
            origin=origin,
            name=name,
            summary=summary,
            created_at=now,
            updated_at=now,
        )
        session.add(collection)
        await session.flush()
    elif collection.origin != origin:
        raise Conflict(f"{uri} appartient à {collection.origin or 'cette instance'}")
    collection.name, collection.summary, collection.deleted_at = name, summary, None
    _touch(collection)
    old = {row.target_uri: row for row in await item_rows(session, collection)}
    ours = f"{local_base_url.rstrip('/')}/initiatives/"
    wanted = list(dict.fromkeys(u for u in items if u and len(u) <= 500))[:ITEMS_LIMIT]
    for uri_, row in old.items():
        if uri_ not in wanted:
            await session.delete(row)
    for position, target in enumerate(wanted):
        row = old.get(target)
        if row is None:
            if target.startswith(ours):
                key = Initiative.slug == target[len(ours) :]
            else:
                key = Initiative.uri == target
            row = CollectionItem(
                collection_id=collection.id,
                target_uri=target,
                initiative_id=await session.scalar(select(Initiative.id).where(key)),
            )
            session.add(row)
        unheld = row.initiative_id is None and not target.startswith(ours)
        if unheld and row.fetch_state != "pending":
            row.fetch_state, row.fetch_attempts, row.fetch_after = "pending", 0, None
        row.position = position
    await session.flush()
    return collection, created


async def remove_remote(session: AsyncSession, collection: Collection) -> None:
    """Our copy of a remote collection goes when its origin deletes it."""
    collection.deleted_at = utcnow()
    _touch(collection)
    await session.flush()
