"""Serve an ASGI app with uvicorn on a loopback socket, for tests over real HTTP."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import uvicorn


def bind_loopback() -> socket.socket:
    """A listening socket on a free loopback port (connections queue until served)."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    sock.listen(128)
    return sock


@asynccontextmanager
async def serve(app: Any, sock: socket.socket, **config: Any) -> AsyncIterator[uvicorn.Server]:
    """Run uvicorn on `sock` for the duration of the block."""
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="off", **config))
    task = asyncio.create_task(server.serve(sockets=[sock]))
    try:
        yield server
    finally:
        server.should_exit = True
        await task
