"""`maillage privacy export|erase|purge`: personal data on request, and the retention purge."""

from __future__ import annotations

import argparse
import asyncio
import json
from datetime import timedelta

from directory import privacy
from directory.db import Database
from web.settings import Settings


async def _run(args: argparse.Namespace) -> int:
    database = Database(Settings.from_env().resolved_database_url)
    try:
        async with database.session() as session:
            if args.action == "export":
                print(
                    json.dumps(
                        await privacy.personal_data(session, args.email),
                        indent=2,
                        ensure_ascii=False,
                    )
                )
            elif args.action == "erase":
                counts = await privacy.erase(session, args.email)
                print(
                    f"{args.email} : compte supprimé ({counts['account']}), e-mail retiré de "
                    f"{counts['proposals']} proposition(s) et {counts['corrections']} correction(s)."
                )
            else:
                purged = await privacy.purge_rejected(session, older_than=timedelta(days=args.days))
                print(f"{purged} proposition(s) refusée(s) purgée(s) de l'e-mail de leur auteur.")
    finally:
        await database.dispose()
    return 0


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "privacy", help="données personnelles : exporter, effacer, purger (RGPD)"
    )
    actions = parser.add_subparsers(dest="action", required=True)
    export = actions.add_parser(
        "export", help="ce que l'annuaire garde d'une adresse e-mail (JSON)"
    )
    export.add_argument("email")
    erase = actions.add_parser("erase", help="effacer une adresse : compte et e-mails de proposant")
    erase.add_argument("email")
    purge = actions.add_parser(
        "purge", help="retirer l'e-mail des propositions refusées depuis plus de N jours"
    )
    purge.add_argument("--days", type=int, default=privacy.RETENTION.days)
    parser.set_defaults(handler=lambda args: asyncio.run(_run(args)))
