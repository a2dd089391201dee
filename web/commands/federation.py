"""Federation subcommands of `maillage`: worker, follow, unfollow, followers, following,
trust, block, unblock, inbox (what was ignored or refused, and why)."""

from __future__ import annotations

import argparse
import asyncio
import functools
import logging
import signal
import sys
from collections.abc import Awaitable, Callable

from starlette.applications import Starlette

from directory.db import Database
from directory.errors import NotFound, ValidationError
from federation import follows, inbox_store, instances
from federation.fetch import FetchError
from federation.following import decide_follower, follow, resolve_target, unfollow
from federation.http import AiohttpClient
from federation.worker import Worker
from web.activitypub import http_client
from web.commands import demo_federation
from web.diagnostic import refresh_counts
from web.importing import run_due_imports
from web.settings import Settings

log = logging.getLogger("maillage.worker")


def _settings(args: argparse.Namespace) -> Settings:
    settings = Settings.from_env()
    if getattr(args, "database_url", None):
        settings = settings.with_(database_url=args.database_url)
    return settings


def _run(
    args: argparse.Namespace, job: Callable[[Settings, Database, Worker], Awaitable[int]]
) -> int:
    """Run `job` with the instance's settings, database and a worker (for its fetcher)."""
    settings = _settings(args)

    async def main() -> int:
        db = Database(settings.resolved_database_url)
        client = AiohttpClient(allow_private_addresses=settings.allow_private_addresses)
        try:
            return await job(settings, db, Worker(settings, db, client))
        finally:
            await client.close()
            await db.dispose()

    try:
        return asyncio.run(main())
    except (ValidationError, NotFound, FetchError) as exc:
        detail = getattr(exc, "errors", None) or getattr(exc, "reason", None) or str(exc)
        print(f"Erreur : {detail}", file=sys.stderr)
        return 1


# --- worker ---------------------------------------------------------------------------------


def instance_tasks(settings: Settings, db: Database) -> list[Callable[[], Awaitable[int]]]:
    """Background work beside federation that every worker round runs: periodic imports,
    and the diagnostic's counts of the communes that changed."""
    return [functools.partial(run_due_imports, db, settings), functools.partial(refresh_counts, db)]


async def run_worker(settings: Settings, db: Database, *, stop: asyncio.Event) -> None:
    """The worker loop of `maillage worker` until `stop` is set."""
    client = AiohttpClient(allow_private_addresses=settings.allow_private_addresses)
    try:
        await Worker(settings, db, client, tasks=instance_tasks(settings, db)).run(stop)
    finally:
        await client.close()


def worker_command(args: argparse.Namespace) -> int:
    settings = _settings(args)
    logging.basicConfig(level=args.log_level.upper(), format="%(asctime)s %(name)s %(message)s")

    async def main() -> int:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(signum, stop.set)
        db = Database(settings.resolved_database_url)
        log.info("worker started on %s", db.dialect)
        try:
            await run_worker(settings, db, stop=stop)
        finally:
            await db.dispose()
        log.info("worker stopped")
        return 0

    return asyncio.run(main())


async def run_worker_in_process(app: Starlette) -> None:
    """In-process worker for `maillage demo` (IN_PROCESS_TASKS): runs until cancelled."""
    stop = asyncio.Event()
    settings, db = app.state.settings, app.state.db
    worker = Worker(settings, db, http_client(app), tasks=instance_tasks(settings, db))
    try:
        await worker.run(stop)
    finally:
        stop.set()


# --- follows --------------------------------------------------------------------------------


def follow_command(args: argparse.Namespace) -> int:
    async def job(settings: Settings, db: Database, worker: Worker) -> int:
        fetcher = await worker.fetcher()
        actor_uri = await resolve_target(fetcher, args.target)
        async with db.session() as session:
            await follow(session, settings, fetcher, actor_uri)
        sent = await worker.deliverer.run_once()
        print(f"Abonnement demandé à {actor_uri}" + (" (envoyé)" if sent else ""))
        print("La réponse arrive par la boîte de réception ; `maillage worker` la traite.")
        return 0

    return _run(args, job)


def unfollow_command(args: argparse.Namespace) -> int:
    async def job(settings: Settings, db: Database, worker: Worker) -> int:
        fetcher = await worker.fetcher()
        actor_uri = await resolve_target(fetcher, args.target)
        async with db.session() as session:
            await unfollow(session, settings, actor_uri)
        await worker.deliverer.run_once()
        print(f"Désabonné de {actor_uri}")
        return 0

    return _run(args, job)


def followers_command(args: argparse.Namespace) -> int:
    async def job(settings: Settings, db: Database, worker: Worker) -> int:
        decision = args.accept or args.reject
        if decision:
            actor = args.actor or settings.territory_username
            async with db.session() as session:
                await decide_follower(session, settings, actor, decision, accept=bool(args.accept))
            await worker.deliverer.run_once()
            print(f"{decision} : {'accepté' if args.accept else 'refusé'} ({actor})")
            return 0
        async with db.session() as session:
            rows = await follows.followers_of(session, args.actor, state=None)
        for row in rows:
            print(f"{row.actor_name}\t{row.remote_actor_uri}\t{row.state}")
        print(f"{len(rows)} abonné(s)", file=sys.stderr)
        return 0

    return _run(args, job)


def following_command(args: argparse.Namespace) -> int:
    async def job(settings: Settings, db: Database, worker: Worker) -> int:
        async with db.session() as session:
            rows = await follows.following_list(session)
        for row in rows:
            backfill = f"rattrapage {row.backfill_state or '-'} ({row.backfill_count})"
            error = f"\terreur : {row.backfill_error}" if row.backfill_error else ""
            print(f"{row.remote_actor_uri}\t{row.state}\t{backfill}{error}")
        print(f"{len(rows)} abonnement(s)", file=sys.stderr)
        return 0

    return _run(args, job)


# --- trust and blocks -----------------------------------------------------------------------


def trust_command(args: argparse.Namespace) -> int:
    async def job(settings: Settings, db: Database, worker: Worker) -> int:
        async with db.session() as session:
            if args.policy:
                instance = await instances.set_trust(session, args.host, args.policy)
                print(f"{instance.host} : {instance.trust}")
                return 0
            for instance in await instances.list_instances(session):
                error = f"\terreur : {instance.last_error}" if instance.last_error else ""
                print(
                    f"{instance.host}\t{instance.trust}\t{instance.last_contact_at or '-'}{error}"
                )
        return 0

    return _run(args, job)


def block_command(args: argparse.Namespace) -> int:
    async def job(settings: Settings, db: Database, worker: Worker) -> int:
        async with db.session() as session:
            block = await instances.block_domain(session, args.domain, args.reason)
        print(f"{block.domain} bloqué (et ses sous-domaines)")
        return 0

    return _run(args, job)


def unblock_command(args: argparse.Namespace) -> int:
    async def job(settings: Settings, db: Database, worker: Worker) -> int:
        async with db.session() as session:
            await instances.unblock_domain(session, args.domain)
        print(f"{instances.normalise_domain(args.domain)} débloqué")
        return 0

    return _run(args, job)


def blocks_command(args: argparse.Namespace) -> int:
    async def job(settings: Settings, db: Database, worker: Worker) -> int:
        async with db.session() as session:
            for block in await instances.blocked_domains(session):
                print(f"{block.domain}\t{block.reason}")
        return 0

    return _run(args, job)


def inbox_command(args: argparse.Namespace) -> int:
    async def job(settings: Settings, db: Database, worker: Worker) -> int:
        async with db.session() as session:
            items = await inbox_store.list_items(session, state=args.state, limit=args.limit)
        for item in items:
            print(
                f"{item.received_at:%Y-%m-%d %H:%M}\t{item.state}\t{item.activity_type or '-'}"
                f"\t{item.actor_uri or '-'}\t{item.reason}"
            )
        return 0

    return _run(args, job)


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add this module's subcommands; each sets `handler=` to a function(args) -> int."""
    demo_federation.add_flag(subparsers)

    def add(name: str, summary: str, handler: Callable[[argparse.Namespace], int]):
        parser = subparsers.add_parser(name, help=summary, description=summary)
        parser.add_argument("--database-url", metavar="URL", help="base de données / database URL")
        parser.set_defaults(handler=handler)
        return parser

    p = add(
        "worker",
        "traite la fédération (réception, envois, rattrapage) / federation worker",
        worker_command,
    )
    p.add_argument("--log-level", default="info")
    p = add(
        "follow",
        "suivre une instance (hôte, compte ou URL d'acteur) / follow an instance",
        follow_command,
    )
    p.add_argument("target", help="hôte (region.example), compte (nom@hôte) ou URL d'acteur")
    p = add("unfollow", "ne plus suivre une instance / unfollow", unfollow_command)
    p.add_argument("target")
    p = add("followers", "qui suit nos acteurs / our followers", followers_command)
    p.add_argument("--actor", help="un seul acteur (nom)")
    choice = p.add_mutually_exclusive_group()
    choice.add_argument("--accept", metavar="ACTEUR", help="accepter une demande en attente")
    choice.add_argument("--reject", metavar="ACTEUR", help="refuser une demande en attente")
    add("following", "les instances que nous suivons / who we follow", following_command)
    p = add("trust", "politique de confiance d'une instance / trust policy", trust_command)
    p.add_argument("host", nargs="?", help="hôte ; sans argument, liste les instances")
    p.add_argument("policy", nargs="?", choices=("publish", "hold", "block"))
    p = add("block", "bloquer un domaine et ses sous-domaines / block a domain", block_command)
    p.add_argument("domain")
    p.add_argument("--reason", default="")
    p = add("unblock", "débloquer un domaine / unblock a domain", unblock_command)
    p.add_argument("domain")
    add("blocks", "domaines bloqués / blocked domains", blocks_command)
    p = add(
        "inbox", "activités reçues : ignorées, refusées... / received activities", inbox_command
    )
    p.add_argument("--state", choices=("pending", "done", "ignored", "refused", "failed"))
    p.add_argument("--limit", type=int, default=50)
