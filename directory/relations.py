"""Links a référent draws between initiatives: similar, partner, inspired by, same network.

A target is a published initiative we hold: a local one (by slug or by its URL on this
instance) or a followed one (by its canonical URI, already fetched and verified by the
federation layer when it reached us). Anything else is refused with a reason.
"""

from __future__ import annotations

from collections.abc import Sequence
from urllib.parse import unquote

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from directory.errors import Conflict, NotFound, ValidationError
from directory.messages import N_
from directory.models import Initiative, Relation
from directory.vocabulary import RELATION_KIND_SLUGS, RELATION_KINDS

NOTE_LIMIT = 1000


def canonical_uri(initiative: Initiative, base_url: str) -> str:
    """The initiative's ActivityPub id: its own URI if remote, else under base_url."""
    return initiative.uri or f"{base_url.rstrip('/')}/initiatives/{initiative.slug}"


async def resolve_target(session: AsyncSession, target: str, base_url: str) -> Initiative:
    """The published initiative `target` names (slug, our URL, or a known URI)."""
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
    if found.moderation_state != "published":
        raise ValidationError({"target": N_("cette initiative n'est pas publiée")})
    return found


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
    await session.flush()
    return relation


async def relations_of(session: AsyncSession, initiative: Initiative) -> Sequence[Relation]:
    return list(
        await session.scalars(
            select(Relation).where(Relation.initiative_id == initiative.id).order_by(Relation.id)
        )
    )


async def remove_relation(session: AsyncSession, initiative: Initiative, relation_id: int) -> None:
    """Delete one of the initiative's links; NotFound if it has no such link."""
    relation = await session.get(Relation, relation_id)
    if relation is None or relation.initiative_id != initiative.id:
        raise NotFound(N_("lien introuvable"))
    await session.delete(relation)
    await session.flush()
