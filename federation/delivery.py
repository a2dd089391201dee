"""Durable delivery: claim due deliveries, sign and POST each, record every attempt.

Each activity's body and digest were computed once at enqueue time (delivery_store); only
the signature is made per request (RSA signing is the cost, DESIGN.md section 7). The
network goes through the injected client; concurrency is bounded overall and per host.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import defaultdict
from collections.abc import Callable
from datetime import datetime

from bovine.crypto.types import CryptographicSecret
from sqlalchemy.ext.asyncio import AsyncSession

from directory.db import Database
from directory.models import utcnow
from federation import delivery_store, instances, keys
from federation.delivery_store import ClaimedDelivery, Outcome
from federation.http import HttpClient
from federation.retry import next_state
from federation.urls import Urls

log = logging.getLogger("maillage.delivery")

CONCURRENCY = 64
PER_HOST = 4


class Deliverer:
    """Sends claimed deliveries through an injected client, at most PER_HOST per host."""

    def __init__(
        self,
        db: Database,
        client: HttpClient,
        urls: Urls,
        *,
        batch: int = 200,
        concurrency: int = CONCURRENCY,
        per_host: int = PER_HOST,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self.db = db
        self.client = client
        self.urls = urls
        self.batch = batch
        self.concurrency = concurrency
        self.per_host = per_host
        self.clock = clock
        self._keys: dict[str, CryptographicSecret] = {}

    async def _key(self, actor_name: str) -> CryptographicSecret:
        key = self._keys.get(actor_name)
        if key is None:
            async with self.db.session() as session:
                actor = await keys.get_local_actor(session, actor_name)
            if actor is None:
                raise LookupError(f"no local actor {actor_name!r} to sign with")
            key = self._keys[actor_name] = keys.signing_key(actor, self.urls)
        return key

    async def _send(self, delivery: ClaimedDelivery, key: CryptographicSecret) -> Outcome:
        started = time.perf_counter()
        status: int | None = None
        error = ""
        retry_header = None
        try:
            response = await self.client.post(
                delivery.inbox, delivery.body, key=key, digest=delivery.digest
            )
            status = response.status
            retry_header = response.header("retry-after") or None
            if status >= 300:
                error = f"HTTP {status}"
        except Exception as exc:  # network failure of any kind: retried, and recorded
            error = f"{type(exc).__name__}: {exc}"[:1000]
        now = self.clock()
        state, when = next_state(
            status=status,
            attempts=delivery.attempts + 1,
            created_at=delivery.created_at,
            now=now,
            retry_after_header=retry_header,
        )
        return Outcome(
            delivery_id=delivery.id,
            state=state,
            status=status,
            error=error,
            duration_ms=int((time.perf_counter() - started) * 1000),
            next_attempt_at=when,
        )

    async def run_once(self) -> int:
        """Claim one batch, send it, record the outcomes; the number of attempts made."""
        async with self.db.session() as session:
            claimed = await delivery_store.claim_deliveries(
                session, limit=self.batch, now=self.clock()
            )
        if not claimed:
            return 0
        overall = asyncio.Semaphore(self.concurrency)
        per_host: dict[str, asyncio.Semaphore] = defaultdict(
            lambda: asyncio.Semaphore(self.per_host)
        )

        async def one(delivery: ClaimedDelivery) -> Outcome:
            async with overall, per_host[delivery.host]:
                try:
                    key = await self._key(delivery.actor_name)
                except LookupError as exc:
                    return Outcome(delivery.id, "failed", None, str(exc), 0)
                return await self._send(delivery, key)

        # Each task returns an Outcome and never raises: none is lost.
        outcomes = await asyncio.gather(*(one(d) for d in claimed))
        async with self.db.session() as session:
            await delivery_store.record_outcomes(session, outcomes, now=self.clock())
            await _record_hosts(session, claimed, outcomes, self.clock())
        return len(outcomes)


async def _record_hosts(
    session: AsyncSession,
    claimed: list[ClaimedDelivery],
    outcomes: list[Outcome],
    now: datetime,
) -> None:
    """Note each known host's last contact or last error (bulk for the successes)."""
    errors: dict[str, str] = {}
    reached: set[str] = set()
    for delivery, outcome in zip(claimed, outcomes, strict=True):
        if outcome.state == "done":
            reached.add(delivery.host)
        else:
            errors[delivery.host] = outcome.error or f"HTTP {outcome.status}"
    await instances.record_contacts(session, reached - errors.keys(), errors, at=now)
