"""Finding a commune of the territory from what a person types (name, postal or INSEE code)."""

from __future__ import annotations

import re
from typing import Any

from sqlalchemy import func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from directory.models import Commune
from directory.text import fold

# Characters that an accent, a case or a hyphen may hide: wildcards in the coarse SQL filter,
# then the exact accent-insensitive comparison is done in Python.
_LOOSE = re.compile(r"[aceinouy' \-]")


def _key(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", " ", fold(text)).strip()


def _pattern(query: str) -> str:
    folded = fold(query).replace("%", "").replace("_", "")
    return _LOOSE.sub("_", folded) + "%"


async def search_communes(session: AsyncSession, query: str, *, limit: int = 10) -> list[Commune]:
    """Communes whose name starts with `query` (accents and hyphens ignored) or whose postal or
    INSEE code starts with it; exact names first, then the most populated."""
    query = (query or "").strip()[:100]
    if not query:
        return []
    digits = query.replace(" ", "")
    if digits.isdigit() or re.fullmatch(r"2[abAB]\d{0,3}", digits):
        rows = await session.scalars(
            select(Commune)
            .where(
                or_(
                    Commune.postal_code.like(digits + "%"),
                    Commune.insee_code.like(digits.upper() + "%"),
                )
            )
            .order_by(Commune.name)
            .limit(limit)
        )
        return list(rows)
    wanted = _key(query)
    if not wanted:
        return []
    prefix = await session.scalars(
        select(Commune).where(Commune.name.ilike(_pattern(query))).limit(300)
    )
    # Names may also start with "Le", "La", "Saint-"...: a contained word matches too.
    inside = await session.scalars(
        select(Commune).where(Commune.name.ilike("%" + _pattern(query))).limit(300)
    )
    rows = {c.id: c for c in [*prefix, *inside]}.values()
    found = []
    for commune in rows:
        key = _key(commune.name)
        if key.startswith(wanted):
            found.append((0 if key == wanted else 1, commune))
        elif f" {wanted}" in f" {key}":
            found.append((2, commune))
    found.sort(key=lambda pair: (pair[0], -(pair[1].population or 0), pair[1].name))
    return [commune for _, commune in found[:limit]]


async def resolve_commune(
    session: AsyncSession, *, name: str, insee_code: str = ""
) -> tuple[Commune | None, list[Commune]]:
    """The commune meant by a form: by INSEE code, else by a name that names only one.

    Returns (commune, candidates): candidates lists the possible communes when the name is
    ambiguous or only a prefix, so the person can choose.
    """
    if insee_code:
        commune = await session.scalar(
            select(Commune).where(Commune.insee_code == insee_code.strip().upper())
        )
        if commune is not None:
            return commune, []
    # "Rezé (44400)", as the suggestions show it, names Rezé.
    name = re.sub(r"\s*\(\s*[0-9AB]{5}\s*\)\s*$", "", name or "", flags=re.IGNORECASE)
    if not name.strip():
        return None, []
    candidates = await search_communes(session, name)
    exact = [c for c in candidates if _key(c.name) == _key(name)]
    if len(exact) == 1:
        return exact[0], []
    return None, exact or candidates


async def has_communes(session: AsyncSession) -> bool:
    return await session.scalar(select(Commune.id).limit(1)) is not None


async def communes_box(session: AsyncSession) -> tuple[Any, Any, Any, Any]:
    """(min lat, min lon, max lat, max lon) over the communes, None where nothing is known."""
    row = (
        await session.execute(
            select(
                func.min(Commune.latitude),
                func.min(Commune.longitude),
                func.max(Commune.latitude),
                func.max(Commune.longitude),
            )
        )
    ).one()
    return (row[0], row[1], row[2], row[3])


async def communes_bounds(session: AsyncSession) -> tuple[float, float, float, float] | None:
    """(min lat, min lon, max lat, max lon) of the territory's communes, if any has a position."""
    box = await communes_box(session)
    return None if box[0] is None else box
