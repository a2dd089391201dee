"""`maillage import gogocarto|csv|geojson`, `maillage import jobs|sources|retry`,
`maillage export csv|geojson|jsonld|gogocarto`, `maillage duplicates`."""

from __future__ import annotations

import argparse
import asyncio
import io
import sys
import time
from pathlib import Path
from typing import Any

from directory.db import Database
from directory.errors import DomainError, ValidationError
from directory.exports import FORMATS, ExportContext, stream_export
from directory.imports import csv as csv_import
from directory.imports import duplicates, jobs
from directory.imports.fetch import FetchError
from directory.imports.models import ImportJob
from directory.imports.records import ParseError
from directory.search import query_from_params
from web.importing import HttpClient, geocoder_for
from web.settings import Settings

STATES_FR = {"published": "publiées", "proposed": "à modérer"}


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add `import`, `export` and `duplicates`."""
    imp = subparsers.add_parser(
        "import", help="importer des initiatives (GoGoCarto, CSV, GeoJSON) / import initiatives"
    )
    kinds = imp.add_subparsers(dest="import_kind", metavar="TYPE")
    for kind, summary in (
        ("gogocarto", "export JSON GoGoCarto (fichier ou URL) / GoGoCarto JSON file or URL"),
        ("csv", "fichier CSV (en-têtes français ou anglais) / CSV file"),
        ("geojson", "FeatureCollection GeoJSON / GeoJSON file"),
    ):
        parser = kinds.add_parser(kind, help=summary)
        parser.add_argument("location", metavar="FICHIER_OU_URL")
        parser.add_argument(
            "--source", help="nom de la source (par défaut : le nom du fichier ou l'hôte)"
        )
        parser.add_argument(
            "--every", help="synchroniser périodiquement (ex. 6h, 1d, 1w) par `maillage worker`"
        )
        parser.add_argument(
            "--state", choices=("published", "proposed"), default="published",
            help="état des nouvelles initiatives (par défaut : publiées)",
        )  # fmt: skip
        parser.add_argument(
            "--keep-vanished", action="store_true",
            help="ne pas retirer les initiatives absentes du fichier (fichier partiel)",
        )  # fmt: skip
        parser.add_argument("--geocode", choices=("ban", "nominatim", "off"), default=None)
        parser.add_argument(
            "--timeout", type=float, default=60.0, help="délai d'attente d'une URL (s)"
        )
        if kind == "csv":
            parser.add_argument(
                "--column", action="append", default=[], metavar="CHAMP=EN-TÊTE",
                help="correspondance imposée, ex. --column name=Structure (vide : ignorer)",
            )  # fmt: skip
            parser.add_argument(
                "--show-mapping", action="store_true",
                help="afficher la correspondance des colonnes et s'arrêter",
            )  # fmt: skip
        parser.set_defaults(handler=_import, kind=kind)
    for name, summary, handler in (
        ("jobs", "derniers imports et leur état / recent import jobs", _jobs),
        ("sources", "sources synchronisées / synced sources", _sources),
    ):
        kinds.add_parser(name, help=summary).set_defaults(handler=handler)
    retry = kinds.add_parser("retry", help="relancer un import échoué / rerun a failed job")
    retry.add_argument("job_id", type=int)
    retry.set_defaults(handler=_retry)

    exp = subparsers.add_parser(
        "export", help="exporter l'annuaire ou une sélection / export the directory"
    )
    exp.add_argument("format", choices=tuple(FORMATS))
    exp.add_argument("-o", "--output", help="fichier de sortie (par défaut : sortie standard)")
    for flag, help_text in (
        ("q", "texte recherché"),
        ("theme", "thème (répétable)"),
        ("actor-kind", "type d'acteur (répétable)"),
        ("need", "besoin (répétable)"),
        ("commune", "code INSEE (répétable)"),
        ("status", "statut (répétable)"),
        ("origin", "all, local ou remote"),
        ("bbox", "min_lat,min_lon,max_lat,max_lon"),
        ("near", "lat,lon,km"),
    ):
        exp.add_argument(f"--{flag}", action="append", default=[], help=help_text)
    exp.set_defaults(handler=_export)

    dup = subparsers.add_parser("duplicates", help="doublons possibles / possible duplicates")
    dup.add_argument("--limit", type=int, default=100)
    dup.set_defaults(handler=_duplicates)


def _settings() -> Settings:
    return Settings.from_env()


def _run(coroutine: Any) -> int:
    try:
        return asyncio.run(coroutine)
    except (DomainError, ParseError, FetchError) as exc:
        detail = (
            "; ".join(f"{k} : {v}" for k, v in exc.errors.items())
            if isinstance(exc, ValidationError)
            else str(exc)
        )
        print(f"erreur : {detail}", file=sys.stderr)
        return 2


class ProgressBar:
    """A one-line progress bar on stderr (only redrawn a few times a second)."""

    def __init__(self) -> None:
        self.last = 0.0

    def __call__(self, done: int, total: int) -> None:
        now = time.monotonic()
        if now - self.last < 0.2 and done < total:
            return
        self.last = now
        width = 30
        filled = int(width * done / total) if total else width
        print(
            f"\r[{'#' * filled}{'.' * (width - filled)}] {done}/{total}",
            end="" if done < total else "\n",
            file=sys.stderr,
            flush=True,
        )


def print_report(job: ImportJob, out: Any = sys.stdout) -> None:
    """The final report: counts, then each refused record with its reason."""
    if job.state == "failed":
        print(f"Import n°{job.id} ÉCHOUÉ : {job.error}", file=out)
        return
    r = job.report
    print(f"Import n°{job.id} ({job.source_key}) terminé : {r['total']} enregistrements", file=out)
    print(
        f"  importés {r['imported']} (nouveaux {r['created']}, mis à jour {r['updated']},"
        f" inchangés {r['unchanged']}), refusés {r['rejected_count']},"
        f" retirés {r['withdrawn']}, conflits {r['conflicts']}",
        file=out,
    )
    print(
        f"  sans coordonnées {r['without_coordinates_count']}, avec avertissements"
        f" {r['warnings_count']}, géocodés {r['geocoded']}",
        file=out,
    )
    for entry in r["rejected"]:
        label = entry["name"] or entry["source_id"] or "?"
        print(f"  refusé n°{entry['position']} {label} : {entry['reason']}", file=out)
    for entry in r["warnings"][:50]:
        print(f"  avertissement n°{entry['position']} {entry['name']} : "
              + " ; ".join(entry["warnings"]), file=out)  # fmt: skip
    if r["warnings_count"] > 50:
        print(f"  … et {r['warnings_count'] - 50} autres (page d'administration)", file=out)
    if r["unmapped_categories"]:
        print("  catégories sans thème (à associer dans l'administration) : "
              + ", ".join(f"{k} ({v})" for k, v in r["unmapped_categories"].items()), file=out)  # fmt: skip
    if r.get("possible_duplicates"):
        print(
            f"  doublons possibles : {len(r['possible_duplicates'])} (maillage duplicates)",
            file=out,
        )


def _source_key(args: argparse.Namespace) -> str:
    if args.source:
        return args.source
    if jobs.is_url(args.location):
        from urllib.parse import urlsplit

        return urlsplit(args.location).netloc
    return Path(args.location).stem


def _columns(values: list[str]) -> dict[str, str]:
    columns = {}
    for value in values:
        target, sep, header = value.partition("=")
        if not sep:
            raise ValidationError({"column": f"CHAMP=EN-TÊTE attendu, pas {value!r}"})
        columns[target.strip()] = header.strip()
    return columns


def _check_file(location: str) -> bytes:
    path = Path(location)
    if not path.is_file():
        raise ParseError(f"fichier introuvable : {path}")
    jobs.check_size(path.stat().st_size)
    return b""


def _csv_plan(path: str | None, raw: bytes, columns: dict[str, str]) -> csv_import.CsvPlan:
    """The plan of a fetched CSV (`raw`) or of a file (`path`, read as a stream)."""
    with open(path, "rb") if path else io.BytesIO(raw) as file:
        return csv_import.open_file(file, columns)[0]


def _absolute(location: str) -> str:
    return str(Path(location).resolve())


def _open_output(path: str | None) -> Any:
    return open(path, "wb") if path else sys.stdout.buffer


def _import(args: argparse.Namespace) -> int:
    return _run(_import_async(args))


async def _import_async(args: argparse.Namespace) -> int:
    settings = _settings()
    client = HttpClient(settings, timeout=args.timeout)
    options: dict[str, Any] = {"moderation_state": args.state}
    if args.keep_vanished:
        options["keep_vanished"] = True
    if args.kind == "csv":
        options["columns"] = _columns(args.column)
    is_url = jobs.is_url(args.location)
    raw = b""
    if is_url:
        raw = await client.fetch(args.location)
    else:  # files are read by the job one record at a time, not here
        raw = _check_file(args.location)
    if args.kind == "csv":
        plan = _csv_plan(None if is_url else args.location, raw, options["columns"])
        print(f"Encodage {plan.encoding}, séparateur {plan.delimiter!r}, {plan.rows} lignes")
        for target in csv_import.TARGETS:
            print(f"  {target:<14} <- {plan.mapping.get(target, '(aucune colonne)')}")
        if plan.unmapped:
            print(f"  colonnes ignorées : {', '.join(plan.unmapped)}")
        if args.show_mapping:
            return 0
    if args.geocode:
        settings = settings.with_(extra={**settings.extra, "geocoder": args.geocode})
    db = Database(settings.resolved_database_url)
    try:
        key = _source_key(args)
        if args.every:
            every = jobs.parse_every(args.every)
            async with db.session() as session:
                await jobs.save_source(
                    session, key=key, kind=args.kind,
                    location=args.location if is_url else _absolute(args.location),
                    every_seconds=every, options=options,
                )  # fmt: skip
            print(f"Source {key!r} synchronisée toutes les {args.every} par `maillage worker`.")
        if is_url:
            job = await jobs.import_payload(
                db, kind=args.kind, source_key=key, raw=raw, data_dir=settings.data_dir,
                options=options, location=args.location,
                geocoder=geocoder_for(settings, client), on_progress=ProgressBar(),
            )  # fmt: skip
        else:
            job = await jobs.import_file(
                db, kind=args.kind, source_key=key, path=Path(args.location),
                data_dir=settings.data_dir, options=options,
                geocoder=geocoder_for(settings, client), on_progress=ProgressBar(),
            )  # fmt: skip
        print_report(job)
        return 0 if job.state == "done" else 1
    finally:
        await db.dispose()


def _jobs(args: argparse.Namespace) -> int:
    async def run() -> int:
        db = Database(_settings().resolved_database_url)
        try:
            async with db.session() as session:
                for job in await jobs.list_jobs(session):
                    counts = job.counts or {}
                    print(
                        f"n°{job.id}\t{job.state}\t{job.kind}\t{job.source_key}\t"
                        f"{counts.get('imported', 0)}/{job.total} importés\t"
                        f"{counts.get('rejected_count', 0)} refusés\t{job.error[:80]}"
                    )
        finally:
            await db.dispose()
        return 0

    return _run(run())


def _sources(args: argparse.Namespace) -> int:
    async def run() -> int:
        db = Database(_settings().resolved_database_url)
        try:
            async with db.session() as session:
                for source in await jobs.list_sources(session):
                    every = f"toutes les {source.every_seconds} s" if source.every_seconds else "-"
                    print(f"{source.key}\t{source.kind}\t{source.location}\t{every}\t"
                          f"prochaine : {source.next_run_at or '-'}")  # fmt: skip
        finally:
            await db.dispose()
        return 0

    return _run(run())


def _retry(args: argparse.Namespace) -> int:
    async def run() -> int:
        settings = _settings()
        db = Database(settings.resolved_database_url)
        try:
            async with db.session() as session:
                await jobs.retry_job(session, args.job_id)
            client = HttpClient(settings)
            job = await jobs.run_job(
                db, args.job_id, fetcher=client, geocoder=geocoder_for(settings, client),
                data_dir=settings.data_dir, on_progress=ProgressBar(),
            )  # fmt: skip
            print_report(job)
            return 0 if job.state == "done" else 1
        finally:
            await db.dispose()

    return _run(run())


def export_context(settings: Settings) -> ExportContext:
    return ExportContext(
        base_url=settings.base_url,
        instance_name=settings.territory_name,
        licence=settings.licence,
        licence_url=settings.licence_url,
    )


def _export(args: argparse.Namespace) -> int:
    async def run() -> int:
        params = {
            name: values
            for name, values in (
                ("q", args.q), ("theme", args.theme), ("actor_kind", args.actor_kind),
                ("need", args.need), ("commune", args.commune), ("status", args.status),
                ("origin", args.origin), ("bbox", args.bbox), ("near", args.near),
            )
            if values
        }  # fmt: skip
        single = {
            k: v[-1] if k in ("q", "origin", "bbox", "near") else v for k, v in params.items()
        }
        query = query_from_params(single)
        settings = _settings()
        db = Database(settings.resolved_database_url)
        try:
            out = _open_output(args.output)
            try:
                async for chunk in stream_export(db, args.format, query, export_context(settings)):
                    out.write(chunk)
            finally:
                if args.output:
                    out.close()
        finally:
            await db.dispose()
        return 0

    return _run(run())


def _duplicates(args: argparse.Namespace) -> int:
    async def run() -> int:
        db = Database(_settings().resolved_database_url)
        try:
            async with db.session() as session:
                pairs = await duplicates.find_all(session, limit=args.limit)
                from directory.models import Initiative

                for pair in pairs:
                    a = await session.get(Initiative, pair.first_id)
                    b = await session.get(Initiative, pair.second_id)
                    print(
                        f"n°{a.id} « {a.name} » ({a.city or '?'})  ~  n°{b.id} « {b.name} »"
                        f" ({b.city or '?'}) : {', '.join(pair.reasons)}"
                        f" [similarité {pair.similarity:.2f}]"
                        + (" — autre instance : lier par sameAs" if pair.across_instances else "")
                    )
                print(f"{len(pairs)} paires de doublons possibles.", file=sys.stderr)
        finally:
            await db.dispose()
        return 0

    return _run(run())
