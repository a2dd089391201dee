"""Spam and brute-force resistance without a third-party service: stored rate limits.

Counters live in the database (fixed windows), so every web process and every restart sees
the same numbers. The form-level checks (honeypot, minimum fill time) are pure functions
here; the web layer signs the form's timestamp.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from sqlalchemy import delete, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession

from directory.models_web import RateCounter


@dataclass(frozen=True)
class Limit:
    """At most `count` hits per `window` seconds."""

    count: int
    window: int


@dataclass(frozen=True)
class Verdict:
    allowed: bool
    count: int
    retry_after: int  # seconds until the window ends


# Defaults the web layer uses; an instance under attack may want lower ones.
PROPOSALS_PER_IP = Limit(5, 3600)
CORRECTIONS_PER_IP = Limit(10, 3600)
SIGNUPS_PER_IP = Limit(3, 3600)
LOGIN_FAILURES_PER_IP = Limit(20, 900)
LOGIN_FAILURES_PER_ACCOUNT = Limit(5, 900)
MIN_FILL_SECONDS = 3
MAX_FORM_AGE_SECONDS = 24 * 3600
FORGET_AFTER = 24 * 3600  # counters (keyed by IP address) older than this are deleted


def _window(limit: Limit, now: float) -> int:
    return int(now // limit.window) * limit.window


async def hit(
    session: AsyncSession, key: str, limit: Limit, *, now: float | None = None
) -> Verdict:
    """Count one hit of `key`; allowed while the window's count stays within the limit."""
    now = time.time() if now is None else now
    start = _window(limit, now)
    key = key[:300]
    insert = pg_insert if session.bind.dialect.name == "postgresql" else sqlite_insert
    statement = (
        insert(RateCounter)
        .values(key=key, window_start=start, count=1)
        .on_conflict_do_update(
            index_elements=["key", "window_start"],
            set_={"count": RateCounter.count + 1},
        )
        .returning(RateCounter.count)
    )
    count = (await session.execute(statement)).scalar_one()
    if count == 1:
        # A new window: forget windows over a day old (theirs and everyone's), so addresses
        # are not kept longer than the limits need them.
        await session.execute(
            delete(RateCounter).where(RateCounter.window_start < int(now) - FORGET_AFTER)
        )
    await session.execute(
        delete(RateCounter).where(RateCounter.key == key, RateCounter.window_start < start)
    )
    return Verdict(count <= limit.count, count, start + limit.window - int(now))


async def peek(
    session: AsyncSession, key: str, limit: Limit, *, now: float | None = None
) -> Verdict:
    """The state of `key` in the current window, without counting a hit."""
    now = time.time() if now is None else now
    start = _window(limit, now)
    count = await session.scalar(
        select(RateCounter.count).where(
            RateCounter.key == key[:300], RateCounter.window_start == start
        )
    )
    count = count or 0
    return Verdict(count < limit.count, count, start + limit.window - int(now))


async def clear(session: AsyncSession, key: str) -> None:
    """Forget every window of `key` (e.g. an account's failures after a good sign-in)."""
    await session.execute(delete(RateCounter).where(RateCounter.key == key[:300]))


def filled_too_fast(
    started_at: float, *, now: float | None = None, minimum: float | None = None
) -> bool:
    """A person takes seconds to fill a form; a script posts at once."""
    now = time.time() if now is None else now
    return now - started_at < (MIN_FILL_SECONDS if minimum is None else minimum)


def form_expired(started_at: float, *, now: float | None = None) -> bool:
    now = time.time() if now is None else now
    return now - started_at > MAX_FORM_AGE_SECONDS
