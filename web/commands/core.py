"""Core subcommands of `maillage`: migrate, serve, createadmin, territory, demo."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import getpass
import importlib
import logging
import os
import secrets
import sys
import textwrap
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from pathlib import Path

from sqlalchemy.engine import make_url
from starlette.applications import Starlette

from directory import demo, people, territory
from directory.db import Database
from directory.errors import Conflict, ValidationError
from web.app import create_app, settle_for_serving
from web.logs import log_format, logging_config
from web.migrate import upgrade
from web.settings import Settings

# Background work that `maillage demo` runs inside the web process (on SQLite one process
# does everything). Each entry is "module:function", where `function(app)` is a coroutine
# that runs until cancelled; it is started after the app's own start-up and cancelled
# before its shutdown. The federation worker registers itself here.
IN_PROCESS_TASKS: tuple[str, ...] = ("web.commands.federation:run_worker_in_process",)

DEMO_DATA_DIR = Path("data/demo")
log = logging.getLogger("maillage.tasks")
DEMO_PASSWORD_FILE = "demo-admin-password"


def _formatter(prog: str) -> argparse.HelpFormatter:
    return argparse.RawDescriptionHelpFormatter(prog, max_help_position=32)


def _add(
    subparsers: argparse._SubParsersAction, name: str, summary: str, details: str
) -> argparse.ArgumentParser:
    return subparsers.add_parser(
        name,
        help=summary,
        description=summary + "\n\n" + textwrap.dedent(details).strip(),
        formatter_class=_formatter,
    )


def _database_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--database-url",
        metavar="URL",
        help="base de données (par défaut MAILLAGE_DATABASE_URL, sinon SQLite dans "
        "MAILLAGE_DATA_DIR) / database URL",
    )


def settings_from(args: argparse.Namespace) -> Settings:
    """Settings from the environment, with the command line's --database-url on top."""
    settings = Settings.from_env()
    if getattr(args, "database_url", None):
        settings = settings.with_(database_url=args.database_url)
    return settings


def ensure_sqlite_directory(url: str) -> None:
    """Create the folder of a SQLite database file, so a fresh data dir just works."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite" and parsed.database not in (None, "", ":memory:"):
        Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)


def _fail(message: str) -> int:
    print(f"Erreur : {message}", file=sys.stderr)
    return 1


def _domain_errors(run: Callable[[], int]) -> int:
    """Run a command; show the domain's refusals as messages, not tracebacks."""
    try:
        return run()
    except ValidationError as exc:
        lines = "\n".join(f"  - {field} : {reason}" for field, reason in exc.errors.items())
        return _fail("données refusées\n" + lines)
    except Conflict as exc:
        return _fail(str(exc))


# --- migrate ------------------------------------------------------------------------------


def migrate(args: argparse.Namespace) -> int:
    url = settings_from(args).resolved_database_url
    ensure_sqlite_directory(url)
    asyncio.run(upgrade(url, args.revision))
    print(f"Base de données à jour ({args.revision}) : {make_url(url).render_as_string()}")
    return 0


# --- serve --------------------------------------------------------------------------------


def app_from_env() -> Starlette:
    """The ASGI application built from MAILLAGE_* variables (uvicorn factory)."""
    app = create_app(Settings.from_env())
    settle_for_serving()
    return app


def serve(args: argparse.Namespace) -> int:
    import uvicorn

    try:
        log_config = logging_config(log_format(), args.log_level)
    except ValueError as exc:
        return _fail(str(exc))
    if args.database_url:
        os.environ["MAILLAGE_DATABASE_URL"] = args.database_url  # read by each worker
    uvicorn.run(
        "web.commands.core:app_from_env",
        factory=True,
        host=args.host,
        port=args.port,
        workers=args.workers,
        proxy_headers=True,
        forwarded_allow_ips=args.forwarded_allow_ips,
        log_level=args.log_level,
        log_config=log_config,
    )
    return 0


# --- createadmin --------------------------------------------------------------------------


def _read_password(args: argparse.Namespace) -> str:
    if args.password_stdin:
        return sys.stdin.readline().rstrip("\r\n")
    first = getpass.getpass("Mot de passe : ")
    if first != getpass.getpass("Mot de passe (encore) : "):
        raise ValidationError({"password": "les deux saisies diffèrent"})
    return first


async def _create_admin(url: str, email: str, password: str, role: str, update: bool) -> str:
    db = Database(url)
    try:
        async with db.session() as session:
            person = await people.person_by_email(session, email)
            if person is not None and update:
                if len(password) < people.MIN_PASSWORD:
                    raise ValidationError(
                        {"password": f"au moins {people.MIN_PASSWORD} caractères"}
                    )
                person.password_hash = people.hash_password(password)
                person.role, person.active = role, True
                return f"Compte mis à jour : {person.email} ({role})"
            person = await people.create_person(session, email=email, password=password, role=role)
            return f"Compte créé : {person.email} ({role})"
    finally:
        await db.dispose()


def createadmin(args: argparse.Namespace) -> int:
    def run() -> int:
        password = _read_password(args)
        url = settings_from(args).resolved_database_url
        print(asyncio.run(_create_admin(url, args.email, password, args.role, args.update)))
        return 0

    return _domain_errors(run)


# --- territory ----------------------------------------------------------------------------


async def _territory(url: str, args: argparse.Namespace, rows: list[territory.CommuneRow]) -> str:
    db = Database(url)
    try:
        async with db.session() as session:
            if args.name:
                await territory.set_territory(
                    session, name=args.name, kind=args.kind, code=args.code, communes=rows
                )
            current = await territory.get_territory(session)
            if current is None:
                return "Aucun territoire défini (maillage territory --name ... --kind ...)."
            count = len(await territory.communes(session))
            return (
                f"Territoire : {current.name} ({current.kind}"
                + (f", code {current.code}" if current.code else "")
                + f"), {count} communes"
            )
    finally:
        await db.dispose()


def territory_command(args: argparse.Namespace) -> int:
    def run() -> int:
        if args.communes and not args.name:
            return _fail("--communes va avec --name et --kind")
        rows: list[territory.CommuneRow] = []
        if args.communes:
            try:
                text = Path(args.communes).read_text(encoding="utf-8-sig")
            except OSError as exc:
                return _fail(f"lecture de {args.communes} impossible : {exc.strerror}")
            rows = territory.parse_communes_csv(text)
        print(asyncio.run(_territory(settings_from(args).resolved_database_url, args, rows)))
        return 0

    return _domain_errors(run)


# --- demo ---------------------------------------------------------------------------------


def _report_failure(task: asyncio.Task[None]) -> None:
    if not task.cancelled() and task.exception() is not None:
        log.error("in-process task %s failed", task.get_name(), exc_info=task.exception())


def with_in_process_tasks(app: Starlette, paths: Sequence[str]) -> Starlette:
    """Run each "module:function" coroutine beside the app, from start-up to shutdown."""
    if not paths:
        return app
    inner = app.router.lifespan_context

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        async with inner(app):
            tasks: list[asyncio.Task[None]] = []
            for path in paths:
                module, _, name = path.partition(":")
                start: Callable[[Starlette], Awaitable[None]] = getattr(
                    importlib.import_module(module), name
                )
                tasks.append(asyncio.create_task(start(app), name=path))
                tasks[-1].add_done_callback(_report_failure)
            try:
                yield
            finally:
                for task in tasks:
                    task.cancel()
                await asyncio.gather(*tasks, return_exceptions=True)

    app.router.lifespan_context = lifespan
    return app


def demo_settings(data_dir: Path, host: str, port: int) -> Settings:
    """The demo instance: SQLite in `data_dir`, Loire-Atlantique, served at host:port."""
    env = {**os.environ, "MAILLAGE_DATA_DIR": str(data_dir)}
    env.pop("MAILLAGE_DATABASE_URL", None)
    public_host = "127.0.0.1" if host in ("0.0.0.0", "::") else host
    return Settings.from_env(env).with_(
        base_url=f"http://{public_host}:{port}",
        territory_name=demo.TERRITORY["name"],
        territory_kind=demo.TERRITORY["kind"],
        territory_code=demo.TERRITORY["code"],
        territory_username="loire-atlantique",
    )


def demo_password(data_dir: Path) -> str:
    """The demo admin's password, generated once and kept in the data dir (mode 0600)."""
    path = data_dir / DEMO_PASSWORD_FILE
    if path.exists():
        return path.read_text().strip()
    password = secrets.token_urlsafe(12)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(password + "\n")
    return password


def reset_demo(data_dir: Path) -> None:
    """Remove the demo's database and password (the secret key stays)."""
    for name in ("maillage.sqlite3", "maillage.sqlite3-wal", "maillage.sqlite3-shm"):
        (data_dir / name).unlink(missing_ok=True)
    (data_dir / DEMO_PASSWORD_FILE).unlink(missing_ok=True)


async def _load_demo(url: str, password: str, count: int, seed: int) -> demo.DemoSummary:
    await upgrade(url)
    db = Database(url)
    try:
        async with db.session() as session:
            return await demo.load_demo(session, admin_password=password, count=count, seed=seed)
    finally:
        await db.dispose()


def demo_command(args: argparse.Namespace) -> int:
    try:
        log_config = logging_config(log_format(), args.log_level)
    except ValueError as exc:
        return _fail(str(exc))
    data_dir = Path(args.data_dir)
    if args.reset:
        reset_demo(data_dir)
    data_dir.mkdir(parents=True, exist_ok=True)
    settings = demo_settings(data_dir, args.host, args.port)
    password = demo_password(data_dir)
    summary = asyncio.run(
        _load_demo(settings.resolved_database_url, password, args.count, args.seed)
    )
    print(
        f"Démo Maillage : {demo.TERRITORY['name']}, {summary.communes} communes, "
        f"{summary.created + summary.existing} initiatives "
        f"({summary.created} créées, {summary.existing} déjà là), "
        f"base {settings.resolved_database_url}"
    )
    print(f"Compte administrateur : {summary.admin_email}")
    print(f"Mot de passe : {password}")
    if args.no_serve:
        return 0
    print(f"Adresse : {settings.base_url}/  (Ctrl+C pour arrêter)", flush=True)
    import uvicorn

    app = with_in_process_tasks(create_app(settings), IN_PROCESS_TASKS)
    uvicorn.run(
        app, host=args.host, port=args.port, log_level=args.log_level, log_config=log_config
    )
    return 0


# --- registration -------------------------------------------------------------------------


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add this module's subcommands; each sets `handler=` to a function(args) -> int."""
    p = _add(
        subparsers,
        "demo",
        "Lance une démonstration complète sur SQLite (starts a self-contained demo).",
        """
        Crée (ou reprend) une base SQLite dans le dossier de données, y charge le
        territoire de démonstration — la Loire-Atlantique et ses 207 communes — et des
        initiatives inventées (thèmes, besoins, acteurs, propositions en attente de
        modération, corrections), crée un compte administrateur dont l'adresse et le mot
        de passe s'affichent, puis sert l'instance sur http://127.0.0.1:8000.

        Relancer la commande reprend la même base sans rien dupliquer ; --reset repart
        de zéro. Rien d'autre que Python n'est nécessaire.

        Creates or reuses a SQLite demo database with Loire-Atlantique, invented
        initiatives and an admin account (printed), then serves it.
        """,
    )
    p.add_argument("--host", default="127.0.0.1", help="adresse d'écoute (défaut 127.0.0.1)")
    p.add_argument("--port", type=int, default=8000, help="port d'écoute (défaut 8000)")
    p.add_argument(
        "--data-dir",
        default=str(DEMO_DATA_DIR),
        help=f"dossier de la base de démonstration (défaut {DEMO_DATA_DIR})",
    )
    p.add_argument("--reset", action="store_true", help="efface la base de démo et recommence")
    p.add_argument(
        "--count",
        type=int,
        default=demo.DEFAULT_COUNT,
        help=f"nombre d'initiatives inventées (défaut {demo.DEFAULT_COUNT})",
    )
    p.add_argument(
        "--seed",
        type=int,
        default=demo.DEFAULT_SEED,
        help="graine du générateur : même graine, mêmes données",
    )
    p.add_argument("--no-serve", action="store_true", help="prépare la base sans lancer le serveur")
    p.add_argument("--log-level", default="info", help="niveau de journal d'uvicorn")
    p.set_defaults(handler=demo_command)

    p = _add(
        subparsers,
        "migrate",
        "Crée ou met à jour le schéma de la base (applies database migrations).",
        """
        Applique les migrations Alembic jusqu'à la dernière révision (ou --revision) et
        ajoute les thèmes du vocabulaire commun qui manquent. Sans risque à relancer.
        À exécuter avant `maillage serve` à chaque mise à jour.

        Brings the database at MAILLAGE_DATABASE_URL (SQLite or PostgreSQL) up to date.
        """,
    )
    _database_option(p)
    p.add_argument("--revision", default="head", help="révision cible (défaut head)")
    p.set_defaults(handler=migrate)

    p = _add(
        subparsers,
        "serve",
        "Sert l'instance en production avec uvicorn (serves the web application).",
        """
        Lit la configuration dans les variables MAILLAGE_* (voir le README) et lance
        uvicorn. Derrière un proxy inverse (Caddy, nginx), laisser --host 127.0.0.1 et
        indiquer l'adresse du proxy dans --forwarded-allow-ips. Les processus web sont
        sans état : --workers N en lance plusieurs (PostgreSQL recommandé).
        Le travail de fond (livraisons ActivityPub, imports) tourne dans `maillage worker`.

        Runs the production web server; configuration comes from MAILLAGE_* variables.
        """,
    )
    _database_option(p)
    p.add_argument("--host", default="127.0.0.1", help="adresse d'écoute (défaut 127.0.0.1)")
    p.add_argument("--port", type=int, default=8000, help="port d'écoute (défaut 8000)")
    p.add_argument("--workers", type=int, default=1, help="nombre de processus (défaut 1)")
    p.add_argument(
        "--forwarded-allow-ips",
        default="127.0.0.1",
        metavar="IPS",
        help="proxys dont les en-têtes X-Forwarded-* sont crus (défaut 127.0.0.1)",
    )
    p.add_argument("--log-level", default="info", help="niveau de journal d'uvicorn")
    p.set_defaults(handler=serve)

    p = _add(
        subparsers,
        "createadmin",
        "Crée un compte (administrateur par défaut) (creates an account).",
        """
        Crée un compte avec l'adresse donnée et le rôle choisi (admin, moderator,
        referent, contributor). Le mot de passe (10 caractères au moins) est demandé deux
        fois au terminal, ou lu sur l'entrée standard avec --password-stdin (scripts).
        --update change le mot de passe et le rôle d'un compte existant.

        Creates an account; the password is prompted for or read from stdin.
        """,
    )
    _database_option(p)
    p.add_argument("email", help="adresse e-mail du compte")
    p.add_argument(
        "--role",
        default="admin",
        choices=("admin", "moderator", "referent", "contributor"),
        help="rôle du compte (défaut admin)",
    )
    p.add_argument(
        "--password-stdin", action="store_true", help="lit le mot de passe sur l'entrée standard"
    )
    p.add_argument("--update", action="store_true", help="met à jour le compte s'il existe déjà")
    p.set_defaults(handler=createadmin)

    p = _add(
        subparsers,
        "territory",
        "Définit le territoire de l'instance et ses communes (sets the territory).",
        """
        Sans option, affiche le territoire actuel. Avec --name et --kind, le définit ;
        --communes charge ses communes depuis un fichier CSV (séparateur , ou ;) dont les
        colonnes sont le code INSEE, le nom, la latitude et la longitude, et en option la
        population et le code postal ; une ligne d'en-tête (insee, nom, lat, lon, ...)
        est reconnue. Les communes déjà connues sont mises à jour, jamais dupliquées.

        Exemple : maillage territory --name "Loire-Atlantique" --kind departement \\
                    --code 44 --communes communes-44.csv
        """,
    )
    _database_option(p)
    p.add_argument("--name", help="nom du territoire")
    p.add_argument(
        "--kind",
        default="departement",
        choices=("commune", "epci", "departement", "region", "national", "other"),
        help="nature du territoire (défaut departement)",
    )
    p.add_argument("--code", default="", help="code INSEE ou SIREN du territoire")
    p.add_argument("--communes", metavar="CSV", help="fichier CSV des communes")
    p.set_defaults(handler=territory_command)
