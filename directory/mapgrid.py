"""Server-side map clustering: published initiatives grouped on a grid sized by the zoom.

One GROUP BY over rounded coordinates answers a map view with at most a few hundred
cells, whatever the number of initiatives, so 100k points cost the browser nothing.
Cells are anchored on (-90, -180) so that they do not move when the map pans.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from sqlalchemy import Integer, cast, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from directory.filters import filter_conditions
from directory.models import Initiative
from directory.search import SearchQuery

CELL_PIXELS = 64  # a cluster per 64-pixel square of the screen, at most
MAX_ZOOM = 19
BBox = tuple[float, float, float, float]  # south, west, north, east


@dataclass(frozen=True)
class Cluster:
    latitude: float
    longitude: float
    count: int
    south: float
    west: float
    north: float
    east: float


@dataclass(frozen=True)
class Point:
    id: int
    slug: str
    name: str
    latitude: float
    longitude: float


@dataclass
class MapView:
    zoom: int
    total: int
    clusters: list[Cluster]
    points: list[Point]


def cell_size(zoom: int, latitude: float) -> tuple[float, float]:
    """Degrees of latitude and longitude covered by CELL_PIXELS at this zoom (Web Mercator)."""
    lon = 360.0 * CELL_PIXELS / (256.0 * 2**zoom)
    lat = lon * max(math.cos(math.radians(max(-85.0, min(85.0, latitude)))), 0.05)
    return lat, lon


async def map_view(session: AsyncSession, query: SearchQuery, bbox: BBox, zoom: int) -> MapView:
    """Clusters and single points of the published initiatives matching `query` in `bbox`."""
    zoom = max(0, min(MAX_ZOOM, zoom))
    south, west, north, east = bbox
    cell_lat, cell_lon = cell_size(zoom, (south + north) / 2)
    gy = cast((Initiative.latitude + 90.0) / cell_lat, Integer)
    gx = cast((Initiative.longitude + 180.0) / cell_lon, Integer)
    where = [
        Initiative.latitude.is_not(None),
        Initiative.longitude.is_not(None),
        Initiative.latitude.between(south, north),
        Initiative.longitude.between(west, east)
        if west <= east
        else (Initiative.longitude >= west) | (Initiative.longitude <= east),
        *filter_conditions(query, session.bind.dialect.name),
    ]
    rows = (
        await session.execute(
            select(
                func.count(),
                func.avg(Initiative.latitude),
                func.avg(Initiative.longitude),
                func.min(Initiative.id),
                func.min(Initiative.latitude),
                func.min(Initiative.longitude),
                func.max(Initiative.latitude),
                func.max(Initiative.longitude),
            )
            .where(*where)
            .group_by(gy, gx)
        )
    ).all()
    clusters: list[Cluster] = []
    single_ids: list[int] = []
    total = 0
    for count, lat, lon, first_id, s, w, n, e in rows:
        total += count
        if count == 1:
            single_ids.append(first_id)
        else:
            clusters.append(Cluster(float(lat), float(lon), count, s, w, n, e))
    points: list[Point] = []
    if single_ids:
        found = await session.execute(
            select(
                Initiative.id,
                Initiative.slug,
                Initiative.name,
                Initiative.latitude,
                Initiative.longitude,
            ).where(Initiative.id.in_(single_ids))
        )
        points = [Point(*row) for row in found.all()]
        points.sort(key=lambda p: p.id)
    clusters.sort(key=lambda c: (-c.count, c.latitude, c.longitude))
    return MapView(zoom=zoom, total=total, clusters=clusters, points=points)


async def all_points(session: AsyncSession, query: SearchQuery) -> list[Point]:
    """Every matching point, unclustered: the baseline the benchmark compares against."""
    rows = await session.execute(
        select(
            Initiative.id,
            Initiative.slug,
            Initiative.name,
            Initiative.latitude,
            Initiative.longitude,
        ).where(
            Initiative.latitude.is_not(None), *filter_conditions(query, session.bind.dialect.name)
        )
    )
    return [Point(*row) for row in rows.all()]
