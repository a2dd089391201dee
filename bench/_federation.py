"""Shared pieces of the federation benchmarks: a sink server on loopback, process start-up
with a common go signal (the throw-away PostgreSQL database is bench/_postgres.py)."""

from __future__ import annotations

import asyncio
import multiprocessing as mp
import os
import socket
from collections.abc import Callable


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _sink(port: int, ready, counter) -> None:
    import uvloop
    from aiohttp import web

    async def inbox(request: web.Request) -> web.Response:
        await request.read()
        with counter.get_lock():
            counter.value += 1
        return web.Response(status=202)

    async def main() -> None:
        app = web.Application()
        app.router.add_post("/{tail:.*}", inbox)
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        await web.TCPSite(runner, "0.0.0.0", port, backlog=4096, reuse_address=True).start()
        ready.set()
        await asyncio.Event().wait()

    uvloop.run(main())


class Sink:
    """An aiohttp server on every loopback address, answering 202 to every POST, counting."""

    def __init__(self) -> None:
        ctx = mp.get_context("spawn")
        self.port = free_port()
        self.counter = ctx.Value("l", 0)
        ready = ctx.Event()
        self.process = ctx.Process(target=_sink, args=(self.port, ready, self.counter), daemon=True)
        self.process.start()
        ready.wait(10)

    @property
    def count(self) -> int:
        return self.counter.value

    def reset(self) -> None:
        with self.counter.get_lock():
            self.counter.value = 0

    def stop(self) -> None:
        self.process.terminate()
        self.process.join(5)


def tree_cpu_seconds(pid: int) -> float:
    """CPU time (user + system) used so far by a process and its children (Linux /proc):
    what a server costs per request, whatever else the machine runs meanwhile."""
    tick = os.sysconf("SC_CLK_TCK")
    total = 0.0
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as f:
                fields = f.read().rpartition(")")[2].split()
        except OSError:
            continue
        # fields[1] is the parent pid; [11], [12] utime and stime in clock ticks.
        if int(entry) == pid or int(fields[1]) == pid:
            total += (int(fields[11]) + int(fields[12])) / tick
    return total


def loopback_host(i: int, port: int) -> str:
    """The i-th distinct host: 127.1.x.y:port (all of 127/8 reaches the loopback)."""
    return f"127.1.{i // 250}.{i % 250 + 1}:{port}"


def run_processes(target: Callable, args_list: list[tuple]) -> list:
    """Start one process per args, wait until all are ready, go, and collect results."""
    ctx = mp.get_context("spawn")
    ready = [ctx.Event() for _ in args_list]
    go = ctx.Event()
    results = ctx.Queue()
    processes = [
        ctx.Process(target=target, args=(*args, ready[i], go, results))
        for i, args in enumerate(args_list)
    ]
    for process in processes:
        process.start()
    for event in ready:
        event.wait(60)
    go.set()
    collected = [results.get(timeout=600) for _ in processes]
    for process in processes:
        process.join(30)
    return collected


def app_from_env():
    """A Maillage app from MAILLAGE_* variables (uvicorn factory for the benchmarks)."""
    from web.app import create_app
    from web.settings import Settings

    return create_app(Settings.from_env())
