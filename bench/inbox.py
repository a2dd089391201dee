"""Inbox benchmark: signed Create POSTs to /inbox on PostgreSQL, with 2 uvicorn workers.

Run from the repository root:  python -m bench.inbox [--requests 6000] [--workers 2]
Requests are signed before the clock starts (by a sender key the instance already has in
its remote actor cache), then sent by aiohttp from two processes: first as fast as 64 in
flight each allow (throughput), then open-loop at --rate (default the goal, 2,000/s) for
the latency at that rate (a closed loop with N in flight would only measure N / rate).
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
    """The real application (MAILLAGE_* environment)."""
    from web.app import create_app
    from web.settings import Settings

    return create_app(Settings.from_env())


def _sender(requests: list[tuple[str, bytes, dict]], rate: float, ready, go, results) -> None:
    """Send `requests`: as fast as 64 in flight allow (rate 0), or open-loop at `rate`/s.

    Open loop: request i leaves at start + i/rate whatever the answers do, and its latency
    counts from that planned time (no coordinated omission: a stalled server shows).
    """
    import aiohttp
    import uvloop

    async def main() -> None:
        latencies: list[float] = []
        accepted = 0
        in_flight = 64 if rate == 0 else 1024
        connector = aiohttp.TCPConnector(limit=in_flight)
        async with aiohttp.ClientSession(connector=connector) as session:
            limit = asyncio.Semaphore(in_flight)

            async def one(url: str, body: bytes, headers: dict, planned: float | None) -> None:
                nonlocal accepted
                async with limit:
                    started = time.perf_counter() if planned is None else planned
                    async with session.post(url, data=body, headers=headers) as response:
                        await response.read()
                        if response.status == 202:
                            accepted += 1
                    latencies.append(time.perf_counter() - started)

            ready.set()
            await asyncio.to_thread(go.wait)
            start = time.time()
            if rate == 0:
                await asyncio.gather(*(one(*r, None) for r in requests))
            else:
                began, tasks = time.perf_counter(), []
                for i, r in enumerate(requests):
                    planned = began + i / rate
                    delay = planned - time.perf_counter()
                    if delay > 0:
                        await asyncio.sleep(delay)
                    tasks.append(asyncio.create_task(one(*r, planned)))
                await asyncio.gather(*tasks)
            end = time.time()
        results.put((accepted, start, end, latencies))

    uvloop.run(main())


def _sign_all(count: int, port: int, pem: str) -> list[tuple[str, bytes, dict]]:
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
        out.append((url, body, headers))
    return out


def _measure(requests, senders: int, rate: float = 0) -> tuple[float, float, float, int]:
    from bench._federation import run_processes

    shares = [(requests[i::senders], rate / senders) for i in range(senders)]
    results = run_processes(_sender, shares)
    accepted = sum(r[0] for r in results)
    elapsed = max(r[2] for r in results) - min(r[1] for r in results)
    latencies = sorted(x for r in results for x in r[3])
    p50 = latencies[len(latencies) // 2] * 1000
    p99 = latencies[int(len(latencies) * 0.99)] * 1000
    return accepted / elapsed, p50, p99, accepted


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
                    await asyncio.to_thread(_measure, requests[:200], 2)
                    cpu = tree_cpu_seconds(server.pid)
                    measured, paced_requests = (
                        requests[200 : 200 + args.requests],
                        requests[200 + args.requests :],
                    )
                    rate, p50, p99, ok = await asyncio.to_thread(_measure, measured, 2)
                    cpu = tree_cpu_seconds(server.pid) - cpu
                    # The latency goal at the goal's rate, offered open-loop.
                    paced = await asyncio.to_thread(_measure, paced_requests, 2, args.rate)
                finally:
                    server.terminate()
                    server.wait(10)
                per_request = cpu / max(ok, 1) * 1000
                print(
                    f"{name}: {rate:,.0f} accepted/s, p50 {p50:.1f} ms, p99 {p99:.1f} ms "
                    f"({ok}/{args.requests} accepted, {args.workers} workers); "
                    f"server CPU {per_request:.3f} ms per request, i.e. at most "
                    f"{args.workers / per_request * 1000:,.0f}/s on {args.workers} free cores"
                )
                print(
                    f"  offered open-loop at {args.rate:,.0f}/s: {paced[0]:,.0f} accepted/s, "
                    f"p50 {paced[1]:.1f} ms, p99 {paced[2]:.1f} ms ({paced[3]} accepted)"
                )
            print(f"(signing the requests beforehand took part of {time.perf_counter() - t:.0f} s)")
            print(f"goal: >= {GOAL_RATE:,.0f}/s and p99 < {GOAL_P99_MS:.0f} ms on the inbox")

    asyncio.run(run())


if __name__ == "__main__":
    main()
