"""The README stays true: every command, option and setting is documented there."""

from __future__ import annotations

import argparse
import re
from pathlib import Path

import pytest

from web import settings
from web.cli import build_parser

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text(encoding="utf-8")


def subcommands() -> dict[str, argparse.ArgumentParser]:
    parser = build_parser()
    action = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    return dict(action.choices)


def section(heading: str) -> str:
    """The README text under `heading`, up to the next heading of the same or higher level."""
    match = re.search(rf"^(#+) {re.escape(heading)}\s*$", README, re.MULTILINE)
    assert match, f"README has no section {heading!r}"
    level = len(match.group(1))
    rest = README[match.end() :]
    end = re.search(rf"^#{{1,{level}}} ", rest, re.MULTILINE)
    return rest[: end.start()] if end else rest


@pytest.mark.parametrize("name", sorted(subcommands()))
def test_every_command_and_option_is_documented(name):
    text = section(f"`maillage {name}`")
    options = {
        option
        for action in subcommands()[name]._actions
        for option in action.option_strings
        if option.startswith("--") and option != "--help"
    }
    missing = sorted(o for o in options if f"`{o}`" not in text)
    assert not missing, f"README section `maillage {name}` does not mention {missing}"


def test_every_setting_is_documented():
    variables = set(re.findall(r"\"(MAILLAGE_[A-Z_]+)\"", Path(settings.__file__).read_text()))
    table = section("Configuration")
    assert len(variables) >= 10
    missing = sorted(v for v in variables if f"| `{v}` |" not in table)
    assert not missing, f"README Configuration lacks {missing}"


def test_quick_start_is_two_make_targets():
    commands = re.findall(r"^make (\w+)", section("Démarrage rapide"), re.MULTILINE)
    makefile = (ROOT / "Makefile").read_text()

    assert commands == ["demo", "test"]
    for target in commands:
        assert re.search(rf"^{target}:", makefile, re.MULTILINE)
