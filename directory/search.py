"""Full-text index and search over initiatives (SQLite FTS5 / PostgreSQL tsvector)."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import bindparam, select, text
from sqlalchemy.ext.asyncio import AsyncSession

from directory.models import Initiative, InitiativeTheme, Theme
from directory.text import stemmed


async def index_initiatives(session: AsyncSession, ids: Sequence[int]) -> None:
    """(Re)index these initiatives: name (weight A), summary and themes (B), description (C)."""
    if not ids:
        return
    if session.bind.dialect.name == "postgresql":
        await session.execute(
            text(
                "UPDATE initiatives AS i SET search_vector ="
                " setweight(to_tsvector('maillage_fr', i.name), 'A')"
                " || setweight(to_tsvector('maillage_fr', i.summary || ' ' || coalesce(("
                "   SELECT string_agg(t.label_fr || ' ' || t.label_en, ' ')"
                "   FROM initiative_themes it JOIN themes t ON t.id = it.theme_id"
                "   WHERE it.initiative_id = i.id), '')), 'B')"
                " || setweight(to_tsvector('maillage_fr', i.description), 'C')"
                " WHERE i.id = ANY(:ids)"
            ),
            {"ids": list(ids)},
        )
        return
    rows = (
        await session.execute(
            select(
                Initiative.id, Initiative.name, Initiative.summary, Initiative.description
            ).where(Initiative.id.in_(bindparam("ids", expanding=True))),
            {"ids": list(ids)},
        )
    ).all()
    labels: dict[int, list[str]] = {}
    for initiative_id, label_fr, label_en in (
        await session.execute(
            select(InitiativeTheme.initiative_id, Theme.label_fr, Theme.label_en)
            .join(Theme, Theme.id == InitiativeTheme.theme_id)
            .where(InitiativeTheme.initiative_id.in_(bindparam("ids", expanding=True))),
            {"ids": list(ids)},
        )
    ).all():
        labels.setdefault(initiative_id, []).extend((label_fr, label_en))
    await session.execute(
        text("DELETE FROM initiative_fts WHERE rowid IN :ids").bindparams(
            bindparam("ids", expanding=True)
        ),
        {"ids": list(ids)},
    )
    if not rows:
        return
    await session.execute(
        text("INSERT INTO initiative_fts (rowid, name, summary, body) VALUES (:id, :n, :s, :b)"),
        [
            {
                "id": row.id,
                "n": stemmed(row.name),
                "s": stemmed(row.summary + " " + " ".join(labels.get(row.id, []))),
                "b": stemmed(row.description),
            }
            for row in rows
        ],
    )
