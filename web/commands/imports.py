"""Subcommands of `maillage` (being written)."""

from __future__ import annotations

import argparse


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add this module's subcommands; each sets `handler=` to a function(args) -> int."""
