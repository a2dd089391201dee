"""The map's grid (columns and rows of each level) and a Z-order (Morton) key of positions.

Level t has 2^t columns over 360° and 2^t rows over 180° (equirectangular); mapgrid.py
clusters on it. The key interleaves 24 bits of longitude and 24 bits of latitude, so the
points of any cell of any level have keys in one contiguous range. The database keeps it
as a generated column (`map_key`, web/migrations/versions/0004_web.py); since 0007 the
map no longer counts by key ranges (its grids are cached, see mapgrid.py), so no index
covers it.
"""

from __future__ import annotations

BITS = 24
SIZE = 1 << BITS


def grid_x(longitude: float, level: int = BITS) -> int:
    """Column of a longitude on the grid of `level`."""
    x = int((longitude + 180.0) * SIZE / 360.0)
    return max(0, min(SIZE - 1, x)) >> (BITS - level)


def grid_y(latitude: float, level: int = BITS) -> int:
    """Row of a latitude on the grid of `level` (row 0 at the North Pole)."""
    y = int((90.0 - latitude) * SIZE / 180.0)
    return max(0, min(SIZE - 1, y)) >> (BITS - level)


def spread(value: int) -> int:
    """Put the bits of `value` on the even bit positions."""
    out = 0
    for bit in range(BITS):
        out |= ((value >> bit) & 1) << (2 * bit)
    return out


def cell_key(x: int, y: int) -> int:
    """The Morton key of cell (x, y) at its own level."""
    return spread(x) | (spread(y) << 1)


def point_key(latitude: float, longitude: float) -> int:
    """The full-precision key of a position (what the generated column holds)."""
    return cell_key(grid_x(longitude), grid_y(latitude))


def cell_range(x: int, y: int, level: int) -> tuple[int, int]:
    """First and last full-precision keys inside cell (x, y) of `level`."""
    shift = 2 * (BITS - level)
    key = cell_key(x, y)
    return key << shift, ((key + 1) << shift) - 1


def cell_bounds(x: int, y: int, level: int) -> tuple[float, float, float, float]:
    """South, west, north, east of cell (x, y) of `level`."""
    lon_step, lat_step = 360.0 / (1 << level), 180.0 / (1 << level)
    north = 90.0 - y * lat_step
    west = -180.0 + x * lon_step
    return north - lat_step, west, north, west + lon_step


def key_sql(dialect: str) -> str:
    """The SQL expression of the key, for the generated column (same result as point_key)."""
    if dialect == "postgresql":
        x = f"LEAST({SIZE - 1}, GREATEST(0, floor((longitude + 180.0) * {SIZE} / 360.0)))::bigint"
        y = f"LEAST({SIZE - 1}, GREATEST(0, floor((90.0 - latitude) * {SIZE} / 180.0)))::bigint"
    else:
        x = f"MIN({SIZE - 1}, MAX(0, CAST((longitude + 180.0) * {SIZE} / 360.0 AS INTEGER)))"
        y = f"MIN({SIZE - 1}, MAX(0, CAST((90.0 - latitude) * {SIZE} / 180.0 AS INTEGER)))"
    terms = [f"((({x}) >> {b}) & 1) << {2 * b}" for b in range(BITS)]
    terms += [f"((({y}) >> {b}) & 1) << {2 * b + 1}" for b in range(BITS)]
    return " | ".join(f"({t})" for t in terms)
