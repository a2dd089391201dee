"""Map benchmark: 100k initiatives, clustered views vs the unclustered baseline.

Measures, on SQLite and PostgreSQL, the /map/data.json answer for the initial view of the
whole territory and for a zoomed view (payload bytes, server time, medians and p95 over
repeated requests through the ASGI app), against the baseline measured in the same run:
every matching point sent unclustered. Then, in headless Chromium against uvicorn on
loopback (SQLite), the time from navigation to the first clustered render of /carte.

    python bench/map.py [--count 100000] [--runs 30] [--no-browser] [--no-postgres]

Prints the figures and appends them to bench/RESULTS.md under "map".
"""

from __future__ import annotations

import argparse
import asyncio
import math
import os
import platform
import random
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

import httpx
import orjson
from sqlalchemy import insert, select

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench._postgres import postgres_answers, postgres_database  # noqa: E402
from directory import mapgrid  # noqa: E402
from directory.db import Database  # noqa: E402
from directory.models import Initiative, InitiativeTheme, Territory, Theme  # noqa: E402
from directory.search import SearchQuery  # noqa: E402
from web.app import create_app  # noqa: E402
from web.migrate import upgrade  # noqa: E402
from web.settings import Settings  # noqa: E402

# Pays de la Loire, roughly: the territory of a regional instance.
TERRITORY = (46.25, -2.60, 48.60, 0.95)
# What Leaflet asks for the whole territory in a 1000x700 map, and a town-level view.
INITIAL = {"bbox": "45.90,-3.80,48.95,2.15", "zoom": "8"}
ZOOMED = {"bbox": "47.17,-1.62,47.26,-1.48", "zoom": "13"}


async def populate(db: Database, count: int) -> None:
    """`count` published initiatives around 400 towns, with one or two themes each."""
    rng = random.Random(2026)
    south, west, north, east = TERRITORY
    towns = [
        (rng.uniform(south, north), rng.uniform(west, east), rng.paretovariate(1.2))
        for _ in range(400)
    ]
    weights = [w for _, _, w in towns]
    async with db.session() as session:
        theme_ids = list(await session.scalars(select(Theme.id).where(Theme.is_core)))
        session.add(
            Territory(
                name="Pays de la Loire",
                kind="region",
                code="52",
                min_lat=south,
                min_lon=west,
                max_lat=north,
                max_lon=east,
            )
        )
    now = datetime.now(UTC)
    batch = 5000
    for start in range(0, count, batch):
        rows, links = [], []
        for n in range(start, min(count, start + batch)):
            lat, lon, _ = rng.choices(towns, weights)[0]
            rows.append(
                {
                    "id": n + 1,
                    "slug": f"initiative-{n + 1}",
                    "name": f"Initiative {n + 1}",
                    "summary": "Une initiative du banc d'essai.",
                    "moderation_state": "published",
                    "status": "active",
                    "latitude": lat + rng.gauss(0, 0.03),
                    "longitude": lon + rng.gauss(0, 0.04),
                    "insee_code": "",
                    "via": [],
                    "social_links": [],
                    "same_as": [],
                    "created_at": now,
                    "updated_at": now,
                    "published_at": now,
                }
            )
            for theme_id in rng.sample(theme_ids, rng.choice((1, 1, 2))):
                links.append({"initiative_id": n + 1, "theme_id": theme_id})
        async with db.session() as session:
            await session.execute(insert(Initiative), rows)
            await session.execute(insert(InitiativeTheme), links)
    # What autovacuum does on PostgreSQL after a bulk load; ANALYZE gives SQLite statistics.
    async with db.engine.connect() as conn:
        conn = await conn.execution_options(isolation_level="AUTOCOMMIT")
        await conn.exec_driver_sql("VACUUM ANALYZE" if db.dialect == "postgresql" else "ANALYZE")


def quantiles(samples: list[float]) -> tuple[float, float]:
    ordered = sorted(samples)
    p95 = ordered[min(len(ordered) - 1, math.ceil(0.95 * len(ordered)) - 1)]
    return statistics.median(ordered), p95


async def measure_view(client: httpx.AsyncClient, params: dict[str, str], runs: int) -> dict:
    """Median/p95 server time of /map/data.json and the payload it returns."""
    times, size, body = [], 0, {}
    for _ in range(runs + 2):
        started = time.perf_counter()
        response = await client.get("/map/data.json", params=params)
        times.append((time.perf_counter() - started) * 1000)
        assert response.status_code == 200, response.text
        size, body = len(response.content), response.json()
    median, p95 = quantiles(times[2:])  # two warm-up requests
    return {
        "first_ms": times[0],  # cold: computes (and caches) the grid of the filters
        "bytes": size,
        "median_ms": median,
        "p95_ms": p95,
        "clusters": len(body["clusters"]),
        "points": len(body["points"]),
        "total": body["total"],
    }


async def measure_baseline(db: Database, runs: int) -> dict:
    """Every point unclustered, serialised as the map endpoint would: the baseline."""
    times, size = [], 0
    for _ in range(max(3, runs // 5)):
        started = time.perf_counter()
        async with db.session() as session:
            points = await mapgrid.all_points(session, SearchQuery())
        payload = orjson.dumps(
            [[round(p.latitude, 5), round(p.longitude, 5), p.id, p.slug, p.name] for p in points]
        )
        times.append((time.perf_counter() - started) * 1000)
        size = len(payload)
    median, p95 = quantiles(times)
    return {"bytes": size, "median_ms": median, "p95_ms": p95, "points": len(points)}


async def bench_database(url: str, count: int, runs: int, data_dir: Path) -> dict:
    await upgrade(url)
    db = Database(url)
    started = time.perf_counter()
    await populate(db, count)
    load_s = time.perf_counter() - started
    app = create_app(
        Settings(database_url=url, data_dir=data_dir, secret_key="bench", base_url="http://b"),
        database=db,
    )
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://b"
    ) as client:
        result = {
            "load_s": load_s,
            "initial": await measure_view(client, INITIAL, runs),
            "zoomed": await measure_view(client, ZOOMED, runs),
            "filtered": await measure_view(client, {**INITIAL, "theme": "alimentation"}, runs),
            "baseline": await measure_baseline(db, runs),
        }
    await db.dispose()
    return result


def bench_browser(url: str, data_dir: Path, runs: int) -> dict:
    """Navigation to first clustered render of /carte, in headless Chromium (loopback)."""
    from playwright.sync_api import sync_playwright

    from tests.web.pages.conftest import CHROMIUM, CHROMIUM_ARGS
    from tests.web.pages.live import LiveServer

    samples = []
    with LiveServer(url, data_dir) as server, sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        for n in range(runs + 1):
            context = browser.new_context(viewport={"width": 1360, "height": 900})
            page = context.new_page()
            page.goto(f"{server.url}/carte", wait_until="commit")
            page.wait_for_selector("#map[data-state='ready']", timeout=30_000)
            # map.js marks the frame after its first clusters are drawn; now() is the ceiling.
            ready = page.evaluate(
                "(performance.getEntriesByName('maillage:first-clusters')[0]"
                " || {startTime: performance.now()}).startTime"
            )
            clusters = page.locator(".cluster-icon").count()
            if n:  # the first run warms the server's caches
                samples.append((ready, clusters))
            context.close()
        browser.close()
    median, p95 = quantiles([s[0] for s in samples])
    return {"median_ms": median, "p95_ms": p95, "clusters": samples[-1][1]}


def report(results: dict, browser: dict | None, count: int) -> str:
    lines = [
        "",
        "## map",
        "",
        f"{datetime.now(UTC):%Y-%m-%d %H:%M} UTC · {os.cpu_count()} cores, 24 GiB · "
        f"Python {platform.python_version()} · {count:,} published initiatives around 400 "
        "towns of a region · `python bench/map.py`".replace(",", " "),
        "",
        "| database | view | payload | server median | p95 | first (cold) | clusters + points |",
        "| --- | --- | ---: | ---: | ---: | ---: | ---: |",
    ]
    for name, result in results.items():
        for view in ("initial", "zoomed", "filtered"):
            r = result[view]
            label = {
                "initial": "whole territory (z8)",
                "zoomed": "town (z13)",
                "filtered": "whole territory, one theme",
            }[view]
            lines.append(
                f"| {name} | {label} | {r['bytes'] / 1024:.1f} KB | {r['median_ms']:.1f} ms"
                f" | {r['p95_ms']:.1f} ms | {r['first_ms']:.0f} ms | {r['clusters']} + {r['points']} |"
            )
        b = result["baseline"]
        lines.append(
            f"| {name} | baseline: all points unclustered | {b['bytes'] / 1024:.0f} KB"
            f" | {b['median_ms']:.1f} ms | {b['p95_ms']:.1f} ms | | 0 + {b['points']} |"
        )
    if browser:
        lines += [
            "",
            f"Headless Chromium (Debian), uvicorn on loopback, SQLite: navigation to first "
            f"clustered render of /carte median {browser['median_ms']:.0f} ms, "
            f"p95 {browser['p95_ms']:.0f} ms ({browser['clusters']} clusters drawn).",
        ]
    lines.append(
        "Goals: payload < 150 KB, server < 50 ms, first clustered render < 1.5 s."
        " First (cold): the first request after a change, which computes the grid."
    )
    return "\n".join(lines) + "\n"


async def main_async(args: argparse.Namespace) -> tuple[dict, Path]:
    folder = Path(tempfile.mkdtemp(prefix="maillage-bench-map-"))
    sqlite_url = f"sqlite+aiosqlite:///{folder / 'bench.sqlite3'}"
    results = {"SQLite": await bench_database(sqlite_url, args.count, args.runs, folder)}
    if not args.no_postgres and await postgres_answers():
        async with postgres_database() as url:
            results["PostgreSQL"] = await bench_database(url, args.count, args.runs, folder)
    return results, folder


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=30)
    parser.add_argument("--no-browser", action="store_true")
    parser.add_argument("--no-postgres", action="store_true")
    parser.add_argument("--no-write", action="store_true", help="print only")
    args = parser.parse_args()
    results, folder = asyncio.run(main_async(args))
    browser = None
    if not args.no_browser:
        browser = bench_browser(f"sqlite+aiosqlite:///{folder / 'bench.sqlite3'}", folder, 7)
    text = report(results, browser, args.count)
    print(text)
    if not args.no_write:
        with (ROOT / "bench" / "RESULTS.md").open("a") as handle:
            handle.write(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
