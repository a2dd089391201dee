"""A throw-away PostgreSQL database for the benchmarks, migrated, dropped at the end.

Server: MAILLAGE_BENCH_POSTGRES_URL, else MAILLAGE_TEST_POSTGRES_URL, else
postgres@127.0.0.1:5432 (the maintenance database the throw-away ones are made from).
"""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import asyncpg

POSTGRES_URL = os.environ.get(
    "MAILLAGE_BENCH_POSTGRES_URL",
    os.environ.get("MAILLAGE_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres"),
)


async def postgres_answers() -> bool:
    """Whether the server answers (benchmarks with a SQLite half then skip PostgreSQL)."""
    try:
        conn = await asyncpg.connect(POSTGRES_URL, timeout=5)
    except (OSError, asyncpg.PostgresError, TimeoutError):
        return False
    await conn.close()
    return True


@asynccontextmanager
async def postgres_database() -> AsyncIterator[str]:
    """The URL of a fresh, migrated PostgreSQL database, dropped at the end."""
    from web.migrate import upgrade

    name = f"maillage_bench_{uuid.uuid4().hex[:10]}"
    conn = await asyncpg.connect(POSTGRES_URL)
    await conn.execute(f'CREATE DATABASE "{name}"')
    await conn.close()
    url = f"{POSTGRES_URL.rpartition('/')[0]}/{name}"
    try:
        await upgrade(url)
        yield url
    finally:
        conn = await asyncpg.connect(POSTGRES_URL)
        await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await conn.close()
