"""Search benchmark: 100k generated initiatives in SQLite and PostgreSQL, p50/p95 latencies.

Run from the repository root:  python -m bench.search [--count 100000] [--queries 200]
[--gc serving|default] (serving, the default: the garbage collector tuned as the server's
process tunes it, web.app.settle_for_serving).
PostgreSQL: see bench/_postgres.py (default postgres@127.0.0.1:5432); the benchmark
creates a database of its own and drops it at the end. Prints figures, and the baselines
measured in the same run: a bare `SELECT 1` round trip, and the plain ranked query
(FTS5 bm25 over every match on SQLite, ts_rank over every match on PostgreSQL).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import statistics
import tempfile
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import insert, select, text

from bench._postgres import postgres_database
from directory import facets as facet_counts
from directory.db import Database
from directory.fulltext import fts5_query, tsquery_text
from directory.models import (
    Initiative,
    InitiativeActorKind,
    InitiativeNeed,
    InitiativeTheme,
    Theme,
)
from directory.search import SearchQuery, index_initiatives, search_initiatives
from directory.vocabulary import ACTOR_KIND_SLUGS, NEED_SLUGS
from web.app import settle_for_serving
from web.migrate import upgrade

GOAL_MS = 20.0
BATCH = 5000

# What initiatives are called, per core theme; names are "<kind> de <commune>" etc.
KINDS_BY_THEME = {
    "alimentation": [
        "Épicerie solidaire",
        "AMAP",
        "Jardin partagé",
        "Cantine solidaire",
        "Marché de producteurs",
        "Potager collectif",
        "Frigo solidaire",
    ],
    "reemploi-reparation": [
        "Repair café",
        "Ressourcerie",
        "Atelier vélo",
        "Recyclerie",
        "Givebox",
        "Atelier couture et réparation",
    ],
    "climat-energie": [
        "Coopérative citoyenne d'énergie",
        "Défi familles à énergie positive",
        "Centrale solaire villageoise",
        "Fresque du climat",
    ],
    "culture-bibliotheques": [
        "Bibliothèque de rue",
        "Médiathèque hors les murs",
        "Ciné-club",
        "Troupe de théâtre amateur",
        "Boîte à livres",
    ],
    "fablabs-numerique": [
        "Fablab",
        "Atelier numérique",
        "Espace public numérique",
        "Permanence de conseiller numérique",
    ],
    "solidarite-entraide": [
        "Réseau d'entraide",
        "Accorderie",
        "Visites de convivialité",
        "Bricothèque",
        "Système d'échange local",
    ],
    "sante": ["Maison de santé", "Marche santé", "Café des aidants", "Atelier mémoire"],
    "education-jeunesse": [
        "Aide aux devoirs",
        "Ludothèque",
        "Conseil municipal des jeunes",
        "Colonie apprenante",
    ],
    "mobilite": ["Covoiturage solidaire", "Vélo-école", "Transport solidaire", "Autopartage"],
    "habitat": ["Habitat participatif", "Colocation solidaire", "Auto-réhabilitation accompagnée"],
    "economie-locale-ess": [
        "Monnaie locale",
        "Coopérative d'activité",
        "Boutique de créateurs",
        "Épicerie coopérative",
    ],
    "participation-citoyenne": [
        "Conseil de quartier",
        "Budget participatif",
        "Assemblée citoyenne",
    ],
    "biodiversite-nature": [
        "Refuge de biodiversité",
        "Verger conservatoire",
        "Sentier nature",
        "Nettoyage de plage",
    ],
    "tiers-lieux": ["Tiers-lieu", "Café associatif", "Maison des initiatives"],
}
THEMES = list(KINDS_BY_THEME)
SENTENCES = """Ouvert à tous les habitants, sans condition de ressources.
Les bénévoles accueillent le public chaque samedi matin dans une ambiance conviviale.
Nous proposons des ateliers pour apprendre à réparer, cuisiner, jardiner ou coder.
L'association travaille avec la mairie, le centre social et les écoles du quartier.
Les adhérents partagent leurs savoir-faire et leurs outils.
Un lieu pour se rencontrer, échanger et construire des projets ensemble.
Les produits viennent de fermes situées à moins de trente kilomètres.
Nous luttons contre le gaspillage et l'isolement des personnes âgées.
Des permanences sont assurées le mercredi après-midi pour les familles.
Le collectif cherche de nouveaux bénévoles pour accompagner les jeunes.
Les ateliers sont gratuits et accessibles aux personnes à mobilité réduite.
Chaque mois, une soirée débat réunit habitants, élus et associations.
Le projet est soutenu par la communauté de communes et la région.
Nous collectons les objets dont vous ne voulez plus pour leur donner une seconde vie.
Les enfants découvrent la nature, les insectes et les oiseaux du bocage.
Un accompagnement individuel est proposé aux demandeurs d'emploi.
La salle est équipée d'imprimantes, d'ordinateurs et d'une découpeuse laser.
Nous organisons des sorties, des goûters et des visites à domicile.
Les légumes du potager sont partagés entre les familles participantes.
L'épicerie propose des produits frais à prix réduits aux étudiants.
Un covoiturage est organisé vers le marché et les services de santé.
Les habitants décident ensemble de l'usage du budget du quartier.
La coopérative installe des panneaux solaires sur les toits des écoles.
Des cours de français et d'informatique sont donnés toute l'année.
La bibliothèque prête aussi des jeux, des outils et des graines.""".splitlines()
ROOTS = [
    "Aubin",
    "Herblain",
    "Sébastien",
    "Nazaire",
    "Brevin",
    "Géréon",
    "Julien",
    "Lumine",
    "Philbert",
    "Mars",
    "Étienne",
    "Colomban",
    "Hilaire",
    "Vincent",
    "Père",
    "Michel",
    "Jean",
    "Aignan",
    "Viaud",
    "Molf",
    "Gildas",
    "André",
    "Joachim",
    "Lyphard",
]
PLACES = [
    "Bois",
    "Pont",
    "Gué",
    "Mesnil",
    "Val",
    "Clos",
    "Moulin",
    "Marais",
    "Plessis",
    "Chêne",
    "Croix",
    "Fontaine",
    "Landes",
    "Rivière",
    "Vigne",
    "Pré",
]
SUFFIXES = [
    "",
    "-sur-Loire",
    "-de-Retz",
    "-des-Landes",
    "-en-Bocage",
    "-la-Forêt",
    "-sur-Erdre",
    "-du-Lac",
    "-les-Marais",
]
# Loire-Atlantique, roughly.
MIN_LAT, MAX_LAT, MIN_LON, MAX_LON = 46.86, 47.84, -2.56, -0.93


def communes(rng: random.Random, count: int = 220) -> list[tuple[str, str, float, float]]:
    """Invented communes: INSEE code, name, latitude, longitude."""
    names: set[str] = set()
    while len(names) < count:
        if rng.random() < 0.5:
            name = f"Saint{'e' if rng.random() < 0.2 else ''}-{rng.choice(ROOTS)}"
        else:
            name = f"{rng.choice(['Le ', 'La ', 'Les ', ''])}{rng.choice(PLACES)}"
        names.add(name + rng.choice(SUFFIXES))
    return [
        (f"44{n + 1:03d}", name, rng.uniform(MIN_LAT, MAX_LAT), rng.uniform(MIN_LON, MAX_LON))
        for n, name in enumerate(sorted(names))
    ]


def generate(rng: random.Random, count: int, theme_ids: dict[str, int]):
    """Rows for initiatives and their themes, actor kinds and needs (deterministic)."""
    places = communes(rng)
    kinds, needs = sorted(ACTOR_KIND_SLUGS), sorted(NEED_SLUGS)
    start = datetime(2020, 1, 1, tzinfo=UTC)
    rows, theme_rows, kind_rows, need_rows = [], [], [], []
    for n in range(1, count + 1):
        themes = rng.sample(THEMES, rng.choice((1, 1, 2, 2, 3)))
        code, commune, lat, lon = rng.choice(places)
        kind = rng.choice(KINDS_BY_THEME[themes[0]])
        name = f"{kind} {rng.choice(['de', 'à', 'du quartier de'])} {commune}"
        if rng.random() < 0.3:
            name += f" n°{rng.randint(2, 40)}"
        created = start + timedelta(minutes=rng.randint(0, 3_000_000))
        rows.append(
            {
                "id": n,
                "slug": f"initiative-{n}",
                "name": name,
                "summary": f"{kind} : {rng.choice(SENTENCES).rstrip('.').lower()}",
                "description": " ".join(rng.sample(SENTENCES, rng.randint(3, 7))),
                "status": rng.choices(("active", "paused", "ended"), (85, 10, 5))[0],
                "moderation_state": "published",
                "city": commune,
                "insee_code": code,
                "latitude": lat + rng.gauss(0, 0.02),
                "longitude": lon + rng.gauss(0, 0.02),
                "origin": None if rng.random() < 0.8 else "autre.example",
                "via": [],
                "social_links": [],
                "same_as": [],
                "created_at": created,
                "updated_at": created,
                "published_at": created,
            }
        )
        theme_rows += [{"initiative_id": n, "theme_id": theme_ids[t]} for t in themes]
        kind_rows += [
            {"initiative_id": n, "kind": k} for k in rng.sample(kinds, rng.choice((1, 1, 2)))
        ]
        need_rows += [
            {"initiative_id": n, "need": k} for k in rng.sample(needs, rng.choice((0, 1, 1, 2, 3)))
        ]
    return rows, theme_rows, kind_rows, need_rows


async def load(db: Database, count: int, seed: int) -> float:
    """Insert `count` published initiatives (plus 2% proposals) in batches; index them."""
    started = time.perf_counter()
    rng = random.Random(seed)
    async with db.session() as session:
        theme_ids = dict((await session.execute(select(Theme.slug, Theme.id))).all())
    rows, theme_rows, kind_rows, need_rows = generate(rng, count + count // 50, theme_ids)
    for row in rows[count:]:
        row["moderation_state"] = "proposed"
    for table, data in (
        (Initiative, rows),
        (InitiativeTheme, theme_rows),
        (InitiativeActorKind, kind_rows),
        (InitiativeNeed, need_rows),
    ):
        for i in range(0, len(data), BATCH):
            async with db.session() as session:
                await session.execute(insert(table.__table__), data[i : i + BATCH])
    ids = [row["id"] for row in rows]
    for i in range(0, len(ids), BATCH):
        async with db.session() as session:
            await index_initiatives(session, ids[i : i + BATCH])
    # What autovacuum would have done by the time anyone searches.
    async with db.engine.connect() as conn:
        conn = await conn.execution_options(isolation_level="AUTOCOMMIT")
        await conn.execute(text("VACUUM ANALYZE" if db.dialect == "postgresql" else "ANALYZE"))
    return time.perf_counter() - started


def query_texts(rng: random.Random, n: int) -> list[str]:
    """What people type: a word of a name or theme, two words, or the start of one."""
    words = sorted(
        {
            w
            for kinds in KINDS_BY_THEME.values()
            for kind in kinds
            for w in kind.replace("'", " ").split()
            if len(w) > 3
        }
        | {w for s in SENTENCES for w in s.rstrip(".").replace("'", " ").split() if len(w) > 5}
        | set(ROOTS)
    )
    texts = []
    for _ in range(n):
        pick = rng.random()
        if pick < 0.45:
            texts.append(rng.choice(words))
        elif pick < 0.75:
            texts.append(f"{rng.choice(words)} {rng.choice(words)}")
        else:
            word = rng.choice(words)
            texts.append(word[: max(3, len(word) * 2 // 3)])  # typing in progress
    return texts


def random_bbox(rng: random.Random) -> tuple[float, float, float, float]:
    """A map view of 20 to 60 km somewhere over the territory."""
    height, width = rng.uniform(0.18, 0.54), rng.uniform(0.26, 0.8)
    lat, lon = rng.uniform(MIN_LAT, MAX_LAT - height), rng.uniform(MIN_LON, MAX_LON - width)
    return (lat, lon, lat + height, lon + width)


async def timed(db: Database, calls: list[Callable]) -> tuple[list[float], list[float]]:
    """Wall-clock and this process's CPU milliseconds per call, each in its own session.

    On SQLite the database runs inside this process, so the CPU time is what a query costs
    without the other processes that share the machine's two cores.
    """
    times, cpu = [], []
    for call in calls:
        started, started_cpu = time.perf_counter(), time.process_time()
        async with db.session() as session:
            await call(session)
        times.append((time.perf_counter() - started) * 1000)
        cpu.append((time.process_time() - started_cpu) * 1000)
    return times, cpu


def summary(times: list[float]) -> tuple[float, float]:
    quantiles = statistics.quantiles(times, n=100, method="inclusive")
    return statistics.median(times), quantiles[94]


async def run_queries(db: Database, n: int, seed: int) -> dict[str, tuple[float, ...]]:
    rng = random.Random(seed)
    texts = query_texts(rng, n)
    themes = [rng.choice(THEMES) for _ in range(n)]
    boxes = [random_bbox(rng) for _ in range(n)]
    dialect = db.dialect

    def search(query: SearchQuery) -> Callable[..., Awaitable]:
        return lambda session: search_initiatives(session, query)

    async def uncached_facets(session) -> None:
        (await session.connection()).info.pop(facet_counts.CACHE_KEY, None)
        await search_initiatives(session, SearchQuery())

    def plain_ranked(text_: str) -> Callable[..., Awaitable]:
        if dialect == "postgresql":
            sql = text(
                "SELECT id FROM initiative_search WHERE vector @@ to_tsquery('maillage_fr', :q)"
                " ORDER BY ts_rank(vector, to_tsquery('maillage_fr', :q)) DESC LIMIT 20"
            )
            params = {"q": tsquery_text(text_)}
        else:
            sql = text(
                "SELECT rowid FROM initiative_fts WHERE initiative_fts MATCH :q"
                " ORDER BY bm25(initiative_fts, 10.0, 4.0, 1.0, 0.0) LIMIT 20"
            )
            params = {"q": fts5_query(text_)}
        return lambda session: session.execute(sql, params)

    cases: dict[str, list[Callable]] = {
        "baseline: SELECT 1 round trip": [
            (lambda session: session.execute(text("SELECT 1"))) for _ in range(n)
        ],
        "baseline: plain ranked full text over all matches, top-20 ids": [
            plain_ranked(t) for t in texts
        ],
        "full-text top-20 (items + total)": [
            search(SearchQuery(text=t, facets=False)) for t in texts
        ],
        "full-text top-20 + facets": [search(SearchQuery(text=t)) for t in texts],
        "full-text + theme + bbox (items + total)": [
            search(SearchQuery(text=t, themes=(th,), bbox=b, facets=False))
            for t, th, b in zip(texts, themes, boxes, strict=True)
        ],
        "full-text + theme + bbox + facets": [
            search(SearchQuery(text=t, themes=(th,), bbox=b))
            for t, th, b in zip(texts, themes, boxes, strict=True)
        ],
        "facet counts, whole set (search_initiatives, cached)": [
            search(SearchQuery()) for _ in range(n)
        ],
        "facet counts, whole set, computed (cache emptied first)": [
            uncached_facets for _ in range(n // 4)
        ],
    }
    results = {}
    for label, calls in cases.items():
        await timed(db, calls[:5])  # warm the connection and caches the way traffic does
        times, cpu = await timed(db, calls)
        results[label] = (*summary(times), *summary(cpu))
        print(f"  {label}: done, load average {os.getloadavg()[0]:.1f}", flush=True)
    return results


async def bench_backend(name: str, url: str, count: int, queries: int, gc: str) -> None:
    await upgrade(url)
    db = Database(url)
    try:
        seconds = await load(db, count, seed=44)
        print(f"\n## {name}: {count} published initiatives loaded and indexed in {seconds:.0f} s")
        if gc == "serving":  # as `maillage serve` tunes its process once the app is built
            settle_for_serving()
        print(f"garbage collector: {gc}")
        results = await run_queries(db, queries, seed=7)
        cpu_note = "client+SQLite CPU" if name == "SQLite" else "client CPU only"
        print(
            f"| query ({queries} random) | p50 ms | p95 ms | p95 < {GOAL_MS:.0f} ms"
            f" | {cpu_note} p50 ms | p95 ms |"
        )
        print("|---|---|---|---|---|---|")
        for label, (p50, p95, cpu50, cpu95) in results.items():
            verdict = "" if label.startswith("baseline") else ("yes" if p95 < GOAL_MS else "no")
            print(f"| {label} | {p50:.1f} | {p95:.1f} | {verdict} | {cpu50:.1f} | {cpu95:.1f} |")
    finally:
        await db.dispose()


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=100_000)
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument("--only", choices=("sqlite", "postgresql"))
    parser.add_argument(
        "--gc",
        choices=("serving", "default"),
        default="serving",
        help="serving: tuned as the server's process is (web.app.settle_for_serving)",
    )
    args = parser.parse_args()
    print(f"# search benchmark, {datetime.now(UTC):%Y-%m-%d %H:%M} UTC, {os.cpu_count()} cores")
    print(f"load average at start (other work on the machine): {os.getloadavg()[0]:.1f}")
    if args.only != "postgresql":
        with tempfile.TemporaryDirectory() as tmp:
            url = f"sqlite+aiosqlite:///{Path(tmp) / 'bench.sqlite3'}"
            await bench_backend("SQLite", url, args.count, args.queries, args.gc)
    if args.only != "sqlite":
        async with postgres_database() as url:
            await bench_backend("PostgreSQL", url, args.count, args.queries, args.gc)


if __name__ == "__main__":
    asyncio.run(main())
