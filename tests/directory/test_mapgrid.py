"""Map clustering: the database's Morton key, cells, and both counting strategies."""

from __future__ import annotations

import pytest
from sqlalchemy import text

from directory import geokey, mapgrid
from directory.initiatives import Author, create_initiative
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


async def test_counts_by_ranges_and_by_grouping_agree(session, placed):
    bbox = (46.5, -3.0, 48.0, -1.0)
    for zoom in (5, 8, 11, 14, 17):
        ranged = await mapgrid.map_view(session, SearchQuery(), bbox, zoom)
        grouped = await mapgrid.map_view(session, SearchQuery(origin="local"), bbox, zoom)
        assert ranged.total == grouped.total == 4, zoom
        assert sorted(c.count for c in ranged.clusters) == sorted(c.count for c in grouped.clusters)
        assert {p.id for p in ranged.points} == {p.id for p in grouped.points}


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
