"""Diagnostic benchmark: 100k initiatives over 300 communes, on SQLite and PostgreSQL.

Measures directory.diagnostic.compute for the whole territory and for one commune (from
the stored counts, and right after a change, when the changed commune is counted live),
the worker's full recount after the bulk load, a filter the counts do not hold (counted
directly), and directory.similar.similar_initiatives (p95 over random initiatives), each
in its own session as a request would be, against a baseline measured in the same run: a
plain COUNT(*) of the published initiatives. CPU time of this process is printed too.

    python -m bench.diagnostic [--count 100000] [--runs 15] [--no-postgres]

Prints the figures and appends them to bench/RESULTS.md under "diagnostic".
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import case, func, insert, select, update

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench._postgres import postgres_answers, postgres_database  # noqa: E402
from directory import diagnostic  # noqa: E402
from directory.db import Database  # noqa: E402
from directory.models import (  # noqa: E402
    Commune,
    Initiative,
    InitiativeActorKind,
    InitiativeNeed,
    InitiativeTheme,
    Theme,
)
from directory.search import SearchQuery  # noqa: E402
from directory.similar import similar_initiatives  # noqa: E402
from directory.vocabulary import ACTOR_KINDS, NEEDS  # noqa: E402
from web.diagnostic import refresh_counts  # noqa: E402
from web.migrate import upgrade  # noqa: E402

WORDS = [
    *("épicerie", "solidaire", "jardin", "partagé", "atelier", "vélo", "repair", "café"),
    *("ressourcerie", "tiers-lieu", "fablab", "bibliothèque", "covoiturage", "aide"),
    *("numérique", "maraude", "cantine", "santé", "habitat"),
]


async def populate(db: Database, count: int, communes: int = 300) -> float:
    """`count` published initiatives over `communes` communes; returns the load time."""
    started = time.perf_counter()
    rng = random.Random(2026)
    kinds = [k.slug for k in ACTOR_KINDS]
    needs = [n.slug for n in NEEDS]
    async with db.session() as session:
        theme_ids = list(await session.scalars(select(Theme.id).where(Theme.is_core)))
        towns = []
        for n in range(communes):
            lat, lon = rng.uniform(46.3, 48.5), rng.uniform(-2.5, 0.9)
            code = f"{44000 + n:05d}"
            towns.append((code, lat, lon))
            session.add(
                Commune(
                    insee_code=code,
                    name=f"Commune {n}",
                    population=None if n % 25 == 0 else rng.randint(300, 60000),
                    latitude=None if n % 40 == 0 else lat,
                    longitude=None if n % 40 == 0 else lon,
                )
            )
    weights = [rng.paretovariate(1.2) for _ in towns]
    start_date = datetime(2023, 1, 1, tzinfo=UTC)
    batch = 5000
    for first in range(0, count, batch):
        rows, themes, actor_kinds, initiative_needs = [], [], [], []
        for n in range(first, min(count, first + batch)):
            code, lat, lon = rng.choices(towns, weights)[0]
            created = start_date + timedelta(days=rng.uniform(0, 1060))
            status = rng.choices(("active", "paused", "ended"), (85, 5, 10))[0]
            remote = rng.random() < 0.1
            rows.append(
                {
                    "id": n + 1,
                    "slug": f"initiative-{n + 1}",
                    "uri": f"https://ailleurs.example/i/{n + 1}" if remote else None,
                    "origin": "ailleurs.example" if remote else None,
                    "name": " ".join(rng.sample(WORDS, 3)).capitalize(),
                    "summary": " ".join(rng.sample(WORDS, 5)),
                    "moderation_state": "published",
                    "status": status,
                    "insee_code": code,
                    "latitude": lat + rng.gauss(0, 0.02),
                    "longitude": lon + rng.gauss(0, 0.03),
                    "via": [],
                    "social_links": [],
                    "same_as": [],
                    "created_at": created,
                    "updated_at": created + timedelta(days=rng.uniform(0, 200)),
                    "published_at": created,
                }
            )
            for theme_id in rng.sample(theme_ids, rng.choice((1, 1, 2))):
                themes.append({"initiative_id": n + 1, "theme_id": theme_id})
            for kind in rng.sample(kinds, rng.choice((1, 1, 2))):
                actor_kinds.append({"initiative_id": n + 1, "kind": kind})
            for need in rng.sample(needs, rng.choice((1, 2))):
                initiative_needs.append({"initiative_id": n + 1, "need": need})
        async with db.session() as session:
            await session.execute(insert(Initiative), rows)
            await session.execute(insert(InitiativeTheme), themes)
            await session.execute(insert(InitiativeActorKind), actor_kinds)
            await session.execute(insert(InitiativeNeed), initiative_needs)
    async with db.engine.connect() as conn:
        conn = await conn.execution_options(isolation_level="AUTOCOMMIT")
        await conn.exec_driver_sql("VACUUM ANALYZE" if db.dialect == "postgresql" else "ANALYZE")
    return time.perf_counter() - started


def quantiles(samples: list[float]) -> tuple[float, float]:
    ordered = sorted(samples)
    p95 = ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]
    return statistics.median(ordered), p95


async def timed(db: Database, call, runs: int, before=None) -> tuple[float, float, float]:
    """Median and p95 wall-clock ms, and mean CPU ms, of `call` each in its own session."""
    samples, cpu = [], 0.0
    for n in range(runs):
        if before is not None:
            await before(n)
        async with db.session() as session:
            started, cpu_started = time.perf_counter(), time.process_time()
            await call(session, n)
            samples.append((time.perf_counter() - started) * 1000)
            cpu += time.process_time() - cpu_started
    return (*quantiles(samples), cpu * 1000 / runs)


async def bench(url: str, count: int, runs: int) -> dict:
    await upgrade(url)
    db = Database(url)
    try:
        load = await populate(db, count)
        rng = random.Random(7)
        codes = [f"{44000 + rng.randrange(300):05d}" for _ in range(30)]
        ids = [rng.randrange(1, count + 1) for _ in range(100)]

        async def baseline(session, n):
            await session.scalar(
                select(func.count(Initiative.id)).where(Initiative.moderation_state == "published")
            )

        async def whole(session, n):
            await diagnostic.compute(session)

        async def whole_remote(session, n):
            await diagnostic.compute(session, include_remote=True)

        async def one(session, n):
            await diagnostic.compute(session, commune=codes[n % len(codes)])

        async def change(n):
            # A status change in one commune (committed), as an edit would make, the
            # worker having recounted the earlier ones (it runs every second or so)
            await refresh_counts(db)
            async with db.session() as session:
                await session.execute(
                    update(Initiative)
                    .where(Initiative.id == ids[n])
                    .values(status=case((Initiative.status == "active", "paused"), else_="active"))
                )

        async def refresh(session, n):
            await refresh_counts(db)

        async def themed(session, n):
            await diagnostic.compute(
                session, SearchQuery(themes=("alimentation",)), use_cache=False
            )

        async def similar(session, n):
            initiative = await session.get(Initiative, ids[n])
            await similar_initiatives(session, initiative, limit=6)

        load_avg = os.getloadavg()
        results = {
            "load_s": load,
            "baseline": await timed(db, baseline, runs),
            "refresh_all": await timed(db, refresh, 1),
            "whole": await timed(db, whole, runs),
            "whole_remote": await timed(db, whole_remote, runs),
            "one": await timed(db, one, 30),
            "whole_changed": await timed(db, whole, runs, before=change),
            "refresh_one": await timed(db, refresh, runs, before=change),
            "themed": await timed(db, themed, runs),
            "similar": await timed(db, similar, 100),
        }
        results["load_avg"] = (load_avg, os.getloadavg())
        return results
    finally:
        await db.dispose()


LINES = (
    ("baseline", "baseline: COUNT(*) of published initiatives", ""),
    ("refresh_all", "worker: full recount after the bulk load (once)", ""),
    ("whole", "diagnostic, whole territory (local), from the counts", "200"),
    ("whole_remote", "diagnostic, whole territory (with followed), from the counts", "200"),
    ("one", "diagnostic, one commune, from the counts", "30"),
    ("whole_changed", "diagnostic, whole territory, one commune changed (counted live)", "200"),
    ("refresh_one", "worker: recount of one changed commune", ""),
    ("themed", "diagnostic, whole territory, one theme (direct, not cached)", ""),
    ("similar", "similar elsewhere (100 random initiatives)", "30"),
)


def report(results: dict[str, dict], count: int) -> str:
    lines = [
        "",
        "## diagnostic (stored counts)",
        "",
        f"{datetime.now(UTC):%Y-%m-%d %H:%M} UTC · {os.cpu_count()} cores, 24 GiB · "
        f"{count:,} published initiatives over 300 communes (10% from a followed instance) · "
        "`python bench/diagnostic.py`",
        "",
        "| database | measure | median ms | p95 ms | CPU ms (mean) | goal ms | met |",
        "| --- | --- | ---: | ---: | ---: | ---: | --- |",
    ]
    for name, r in results.items():
        for key, label, goal in LINES:
            median, p95, cpu = r[key]
            met = "" if not goal else ("yes" if p95 < float(goal) else "no")
            lines.append(
                f"| {name} | {label} | {median:.1f} | {p95:.1f} | {cpu:.1f} | {goal} | {met} |"
            )
    lines.append("")
    for name, r in results.items():
        before, after = r["load_avg"]
        lines.append(
            f"{name}: loaded in {r['load_s']:.0f} s; load average "
            f"{before[0]:.1f} at the start of the measures, {after[0]:.1f} at the end."
        )
    return "\n".join(lines) + "\n"


async def main_async(args: argparse.Namespace) -> dict[str, dict]:
    results = {}
    with tempfile.TemporaryDirectory() as folder:
        results["SQLite"] = await bench(
            f"sqlite+aiosqlite:///{folder}/bench.sqlite3", args.count, args.runs
        )
    if not args.no_postgres and await postgres_answers():
        async with postgres_database() as url:
            results["PostgreSQL"] = await bench(url, args.count, args.runs)
    return results


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--no-postgres", action="store_true")
    parser.add_argument("--no-record", action="store_true")
    args = parser.parse_args()
    results = asyncio.run(main_async(args))
    text = report(results, args.count)
    print(text)
    if not args.no_record:
        with open(ROOT / "bench" / "RESULTS.md", "a", encoding="utf-8") as out:
            out.write(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
