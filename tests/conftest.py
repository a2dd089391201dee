"""Shared fixtures: a migrated database per backend (SQLite, PostgreSQL), apps, clients.

The PostgreSQL half uses MAILLAGE_TEST_POSTGRES_URL (default: postgres on 127.0.0.1:5432)
and creates a database of its own per test session, so parallel runs never collide. When
no server answers, those tests are skipped locally and fail under CI=true.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import asyncpg
import httpx
import pytest
from sqlalchemy import text

from directory.db import Database
from directory.themes import ensure_core_themes
from web.app import create_app
from web.migrate import upgrade
from web.settings import Settings

POSTGRES_URL = os.environ.get(
    "MAILLAGE_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres"
)
IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")
BACKENDS = ("sqlite", "postgresql")


async def _postgres_database() -> str:
    name = f"maillage_test_{uuid.uuid4().hex[:12]}"
    try:
        conn = await asyncpg.connect(POSTGRES_URL, timeout=5)
    except (TimeoutError, OSError, asyncpg.PostgresError) as exc:
        if IN_CI:
            pytest.fail(f"PostgreSQL unreachable at {POSTGRES_URL} under CI: {exc}")
        pytest.skip(f"PostgreSQL unreachable at {POSTGRES_URL}: {exc}")
    try:
        await conn.execute(f'CREATE DATABASE "{name}"')
    finally:
        await conn.close()
    base, _, _ = POSTGRES_URL.rpartition("/")
    return f"{base}/{name}"


async def _drop_postgres_database(url: str) -> None:
    name = url.rpartition("/")[2]
    conn = await asyncpg.connect(POSTGRES_URL, timeout=5)
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await conn.close()


@pytest.fixture(scope="session", params=BACKENDS)
async def database_url(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[str]:
    """A database migrated to head by the real Alembic migrations, once per backend."""
    async with migrated_database(request.param, tmp_path_factory.mktemp("sqlite")) as url:
        yield url


@asynccontextmanager
async def migrated_database(backend: str, folder: Path) -> AsyncIterator[str]:
    """A new database on `backend` ("sqlite": a file in `folder`), migrated to head by the
    real Alembic migrations, and dropped afterwards (PostgreSQL)."""
    if backend == "sqlite":
        url = f"sqlite+aiosqlite:///{folder / 'test.sqlite3'}"
        await upgrade(url)
        yield url
        return
    url = await _postgres_database()
    try:
        await upgrade(url)
        yield url
    finally:
        await _drop_postgres_database(url)


async def _empty(db: Database) -> None:
    async with db.engine.begin() as conn:
        tables = [
            name
            for name in (await conn.run_sync(lambda sync: sync.dialect.get_table_names(sync)))
            if name != "alembic_version" and not name.startswith("initiative_fts")
        ]
        if db.dialect == "postgresql":
            await conn.execute(
                text(
                    "TRUNCATE " + ", ".join(f'"{t}"' for t in tables) + " RESTART IDENTITY CASCADE"
                )
            )
        else:
            await conn.execute(text("PRAGMA foreign_keys=OFF"))
            for table in tables:
                await conn.execute(text(f'DELETE FROM "{table}"'))
            await conn.execute(text("DELETE FROM initiative_fts"))
            await conn.execute(text("PRAGMA foreign_keys=ON"))
    async with db.session() as session:
        await ensure_core_themes(session)


@pytest.fixture
async def db(database_url: str) -> AsyncIterator[Database]:
    """The migrated database, emptied (core themes kept) before each test."""
    database = Database(database_url)
    await _empty(database)
    try:
        yield database
    finally:
        await database.dispose()


@pytest.fixture
async def session(db: Database):
    """A session on the test database, committed at the end of the test."""
    async with db.session() as s:
        yield s


@pytest.fixture
def settings(tmp_path: Path, database_url: str) -> Settings:
    return Settings(
        data_dir=tmp_path,
        database_url=database_url,
        base_url="https://maillage.test",
        secret_key="test-secret-key-not-for-production",
        territory_name="Loire-Atlantique",
        territory_kind="departement",
        territory_code="44",
        territory_username="loire-atlantique",
        allow_private_addresses=True,
    )


@pytest.fixture
def app(settings: Settings, db: Database):
    return create_app(settings, database=db)


@pytest.fixture
async def client(app, settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url=settings.base_url) as c:
        yield c
