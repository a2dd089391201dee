"""Map clustering: the database's Morton key, cells, cached grids and direct grouping."""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy import text

from directory import facets, geokey, mapgrid
from directory.initiatives import Author, create_initiative
from directory.models import Initiative
from directory.search import SearchQuery

POINTS = [
    (47.2181, -1.5528),
    (47.2184, -1.5536),
    (47.2050, -1.5920),
    (47.2736, -2.2139),
    (-33.8688, 151.2093),
    (89.9999, 179.9999),
    (-90.0, -180.0),
    (0.0, 0.0),
]


@pytest.fixture
async def placed(session) -> list[int]:
    ids = []
    for n, (lat, lon) in enumerate(POINTS):
        item = await create_initiative(
            session,
            {
                "name": f"Point {n}",
                "latitude": lat,
                "longitude": lon,
                "themes": ["alimentation"] if n % 2 else ["mobilite"],
            },
            author=Author(None, "test"),
            moderation_state="published",
        )
        ids.append(item.id)
    await session.flush()
    return ids


async def test_the_database_computes_the_same_key_as_python(session, placed):
    rows = (
        await session.execute(text("SELECT latitude, longitude, map_key FROM initiatives"))
    ).all()
    assert len(rows) == len(POINTS)
    for lat, lon, key in rows:
        assert key == geokey.point_key(lat, lon), (lat, lon)


def test_a_cell_range_holds_exactly_the_points_of_the_cell():
    level = 10
    for lat, lon in POINTS:
        x, y = geokey.grid_x(lon, level), geokey.grid_y(lat, level)
        lo, hi = geokey.cell_range(x, y, level)
        assert lo <= geokey.point_key(lat, lon) <= hi
        south, west, north, east = geokey.cell_bounds(x, y, level)
        assert south <= lat <= north and west <= lon <= east
        lo2, hi2 = geokey.cell_range(x + 1 if x + 1 < 2**level else x - 1, y, level)
        assert not lo2 <= geokey.point_key(lat, lon) <= hi2


async def test_cached_grids_and_direct_grouping_agree(session, placed):
    bbox = (46.5, -3.0, 48.0, -1.0)
    await session.commit()  # a committed change gives the token the cached grids need
    for zoom in (2, 5, 8, 11, 12):
        assert mapgrid.level_for(zoom) <= mapgrid.GRID_LEVEL
        cached = await mapgrid.map_view(session, SearchQuery(), bbox, zoom)
        direct = await mapgrid.map_view(session, SearchQuery(text="point"), bbox, zoom)
        assert cached.total == direct.total == 4, zoom
        assert sorted(c.count for c in cached.clusters) == sorted(c.count for c in direct.clusters)
        assert {p.id for p in cached.points} == {p.id for p in direct.points}
        assert _rounded(cached.clusters) == _rounded(direct.clusters)


def _rounded(clusters: list[mapgrid.Cluster]) -> list[tuple]:
    return [
        (round(c.latitude, 9), round(c.longitude, 9), c.count, c.south, c.west, c.north, c.east)
        for c in clusters
    ]


async def test_single_initiatives_come_back_as_points_with_their_name(session, placed):
    view = await mapgrid.map_view(session, SearchQuery(), (46.5, -3.0, 48.0, -1.0), 18)
    assert view.clusters == []
    assert sorted(p.name for p in view.points) == ["Point 0", "Point 1", "Point 2", "Point 3"]


async def test_a_whole_world_view_and_filters(session, placed):
    world = await mapgrid.map_view(session, SearchQuery(), (-90, -180, 90, 180), 0)
    assert world.total == len(POINTS)
    food = await mapgrid.map_view(
        session, SearchQuery(themes=("alimentation",)), (-90, -180, 90, 180), 0
    )
    assert food.total == len(POINTS) // 2


async def test_a_cached_grid_follows_each_committed_move_and_unpublication(session, placed):
    bbox = (46.5, -3.0, 48.0, -1.0)
    await session.commit()
    before = await mapgrid.map_view(session, SearchQuery(), bbox, 8)
    token = await facets.search_token(session)
    assert any(k[:1] == ("mapgrid",) for k in mapgrid.GRIDS[token].done)
    assert before.total == 4

    moved = await session.get(Initiative, placed[3])
    moved.latitude, moved.longitude = 45.0, 5.0  # out of the view
    await session.commit()
    after_move = await mapgrid.map_view(session, SearchQuery(), bbox, 8)
    assert after_move.total == 3
    world = await mapgrid.map_view(session, SearchQuery(), (-90, -180, 90, 180), 8)
    assert any(p.id == placed[3] and p.latitude == 45.0 for p in world.points)

    hidden = await session.get(Initiative, placed[0])
    hidden.moderation_state = "rejected"
    await session.commit()
    after_hiding = await mapgrid.map_view(session, SearchQuery(), bbox, 8)
    assert after_hiding.total == 2


async def test_bounds_are_those_of_the_matching_set(session, placed):
    await session.commit()
    food = await mapgrid.bounds(session, SearchQuery(themes=("alimentation",)))
    odd = [POINTS[n] for n in range(len(POINTS)) if n % 2]
    assert food == (
        min(lat for lat, _ in odd),
        min(lon for _, lon in odd),
        max(lat for lat, _ in odd),
        max(lon for _, lon in odd),
    )
    # The same without a cached grid (text is never cached).
    assert (
        await mapgrid.bounds(session, SearchQuery(themes=("alimentation",), text="point")) == food
    )
    assert await mapgrid.bounds(session, SearchQuery(themes=("agriculture-urbaine-xyz",))) is None


async def test_requests_for_a_grid_being_computed_share_the_computation():
    grids = mapgrid._Grids()
    calls = []

    async def compute():
        calls.append(1)
        await asyncio.sleep(0.01)
        return {(1, 2): (1, 47.0, -1.5, 47.0, -1.5, 47.0, -1.5, 9)}

    first, second = await asyncio.gather(grids.get("k", compute), grids.get("k", compute))
    assert first is second and len(calls) == 1
    assert await grids.get("k", compute) is first and len(calls) == 1

    async def failing():
        await asyncio.sleep(0.01)
        raise RuntimeError("database gone")

    results = await asyncio.gather(
        grids.get("f", failing), grids.get("f", compute), return_exceptions=True
    )
    assert isinstance(results[0], RuntimeError)
    assert results[1] == first  # the second request computed it itself
    assert grids.pending == {}


def test_grids_keep_a_bounded_number_of_cells(monkeypatch):
    monkeypatch.setattr(mapgrid, "MAX_CELLS", 3)
    grids = mapgrid._Grids()

    async def fill():
        for n in range(4):
            await grids.get(n, lambda n=n: _grid_of(n))

    asyncio.run(fill())
    assert list(grids.done) == [3] and sum(map(len, grids.done.values())) <= 3


async def _grid_of(n: int) -> mapgrid.Grid:
    return {(x, 0): (1, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, x) for x in range(2)}
