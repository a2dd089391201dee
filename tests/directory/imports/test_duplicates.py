"""Duplicates: candidates, merge keeping history and sources, distinct, sameAs across instances."""

from __future__ import annotations

import orjson
import pytest
from sqlalchemy import select

from directory import initiatives
from directory.errors import Conflict
from directory.exports import ExportContext, stream_export
from directory.imports import duplicates
from directory.initiatives import Author
from directory.models import Initiative
from directory.search import SearchQuery

MOD = Author(None, "moderatrice")


async def make(session, name: str, **fields) -> Initiative:
    return await initiatives.create_initiative(
        session, {"name": name, **fields}, author=MOD, moderation_state="published"
    )


def test_name_similarity_ignores_case_accents_and_filler_words():
    assert duplicates.name_similarity("Association Le Repair Café", "repair cafe") == 1.0
    assert duplicates.name_similarity("AMAP des Jardins", "Amap du jardin") > 0.8
    assert duplicates.name_similarity("Biocoop", "Ressourcerie du Marais") < 0.5


async def test_candidates_by_name_and_distance_website_and_email(session):
    a = await make(session, "Repair café de Niort", latitude=46.3230, longitude=-0.4600)
    await make(session, "Ressourcerie", latitude=46.3231, longitude=-0.4601)  # near, other name
    await make(session, "Repair café de Niort", latitude=46.40, longitude=-0.40)  # same name, far
    await make(session, "Atelier vélo", website="https://www.repair.example.org/")
    await make(session, "Le Local", email="Contact@Repair.example.org")

    found = await duplicates.candidates_for_values(
        session,
        {"name": "Repair Café Niort", "latitude": 46.3262, "longitude": -0.4600,
         "website": "http://repair.example.org", "email": "contact@repair.example.org"},
    )  # fmt: skip

    reasons = {c.second_id: c.reasons for c in found}
    assert reasons[a.id] == ["nom semblable à 356 m"]
    assert len(found) == 3
    assert sorted(r[0] for r in reasons.values()) == [
        "même e-mail", "même site web", "nom semblable à 356 m"
    ]  # fmt: skip


async def test_dense_area_uses_100_m(session):
    for n in range(duplicates.DENSE_COUNT):
        await make(session, f"Commerce {n}", latitude=45.7640 + n * 1e-4, longitude=4.8357)
    target = await make(session, "Boulangerie solidaire", latitude=45.7700, longitude=4.8357)

    near = {"name": "Boulangerie solidaire", "latitude": 45.7700 + 0.0007, "longitude": 4.8357}
    far = {**near, "latitude": 45.7700 + 0.0025}  # 280 m: a candidate elsewhere, not here
    assert [c.second_id for c in await duplicates.candidates_for_values(session, near)] == [
        target.id
    ]
    assert await duplicates.candidates_for_values(session, far) == []


async def test_merge_keeps_history_and_sources(db, run_import):
    body = orjson.dumps({"data": [
        {"id": "a", "name": "Repair café", "geo": {"latitude": 46.32, "longitude": -0.46}},
        {"id": "b", "name": "Repair Café", "geo": {"latitude": 46.3201, "longitude": -0.46},
         "website": "https://repair.example.org"},
    ]})  # fmt: skip
    job = await run_import("gogocarto", body, source="s")
    assert len(job.report["possible_duplicates"]) == 1
    async with db.session() as session:
        a, b = list(await session.scalars(select(Initiative).order_by(Initiative.id)))
        await duplicates.merge(session, a.id, b.id, author=MOD)
    async with db.session() as session:
        kept, merged = await session.get(Initiative, a.id), await session.get(Initiative, b.id)
        assert kept.website == "https://repair.example.org"  # filled from the merged one
        assert merged.moderation_state == "withdrawn"  # never deleted
        assert [r.action for r in await initiatives.revisions(session, b.id)] == ["import", "merge"]
        assert [r.action for r in await initiatives.revisions(session, a.id)][-1] == "merge"
        with pytest.raises(Conflict):
            await duplicates.mark_distinct(session, a.id, b.id, author=MOD)

    again = await run_import("gogocarto", body, source="s")

    # The merged record's source now feeds the kept one: nothing comes back, nothing withdrawn.
    assert (again.report["created"], again.report["withdrawn"]) == (0, 0)
    async with db.session() as session:
        assert (await session.get(Initiative, b.id)).moderation_state == "withdrawn"
        assert await duplicates.find_all(session) == []


async def test_distinct_pairs_are_not_proposed_again(session):
    a = await make(session, "AMAP du marais", latitude=46.32, longitude=-0.46)
    b = await make(session, "AMAP du Marais", latitude=46.3201, longitude=-0.46)
    assert len(await duplicates.find_all(session)) == 1

    await duplicates.mark_distinct(session, a.id, b.id, author=MOD, note="deux AMAP")

    assert await duplicates.find_all(session) == []
    assert (
        await duplicates.candidates_for_values(
            session,
            {"name": "AMAP du marais", "latitude": 46.32, "longitude": -0.46},
            exclude_id=a.id,
        )
        == []
    )


async def test_remote_copy_is_linked_with_same_as_and_not_exported_twice(db):
    async with db.session() as session:
        local = await make(session, "Tiers-lieu La Fabrique", latitude=46.32, longitude=-0.46)
        remote = await initiatives.create_initiative(
            session,
            {"name": "Tiers lieu La Fabrique", "latitude": 46.3201, "longitude": -0.46},
            author=Author(None, "federation:region.test"), moderation_state="published",
            origin="region.test", uri="https://region.test/initiatives/la-fabrique",
        )  # fmt: skip
        (pair,) = await duplicates.find_all(session)
        assert pair.across_instances
        with pytest.raises(Conflict):
            await duplicates.merge(session, local.id, remote.id, author=MOD)
        await duplicates.link_same_as(session, local.id, remote.id, author=MOD)
        local_id = local.id

    context = ExportContext("https://maillage.test", "Niort", "LO 2.0", "https://lo.example")
    body = b"".join([c async for c in stream_export(db, "geojson", SearchQuery(), context)])
    features = orjson.loads(body)["features"]
    assert [f["properties"]["id"] for f in features] == [local_id]
    assert features[0]["properties"]["same_as"] == ["https://region.test/initiatives/la-fabrique"]


async def test_find_all_ranks_pairs_by_reasons_then_similarity(session):
    # Two reasons (same website, close with a similar name), then one (close, similar name)
    a = await make(
        session, "AMAP du marais", latitude=46.32, longitude=-0.46, website="https://amap.example"
    )
    b = await make(
        session, "AMAP du Marais", latitude=46.3201, longitude=-0.46, website="http://amap.example/"
    )
    c = await make(session, "Repair café de Niort", latitude=45.10, longitude=1.20)
    d = await make(session, "Repair cafe Niort", latitude=45.1002, longitude=1.20)
    await make(session, "Ressourcerie", latitude=45.1001, longitude=1.2001)  # other name
    await make(session, "Le Local", website="https://ailleurs.example")

    found = await duplicates.find_all(session)
    assert [(p.first_id, p.second_id) for p in found] == [(a.id, b.id), (c.id, d.id)]
    assert found[0].reasons == ["même site web", "nom semblable à 11 m"]
    assert found[0].similarity == 1.0 and found[0].distance_km == pytest.approx(0.011, abs=1e-3)
    assert found[1].reasons == ["nom semblable à 22 m"]
    # The best only, or only the pairs of some initiatives (just imported)
    assert [p.second_id for p in await duplicates.find_all(session, limit=1)] == [b.id]
    assert [p.first_id for p in await duplicates.find_all(session, among={d.id})] == [c.id]
    assert [p.first_id for p in await duplicates.find_all(session, among={a.id, b.id})] == [a.id]


async def test_find_all_across_latitude_cells_and_density_two_cells_away(session, monkeypatch):
    """The grid reads strips of latitude: pairs across a strip boundary are found, and the
    density of a cell counts the initiatives two strips away (not three), above and below."""
    monkeypatch.setattr(duplicates._FoundPairs, "BATCH", 1)  # writes while rows stream in
    cell = duplicates._CELL
    x0 = int(46.0 // cell)

    async def pair_with_crowd(lon: float, crowd_dx: int | None) -> tuple[int, int]:
        lat = (x0 + 0.5) * cell  # in the middle of a cell, 201 m apart: only without a crowd
        y = int(lon // (cell * 1.6)) + 1
        west, east = y * cell * 1.6 + 0.001, y * cell * 1.6 + 0.0036
        a = await make(session, "Ferme du Bocage", latitude=lat, longitude=west)
        b = await make(session, "Ferme du Bocage", latitude=lat, longitude=east)
        if crowd_dx is not None:
            crowd_lat = (x0 + crowd_dx + 0.5) * cell
            for n in range(duplicates.DENSE_COUNT - 2):  # names unlike each other's
                name = f"{chr(97 + n % 26) * 3}{n}"
                await make(session, name, latitude=crowd_lat, longitude=west + n * 1e-4)
        return a.id, b.id

    crowd_above = await pair_with_crowd(1.0, 2)
    crowd_too_far = await pair_with_crowd(2.0, 3)
    crowd_below = await pair_with_crowd(3.0, -2)
    edge = (x0 + 5) * cell  # a boundary between two strips
    low = await make(session, "Jardin partagé", latitude=edge - 0.0004, longitude=4.0)
    high = await make(session, "Jardin partage", latitude=edge + 0.0004, longitude=4.0)

    found = {(p.first_id, p.second_id): p.reasons for p in await duplicates.find_all(session)}
    assert found == {
        crowd_too_far: ["nom semblable à 201 m"],
        (low.id, high.id): ["nom semblable à 89 m"],
    }
    for among in (crowd_above, crowd_too_far, crowd_below, (low.id, high.id)):
        for one in among:
            pairs = await duplicates.find_all(session, among={one})
            assert {(p.first_id, p.second_id) for p in pairs} == {
                key for key in found if one in key
            }
