"""Links a référent draws between initiatives: similar, partner, inspired by, same network.

A target is a published initiative we hold: a local one (by slug or by its URL on this
instance) or a remote one (by its canonical URI, fetched and verified by the federation
layer when it reached us, or just before the link: federation/lookup.py), which may be
held for moderation when its instance's trust policy says so (then pages show it, and
followers get the link, once approved). Anything else is refused with a reason.

Links are part of the initiative's ActivityPub object: adding or removing one moves the
initiative's `updated_at` (and leaves a revision), so the publisher sends an Update. The
object leaves out the links whose target we hold unpublished (`federated`); when a target
enters or leaves that state, the initiatives linking to it move too (`touch_linkers`).
"""

from __future__ import annotations

from collections.abc import Sequence
from urllib.parse import unquote

from sqlalchemy import ColumnElement, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from directory.errors import Conflict, NotFound, ValidationError
from directory.messages import N_
from directory.models import Initiative, Relation, Revision, utcnow
from directory.vocabulary import RELATION_KIND_SLUGS, RELATION_KINDS

NOTE_LIMIT = 1000


def canonical_uri(initiative: Initiative, base_url: str) -> str:
    """The initiative's ActivityPub id: its own URI if remote, else under base_url."""
    return initiative.uri or f"{base_url.rstrip('/')}/initiatives/{initiative.slug}"


async def resolve_target(session: AsyncSession, target: str, base_url: str) -> Initiative:
    """The published initiative `target` names (slug, our URL, or a known URI), or a
    remote one awaiting moderation."""
    target = target.strip()
    if not target:
        raise ValidationError({"target": N_("obligatoire : un identifiant ou une adresse")})
    ours = f"{base_url.rstrip('/')}/initiatives/"
    if target.startswith(ours):
        found = await session.scalar(
            select(Initiative).where(Initiative.slug == unquote(target[len(ours) :]))
        )
    elif target.startswith(("https://", "http://")):
        found = await session.scalar(select(Initiative).where(Initiative.uri == target))
    else:
        found = await session.scalar(select(Initiative).where(Initiative.slug == target))
    if found is None:
        raise ValidationError({"target": N_("aucune initiative connue sous cet identifiant")})
    if found.moderation_state != "published" and not awaiting_moderation(found):
        raise ValidationError({"target": N_("cette initiative n'est pas publiée")})
    return found


def awaiting_moderation(initiative: Initiative) -> bool:
    """A remote initiative held for moderation (its instance's trust policy is "hold"): it
    may be linked to, and pages show it once a moderator approved it.

    Not a local proposal: that one is private until published (its address names it), so
    it is never a target, and a collection that lists it anyway (a remote copy naming our
    address, or an item unpublished since) leaves it out of public pages."""
    return initiative.origin is not None and initiative.moderation_state == "proposed"


def federated() -> ColumnElement[bool]:
    """The links that followers get: not those whose target we hold unpublished (awaiting
    moderation, refused, withdrawn). A target we no longer hold (target_id NULL) is its
    origin's to answer for, as before."""
    # Correlated (a primary-key lookup per link), not IN (every published id).
    published = select(Initiative.id).where(
        Initiative.id == Relation.target_id, Initiative.moderation_state == "published"
    )
    return or_(Relation.target_id.is_(None), published.exists())


async def touch_linkers(session: AsyncSession, target: Initiative) -> None:
    """`target` was published or unpublished here: the links to it that our initiatives
    federate changed, so they move (the publisher sends their Update). No revision: the
    links themselves are as the référent left them."""
    linking = select(Relation.initiative_id).where(Relation.target_id == target.id)
    await session.execute(
        update(Initiative)
        .where(Initiative.id.in_(linking), Initiative.origin.is_(None))
        .values(updated_at=utcnow())
        .execution_options(synchronize_session="fetch")
    )


async def add_relation(
    session: AsyncSession,
    initiative: Initiative,
    *,
    target: str,
    kind: str,
    note: str = "",
    person_id: int | None,
    base_url: str,
) -> Relation:
    """Link `initiative` to `target`; ValidationError or Conflict, nothing stored on error."""
    errors: dict[str, str] = {}
    if kind not in RELATION_KIND_SLUGS:
        errors["kind"] = N_(
            "un de : %(choices)s", choices=", ".join(k.slug for k in RELATION_KINDS)
        )
    note = " ".join((note or "").split())
    if len(note) > NOTE_LIMIT:
        errors["note"] = N_("%(limit)s caractères au plus", limit=NOTE_LIMIT)
    try:
        other = await resolve_target(session, target, base_url)
    except ValidationError as exc:
        errors.update(exc.errors)
        other = None
    if other is not None and other.id == initiative.id:
        errors["target"] = N_("une initiative ne peut pas être liée à elle-même")
    if errors:
        raise ValidationError(errors)
    assert other is not None
    uri = canonical_uri(other, base_url)
    if await session.scalar(
        select(Relation.id).where(
            Relation.initiative_id == initiative.id,
            Relation.target_uri == uri,
            Relation.kind == kind,
        )
    ):
        raise Conflict(N_("ce lien existe déjà"), field="target")
    relation = Relation(
        initiative_id=initiative.id,
        target_uri=uri,
        target_id=other.id,
        kind=kind,
        note=note,
        created_by_id=person_id,
    )
    session.add(relation)
    _touch(session, initiative, person_id, {"relations": [None, f"{kind} {uri}"]})
    await session.flush()
    return relation


def _touch(
    session: AsyncSession, initiative: Initiative, person_id: int | None, changes: dict
) -> None:
    """The initiative changed (its links are part of it): new `updated_at`, a revision."""
    initiative.updated_at = utcnow()
    session.add(
        Revision(
            initiative_id=initiative.id,
            person_id=person_id,
            action="relation",
            changes=changes,
        )
    )


async def relations_of(session: AsyncSession, initiative: Initiative) -> Sequence[Relation]:
    """The initiative's links, oldest first."""
    return list(
        await session.scalars(
            select(Relation).where(Relation.initiative_id == initiative.id).order_by(Relation.id)
        )
    )


async def remove_relation(
    session: AsyncSession, initiative: Initiative, relation_id: int, *, person_id: int | None = None
) -> None:
    """Delete one of the initiative's links; NotFound if it has no such link."""
    relation = await session.get(Relation, relation_id)
    if relation is None or relation.initiative_id != initiative.id:
        raise NotFound(N_("lien introuvable"))
    _touch(
        session,
        initiative,
        person_id,
        {"relations": [f"{relation.kind} {relation.target_uri}", None]},
    )
    await session.delete(relation)
    await session.flush()


async def replace_remote_relations(
    session: AsyncSession,
    initiative: Initiative,
    links: Sequence[tuple[str, str, str]],
    *,
    local_base_url: str,
) -> None:
    """Set a remote initiative's links to what its origin says: (kind, target uri, note).

    Targets we hold now (ours, or remote copies) are linked by id; pages also find the
    others by uri when their initiative reaches us later (browse.related).
    """
    existing = {(r.kind, r.target_uri): r for r in await relations_of(session, initiative)}
    wanted: dict[tuple[str, str], str] = {}
    for kind, target, note in links:
        if kind in RELATION_KIND_SLUGS and target and len(target) <= 500:
            wanted.setdefault((kind, target), " ".join(note.split())[:NOTE_LIMIT])
    for key, relation in existing.items():
        if key not in wanted:
            await session.delete(relation)
    ours = f"{local_base_url.rstrip('/')}/initiatives/"
    for (kind, target), note in wanted.items():
        relation = existing.get((kind, target))
        if relation is not None:
            relation.note = note
            continue
        if target.startswith(ours):
            slug = unquote(target[len(ours) :])
            target_id = await session.scalar(select(Initiative.id).where(Initiative.slug == slug))
        else:
            target_id = await session.scalar(select(Initiative.id).where(Initiative.uri == target))
        session.add(
            Relation(
                initiative_id=initiative.id,
                target_uri=target,
                target_id=target_id if target_id != initiative.id else None,
                kind=kind,
                note=note,
            )
        )
    await session.flush()
