"""Backfill benchmark: an instance follows one holding 10k initiatives and crawls them all.

Run from the repository root:  python -m bench.backfill [--count 10000]
The origin (SQLite, 10k published initiatives) is served by uvicorn on loopback; the
follower (PostgreSQL, MAILLAGE_BENCH_POSTGRES_URL) backfills with its worker's Backfiller
through aiohttp. Prints the baseline measured in the same run (fetching every page of the
`initiatives` collection without storing anything) and the backfill time.
Goal: 10k initiatives backfilled in < 30 s.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import subprocess
import sys
import tempfile
import time

GOAL_SECONDS = 30.0
THEMES = ["alimentation", "reemploi-reparation", "mobilite", "solidarite-entraide"]


async def _fill_origin(url: str, count: int) -> None:
    from sqlalchemy import insert, select

    from directory.db import Database
    from directory.models import Initiative, InitiativeTheme, Theme, utcnow

    db = Database(url)
    rng = random.Random(7)
    async with db.session() as session:
        theme_ids = dict((await session.execute(select(Theme.slug, Theme.id))).all())
        now = utcnow()
        rows = [
            {
                "id": i + 1,
                "slug": f"initiative-{i + 1}",
                "name": f"Initiative numéro {i + 1}",
                "summary": "Une initiative du territoire, pour le bench",
                "description": "Des **bénévoles** se retrouvent chaque semaine.\n\n" * 3,
                "status": "active",
                "moderation_state": "published",
                "city": "Nantes",
                "postal_code": "44000",
                "latitude": 47.2 + rng.random() / 10,
                "longitude": -1.55 + rng.random() / 10,
                "via": [],
                "social_links": [],
                "same_as": [],
                "created_at": now,
                "updated_at": now,
                "published_at": now,
            }
            for i in range(count)
        ]
        for start in range(0, count, 2000):
            await session.execute(insert(Initiative), rows[start : start + 2000])
        await session.execute(
            insert(InitiativeTheme),
            [
                {"initiative_id": i + 1, "theme_id": theme_ids[THEMES[i % len(THEMES)]]}
                for i in range(count)
            ],
        )
    await db.dispose()


def _serve(port: int, env: dict) -> subprocess.Popen:
    import socket

    process = subprocess.Popen(
        [sys.executable, "-m", "uvicorn", "bench._federation:app_from_env", "--factory",
         "--port", str(port), "--log-level", "warning", "--no-access-log"],
        env={**os.environ, **env},
    )  # fmt: skip
    deadline = time.time() + 30
    while time.time() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            return process
        except OSError:
            time.sleep(0.2)
    raise RuntimeError("the origin did not start")


async def _crawl_only(base: str) -> tuple[int, float]:
    """Baseline: GET every page of the collection, store nothing."""
    import orjson

    from federation.http import AiohttpClient

    client = AiohttpClient(allow_private_addresses=True)
    start = time.perf_counter()
    collection = orjson.loads((await client.get(f"{base}/actors/origine/initiatives")).body)
    url, items = collection["first"], 0
    while url:
        page = orjson.loads((await client.get(url)).body)
        items += len(page.get("orderedItems", []))
        url = page.get("next")
    await client.close()
    return items, time.perf_counter() - start


async def _backfill(url: str, origin_base: str) -> tuple[int, float, float]:
    from sqlalchemy import func, select

    from directory.db import Database
    from directory.models import Initiative
    from federation import follows, instances
    from federation.http import AiohttpClient
    from federation.worker import Worker
    from web.settings import Settings

    settings = Settings(
        base_url="https://suiveur.bench", database_url=url, allow_private_addresses=True
    )
    db = Database(url)
    client = AiohttpClient(allow_private_addresses=True)
    worker = Worker(settings, db, client)
    await worker.fetcher()
    actor = f"{origin_base}/actors/origine"
    host = origin_base.split("://", 1)[1]
    async with db.session() as session:
        following = await follows.add_following(
            session, remote_actor_uri=actor, remote_host=host, inbox=f"{actor}/inbox",
            follow_id="https://suiveur.bench/activities/follow-1",
        )  # fmt: skip
        await follows.mark_following(session, following, "accepted")
        await instances.set_trust(session, host, "publish")
    start, cpu = time.perf_counter(), time.process_time()
    while await worker._backfiller.run_once():
        pass
    elapsed, cpu = time.perf_counter() - start, time.process_time() - cpu
    async with db.session() as session:
        stored = await session.scalar(select(func.count()).select_from(Initiative))
        (following,) = await follows.following_list(session)
        if following.backfill_error:
            print("backfill error:", following.backfill_error)
    await client.close()
    await db.dispose()
    return stored, elapsed, cpu


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=10_000)
    args = parser.parse_args()

    from bench._federation import free_port, tree_cpu_seconds
    from bench._postgres import postgres_database
    from web.migrate import upgrade

    async def run() -> None:
        with tempfile.TemporaryDirectory() as tmp:
            origin_url = f"sqlite+aiosqlite:///{tmp}/origine.sqlite3"
            await upgrade(origin_url)
            await _fill_origin(origin_url, args.count)
            port = free_port()
            base = f"http://127.0.0.1:{port}"
            server = _serve(
                port,
                {
                    "MAILLAGE_DATABASE_URL": origin_url,
                    "MAILLAGE_BASE_URL": base,
                    "MAILLAGE_SECRET_KEY": "bench",
                    "MAILLAGE_TERRITORY_USERNAME": "origine",
                    "MAILLAGE_DATA_DIR": tmp,
                    "PYTHONPATH": os.getcwd(),
                },
            )
            try:
                items, seconds = await _crawl_only(base)
                print(
                    f"baseline (fetch every page, store nothing): {items} items in {seconds:.1f} s"
                )
                async with postgres_database() as url:
                    origin_cpu = tree_cpu_seconds(server.pid)
                    stored, elapsed, cpu = await _backfill(url, base)
                    origin_cpu = tree_cpu_seconds(server.pid) - origin_cpu
                print(
                    f"backfill into PostgreSQL: {stored} initiatives in {elapsed:.1f} s "
                    f"({stored / elapsed:,.0f}/s); goal < {GOAL_SECONDS:.0f} s: "
                    f"{'met' if elapsed < GOAL_SECONDS and stored == args.count else 'NOT met'}"
                )
                print(
                    f"CPU during the backfill: follower {cpu:.1f} s, origin serving pages "
                    f"{origin_cpu:.1f} s"
                )
            finally:
                server.terminate()
                server.wait(10)

    asyncio.run(run())


if __name__ == "__main__":
    main()
