"""`maillage demo --federation`: an initiative created at the commune reaches the national
instance through the région, over real HTTP on loopback."""

from __future__ import annotations

from sqlalchemy import func, select

from directory import initiatives
from directory.db import Database
from directory.models import Initiative
from web.cli import build_parser
from web.commands.demo_federation import run_demo


async def _read(url: str, query):
    db = Database(url)
    try:
        async with db.session() as session:
            return await query(session)
    finally:
        await db.dispose()


async def test_federation_demo_carries_an_initiative_to_the_national_instance(tmp_path):
    lines: list[str] = []
    commune, region, national = await run_demo(tmp_path, 0, serve=False, log=lines.append)

    async def published_here(session):
        return await session.scalar(
            select(func.count())
            .select_from(Initiative)
            .where(Initiative.moderation_state == "published", Initiative.origin.is_(None))
        )

    published = {
        i.name: await _read(i.settings.resolved_database_url, published_here)
        for i in (commune, region)
    }
    uri = f"{commune.settings.base_url}/initiatives/atelier-velo-solidaire-de-reze"

    async def at_national(session):
        arrived = await initiatives.get_by_uri(session, uri)
        return arrived, list(await session.scalars(select(Initiative.origin)))

    arrived, origins = await _read(national.settings.resolved_database_url, at_national)
    assert arrived is not None and arrived.moderation_state == "published"
    assert arrived.via == [commune.settings.host, region.settings.host]
    assert any("est arrivée au national" in line for line in lines), lines
    # The région's own initiatives came by backfill; the commune's, which the région had
    # backfilled or received, were announced on to the national instance.
    assert origins.count(region.settings.host) == published["region"] > 0
    assert origins.count(commune.settings.host) == published["commune"] > 1


def test_demo_has_a_federation_flag():
    args = build_parser().parse_args(["demo", "--federation"])
    assert args.federation is True
