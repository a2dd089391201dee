"""Builders of test data shared by the domain and page tests: communes and initiatives.

An initiative is a dict of its fields plus, under keys starting with "_", how it is stored:
`_state` (moderation state, default "published"), `_origin` (the instance it comes from),
`_uri` (default https://<origin>/initiatives/<position> for a remote one), `_via`,
`_author` (default Author(None, "test")) and `_proposer_email`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from directory.initiatives import Author, create_initiative
from directory.models import Commune, Initiative

TEST_AUTHOR = Author(None, "test")

# (INSEE code, name, latitude, longitude, population, postal code)
CommuneTuple = tuple[str, str, float, float, int | None, str]


def add_communes(session: AsyncSession, rows: Iterable[CommuneTuple]) -> None:
    """Communes of the territory, straight into the table."""
    for code, name, lat, lon, population, postal in rows:
        session.add(
            Commune(
                insee_code=code,
                name=name,
                latitude=lat,
                longitude=lon,
                population=population,
                postal_code=postal,
            )
        )


async def add_initiatives(
    session: AsyncSession,
    records: Iterable[Mapping[str, Any]],
    *,
    author: Author = TEST_AUTHOR,
    first_published: datetime | None = None,
    every: timedelta = timedelta(days=1),
) -> list[Initiative]:
    """Store each record (see the module docstring) in order; with `first_published`, the
    n-th is published `n * every` later."""
    stored = []
    for n, data in enumerate(records):
        fields = {k: v for k, v in data.items() if not k.startswith("_")}
        origin = data.get("_origin")
        stored.append(
            await create_initiative(
                session,
                fields,
                author=data.get("_author", author),
                moderation_state=data.get("_state", "published"),
                proposer_email=data.get("_proposer_email", ""),
                origin=origin,
                uri=data.get("_uri") or (f"https://{origin}/initiatives/{n}" if origin else None),
                via=data.get("_via", ()),
                published=first_published + n * every if first_published else None,
            )
        )
    await session.flush()
    return stored
