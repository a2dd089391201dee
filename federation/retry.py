"""When to try a delivery again (microblog.pub's policy, as STYLE.md asks).

429 and 503 honour `Retry-After`; any other 4xx stops for good (the peer refuses); 5xx
and network errors back off exponentially with jitter; after 3 days we give up.
"""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime

GIVE_UP_AFTER = timedelta(days=3)
FIRST_DELAY = 30.0  # seconds
MAX_DELAY = 6 * 3600.0


def aware(moment: datetime) -> datetime:
    """SQLite hands back naive datetimes; they are UTC."""
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def retry_after(value: str | None, now: datetime) -> datetime | None:
    """The moment a `Retry-After` header (seconds or HTTP date) designates, if readable."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return now + timedelta(seconds=min(int(value), int(GIVE_UP_AFTER.total_seconds())))
    try:
        moment = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    return aware(moment) if moment else None


def backoff(attempts: int, *, rng: random.Random | None = None) -> timedelta:
    """Exponential delay after `attempts` failures, with full jitter on the upper half."""
    base = min(FIRST_DELAY * (2 ** max(attempts - 1, 0)), MAX_DELAY)
    jitter = (rng or random).uniform(0.5, 1.0)
    return timedelta(seconds=base * jitter)


def next_state(
    *,
    status: int | None,
    attempts: int,
    created_at: datetime,
    now: datetime,
    retry_after_header: str | None = None,
    rng: random.Random | None = None,
) -> tuple[str, datetime | None]:
    """(state, next_attempt_at) after an attempt; `attempts` counts this one.

    `status` is None for a network error.
    """
    if status is not None and 200 <= status < 300:
        return "done", None
    if status is not None and 400 <= status < 500 and status != 429:
        return "failed", None
    when = None
    if status in (429, 503):
        when = retry_after(retry_after_header, now)
    if when is None or when <= now:
        when = now + backoff(attempts, rng=rng)
    if when - aware(created_at) > GIVE_UP_AFTER:
        return "gave_up", None
    return "pending", when
