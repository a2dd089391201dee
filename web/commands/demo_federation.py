"""`maillage demo --federation`: three instances on loopback that follow each other.

A commune, its région and a national directory, each with its own SQLite file and port,
served by uvicorn in one process with their workers in-process. The région follows the
commune and the national directory follows the région; once the follows are accepted
(and the backfills done), an initiative is created at the commune and shown arriving at
the national instance with the path it travelled (commune -> région -> national).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import signal
import socket
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from directory import demo, initiatives
from directory.db import Database
from directory.initiatives import Author
from federation.following import follow
from federation.http import AiohttpClient
from federation.worker import Worker
from web.app import create_app
from web.migrate import upgrade
from web.settings import Settings

# name, label, kind, demo initiatives to start with
INSTANCES = (
    ("commune", "Rezé", "commune", 6),
    ("region", "Pays de la Loire", "region", 10),
    ("national", "France", "national", 0),
)
NEW_INITIATIVE = {
    "name": "Atelier vélo solidaire de Rezé",
    "summary": "Réparer son vélo avec des bénévoles, le samedi matin",
    "themes": ["mobilite", "reemploi-reparation"],
    "city": "Rezé",
    "postal_code": "44400",
    "latitude": 47.18,
    "longitude": -1.55,
}


@dataclass
class DemoInstance:
    name: str
    settings: Settings
    db: Database
    worker: Worker | None = None


def _port(preferred: int) -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind(("127.0.0.1", preferred))
    except OSError:
        sock.bind(("127.0.0.1", 0))
    return sock


async def _settle(workers: list[Worker], rounds: int = 200) -> None:
    for _ in range(rounds):
        if not sum([await w.run_once() for w in workers]):
            return


async def run_demo(
    data_dir: Path, first_port: int, *, serve: bool = True, log: Callable[[str], None] = print
) -> list[DemoInstance]:
    """Start the three instances; return when `serve` is False (tests), else run until ^C."""
    import uvicorn

    client = AiohttpClient(allow_private_addresses=True)
    instances: list[DemoInstance] = []
    servers: list[tuple[uvicorn.Server, asyncio.Task]] = []
    try:
        for offset, (name, label, kind, count) in enumerate(INSTANCES):
            sock = _port(first_port + offset if first_port else 0)
            port = sock.getsockname()[1]
            folder = data_dir / name
            folder.mkdir(parents=True, exist_ok=True)
            settings = Settings.from_env({"MAILLAGE_DATA_DIR": str(folder)}).with_(
                base_url=f"http://127.0.0.1:{port}",
                territory_name=label,
                territory_kind=kind,
                territory_username=name,
                allow_private_addresses=True,  # the three instances live on loopback
            )
            await upgrade(settings.resolved_database_url)
            db = Database(settings.resolved_database_url)
            if count:
                async with db.session() as session:
                    await demo.load_demo(
                        session, admin_password="demo-federation", count=count, seed=offset + 1
                    )
            app = create_app(settings, database=db)
            app.state.http = client
            server = uvicorn.Server(
                uvicorn.Config(app, lifespan="off", log_level="warning", ws="none")
            )
            servers.append((server, asyncio.create_task(server.serve(sockets=[sock]))))
            instance = DemoInstance(name, settings, db, Worker(settings, db, client))
            instances.append(instance)
            log(f"{label:18} {settings.base_url}/   (@{name}@{settings.host})")
        for server, _task in servers:
            while not server.started:  # noqa: ASYNC110 (uvicorn offers no start-up event)
                await asyncio.sleep(0.05)
        commune, region, national = instances
        workers = [i.worker for i in instances]
        for follower, followed in ((region, commune), (national, region)):
            fetcher = await follower.worker.fetcher()
            async with follower.db.session() as session:
                await follow(
                    session,
                    follower.settings,
                    fetcher,
                    f"{followed.settings.base_url}/actors/{followed.name}",
                )
            log(f"{follower.name} suit {followed.name}")
        await _settle(workers)
        async with commune.db.session() as session:
            created = await initiatives.get_by_uri(
                session, f"{commune.settings.base_url}/initiatives/atelier-velo-solidaire-de-reze"
            )
            if created is None:
                created = await initiatives.create_initiative(
                    session,
                    NEW_INITIATIVE,
                    author=Author(None, "demo"),
                    moderation_state="published",
                )
            slug = created.slug
        await _settle(workers)
        uri = f"{commune.settings.base_url}/initiatives/{slug}"
        async with national.db.session() as session:
            arrived = await initiatives.get_by_uri(session, uri)
        if arrived is not None:
            path = " -> ".join([*arrived.via, national.settings.host])
            log(f"« {arrived.name} », créée à la commune, est arrivée au national par : {path}")
            log(f"  {national.settings.base_url}/initiatives/{arrived.slug}")
        else:
            log("l'initiative de démonstration n'est pas (encore) arrivée au national")
        if not serve:
            return instances
        log("Ctrl+C pour arrêter")
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(signum, stop.set)
        await asyncio.gather(*(w.run(stop) for w in workers))
        return instances
    finally:
        for server, _task in servers:
            server.should_exit = True
        for _server, task in servers:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        await client.close()
        for instance in instances:
            await instance.db.dispose()


def federation_demo(args: argparse.Namespace) -> int:
    data_dir = Path(getattr(args, "data_dir", None) or "data/demo") / "federation"
    asyncio.run(run_demo(data_dir, int(getattr(args, "port", 8000)) + 1))
    return 0


def add_flag(subparsers: argparse._SubParsersAction) -> None:
    """Give `maillage demo` a `--federation` flag (the demo command itself is core's)."""
    parser = subparsers.choices.get("demo")
    if parser is None:
        return
    parser.add_argument(
        "--federation",
        action="store_true",
        help="trois instances (commune, région, national) qui se suivent / three federated instances",
    )
    plain = parser.get_default("handler")

    def handler(args: argparse.Namespace) -> int:
        return federation_demo(args) if args.federation else plain(args)

    parser.set_defaults(handler=handler)
