"""Inbox benchmark: signed Create POSTs to /inbox on PostgreSQL, with 2 uvicorn workers.

Run from the repository root:  python -m bench.inbox [--requests 6000] [--workers 2]
Requests are signed and rendered before the clock starts (by a sender key the instance
already has in its remote actor cache; the Date stays well within the 12-hour window), then
written on keep-alive connections from two processes (answers read with httptools: the
senders share the 2 cores with the server, so they must cost little): first as fast as 64
in flight each allow (throughput), then open-loop at --rate (default the goal, 2,000/s)
for the latency at that rate (a closed loop with N in flight would only measure N / rate).
Prints, measured in the same run on the same port setup:
- the ceiling: a no-database endpoint doing the same checks (body cap, JSON, parse,
  Digest and RSA signature verification) and answering 202;
- the real inbox (checks + durable insert of the raw activity): accepted/s, p50 and p99.
Goal: >= 2,000 accepted/s and p99 < 50 ms with 2 web workers.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import subprocess
import sys
import time

GOAL_RATE = 2000.0
GOAL_P99_MS = 50.0
BASE = "https://maillage.bench"
SENDER = "https://peer.bench/users/alice"


def verify_only_app():
    """The ceiling: the route's checks without any database."""
    import orjson
    from starlette.applications import Starlette
    from starlette.responses import Response
    from starlette.routing import Route

    from federation.parse import parse_activity
    from federation.signatures import PublicKey, verify_request

    pem = os.environ["BENCH_SENDER_PEM"]
    key = PublicKey(f"{SENDER}#main-key", SENDER, pem)

    async def resolve(key_id: str, refresh: bool) -> PublicKey:
        return key

    async def inbox(request):
        body = await request.body()
        activity = orjson.loads(body)
        parse_activity(activity)
        verified = await verify_request("POST", request.url.path, request.headers, body, resolve)
        assert verified.owner == activity["actor"]
        return Response(status_code=202)

    return Starlette(routes=[Route("/inbox", inbox, methods=["POST"])])


def inbox_app():
    """The real application, as `maillage serve` builds it (MAILLAGE_* environment)."""
    from web.commands.core import app_from_env

    return app_from_env()


class _Connection:
    """One keep-alive HTTP/1.1 connection sending pre-rendered requests, one at a time.

    httptools (uvicorn's own parser) reads the answers: an aiohttp client costs as much
    CPU per request as the server being measured, on the same cores."""

    def __init__(self) -> None:
        import httptools

        self.parser = httptools.HttpResponseParser(self)
        self.answer: asyncio.Future[int] | None = None

    # asyncio.Protocol
    def connection_made(self, transport) -> None:
        self.transport = transport

    def data_received(self, data: bytes) -> None:
        self.parser.feed_data(data)

    def connection_lost(self, exc) -> None:
        if self.answer is not None and not self.answer.done():
            self.answer.set_exception(exc or ConnectionError("connection closed"))

    def eof_received(self) -> None:
        pass

    # httptools callbacks
    def on_message_complete(self) -> None:
        self.answer.set_result(self.parser.get_status_code())

    def send(self, request: bytes) -> asyncio.Future[int]:
        self.answer = asyncio.get_running_loop().create_future()
        self.transport.write(request)
        return self.answer


def _sender(requests: list[bytes], port: int, rate: float, ready, go, results) -> None:
    """Send `requests`: as fast as 64 in flight allow (rate 0), or open-loop at `rate`/s.

    Open loop: request i leaves at start + i/rate whatever the answers do (on a new
    connection when all open ones are busy), and its latency counts from that planned time
    (no coordinated omission: a stalled server shows)."""
    import resource

    import uvloop

    async def main() -> None:
        loop = asyncio.get_running_loop()
        latencies: list[float] = []
        accepted = 0
        idle: list[_Connection] = []
        limit = asyncio.Semaphore(64 if rate == 0 else 100_000)

        async def one(request: bytes, planned: float | None) -> None:
            nonlocal accepted
            async with limit:
                started = time.perf_counter() if planned is None else planned
                if idle:
                    connection = idle.pop()
                else:
                    _, connection = await loop.create_connection(_Connection, "127.0.0.1", port)
                try:
                    status = await connection.send(request)
                except OSError:  # the server closed the connection: not accepted
                    status = 0
                latencies.append(time.perf_counter() - started)
                if status and connection.parser.should_keep_alive():
                    idle.append(connection)
                else:
                    connection.transport.close()
                accepted += status == 202

        ready.set()
        await asyncio.to_thread(go.wait)
        cpu = resource.getrusage(resource.RUSAGE_SELF)
        start = time.time()
        if rate == 0:
            await asyncio.gather(*(one(r, None) for r in requests))
        else:
            began, tasks = time.perf_counter(), []
            for i, r in enumerate(requests):
                planned = began + i / rate
                delay = planned - time.perf_counter()
                if delay > 0:
                    await asyncio.sleep(delay)
                tasks.append(asyncio.create_task(one(r, planned)))
            await asyncio.gather(*tasks)
        end = time.time()
        used = resource.getrusage(resource.RUSAGE_SELF)
        cpu_s = used.ru_utime + used.ru_stime - cpu.ru_utime - cpu.ru_stime
        for connection in idle:
            connection.transport.close()
        results.put((accepted, start, end, latencies, cpu_s))

    uvloop.run(main())


def _sign_all(count: int, port: int, pem: str) -> list[bytes]:
    """Signed POSTs, rendered as HTTP/1.1 requests."""
    import orjson
    from bovine.crypto.types import CryptographicSecret

    from federation.signatures import sign_request

    key = CryptographicSecret.from_pem(f"{SENDER}#main-key", pem)
    url = f"http://127.0.0.1:{port}/inbox"
    out = []
    for i in range(count):
        activity = {
            "@context": "https://www.w3.org/ns/activitystreams",
            "id": f"{SENDER}/activities/{i}",
            "type": "Create",
            "actor": SENDER,
            "object": {
                "id": f"https://peer.bench/initiatives/{i}",
                "type": "Page",
                "name": f"Initiative {i}",
                "content": "<p>" + "Une initiative du territoire. " * 50 + "</p>",
            },
        }
        body = orjson.dumps(activity)
        headers = sign_request("POST", url, key, body=body)
        headers["Content-Type"] = "application/activity+json"
        headers["Content-Length"] = str(len(body))
        head = "".join(f"{name}: {value}\r\n" for name, value in headers.items())
        out.append(f"POST /inbox HTTP/1.1\r\n{head}\r\n".encode() + body)
    return out


def _measure(
    requests: list[bytes], port: int, senders: int, rate: float = 0
) -> tuple[float, float, float, int, float]:
    """accepted/s, p50 and p99 (ms), accepted, and the senders' CPU ms per request."""
    from bench._federation import run_processes

    shares = [(requests[i::senders], port, rate / senders) for i in range(senders)]
    results = run_processes(_sender, shares)
    accepted = sum(r[0] for r in results)
    elapsed = max(r[2] for r in results) - min(r[1] for r in results)
    latencies = sorted(x for r in results for x in r[3])
    p50 = latencies[len(latencies) // 2] * 1000
    p99 = latencies[int(len(latencies) * 0.99)] * 1000
    sender_cpu = sum(r[4] for r in results) / len(requests) * 1000
    return accepted / elapsed, p50, p99, accepted, sender_cpu


def _serve(factory: str, port: int, workers: int, env: dict) -> subprocess.Popen:
    process = subprocess.Popen(
        [sys.executable, "-m", "uvicorn", factory, "--factory", "--port", str(port),
         "--workers", str(workers), "--log-level", "warning", "--no-access-log"],
        env={**os.environ, **env},
    )  # fmt: skip
    import socket

    deadline = time.time() + 30
    while time.time() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            return process
        except OSError:
            time.sleep(0.2)
    raise RuntimeError(f"{factory} did not start")


async def _prepare(url: str, public_pem: str) -> None:
    from directory.db import Database
    from federation import keys
    from federation.models import RemoteActor
    from web.settings import Settings

    db = Database(url)
    async with db.session() as session:
        await keys.ensure_actors(session, Settings(base_url=BASE, database_url=url))
        session.add(
            RemoteActor(
                uri=SENDER,
                host="peer.bench",
                ap_type="Person",
                inbox=f"{SENDER}/inbox",
                public_key_id=f"{SENDER}#main-key",
                public_key_pem=public_pem,
                document={"id": SENDER, "type": "Person"},
            )
        )
    await db.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=6000)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument(
        "--rate", type=float, default=GOAL_RATE, help="open-loop rate for the latency measure"
    )
    args = parser.parse_args()

    from bench._federation import free_port, tree_cpu_seconds
    from bench._postgres import postgres_database
    from federation.keys import generate_key_pair

    public, private = generate_key_pair()

    async def run() -> None:
        async with postgres_database() as url:
            await _prepare(url, public)
            env = {
                "MAILLAGE_DATABASE_URL": url,
                "MAILLAGE_BASE_URL": BASE,
                "MAILLAGE_SECRET_KEY": "bench",
                "BENCH_SENDER_PEM": public,
                "PYTHONPATH": os.getcwd(),
            }
            t = time.perf_counter()
            # One port for both servers (one after the other): the requests are signed once.
            port = free_port()
            requests = _sign_all(200 + 2 * args.requests, port, private)
            for name, factory in (
                ("ceiling (verify only, no database)", "bench.inbox:verify_only_app"),
                ("inbox (verify + durable insert, PostgreSQL)", "bench.inbox:inbox_app"),
            ):
                server = _serve(factory, port, args.workers, env)
                try:
                    # Warm up each worker (key caches, connections), then measure.
                    await asyncio.to_thread(_measure, requests[:200], port, 2)
                    measured, paced_requests = (
                        requests[200 : 200 + args.requests],
                        requests[200 + args.requests :],
                    )
                    cpu = tree_cpu_seconds(server.pid)
                    rate, p50, p99, ok, sent = await asyncio.to_thread(_measure, measured, port, 2)
                    cpu = tree_cpu_seconds(server.pid) - cpu
                    # The latency goal at the goal's rate, offered open-loop.
                    paced_cpu = tree_cpu_seconds(server.pid)
                    paced = await asyncio.to_thread(_measure, paced_requests, port, 2, args.rate)
                    paced_cpu = tree_cpu_seconds(server.pid) - paced_cpu
                finally:
                    server.terminate()
                    server.wait(10)
                per_request = cpu / max(ok, 1) * 1000
                load = " ".join(f"{x:.2f}" for x in os.getloadavg())
                print(
                    f"{name}: {rate:,.0f} accepted/s, p50 {p50:.1f} ms, p99 {p99:.1f} ms "
                    f"({ok}/{args.requests} accepted, {args.workers} workers); "
                    f"server CPU {per_request:.3f} ms per request, i.e. at most "
                    f"{args.workers / per_request * 1000:,.0f}/s on {args.workers} free cores "
                    f"(senders {sent:.3f} ms; load average {load})"
                )
                print(
                    f"  offered open-loop at {args.rate:,.0f}/s: {paced[0]:,.0f} accepted/s, "
                    f"p50 {paced[1]:.1f} ms, p99 {paced[2]:.1f} ms ({paced[3]} accepted); "
                    f"server CPU {paced_cpu / max(paced[3], 1) * 1000:.3f} ms per request "
                    f"(senders {paced[4]:.3f} ms)"
                )
            print(f"(signing the requests beforehand took part of {time.perf_counter() - t:.0f} s)")
            print(f"goal: >= {GOAL_RATE:,.0f}/s and p99 < {GOAL_P99_MS:.0f} ms on the inbox")

    asyncio.run(run())


if __name__ == "__main__":
    main()
