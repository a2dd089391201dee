"""Delivery benchmark: one Create fanned out to 10k followers on 1k hosts.

Run from the repository root:  python -m bench.delivery [--followers 10000] [--hosts 1000]
A sink server (aiohttp) answers 202 on every loopback address 127.1.x.y; the instance's
database is a throw-away PostgreSQL one (MAILLAGE_BENCH_POSTGRES_URL). Prints:
- the ceiling measured in the same run: the same number of signed POSTs (sign per request,
  digest once) sent by bare aiohttp from as many processes as there are workers, no database;
- the time to enqueue the fan-out (render once, one delivery row per inbox);
- deliveries/s with `--workers` worker processes claiming rows (SKIP LOCKED), and the ratio
  to the ceiling. Goal: >= 1,500/s with 2 workers and >= 0.6 of the ceiling.
"""

from __future__ import annotations

import argparse
import asyncio
import time

GOAL_RATE = 1500.0
GOAL_RATIO = 0.6
BASE_URL = "https://maillage.bench"


def _ceiling(urls: list[str], key_id: str, pem: str, body: bytes, ready, go, results) -> None:
    import uvloop

    from federation.http import AiohttpClient
    from federation.signatures import digest_header

    async def main() -> None:
        from bovine.crypto.types import CryptographicSecret

        key = CryptographicSecret.from_pem(key_id, pem)
        client = AiohttpClient(allow_private_addresses=True)
        digest = digest_header(body)
        limit = asyncio.Semaphore(64)

        async def one(url: str) -> int:
            async with limit:
                return (await client.post(url, body, key=key, digest=digest)).status

        ready.set()
        await asyncio.to_thread(go.wait)
        start, cpu = time.time(), time.process_time()
        statuses = await asyncio.gather(*(one(u) for u in urls))
        end, cpu = time.time(), time.process_time() - cpu
        await client.close()
        results.put((sum(1 for s in statuses if s == 202), start, end, cpu))

    uvloop.run(main())


def _worker(url: str, territory: str, ready, go, results) -> None:
    import uvloop

    from directory.db import Database
    from federation import delivery_store
    from federation.delivery import Deliverer
    from federation.http import AiohttpClient
    from federation.urls import Urls

    async def main() -> None:
        db = Database(url, pool_size=4)
        client = AiohttpClient(allow_private_addresses=True)
        deliverer = Deliverer(db, client, Urls(BASE_URL), batch=200)
        await deliverer._key(territory)  # load the key before the clock starts
        ready.set()
        await asyncio.to_thread(go.wait)
        start, cpu = time.time(), time.process_time()
        sent = 0
        while True:
            done = await deliverer.run_once()
            sent += done
            if not done:
                async with db.session() as session:
                    if not await delivery_store.pending_deliveries(session):
                        break
                await asyncio.sleep(0.02)  # the other worker holds the last leases
        end, cpu = time.time(), time.process_time() - cpu
        await client.close()
        await db.dispose()
        results.put((sent, start, end, cpu))

    uvloop.run(main())


async def _prepare(url: str, followers: int, hosts: int, port: int) -> tuple[str, str, float]:
    from sqlalchemy import insert

    from bench._federation import loopback_host
    from directory import initiatives
    from directory.db import Database
    from directory.initiatives import Author
    from federation import keys
    from federation.flow_models import Follower
    from federation.publish import Publisher
    from web.settings import Settings

    settings = Settings(base_url=BASE_URL, database_url=url, territory_username="territoire")
    db = Database(url)
    async with db.session() as session:
        await keys.ensure_actors(session, settings)
        actor = await keys.territory_actor(session, settings)
        rows = []
        for i in range(followers):
            host = loopback_host(i % hosts, port)
            rows.append(
                {
                    "actor_name": actor.name,
                    "remote_actor_uri": f"http://{host}/users/u{i}",
                    "remote_host": host,
                    "inbox": f"http://{host}/users/u{i}/inbox",
                    "shared_inbox": "",
                    "state": "accepted",
                    "follow_activity_id": "",
                }
            )
        await session.execute(insert(Follower), rows)
        await initiatives.create_initiative(
            session,
            {"name": "Repair café de Rezé", "summary": "Réparer ensemble", "city": "Rezé"},
            author=Author(None, "bench"),
            moderation_state="published",
        )
    start = time.perf_counter()
    async with db.session() as session:
        await Publisher(settings).run_once(session)
    enqueue = time.perf_counter() - start
    await db.dispose()
    return actor.name, actor.private_key_pem, enqueue


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--followers", type=int, default=10_000)
    parser.add_argument("--hosts", type=int, default=1_000)
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()

    import orjson

    from bench._federation import Sink, loopback_host, run_processes
    from bench._postgres import postgres_database

    sink = Sink()
    try:

        async def run() -> None:
            async with postgres_database() as url:
                name, pem, enqueue = await _prepare(url, args.followers, args.hosts, sink.port)
                print(f"fan-out enqueued: {args.followers} deliveries in {enqueue:.2f} s")

                # Ceiling: the same signed POSTs from bare aiohttp, split across processes.
                body = orjson.dumps({"type": "Create", "object": {"name": "x" * 1500}})
                targets = [
                    f"http://{loopback_host(i % args.hosts, sink.port)}/users/u{i}/inbox"
                    for i in range(args.followers)
                ]
                shares = [targets[i :: args.workers] for i in range(args.workers)]
                key_id = f"{BASE_URL}/actors/{name}#main-key"
                raw = await asyncio.to_thread(
                    run_processes, _ceiling, [(s, key_id, pem, body) for s in shares]
                )
                ok = sum(r[0] for r in raw)
                ceiling = ok / (max(r[2] for r in raw) - min(r[1] for r in raw))
                raw_cpu = sum(r[3] for r in raw) / max(ok, 1) * 1000
                print(
                    f"ceiling (bare aiohttp, {args.workers} processes): {ceiling:,.0f} signed POST/s "
                    f"({ok} ok); CPU {raw_cpu:.3f} ms per POST"
                )

                sink.reset()
                measured = await asyncio.to_thread(
                    run_processes, _worker, [(url, name) for _ in range(args.workers)]
                )
                sent = sum(r[0] for r in measured)
                elapsed = max(r[2] for r in measured) - min(r[1] for r in measured)
                rate = sent / elapsed
                worker_cpu = sum(r[3] for r in measured) / max(sent, 1) * 1000
                print(
                    f"delivery ({args.workers} workers, PostgreSQL): {sent} attempts in "
                    f"{elapsed:.2f} s = {rate:,.0f} deliveries/s; sink received {sink.count}; "
                    f"worker CPU {worker_cpu:.3f} ms per delivery"
                )
                print(f"ratio to the ceiling: {rate / ceiling:.2f}")
                verdict = rate >= GOAL_RATE and rate / ceiling >= GOAL_RATIO
                print(
                    f"goal (>= {GOAL_RATE:,.0f}/s and >= {GOAL_RATIO} of ceiling): "
                    f"{'met' if verdict else 'NOT met'}"
                )
                if sink.count != args.followers:
                    print(f"WARNING: the sink received {sink.count}, expected {args.followers}")

        asyncio.run(run())
    finally:
        sink.stop()


if __name__ == "__main__":
    main()
