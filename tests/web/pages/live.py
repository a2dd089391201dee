"""A real instance on a loopback port (uvicorn in a thread) for browser tests and benches."""

from __future__ import annotations

import socket
import struct
import threading
import time
import zlib
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Mount, Route

from web.app import create_app
from web.settings import Settings


def blank_tile_png(size: int = 256, rgb: tuple[int, int, int] = (233, 237, 242)) -> bytes:
    """A plain PNG tile, so the map has tiles without any request leaving the machine."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    row = b"\x00" + bytes(rgb) * size
    raw = zlib.compress(row * size, 9)
    header = struct.pack(">IIBBBBB", size, size, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", raw) + chunk(b"IEND", b"")


class LiveServer:
    """Serve an instance (plus a blank tile route) on 127.0.0.1:<free port>."""

    def __init__(self, database_url: str, data_dir: Path, **overrides: object) -> None:
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self.settings = Settings(
            data_dir=data_dir,
            database_url=database_url,
            base_url=self.url,
            secret_key="live-test-secret",
            territory_name="Loire-Atlantique",
            tile_url=f"{self.url}/test-tiles/{{z}}/{{x}}/{{y}}.png",
            tile_attribution="Fonds de carte de test",
            allow_private_addresses=True,
        ).with_(**overrides)
        tile = blank_tile_png()

        async def tiles(request: Request) -> Response:
            return Response(tile, media_type="image/png", headers={"Cache-Control": "max-age=3600"})

        instance = create_app(self.settings)

        @asynccontextmanager
        async def lifespan(app: Starlette) -> AsyncIterator[None]:
            yield
            await instance.state.db.dispose()  # mounted apps get no lifespan of their own

        app = Starlette(
            routes=[
                Route("/test-tiles/{z}/{x}/{y}.png", tiles),
                Mount("/", instance),
            ],
            lifespan=lifespan,
        )
        config = uvicorn.Config(app, log_level="warning", lifespan="on", access_log=False)
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(
            target=self.server.run, kwargs={"sockets": [self.sock]}, daemon=True
        )

    def __enter__(self) -> LiveServer:
        self.thread.start()
        deadline = time.monotonic() + 20
        while not self.server.started:
            if time.monotonic() > deadline or not self.thread.is_alive():
                raise RuntimeError("the live server did not start")
            time.sleep(0.02)
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)
        self.sock.close()
