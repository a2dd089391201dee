"""SQL conditions for the filters of a SearchQuery, for queries that are not a ranked search.

The map's clustering and its list filter like the search does (same SearchQuery, same
meaning of each filter, same full-text parsing) without ranking or facets. They need the
conditions themselves, not `search.matching_ids` as a subquery: `id IN (subquery)` over
100k rows costs SQLite an extra temporary index per map view.
"""

from __future__ import annotations

from sqlalchemy import ColumnElement, or_, select, text
from sqlalchemy.orm import aliased

from directory.fulltext import fts5_query, tsquery_text
from directory.models import (
    Initiative,
    InitiativeActorKind,
    InitiativeNeed,
    InitiativeTheme,
    Theme,
)
from directory.search import SearchQuery


def theme_members(slugs: tuple[str, ...]):
    """Ids of initiatives tagged with one of these themes or one of their sub-themes."""
    parent = aliased(Theme)
    return (
        select(InitiativeTheme.initiative_id)
        .join(Theme, Theme.id == InitiativeTheme.theme_id)
        .outerjoin(parent, parent.id == Theme.parent_id)
        .where(or_(Theme.slug.in_(slugs), parent.slug.in_(slugs)))
    )


def filter_conditions(query: SearchQuery, dialect: str = "sqlite") -> list[ColumnElement[bool]]:
    """WHERE conditions equivalent to the query's filters (text, themes, kinds, needs...)."""
    conditions: list[ColumnElement[bool]] = [
        Initiative.moderation_state.in_(query.moderation_states)
    ]
    if query.themes:
        conditions.append(Initiative.id.in_(theme_members(query.themes)))
    if query.actor_kinds:
        conditions.append(
            Initiative.id.in_(
                select(InitiativeActorKind.initiative_id).where(
                    InitiativeActorKind.kind.in_(query.actor_kinds)
                )
            )
        )
    if query.needs:
        conditions.append(
            Initiative.id.in_(
                select(InitiativeNeed.initiative_id).where(InitiativeNeed.need.in_(query.needs))
            )
        )
    if query.communes:
        conditions.append(Initiative.insee_code.in_(query.communes))
    if query.statuses:
        conditions.append(Initiative.status.in_(query.statuses))
    if query.origin == "local":
        conditions.append(Initiative.origin.is_(None))
    elif query.origin == "remote":
        conditions.append(Initiative.origin.is_not(None))
    if query.bbox:
        south, west, north, east = query.bbox
        conditions.append(Initiative.latitude.between(south, north))
        conditions.append(Initiative.longitude.between(west, east))
    if query.text.strip():
        if dialect == "postgresql":
            expression = tsquery_text(query.text)
            conditions.append(
                text("initiatives.search_vector @@ to_tsquery('maillage_fr', :tsq)").bindparams(
                    tsq=expression or "''"
                )
                if expression
                else Initiative.id.is_(None)
            )
        else:
            expression = fts5_query(query.text)
            conditions.append(
                Initiative.id.in_(
                    select(text("rowid"))
                    .select_from(text("initiative_fts"))
                    .where(text("initiative_fts MATCH :fts").bindparams(fts=expression))
                )
                if expression
                else Initiative.id.is_(None)
            )
    return conditions
