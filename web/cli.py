"""The `maillage` command: each area registers its subcommands from web/commands/."""

from __future__ import annotations

import argparse
import importlib
import sys

COMMAND_MODULES = (
    "web.commands.core",  # demo, serve, migrate, createadmin, territory
    "web.commands.federation",  # worker, follow, unfollow, followers, following, ...
    "web.commands.imports",  # import gogocarto|csv|geojson, export ...
    "web.commands.privacy",  # privacy export|erase|purge (RGPD)
)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="maillage",
        description="Maillage : annuaire fédéré des initiatives territoriales.",
    )
    subparsers = parser.add_subparsers(dest="command", metavar="COMMANDE")
    for name in COMMAND_MODULES:
        importlib.import_module(name).register(subparsers)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "handler", None):
        parser.print_help()
        return 2
    return int(args.handler(args) or 0)


if __name__ == "__main__":
    sys.exit(main())
