"""A default avatar for our actors: a small PNG in a colour derived from the name.

Mastodon only shows raster avatars (PNG, JPEG, GIF, WebP), so no SVG here.
"""

from __future__ import annotations

import hashlib
import struct
import zlib

SIZE = 96


def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def actor_icon_png(name: str) -> bytes:
    """A SIZE x SIZE PNG: a coloured square with a lighter inner square."""
    digest = hashlib.sha256(name.encode()).digest()
    base = (40 + digest[0] % 120, 60 + digest[1] % 120, 60 + digest[2] % 120)
    light = tuple(min(255, c + 90) for c in base)
    rows = []
    for y in range(SIZE):
        inner_y = SIZE // 4 <= y < 3 * SIZE // 4
        row = bytearray(b"\x00")
        for x in range(SIZE):
            inner = inner_y and SIZE // 4 <= x < 3 * SIZE // 4
            row += bytes(light if inner else base)
        rows.append(bytes(row))
    header = struct.pack(">IIBBBBB", SIZE, SIZE, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + _chunk(b"IHDR", header)
        + _chunk(b"IDAT", zlib.compress(b"".join(rows), 9))
        + _chunk(b"IEND", b"")
    )
