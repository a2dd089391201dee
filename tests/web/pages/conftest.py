"""Fixtures of the public pages' tests: sample data, a live instance, headless Chromium."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from directory.db import Database
from tests.web.pages.live import LiveServer
from tests.web.pages.sample import populate, populate_many
from web.assets import node_modules_dir
from web.migrate import upgrade

ARTIFACTS = Path(__file__).resolve().parents[3] / "test-artifacts"
CHROMIUM = os.environ.get("MAILLAGE_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
]


@pytest.fixture
async def sample(db: Database) -> dict:
    """The sample directory (both databases): slugs -> initiatives."""
    async with db.session() as session:
        return await populate(session)


@pytest.fixture(scope="session")
def artifacts() -> Path:
    ARTIFACTS.mkdir(exist_ok=True)
    return ARTIFACTS


@pytest.fixture(scope="session")
async def live_site(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[LiveServer]:
    """A demo-like instance (SQLite, ~200 initiatives) served by uvicorn on loopback."""
    folder = tmp_path_factory.mktemp("live")
    url = f"sqlite+aiosqlite:///{folder / 'live.sqlite3'}"
    await upgrade(url)
    database = Database(url)
    async with database.session() as session:
        await populate(session)
        await populate_many(session, 200)
    await database.dispose()
    with LiveServer(url, folder) as server:
        yield server


def _browser_tools_present() -> bool:
    return Path(CHROMIUM).exists() and (node_modules_dir() / "axe-core").is_dir()


@pytest.fixture(scope="session")
async def browser() -> AsyncIterator[object]:
    """Headless Debian Chromium driven by Playwright; missing tools fail under CI."""
    if not _browser_tools_present():
        message = f"needs {CHROMIUM} and node_modules/axe-core (npm ci)"
        if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
            pytest.fail(message)
        pytest.skip(message)
    from playwright.async_api import async_playwright

    async with async_playwright() as playwright:
        chromium = await playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield chromium
        await chromium.close()


@pytest.fixture
async def page(browser, live_site: LiveServer) -> AsyncIterator[object]:
    context = await browser.new_context(
        viewport={"width": 1360, "height": 900}, locale="fr-FR", base_url=live_site.url
    )
    blocked: list[str] = []

    async def only_loopback(route) -> None:
        if route.request.url.startswith(live_site.url):
            await route.continue_()
        else:  # nothing may leave the machine: record it and refuse
            blocked.append(route.request.url)
            await route.abort()

    await context.route("**/*", only_loopback)
    tab = await context.new_page()
    tab.blocked_requests = blocked
    yield tab
    await context.close()
    assert not blocked, f"requests outside the instance: {blocked}"


def axe_source() -> str:
    return (node_modules_dir() / "axe-core" / "axe.min.js").read_text()
