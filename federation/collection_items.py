"""Items of remote collections naming an initiative we do not hold: the worker fetches them.

A collection from another instance may list initiatives of a third one that never reached
us. directory/collections.replace_remote leaves such items "pending"; here the worker
fetches each target once (every item naming it follows), validated exactly as a
référent's remote link target (federation/lookup.py: addresses, blocked domains, a
Maillage Page attributed on its own origin) and stored under its instance's trust policy.
A refusal leaves the items "failed" with the reason (admin federation page, and the log);
an instance that does not answer is tried again later, then given up on.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from sqlalchemy import or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from directory.errors import ValidationError
from directory.models import utcnow
from directory.models_collections import Collection, CollectionItem
from federation import lookup
from federation.fetch import Fetcher
from federation.retry import backoff

if TYPE_CHECKING:
    from directory.db import Database
    from web.settings import Settings

log = logging.getLogger("maillage.collection_items")

LEASE = timedelta(minutes=5)  # one worker fetches a target at a time
MAX_ATTEMPTS = 8  # unreachable this many times (backoff from 30 s, ~2 h in all): failed


async def claim_targets(session: AsyncSession, *, now: datetime, limit: int) -> list[str]:
    """Targets of pending items that are due, leased until `now + LEASE` (SKIP LOCKED on
    PostgreSQL, so that several workers share them)."""
    due = (
        select(CollectionItem.id, CollectionItem.target_uri)
        .where(
            CollectionItem.fetch_state == "pending",
            or_(CollectionItem.fetch_after.is_(None), CollectionItem.fetch_after <= now),
        )
        .order_by(CollectionItem.id)
        .limit(limit)
    )
    if session.bind.dialect.name == "postgresql":
        due = due.with_for_update(skip_locked=True)
    targets = list(dict.fromkeys(uri for _id, uri in (await session.execute(due)).all()))
    if targets:
        await _set(session, targets, fetch_after=now + LEASE)
    return targets


async def _set(session: AsyncSession, targets: list[str], **values: object) -> None:
    """Update every pending item naming one of `targets`."""
    await session.execute(
        update(CollectionItem)
        .where(CollectionItem.target_uri.in_(targets), CollectionItem.fetch_state == "pending")
        .values(**values)
    )


async def attempts_of(session: AsyncSession, target: str) -> int:
    found = await session.scalar(
        select(CollectionItem.fetch_attempts).where(
            CollectionItem.target_uri == target, CollectionItem.fetch_state == "pending"
        )
    )
    return found or 0


async def failures(session: AsyncSession, limit: int = 100) -> list[tuple[CollectionItem, str]]:
    """Items given up on or being retried, with their collection's name (admin page)."""
    rows = await session.execute(
        select(CollectionItem, Collection.name)
        .join(Collection, Collection.id == CollectionItem.collection_id)
        .where(CollectionItem.fetch_error != "", CollectionItem.fetch_state != "")
        .order_by(CollectionItem.fetch_state, CollectionItem.id.desc())
        .limit(limit)
    )
    return [(item, name) for item, name in rows.all()]


class ItemFetcher:
    """Fetches the pending items of remote collections, a batch per round."""

    def __init__(
        self,
        settings: Settings,
        db: Database,
        fetcher: Fetcher,
        *,
        batch: int = 20,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self.settings = settings
        self.db = db
        self.fetcher = fetcher
        self.batch = batch
        self.clock = clock

    async def run_once(self) -> int:
        """Fetch one batch of targets; how many were tried."""
        async with self.db.session() as session:
            targets = await claim_targets(session, now=self.clock(), limit=self.batch)
        for target in targets:
            await self.fetch(target)
        return len(targets)

    async def fetch(self, target: str) -> None:
        try:
            async with self.db.session() as session:
                initiative = await lookup.ensure_remote_initiative(
                    session, self.fetcher, self.settings, self.db, target
                )
                if initiative is None:  # not a remote address after all
                    raise ValidationError({"target": "adresse d'une initiative inconnue ici"})
                await _set(
                    session, [target], initiative_id=initiative.id, fetch_state="", fetch_error=""
                )
            return
        except lookup.Unreachable as exc:
            reason, retry = exc.errors["target"], True
        except ValidationError as exc:
            reason, retry = "; ".join(exc.errors.values()), False
        except Exception as exc:  # a bug must not leave the items pending forever: logged
            log.exception("collection item %s", target)
            reason, retry = f"{type(exc).__name__}: {exc}", True
        await self._failed(target, reason, retry=retry)

    async def _failed(self, target: str, reason: str, *, retry: bool) -> None:
        async with self.db.session() as session:
            attempts = await attempts_of(session, target) + 1
            if retry and attempts < MAX_ATTEMPTS:
                log.info("collection item %s: %s (try %d)", target, reason, attempts)
                await _set(
                    session,
                    [target],
                    fetch_error=reason[:1000],
                    fetch_attempts=attempts,
                    fetch_after=self.clock() + backoff(attempts),
                )
                return
            log.warning("collection item %s not fetched: %s", target, reason)
            await _set(
                session,
                [target],
                fetch_state="failed",
                fetch_error=reason[:1000],
                fetch_attempts=attempts,
                fetch_after=None,
            )
