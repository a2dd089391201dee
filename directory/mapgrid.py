"""Server-side map clustering: published initiatives grouped on a grid sized by the zoom.

Cells are those of the Morton key (directory/geokey.py) at level zoom + 2, about 64 pixels
wide on screen. Unfiltered views count each half-cell with one index range scan over
(moderation_state, map_key): no sort, no table access, so the whole territory at 100k
initiatives costs a few tens of milliseconds. Filtered views group the (smaller) matching
set by its key prefix. Either way the answer holds at most a few hundred cells.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass

from sqlalchemy import BigInteger, Integer, cast, func, literal_column, select, text
from sqlalchemy.ext.asyncio import AsyncSession

from directory import geokey
from directory.filters import conditions
from directory.models import Initiative
from directory.sameas import any_shadowed
from directory.search import SearchQuery

MAX_ZOOM = 19
MAX_RANGES = 4000  # half-cells counted one by one beyond which the view is too wide
BBox = tuple[float, float, float, float]  # south, west, north, east
MAP_KEY = literal_column("initiatives.map_key", BigInteger)


@dataclass(frozen=True)
class Cluster:
    latitude: float
    longitude: float
    count: int
    south: float
    west: float
    north: float
    east: float
    # For a cluster of one: its initiative's id, or the key range that holds it.
    single_id: int | None = None
    single_range: tuple[int, int] | None = None


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


def level_for(zoom: int) -> int:
    """Grid level whose cells are ~64 px wide at this zoom (a 256 px tile holds 4)."""
    return max(1, min(geokey.BITS - 1, zoom + 2))


def is_unfiltered(query: SearchQuery) -> bool:
    return (
        tuple(query.moderation_states) == ("published",)
        and not query.text.strip()
        and not (query.themes or query.actor_kinds or query.needs or query.communes)
        and not query.statuses
        and query.origin == "all"
    )


def _cells(bbox: BBox, level: int) -> list[tuple[int, int]] | None:
    """The cells of `level` covering the box, or None when there are more than MAX_RANGES."""
    south, west, north, east = bbox
    xs = range(geokey.grid_x(west, level), geokey.grid_x(east, level) + 1)
    ys = range(geokey.grid_y(north, level), geokey.grid_y(south, level) + 1)
    if len(xs) * len(ys) > MAX_RANGES:
        return None
    return [(x, y) for y in ys for x in xs]


async def map_view(session: AsyncSession, query: SearchQuery, bbox: BBox, zoom: int) -> MapView:
    """Clusters and single points of the published initiatives matching `query` in `bbox`."""
    zoom = max(0, min(MAX_ZOOM, zoom))
    level = level_for(zoom)
    # Counting index ranges sees every published row: not when some hide behind a twin.
    unfiltered = is_unfiltered(query) and not await any_shadowed(session)
    halves = _cells(bbox, level + 1) if unfiltered else None
    if halves is not None:
        clusters = await _count_by_ranges(session, halves, level + 1)
    else:
        clusters = await _group_by_key(session, query, bbox, level)
    ids = [c.single_id for c in clusters if c.count == 1 and c.single_id is not None]
    ranges = [c.single_range for c in clusters if c.count == 1 and c.single_range]
    points = await _points(session, Initiative.id.in_(ids)) if ids else []
    if ranges:
        points += await _points_in_ranges(session, ranges)
    groups = sorted(
        (c for c in clusters if c.count > 1), key=lambda c: (-c.count, c.latitude, c.longitude)
    )
    return MapView(zoom=zoom, total=sum(c.count for c in clusters), clusters=groups, points=points)


async def _count_by_ranges(
    session: AsyncSession, halves: list[tuple[int, int]], level: int
) -> list[Cluster]:
    """Count each half-cell by an index range scan, then merge them into cells."""
    ranges = sorted((*geokey.cell_range(x, y, level), x, y) for x, y in halves)
    values = ", ".join(f"({lo}, {hi}, {x}, {y})" for lo, hi, x, y in ranges)
    rows = await session.execute(
        text(
            f"WITH r(lo, hi, x, y) AS (VALUES {values}) "
            "SELECT x, y, (SELECT count(*) FROM initiatives"
            " WHERE moderation_state = 'published' AND map_key BETWEEN r.lo AND r.hi) AS n"
            " FROM r"
        )
    )
    merged: dict[tuple[int, int], list[tuple[int, int, int]]] = defaultdict(list)
    for x, y, n in rows.all():
        if n:
            merged[(x >> 1, y >> 1)].append((x, y, n))
    clusters = []
    for parts in merged.values():
        count = sum(n for _, _, n in parts)
        boxes = [geokey.cell_bounds(x, y, level) for x, y, _ in parts]
        lat = sum((b[0] + b[2]) / 2 * n for b, (_, _, n) in zip(boxes, parts, strict=True))
        lon = sum((b[1] + b[3]) / 2 * n for b, (_, _, n) in zip(boxes, parts, strict=True))
        x, y, _ = parts[0]
        clusters.append(
            Cluster(
                lat / count,
                lon / count,
                count,
                min(b[0] for b in boxes),
                min(b[1] for b in boxes),
                max(b[2] for b in boxes),
                max(b[3] for b in boxes),
                single_range=geokey.cell_range(x, y, level) if count == 1 else None,
            )
        )
    return clusters


async def _group_by_key(
    session: AsyncSession, query: SearchQuery, bbox: BBox, level: int
) -> list[Cluster]:
    """Group the matching initiatives in the view by their grid cell of `level`."""
    south, west, north, east = bbox
    # Grid columns and rows of `level` from the coordinates themselves: cheaper per row than
    # the key, which SQLite recomputes for each row outside its index.
    # (Values are positive: SQLite's CAST truncates; PostgreSQL's rounds, so floor first.)
    column = (Initiative.longitude + 180.0) * (2**level / 360.0)
    row = (90.0 - Initiative.latitude) * (2**level / 180.0)
    if session.bind.dialect.name == "postgresql":
        column, row = func.floor(column), func.floor(row)
    columns, rows_ = cast(column, Integer), cast(row, Integer)
    rows = await session.execute(
        select(
            func.count(),
            func.avg(Initiative.latitude),
            func.avg(Initiative.longitude),
            func.min(Initiative.latitude),
            func.min(Initiative.longitude),
            func.max(Initiative.latitude),
            func.max(Initiative.longitude),
            func.min(Initiative.id),
        )
        .where(
            # The area as plain conditions, so that a theme or need drives the plan (IN)
            # rather than a per-row EXISTS probe over every initiative in the view.
            Initiative.latitude.between(south, north),
            Initiative.longitude.between(west, east),
            *conditions(query, session.bind.dialect.name),
        )
        .group_by(rows_, columns)
    )
    return [
        Cluster(float(lat), float(lon), n, s, w, no, e, single_id=first if n == 1 else None)
        for n, lat, lon, s, w, no, e, first in rows.all()
    ]


async def _points_in_ranges(session: AsyncSession, ranges: list[tuple[int, int]]) -> list[Point]:
    """The initiatives whose key falls in these ranges: one index seek per range."""
    values = ", ".join(f"({lo}, {hi})" for lo, hi in ranges)
    rows = await session.execute(
        text(
            f"WITH r(lo, hi) AS (VALUES {values}) "
            "SELECT i.id, i.slug, i.name, i.latitude, i.longitude FROM r JOIN initiatives i"
            " ON i.moderation_state = 'published' AND i.map_key BETWEEN r.lo AND r.hi"
        )
    )
    return sorted((Point(*row) for row in rows.all()), key=lambda p: p.id)


async def _points(session: AsyncSession, condition) -> list[Point]:
    rows = await session.execute(
        select(
            Initiative.id,
            Initiative.slug,
            Initiative.name,
            Initiative.latitude,
            Initiative.longitude,
        ).where(Initiative.moderation_state == "published", condition)
    )
    return sorted((Point(*row) for row in rows.all()), key=lambda p: p.id)


async def all_points(session: AsyncSession, query: SearchQuery) -> list[Point]:
    """Every matching point, unclustered: the baseline the benchmark compares against."""
    rows = await session.execute(
        select(
            Initiative.id,
            Initiative.slug,
            Initiative.name,
            Initiative.latitude,
            Initiative.longitude,
        ).where(Initiative.latitude.is_not(None), *conditions(query, session.bind.dialect.name))
    )
    return [Point(*row) for row in rows.all()]
