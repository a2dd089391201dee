"""Commune -> région -> national, three instances in one process (httpx over ASGI):
follow, Accept, backfill, then Create, Update and Delete travelling through Announces."""

from __future__ import annotations

from sqlalchemy import select

from directory import initiatives
from directory.initiatives import Author
from directory.models import Initiative
from federation import follows, instances
from federation.following import follow, resolve_target
from tests.federation.peers import loopback_network

ADMIN = Author(None, "test")
JARDIN = {
    "name": "Jardin partagé des Ponts",
    "summary": "Cultiver ensemble au cœur du quartier",
    "themes": ["alimentation"],
    "city": "Les Ponts",
    "latitude": 47.2,
    "longitude": -1.5,
}


async def _create(instance, data, state="published"):
    async with instance.db.session() as session:
        return await initiatives.create_initiative(
            session, data, author=ADMIN, moderation_state=state
        )


async def _follow(follower, followed) -> None:
    fetcher = await follower.worker.fetcher()
    async with follower.db.session() as session:
        await follow(session, follower.settings, fetcher, f"{followed.base}/actors/{followed.name}")


async def _remote(instance, uri: str) -> Initiative | None:
    async with instance.db.session() as session:
        return await session.scalar(select(Initiative).where(Initiative.uri == uri))


async def test_initiative_travels_commune_region_national(network):
    await initiative_travels(network)


async def test_initiative_travels_over_real_http(instance_urls, tmp_path, pooled_actor_keys):
    """The same scenario with uvicorn on loopback and the aiohttp client."""
    async with loopback_network(instance_urls, tmp_path) as network:
        await initiative_travels(network)


async def initiative_travels(network) -> None:
    commune, region, national = network["commune"], network["region"], network["national"]
    # Given an initiative the commune published before anyone followed it
    await _create(
        commune, {**JARDIN, "name": "Repair café des Ponts", "themes": ["reemploi-reparation"]}
    )
    # When the région follows the commune and the national directory follows the région
    await _follow(region, commune)
    await _follow(national, region)
    await network.settle()
    # Then both follows are accepted, and the région backfilled the older initiative
    async with region.db.session() as session:
        (following,) = await follows.following_list(session)
        assert following.state == "accepted"
        assert following.backfill_state == "done" and following.backfill_count == 1
    async with commune.db.session() as session:
        (follower,) = await follows.followers_of(session, "commune")
        assert follower.remote_actor_uri == f"{region.base}/actors/region"
    old = await _remote(region, f"{commune.base}/initiatives/repair-cafe-des-ponts")
    assert old is not None and old.origin == commune.host
    assert old.moderation_state == "published"

    # When the commune publishes a new initiative
    await _create(commune, JARDIN)
    await network.settle()
    uri = f"{commune.base}/initiatives/jardin-partage-des-ponts"
    # Then the région has it from the commune, and the national directory through the région
    at_region = await _remote(region, uri)
    at_national = await _remote(national, uri)
    assert at_region is not None and at_region.via == [commune.host]
    assert at_national is not None and at_national.origin == commune.host
    assert at_national.via == [commune.host, region.host]
    assert at_national.moderation_state == "published"
    assert [t.slug for t in at_national.themes] == ["alimentation"]
    # (the older, backfilled one travelled on too)
    assert await _remote(national, old.uri) is not None

    # When the commune edits it, the change reaches both
    async with commune.db.session() as session:
        jardin = await initiatives.get_initiative(session, "jardin-partage-des-ponts")
        await initiatives.update_initiative(
            session, jardin, {"summary": "Cultiver et partager"}, author=ADMIN
        )
    await network.settle()
    assert (await _remote(region, uri)).summary == "Cultiver et partager"
    assert (await _remote(national, uri)).summary == "Cultiver et partager"

    # When the commune withdraws it, both withdraw their copies
    async with commune.db.session() as session:
        jardin = await initiatives.get_initiative(session, "jardin-partage-des-ponts")
        await initiatives.moderate(session, jardin, "withdrawn", author=ADMIN)
    await network.settle()
    assert (await _remote(region, uri)).moderation_state == "withdrawn"
    assert (await _remote(national, uri)).moderation_state == "withdrawn"


async def test_receiving_the_same_initiative_twice_keeps_one_copy(network):
    commune, region, national = network["commune"], network["region"], network["national"]
    # Given the national directory follows both the commune and the région
    await _follow(region, commune)
    await _follow(national, region)
    await _follow(national, commune)
    await network.settle()
    # When the commune publishes: national gets a Create and the région's Announce
    await _create(commune, JARDIN)
    await network.settle()
    async with national.db.session() as session:
        rows = list(
            await session.scalars(select(Initiative).where(Initiative.origin == "commune.test"))
        )
    # Then it holds one copy
    assert len(rows) == 1
    assert rows[0].uri == "https://commune.test/initiatives/jardin-partage-des-ponts"


async def test_hold_policy_puts_remote_initiatives_in_moderation(network):
    commune, region = network["commune"], network["region"]
    await _follow(region, commune)
    await network.settle()
    async with region.db.session() as session:
        await instances.set_trust(session, "commune.test", "hold")
    await _create(commune, JARDIN)
    await network.settle()
    copy = await _remote(region, "https://commune.test/initiatives/jardin-partage-des-ponts")
    assert copy is not None and copy.moderation_state == "proposed"


async def test_follow_target_by_host_account_or_url(network):
    fetcher = await network["region"].worker.fetcher()
    expected = "https://commune.test/actors/commune"
    assert await resolve_target(fetcher, "commune.test") == expected
    assert await resolve_target(fetcher, "@commune@commune.test") == expected
    assert await resolve_target(fetcher, expected) == expected
