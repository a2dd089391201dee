"""Initiatives: create, update, moderate, corrections, history. Functions never commit."""

from __future__ import annotations

import secrets
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from directory import relations, sameas, search, themes
from directory.errors import Conflict, NotEditable, NotFound, ValidationError
from directory.messages import N_
from directory.models import (
    Correction,
    Initiative,
    InitiativeActorKind,
    InitiativeNeed,
    Revision,
    utcnow,
)
from directory.text import slugify
from directory.validation import clean_initiative
from directory.vocabulary import MODERATION_STATE_SLUGS

# Fields whose values are plain columns (the rest are lists kept in their own tables).
COLUMNS = (
    "name",
    "summary",
    "description",
    "status",
    "street",
    "postal_code",
    "city",
    "insee_code",
    "latitude",
    "longitude",
    "website",
    "email",
    "phone",
    "fediverse",
    "social_links",
    "opening_hours",
    "image_url",
    "same_as",
)
LISTS = ("themes", "actor_kinds", "needs")
# What a revision and a diff compare, in display order.
TRACKED = ("name", "summary", "description", *LISTS, *COLUMNS[3:])


@dataclass(frozen=True)
class Author:
    """Who makes a change: an account, or a label such as "import:gogocarto"."""

    person_id: int | None = None
    label: str = ""


def field_values(initiative: Initiative) -> dict[str, Any]:
    """The tracked fields of an initiative as plain values (theme slugs, lists)."""
    values: dict[str, Any] = {field: getattr(initiative, field) for field in COLUMNS}
    values["name"] = initiative.name
    values["themes"] = [t.slug for t in initiative.themes]
    values["actor_kinds"] = initiative.actor_kinds
    values["needs"] = initiative.needs
    return {field: values[field] for field in TRACKED}


def diff(old: Mapping[str, Any], new: Mapping[str, Any]) -> dict[str, list[Any]]:
    """Each field of `new` whose value differs from `old`, as [old, new]."""
    changes: dict[str, list[Any]] = {}
    for field, value in new.items():
        before = old.get(field)
        if field in LISTS:
            if sorted(before or []) != sorted(value or []):
                changes[field] = [before or [], value or []]
        elif before != value:
            changes[field] = [before, value]
    return changes


async def get_initiative(session: AsyncSession, key: int | str) -> Initiative:
    """An initiative by id or slug; raises NotFound."""
    column = Initiative.id if isinstance(key, int) else Initiative.slug
    initiative = await session.scalar(select(Initiative).where(column == key))
    if initiative is None:
        raise NotFound(N_("initiative %(key)r introuvable", key=key))
    return initiative


async def get_by_uri(session: AsyncSession, uri: str) -> Initiative | None:
    return await session.scalar(select(Initiative).where(Initiative.uri == uri))


async def unique_slug(session: AsyncSession, name: str) -> str:
    base = slugify(name)
    taken = set(
        await session.scalars(select(Initiative.slug).where(Initiative.slug.like(f"{base}%")))
    )
    if base not in taken:
        return base
    for n in range(2, 1000):
        candidate = f"{base}-{n}"
        if candidate not in taken:
            return candidate
    return f"{base}-{secrets.token_hex(3)}"


async def _apply(session: AsyncSession, initiative: Initiative, values: Mapping[str, Any]) -> None:
    for field in COLUMNS:
        if field in values:
            setattr(initiative, field, values[field])
    if "name" in values:
        initiative.name = values["name"]
    if "themes" in values:
        initiative.themes = await themes.themes_by_slug(session, values["themes"])
    if "actor_kinds" in values:
        initiative.actor_kind_rows = [InitiativeActorKind(kind=k) for k in values["actor_kinds"]]
    if "needs" in values:
        initiative.need_rows = [InitiativeNeed(need=n) for n in values["needs"]]


async def create_initiative(
    session: AsyncSession,
    data: Mapping[str, Any],
    *,
    author: Author,
    moderation_state: str = "proposed",
    proposer_email: str = "",
    source: str | None = None,
    source_id: str | None = None,
    origin: str | None = None,
    uri: str | None = None,
    via: Sequence[str] = (),
    published: datetime | None = None,
) -> Initiative:
    """Validate and store a new initiative with its first revision."""
    if moderation_state not in MODERATION_STATE_SLUGS:
        raise ValidationError(
            {
                "moderation_state": N_(
                    "inconnu : %(moderation_state)s", moderation_state=moderation_state
                )
            }
        )
    values = clean_initiative(data, theme_slugs=await themes.all_slugs(session))
    slug = values.pop("slug", None)
    if slug:
        if await session.scalar(select(Initiative.id).where(Initiative.slug == slug)):
            raise Conflict(N_("l'identifiant %(slug)r est déjà pris", slug=slug), field="slug")
    else:
        slug = await unique_slug(session, values["name"])
    if (
        source
        and source_id
        and await session.scalar(
            select(Initiative.id).where(
                Initiative.source == source, Initiative.source_id == source_id
            )
        )
    ):
        raise Conflict(
            N_("%(source)s:%(source_id)s est déjà importée", source=source, source_id=source_id),
            field="source_id",
        )
    now = utcnow()
    initiative = Initiative(
        slug=slug,
        name=values["name"],
        moderation_state=moderation_state,
        proposer_email=proposer_email,
        proposer_id=author.person_id,
        source=source,
        source_id=source_id,
        origin=origin,
        uri=uri,
        via=list(via),
        created_at=published or now,
        updated_at=now,
        published_at=now if moderation_state == "published" else None,
        themes=[],
        actor_kind_rows=[],
        need_rows=[],
    )
    await _apply(session, initiative, values)
    session.add(initiative)
    await session.flush()
    session.add(
        Revision(
            initiative_id=initiative.id,
            person_id=author.person_id,
            author=author.label,
            action="create",
            changes={
                k: [None, v] for k, v in field_values(initiative).items() if v not in ("", [], None)
            },
        )
    )
    await search.index_initiatives(session, [initiative.id])
    if initiative.same_as:
        await sameas.link_twins(session, initiative.id, initiative.same_as)
    return initiative


async def update_initiative(
    session: AsyncSession,
    initiative: Initiative,
    data: Mapping[str, Any],
    *,
    author: Author,
    action: str = "update",
    message: str = "",
    allow_remote: bool = False,
) -> dict[str, list[Any]]:
    """Apply validated changes, record a revision; return the changes (empty if none).

    Remote initiatives belong to their origin: only federation (`allow_remote`) updates them.
    """
    if not initiative.is_local and not allow_remote:
        raise NotEditable(
            N_(
                "cette initiative appartient à %(origin)s et ne se modifie que là-bas",
                origin=initiative.origin,
            )
        )
    values = clean_initiative(data, theme_slugs=await themes.all_slugs(session), partial=True)
    new_slug = values.pop("slug", None)
    changes = diff(field_values(initiative), values)
    if new_slug and new_slug != initiative.slug:
        if await session.scalar(select(Initiative.id).where(Initiative.slug == new_slug)):
            raise Conflict(
                N_("l'identifiant %(new_slug)r est déjà pris", new_slug=new_slug), field="slug"
            )
        changes["slug"] = [initiative.slug, new_slug]
        initiative.slug = new_slug
    if not changes:
        return {}
    after = {**field_values(initiative), **values}
    if (after["latitude"] is None) != (after["longitude"] is None):
        raise ValidationError({"latitude": N_("latitude et longitude vont ensemble")})
    await _apply(session, initiative, {k: values[k] for k in changes if k in values})
    initiative.updated_at = utcnow()
    session.add(
        Revision(
            initiative_id=initiative.id,
            person_id=author.person_id,
            author=author.label,
            action=action,
            changes=changes,
            message=message,
        )
    )
    await session.flush()
    await search.index_initiatives(session, [initiative.id])
    if "same_as" in changes:
        await sameas.link_twins(session, initiative.id, initiative.same_as)
    return changes


async def moderate(
    session: AsyncSession,
    initiative: Initiative,
    state: str,
    *,
    author: Author,
    message: str = "",
) -> None:
    """Move an initiative to another moderation state (publish, reject, withdraw)."""
    if state not in MODERATION_STATE_SLUGS:
        raise ValidationError({"moderation_state": N_("inconnu : %(state)s", state=state)})
    if state == initiative.moderation_state:
        raise Conflict(
            N_("l'initiative est déjà dans l'état %(state)r", state=state), field="moderation_state"
        )
    old = initiative.moderation_state
    initiative.moderation_state = state
    initiative.updated_at = utcnow()
    if state == "published" and initiative.published_at is None:
        initiative.published_at = initiative.updated_at
    if message:
        initiative.moderation_note = message
    session.add(
        Revision(
            initiative_id=initiative.id,
            person_id=author.person_id,
            author=author.label,
            action="moderate",
            changes={"moderation_state": [old, state]},
            message=message,
        )
    )
    await session.flush()
    if "published" in (old, state):
        await relations.touch_linkers(session, initiative)


async def revisions(session: AsyncSession, initiative_id: int) -> list[Revision]:
    """The history of an initiative, oldest first."""
    result = await session.scalars(
        select(Revision).where(Revision.initiative_id == initiative_id).order_by(Revision.id)
    )
    return list(result)


async def propose_correction(
    session: AsyncSession,
    initiative: Initiative,
    data: Mapping[str, Any],
    *,
    author: Author,
    proposer_email: str = "",
    message: str = "",
) -> Correction:
    """Record a proposed change to a published initiative; the initiative is unchanged."""
    if not initiative.is_local:
        raise NotEditable(N_("cette initiative appartient à %(origin)s", origin=initiative.origin))
    values = clean_initiative(data, theme_slugs=await themes.all_slugs(session), partial=True)
    values.pop("slug", None)
    changes = diff(field_values(initiative), values)
    if not changes:
        raise ValidationError({"_": N_("la correction ne change rien")})
    correction = Correction(
        initiative_id=initiative.id,
        changes=changes,
        proposer_email=proposer_email,
        proposer_id=author.person_id,
        message=message,
    )
    session.add(correction)
    await session.flush()
    return correction


async def get_correction(session: AsyncSession, correction_id: int) -> Correction:
    correction = await session.get(Correction, correction_id)
    if correction is None:
        raise NotFound(N_("correction %(correction_id)s introuvable", correction_id=correction_id))
    return correction


async def decide_correction(
    session: AsyncSession,
    correction: Correction,
    *,
    approve: bool,
    author: Author,
    message: str = "",
    edits: Mapping[str, Any] | None = None,
) -> dict[str, list[Any]]:
    """Approve (applying the proposed values, possibly edited) or reject a correction."""
    if correction.state != "proposed":
        raise Conflict(N_("cette correction est déjà %(state)s", state=correction.state))
    correction.state = "published" if approve else "rejected"
    correction.decided_at = utcnow()
    correction.moderation_note = message
    if not approve:
        await session.flush()
        return {}
    initiative = await get_initiative(session, correction.initiative_id)
    proposed = {field: new for field, (_old, new) in correction.changes.items()}
    proposed.update(edits or {})
    return await update_initiative(
        session,
        initiative,
        proposed,
        author=author,
        action="correction",
        message=message or f"correction n°{correction.id}",
    )


async def pending_corrections(session: AsyncSession) -> list[Correction]:
    result = await session.scalars(
        select(Correction).where(Correction.state == "proposed").order_by(Correction.id)
    )
    return list(result)
