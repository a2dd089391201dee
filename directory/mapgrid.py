"""Server-side map clustering: published initiatives grouped on a grid sized by the zoom.

Cells are those of the grid of level zoom + 2 (2^level columns over 360°, 2^level rows
over 180°), about 64 pixels wide on screen. Each cell gives one cluster at the centroid
of its initiatives, or the initiative itself when it holds one.

Refresh rule: for every query without text or area (the unfiltered map, a theme, a
commune...), the whole grid of level GRID_LEVEL (zoom <= GRID_LEVEL - 2) is computed once
with one GROUP BY and cached under the search_state token (directory/facets.py), like the
facet counts; coarser levels are merged from it in Python. Triggers renew the token on
every committed change to what the grid depends on (moderation state, status, origin,
commune, position, themes, actor kinds, needs), so a cached grid never outlives a change.
A view then costs a few dictionary lookups. Unlike the facet counts, grids are shared by
all the connections of the process (GRIDS: the latest tokens only, a bounded number of
cells), so a change costs one computation, not one per pooled connection. Deeper zooms,
queries with text and sessions without a usable token (no change committed yet, or a
PostgreSQL transaction that has written) group the initiatives inside the view directly:
few rows at those zooms. Names and slugs of single points are always read fresh.
"""

from __future__ import annotations

import asyncio
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Hashable, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Integer, cast, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from directory import browse, geokey
from directory.facets import connection_cache, search_token, theme_rows
from directory.filters import conditions, has_text
from directory.models import Initiative
from directory.search import SearchQuery

MAX_ZOOM = 19
# Finest level of the cached grids (zoom 12: ~17,000 cells for 100k initiatives around
# 400 towns); beyond it a view holds few enough initiatives to group them directly.
GRID_LEVEL = 14
MAX_CELLS = 300_000  # cells kept per token (~100 MB at most), oldest grids dropped first
MAX_TOKENS = 4  # tokens whose grids are kept (several databases may share a process)
BBox = tuple[float, float, float, float]  # south, west, north, east
# count, sum of latitudes, sum of longitudes, south, west, north, east, smallest id
Cell = tuple[int, float, float, float, float, float, float, int]
Grid = dict[tuple[int, int], Cell]  # (column, row) of the level -> its cell


@dataclass(frozen=True)
class Cluster:
    latitude: float
    longitude: float
    count: int
    south: float
    west: float
    north: float
    east: float
    single_id: int | None = None  # for a cluster of one: its initiative's id


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


def grid_key(query: SearchQuery) -> tuple[Hashable, ...] | None:
    """What decides a query's grid, when it can be cached (no text, no area)."""
    if has_text(query) or query.bbox or query.near:
        return None
    lists = ("moderation_states", "statuses", "communes", "themes", "actor_kinds", "needs")
    return ("mapgrid", *(tuple(sorted(getattr(query, name))) for name in lists), query.origin)


async def map_view(session: AsyncSession, query: SearchQuery, bbox: BBox, zoom: int) -> MapView:
    """Clusters and single points of the initiatives matching `query` in `bbox`."""
    zoom = max(0, min(MAX_ZOOM, zoom))
    level = level_for(zoom)
    context = await _Context.load(session, query)
    if context.cacheable and level <= GRID_LEVEL:
        grid = await context.grid(level)
        cells = _in_box(grid, bbox, level)
    else:
        cells = list((await context.group(level, bbox)).values())
    clusters = [_cluster(cell) for cell in cells]
    ids = [c.single_id for c in clusters if c.single_id is not None]
    points = await _points(session, query, ids) if ids else []
    groups = sorted(
        (c for c in clusters if c.count > 1), key=lambda c: (-c.count, c.latitude, c.longitude)
    )
    return MapView(zoom=zoom, total=sum(c.count for c in clusters), clusters=groups, points=points)


async def bounds(session: AsyncSession, query: SearchQuery) -> BBox | None:
    """South, west, north, east of the initiatives matching `query` (None if none has a place).

    From the cached grids when the query has them (the map asks for them next): a merged
    cell keeps the exact extremes of its initiatives, so the coarsest grid has them all.
    """
    context = await _Context.load(session, query)
    if context.cacheable:
        cells = (await context.grid(1)).values()
        if not cells:
            return None
        return (
            min(c[3] for c in cells),
            min(c[4] for c in cells),
            max(c[5] for c in cells),
            max(c[6] for c in cells),
        )
    return await browse.extent(session, Initiative.latitude.is_not(None), *context.conditions())


def contains(outer: BBox, inner: BBox) -> bool:
    """Whether box `outer` holds box `inner` entirely."""
    return (
        outer[0] <= inner[0]
        and outer[1] <= inner[1]
        and inner[2] <= outer[2]
        and inner[3] <= outer[3]
    )


@dataclass
class _Grids:
    """The grids of one search_state token, and those being computed."""

    done: dict[Hashable, Grid] = field(default_factory=dict)
    pending: dict[Hashable, asyncio.Future] = field(default_factory=dict)

    async def get(self, key: Hashable, compute: Callable[[], Awaitable[Grid]]) -> Grid:
        if key in self.done:
            return self.done[key]
        pending = self.pending.get(key)
        if pending is not None:  # another request is computing it: share its answer
            try:
                return await asyncio.shield(pending)
            except asyncio.CancelledError:
                if not pending.cancelled():
                    raise  # this request itself was cancelled
            except Exception:
                pass  # its failure is its own: compute here
            return await compute()
        future: asyncio.Future = asyncio.get_running_loop().create_future()
        self.pending[key] = future
        try:
            grid = await compute()
        except BaseException as exc:
            if isinstance(exc, asyncio.CancelledError):
                future.cancel()
            else:
                future.set_exception(exc)
                future.exception()  # retrieved: no "never retrieved" warning when unshared
            raise
        finally:
            del self.pending[key]
        future.set_result(grid)
        while self.done and sum(map(len, self.done.values())) + len(grid) > MAX_CELLS:
            self.done.pop(next(iter(self.done)))
        self.done[key] = grid
        return grid


GRIDS: OrderedDict[str, _Grids] = OrderedDict()  # token -> its grids, newest last


def _grids_of(token: str) -> _Grids:
    grids = GRIDS.get(token)
    if grids is None:
        grids = GRIDS[token] = _Grids()
        while len(GRIDS) > MAX_TOKENS:
            GRIDS.popitem(last=False)
    else:
        GRIDS.move_to_end(token)
    return grids


@dataclass
class _Context:
    session: AsyncSession
    query: SearchQuery
    grids: _Grids | None
    key: tuple[Hashable, ...] | None
    theme_ids: list[int] | None

    @classmethod
    async def load(cls, session: AsyncSession, query: SearchQuery) -> _Context:
        token = await search_token(session)
        key = grid_key(query) if token is not None else None
        theme_ids = None
        if query.themes:
            # Literal theme ids (with sub-themes): PostgreSQL then drives the plan from the
            # theme index instead of checking a subquery for every initiative.
            themes = await theme_rows(session, await connection_cache(session))
            wanted = {t.id for t in themes if t.slug in query.themes}
            theme_ids = sorted(t.id for t in themes if t.id in wanted or t.parent_id in wanted)
        return cls(session, query, _grids_of(token) if key else None, key, theme_ids)

    @property
    def cacheable(self) -> bool:
        return self.grids is not None

    def conditions(self) -> list[Any]:
        return conditions(self.query, self.session.bind.dialect.name, theme_ids=self.theme_ids)

    async def grid(self, level: int) -> Grid:
        """The whole grid of `level` (<= GRID_LEVEL), cached under the search_state token."""
        assert self.grids is not None and self.key is not None
        if level == GRID_LEVEL:
            return await self.grids.get((*self.key, level), lambda: self.group(level, None))
        return await self.grids.get((*self.key, level), lambda: self._merged(GRID_LEVEL - level))

    async def _merged(self, shift: int) -> Grid:
        merged: dict[tuple[int, int], list] = {}
        for (x, y), cell in (await self.grid(GRID_LEVEL)).items():
            _add(merged, (x >> shift, y >> shift), cell)
        return {xy: tuple(cell) for xy, cell in merged.items()}  # type: ignore[misc]

    async def group(self, level: int, bbox: BBox | None) -> Grid:
        """The matching initiatives (inside `bbox` if given) grouped by cell of `level`."""
        # Columns and rows from the coordinates themselves: cheaper per row than the key,
        # which SQLite recomputes for each row outside its index. (Values are positive:
        # SQLite's CAST truncates; PostgreSQL's rounds, so floor first.)
        column = (Initiative.longitude + 180.0) * (2**level / 360.0)
        row = (90.0 - Initiative.latitude) * (2**level / 180.0)
        if self.session.bind.dialect.name == "postgresql":
            column, row = func.floor(column), func.floor(row)
        columns, rows_ = cast(column, Integer), cast(row, Integer)
        area = [Initiative.latitude.is_not(None), Initiative.longitude.is_not(None)]
        if bbox is not None:
            south, west, north, east = bbox
            area = [
                Initiative.latitude.between(south, north),
                Initiative.longitude.between(west, east),
            ]
        rows = await self.session.execute(
            select(
                columns,
                rows_,
                func.count(),
                func.sum(Initiative.latitude),
                func.sum(Initiative.longitude),
                func.min(Initiative.latitude),
                func.min(Initiative.longitude),
                func.max(Initiative.latitude),
                func.max(Initiative.longitude),
                func.min(Initiative.id),
            )
            # The area as plain conditions, so that a theme or need drives the plan (IN)
            # rather than a per-row EXISTS probe over every initiative in the view.
            .where(*area, *self.conditions())
            .group_by(rows_, columns)
        )
        last = 2**level - 1  # the poles and the antimeridian fall in the edge cells
        grid: dict[tuple[int, int], list] = {}
        for x, y, n, slat, slon, s, w, no, e, first in rows.all():
            cell = [n, float(slat), float(slon), s, w, no, e, first]
            _add(grid, (min(max(x, 0), last), min(max(y, 0), last)), cell)
        return {xy: tuple(cell) for xy, cell in grid.items()}  # type: ignore[misc]


def _add(grid: dict[tuple[int, int], list], xy: tuple[int, int], cell: Sequence) -> None:
    """Add a cell's figures into the cell `xy` of `grid`."""
    into = grid.get(xy)
    if into is None:
        grid[xy] = list(cell)
        return
    into[0] += cell[0]
    into[1] += cell[1]
    into[2] += cell[2]
    into[3], into[4] = min(into[3], cell[3]), min(into[4], cell[4])
    into[5], into[6] = max(into[5], cell[5]), max(into[6], cell[6])
    into[7] = min(into[7], cell[7])


def _in_box(grid: Grid, bbox: BBox, level: int) -> list[Cell]:
    """The cells of `grid` (of `level`) that the box touches."""
    south, west, north, east = bbox
    x0, x1 = geokey.grid_x(west, level), geokey.grid_x(east, level)
    y0, y1 = geokey.grid_y(north, level), geokey.grid_y(south, level)
    if (x1 - x0 + 1) * (y1 - y0 + 1) < len(grid):
        found = (grid.get((x, y)) for y in range(y0, y1 + 1) for x in range(x0, x1 + 1))
        return [cell for cell in found if cell is not None]
    return [cell for (x, y), cell in grid.items() if x0 <= x <= x1 and y0 <= y <= y1]


def _cluster(cell: Cell) -> Cluster:
    n, slat, slon, s, w, no, e, first = cell
    return Cluster(slat / n, slon / n, n, s, w, no, e, single_id=first if n == 1 else None)


async def _points(session: AsyncSession, query: SearchQuery, ids: Sequence[int]) -> list[Point]:
    states = [Initiative.moderation_state.in_(query.moderation_states)]
    rows = await session.execute(
        select(
            Initiative.id,
            Initiative.slug,
            Initiative.name,
            Initiative.latitude,
            Initiative.longitude,
        ).where(Initiative.id.in_(ids), *(states if query.moderation_states else []))
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
