"""Imports from URLs over real HTTP on loopback: success, periodic sync, timeouts, 500s,
oversize bodies, redirects, private addresses, and BAN geocoding through the same client."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from pathlib import Path

import pytest
from aiohttp import web
from sqlalchemy import func, select

from directory.imports import jobs
from directory.imports.fetch import FetchError
from directory.imports.geocode import BanGeocoder
from directory.models import Initiative, utcnow
from federation.http import HttpxClient
from federation.worker import Worker
from web.commands.federation import instance_tasks
from web.importing import HttpClient, run_due_imports

DATA = Path("/work/shared/data")


@pytest.fixture
async def server():
    """A loopback HTTP server; yields its base URL."""
    release = asyncio.Event()

    async def slow(request):
        await release.wait()  # answers only when the test ends: the client must time out
        return web.Response(text="{}")

    async def big(request):
        response = web.StreamResponse()
        await response.prepare(request)
        for _ in range(64):
            await response.write(b" " * 65536)
        return response

    async def ban(request):
        assert request.query["postcode"] == "79000"
        return web.json_response(
            {"features": [{"geometry": {"coordinates": [-0.4617, 46.3237]},
                           "properties": {"score": 0.91}}]}
        )  # fmt: skip

    async def transiscope(request):
        return web.Response(body=(DATA / "transiscope-niort-2019.json").read_bytes())

    async def error(request):
        return web.Response(status=500, text="boom")

    async def redirect(request):
        raise web.HTTPFound("/transiscope.json")

    app = web.Application()
    app.router.add_get("/transiscope.json", transiscope)
    app.router.add_get("/500", error)
    app.router.add_get("/slow", slow)
    app.router.add_get("/big", big)
    app.router.add_get("/redirect", redirect)
    app.router.add_get("/ban/search/", ban)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]
    yield f"http://127.0.0.1:{port}"
    release.set()
    await runner.cleanup()


async def test_fetch_follows_redirect(settings, server):
    body = await HttpClient(settings).fetch(f"{server}/redirect")
    assert body.startswith(b"[")


async def test_http_500_timeout_and_oversize_are_clear_errors(settings, server):
    client = HttpClient(settings, timeout=0.5)
    with pytest.raises(FetchError, match="répondu 500"):
        await client.fetch(f"{server}/500")
    with pytest.raises(FetchError, match="délai dépassé"):
        await client.fetch(f"{server}/slow")
    with pytest.raises(FetchError, match="trop grosse"):
        await client.fetch(f"{server}/big", max_bytes=1_000_000)
    with pytest.raises(FetchError, match="connexion impossible"):
        await client.fetch("http://127.0.0.1:9/")


async def test_private_addresses_are_refused_unless_allowed(settings, server):
    client = HttpClient(settings.with_(allow_private_addresses=False))
    with pytest.raises(FetchError, match="privée ou locale"):
        await client.fetch(f"{server}/transiscope.json")
    with pytest.raises(FetchError, match="http ou https"):
        await client.fetch("file:///etc/passwd")


async def test_periodic_source_syncs_when_due(db, settings, server):
    async with db.session() as session:
        await jobs.save_source(
            session, key="transiscope", kind="gogocarto",
            location=f"{server}/transiscope.json", every_seconds=86400,
            now=utcnow() - timedelta(days=2),
        )  # fmt: skip

    assert await run_due_imports(db, settings) == 1
    assert await run_due_imports(db, settings) == 0  # next run is a day later

    async with db.session() as session:
        (job,) = await jobs.list_jobs(session)
        stored = await session.scalar(select(func.count()).select_from(Initiative))
    assert job.state == "done" and job.report["imported"] == stored == 100
    assert Path(job.payload_path).exists()  # noqa: ASYNC240 (kept, so a failed run can rerun)


async def test_url_that_answers_500_fails_the_job_with_nothing_imported(db, settings, server):
    async with db.session() as session:
        job = await jobs.create_job(
            session, kind="gogocarto", source_key="x", location=f"{server}/500"
        )
    assert await run_due_imports(db, settings) == 1
    async with db.session() as session:
        job = await jobs.get_job(session, job.id)
        stored = await session.scalar(select(func.count()).select_from(Initiative))
    assert job.state == "failed" and "500" in job.error and stored == 0


async def test_ban_geocoder_fills_missing_coordinates(db, settings, server, tmp_path):
    geocoder = BanGeocoder(HttpClient(settings), url=f"{server}/ban/search/")
    raw = "nom;adresse;code postal;ville\nÉpicerie;2 rue Basse;79000;Niort\n".encode()

    job = await jobs.import_payload(
        db, kind="csv", source_key="c", raw=raw, data_dir=tmp_path, geocoder=geocoder
    )

    assert job.report["geocoded"] == 1 and job.report["without_coordinates_count"] == 0
    async with db.session() as session:
        row = await session.scalar(select(Initiative))
    assert (row.latitude, row.longitude) == (46.3237, -0.4617)


async def test_the_worker_runs_due_imports_each_round(db, settings, server):
    async with db.session() as session:
        await jobs.save_source(
            session, key="transiscope", kind="gogocarto",
            location=f"{server}/transiscope.json", every_seconds=86400,
            now=utcnow() - timedelta(days=2),
        )  # fmt: skip
    client = HttpxClient()
    worker = Worker(settings, db, client, tasks=instance_tasks(settings, db))
    try:
        await worker.run_once()
    finally:
        await client.close()

    async with db.session() as session:
        (job,) = await jobs.list_jobs(session)
    assert job.state == "done" and job.report["imported"] == 100
