"""The `maillage` command through its entry point; `serve` and `demo` as real processes."""

from __future__ import annotations

import asyncio
import contextlib
import io
import json
import os
import signal
import socket
import sys
import time
from pathlib import Path
from unittest import mock

import httpx
import pytest
from sqlalchemy import func, select

from directory import demo, people
from directory.models import Commune, Initiative
from directory.territory import get_territory
from web.cli import build_parser, main

ROOT = Path(__file__).resolve().parents[2]
CORE_COMMANDS = ("demo", "migrate", "serve", "createadmin", "territory")


def cli_env(data_dir: Path) -> dict[str, str]:
    """The environment of a fresh machine: no MAILLAGE_* but the data dir, this worktree first."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("MAILLAGE_")}
    env["MAILLAGE_DATA_DIR"] = str(data_dir)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, (str(ROOT), env.get("PYTHONPATH"))))
    return env


def _main(args: tuple[str, ...], env: dict[str, str], stdin: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    with (
        mock.patch.dict(os.environ, env, clear=True),
        mock.patch.object(sys, "stdin", io.StringIO(stdin)),
        contextlib.redirect_stdout(out),
        contextlib.redirect_stderr(err),
    ):
        try:
            code = main(list(args))
        except SystemExit as exited:  # argparse's refusals
            code = exited.code if isinstance(exited.code, int) else 2
    return code, out.getvalue(), err.getvalue()


async def run_cli(*args: str, data_dir: Path, stdin: str = "") -> tuple[int, str, str]:
    """`maillage ARGS` through its entry point (in a thread: it runs its own event loop)."""
    return await asyncio.to_thread(_main, args, cli_env(data_dir), stdin)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.mark.parametrize("command", CORE_COMMANDS)
def test_each_core_command_explains_itself_in_french(command, capsys):
    parser = build_parser()
    with pytest.raises(SystemExit) as exited:
        parser.parse_args([command, "--help"])
    text = capsys.readouterr().out

    assert exited.value.code == 0
    assert f"maillage {command}" in text
    assert any(word in text for word in (" la ", " le ", " les ", " des "))


async def test_migrate_is_idempotent(database_url, tmp_path):
    code, out, err = await run_cli("migrate", "--database-url", database_url, data_dir=tmp_path)
    assert (code, err) == (0, "")
    assert "à jour (head)" in out


async def test_migrate_creates_a_fresh_sqlite_file(tmp_path):
    url = f"sqlite:///{tmp_path / 'nouveau' / 'base.sqlite3'}"
    code, _, err = await run_cli("migrate", "--database-url", url, data_dir=tmp_path)
    assert (code, err) == (0, "")
    assert (tmp_path / "nouveau" / "base.sqlite3").stat().st_size > 0


async def test_createadmin_reads_the_password_from_stdin(db, database_url, tmp_path):
    code, out, _ = await run_cli(
        "createadmin",
        "Camille@Example.org",
        "--role",
        "moderator",
        "--password-stdin",
        "--database-url",
        database_url,
        data_dir=tmp_path,
        stdin="un mot de passe solide\n",
    )
    async with db.session() as session:
        person = await people.person_by_email(session, "camille@example.org")

    assert code == 0 and "camille@example.org" in out
    assert person.role == "moderator"
    assert people.check_password(person, "un mot de passe solide")


async def test_createadmin_refuses_a_short_password_and_stores_nothing(db, database_url, tmp_path):
    code, _, err = await run_cli(
        "createadmin", "a@example.org", "--password-stdin", "--database-url", database_url,
        data_dir=tmp_path, stdin="court\n",
    )  # fmt: skip
    async with db.session() as session:
        person = await people.person_by_email(session, "a@example.org")

    assert code == 1
    assert "password" in err and "10 caractères" in err and "Traceback" not in err
    assert person is None


async def test_createadmin_refuses_a_duplicate_unless_update(db, database_url, tmp_path):
    args = ("createadmin", "b@example.org", "--password-stdin", "--database-url", database_url)
    assert (await run_cli(*args, data_dir=tmp_path, stdin="premier mot de passe\n"))[0] == 0

    code, _, err = await run_cli(*args, data_dir=tmp_path, stdin="second mot de passe\n")
    assert code == 1 and "existe déjà" in err

    code, out, _ = await run_cli(
        *args, "--update", "--role", "referent", data_dir=tmp_path, stdin="second mot de passe\n"
    )
    async with db.session() as session:
        person = await people.person_by_email(session, "b@example.org")
    assert code == 0 and "mis à jour" in out
    assert person.role == "referent" and people.check_password(person, "second mot de passe")


async def test_territory_loads_communes_from_csv(db, database_url, tmp_path):
    csv = tmp_path / "communes.csv"
    csv.write_text("insee;nom;lat;lon\n44109;Nantes;47,218;-1,553\n44143;Rezé;47.19;-1.56\n")
    code, out, err = await run_cli(
        "territory", "--name", "Nantes Métropole", "--kind", "epci", "--code", "244400404",
        "--communes", str(csv), "--database-url", database_url, data_dir=tmp_path,
    )  # fmt: skip
    async with db.session() as session:
        territory = await get_territory(session)
        names = set(await session.scalars(select(Commune.name)))

    assert (code, err) == (0, "")
    assert "Nantes Métropole (epci, code 244400404), 2 communes" in out
    assert (territory.name, territory.kind, territory.code) == (
        "Nantes Métropole",
        "epci",
        "244400404",
    )
    assert names == {"Nantes", "Rezé"}
    assert territory.min_lat == pytest.approx(47.19)


async def test_territory_names_the_bad_csv_line_and_stores_nothing(db, database_url, tmp_path):
    csv = tmp_path / "communes.csv"
    csv.write_text("insee,nom,lat,lon\n44109,Nantes,47.2,-1.5\n44A09,Rezé,47.1,-1.5\n")
    code, _, err = await run_cli(
        "territory", "--name", "Test", "--communes", str(csv), "--database-url", database_url,
        data_dir=tmp_path,
    )  # fmt: skip
    async with db.session() as session:
        territory = await get_territory(session)

    assert code == 1
    assert "ligne 3" in err and "code INSEE invalide" in err and "Traceback" not in err
    assert territory is None


async def test_territory_reports_an_unreadable_file(database_url, tmp_path):
    code, _, err = await run_cli(
        "territory", "--name", "Test", "--communes", str(tmp_path / "absent.csv"),
        "--database-url", database_url, data_dir=tmp_path,
    )  # fmt: skip
    assert code == 1 and "absent.csv" in err and "Traceback" not in err


async def _wait_healthy(base_url: str, process: asyncio.subprocess.Process) -> httpx.Response:
    """Poll /healthz until the server answers (bounded: 60 s), failing fast if it died."""
    deadline = time.monotonic() + 60
    async with httpx.AsyncClient(base_url=base_url, timeout=5) as client:
        while True:
            assert process.returncode is None, "the demo server exited"
            try:
                return await client.get("/healthz")
            except httpx.TransportError:
                if time.monotonic() > deadline:
                    raise
                await asyncio.sleep(0.1)


async def test_serve_runs_several_workers_on_the_configured_database(database_url, tmp_path):
    port = free_port()
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "web.cli", "serve", "--port", str(port), "--workers", "2",
        "--database-url", database_url,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
        env=cli_env(tmp_path), cwd=tmp_path,
    )  # fmt: skip
    try:
        health = await _wait_healthy(f"http://127.0.0.1:{port}", process)
    finally:
        process.send_signal(signal.SIGINT)
        _, err = await asyncio.wait_for(process.communicate(), timeout=30)

    assert health.status_code == 200
    assert health.json()["database"] == ("sqlite" if "sqlite" in database_url else "postgresql")
    assert err.decode().count("Started server process") == 2
    assert (tmp_path / "secret_key").exists()  # generated in MAILLAGE_DATA_DIR on first run


async def test_demo_serves_over_real_http_and_restarts_without_duplicates(tmp_path):
    port = free_port()
    data_dir = tmp_path / "demo"
    started = time.monotonic()
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "web.cli", "demo", "--port", str(port), "--data-dir", str(data_dir),
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
        env={**cli_env(tmp_path), "MAILLAGE_LOG_FORMAT": "json"}, cwd=tmp_path,
    )  # fmt: skip
    try:
        health = await _wait_healthy(f"http://127.0.0.1:{port}", process)
        ready_after = time.monotonic() - started
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=10) as http:
            listing = await http.get("/api/v1/initiatives", params={"per_page": 5})
            repair = await http.get("/api/v1/initiatives", params={"q": "réparer vélo"})
    finally:
        process.send_signal(signal.SIGINT)
        out, err = await asyncio.wait_for(process.communicate(), timeout=30)
    out = out.decode()
    published = sum(
        1
        for i in demo.generate_initiatives(demo.communes_44())
        if i.moderation_state == "published"
    )

    assert listing.status_code == 200
    assert listing.json()["total"] == published  # only published initiatives are public
    assert len(listing.json()["items"]) == 5
    assert set(listing.json()["facets"]) >= {"themes", "actor_kinds", "needs"}
    assert repair.json()["total"] > 0
    assert all(
        "vélo" in (item["name"] + item["summary"] + item["description"]).lower()
        or "répar" in (item["name"] + item["summary"] + item["description"]).lower()
        for item in repair.json()["items"]
    )

    assert health.status_code == 200
    assert health.json() == {"status": "ok", "database": "sqlite"}
    assert ready_after < 30, f"the demo took {ready_after:.1f} s to answer"
    assert process.returncode == 0, err.decode()[-2000:]
    logs = [json.loads(line) for line in err.decode().splitlines()]  # every line is JSON
    health_hits = [e for e in logs if e["logger"] == "uvicorn.access" and e["path"] == "/healthz"]
    assert health_hits and health_hits[-1]["status"] == 200 and health_hits[-1]["method"] == "GET"
    assert f"{demo.DEFAULT_COUNT} créées" in out
    assert f"Compte administrateur : {demo.ADMIN_EMAIL}" in out
    password = out.split("Mot de passe : ")[1].split()[0]
    assert f"http://127.0.0.1:{port}/" in out

    # A second start reuses the database and the same credentials.
    code, again, _ = await run_cli(
        "demo", "--no-serve", "--data-dir", str(data_dir), data_dir=tmp_path
    )
    assert code == 0
    assert f"0 créées, {demo.DEFAULT_COUNT} déjà là" in again
    assert f"Mot de passe : {password}" in again

    # The database holds what the demo announced.
    from directory.db import Database

    db = Database(f"sqlite:///{data_dir / 'maillage.sqlite3'}")
    try:
        async with db.session() as session:
            count = await session.scalar(select(func.count(Initiative.id)))
            admin = await people.person_by_email(session, demo.ADMIN_EMAIL)
    finally:
        await db.dispose()
    assert count == demo.DEFAULT_COUNT
    assert people.check_password(admin, password)

    # --reset starts over with a new password.
    code, fresh, _ = await run_cli(
        "demo",
        "--no-serve",
        "--reset",
        "--count",
        "5",
        "--data-dir",
        str(data_dir),
        data_dir=tmp_path,
    )
    assert code == 0 and "5 créées, 0 déjà là" in fresh
    assert f"Mot de passe : {password}" not in fresh


# A background task for the test below, found by its "module:function" path.
EVENTS: list[str] = []


async def record_until_cancelled(app) -> None:
    EVENTS.append(f"started with {app.state.settings.territory_name}")
    try:
        await asyncio.Event().wait()
    finally:
        EVENTS.append("cancelled")


async def test_in_process_tasks_run_from_startup_to_shutdown(app):
    from web.commands.core import with_in_process_tasks

    EVENTS.clear()
    app = with_in_process_tasks(app, [f"{__name__}:record_until_cancelled"])
    async with app.router.lifespan_context(app):
        await asyncio.sleep(0)  # let the task start
        assert EVENTS == ["started with Loire-Atlantique"]
    assert EVENTS == ["started with Loire-Atlantique", "cancelled"]


async def crash_at_once(app) -> None:
    raise RuntimeError("le worker a planté")


async def test_a_failing_in_process_task_is_logged_not_swallowed(app, caplog):
    from web.commands.core import with_in_process_tasks

    app = with_in_process_tasks(app, [f"{__name__}:crash_at_once"])
    with caplog.at_level("ERROR", logger="maillage.tasks"):
        async with app.router.lifespan_context(app):
            await asyncio.sleep(0)  # the task runs and fails
            await asyncio.sleep(0)  # its done-callback runs
    assert "crash_at_once failed" in caplog.text
    assert "le worker a planté" in caplog.text
