"""The worker: publishes directory changes, processes inbox items, delivers, backfills,
fetches the items of remote collections we lack, identifies remote instances' software.

Everything it does is claimed from rows, so any number of `maillage worker` processes can
run against PostgreSQL (SKIP LOCKED), and one in-process worker serves SQLite. Tests drive
it with `await worker.run_once()`; `run()` loops until asked to stop, finishing the batch
in hand first (graceful shutdown: a killed worker loses nothing either, its leases expire).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, Sequence
from datetime import datetime
from typing import TYPE_CHECKING

from directory.db import Database
from directory.models import utcnow
from federation import keys
from federation.backfill import Backfiller
from federation.collection_items import ItemFetcher
from federation.delivery import Deliverer
from federation.fetch import Fetcher, HostResolver, system_resolve
from federation.http import HttpClient
from federation.inbox import InboxProcessor
from federation.nodeinfo import SoftwareSurvey
from federation.publish import Publisher
from federation.publish_collections import CollectionPublisher
from federation.urls import Urls

if TYPE_CHECKING:
    from web.settings import Settings

log = logging.getLogger("maillage.worker")


class Worker:
    """One worker: each `run_once` does one batch of each kind of background work."""

    def __init__(
        self,
        settings: Settings,
        db: Database,
        client: HttpClient,
        *,
        clock: Callable[[], datetime] = utcnow,
        resolve: HostResolver = system_resolve,
        delivery_batch: int = 200,
        tasks: Sequence[Callable[[], Awaitable[int]]] = (),
    ) -> None:
        self.settings = settings
        # The instance's other background work (e.g. periodic imports), run once per round;
        # each returns how many things it did. Passed in: federation does not know of it.
        self.tasks = tuple(tasks)
        self.db = db
        self.client = client
        self.clock = clock
        self.resolve = resolve
        self.urls = Urls.of(settings)
        self.publisher = Publisher(settings, clock=self._now)
        self.collection_publisher = CollectionPublisher(settings, clock=self._now)
        self.deliverer = Deliverer(db, client, self.urls, batch=delivery_batch, clock=self._now)
        self._fetcher: Fetcher | None = None
        self._processor: InboxProcessor | None = None
        self._backfiller: Backfiller | None = None
        self._items: ItemFetcher | None = None
        self._survey: SoftwareSurvey | None = None

    def _now(self) -> datetime:
        return self.clock()

    async def fetcher(self) -> Fetcher:
        """The fetcher signing GETs with the instance actor's key (actors made if missing)."""
        if self._fetcher is None:
            async with self.db.session() as session:
                await keys.ensure_actors(session, self.settings)
                actor = await keys.instance_actor(session, self.settings)
            key = keys.signing_key(actor, self.urls)
            self._fetcher = Fetcher(self.client, self.settings, key, resolve=self.resolve)
            self._processor = InboxProcessor(self.settings, self.db, self._fetcher, clock=self._now)
            self._backfiller = Backfiller(
                self.settings, self.db, self._fetcher, self._processor, clock=self._now
            )
            self._items = ItemFetcher(self.settings, self.db, self._fetcher, clock=self._now)
            self._survey = SoftwareSurvey(self.db, self._fetcher, clock=self._now)
        return self._fetcher

    async def run_once(self) -> int:
        """One batch of each kind of work; the number of things done (0 when idle)."""
        await self.fetcher()
        assert self._processor is not None and self._backfiller is not None
        assert self._survey is not None and self._items is not None
        done = await self._processor.run_once()
        async with self.db.session() as session:
            done += await self.publisher.run_once(session)
        async with self.db.session() as session:
            done += await self.collection_publisher.run_once(session)
        done += await self.deliverer.run_once()
        done += await self._backfiller.run_once()
        done += await self._items.run_once()
        done += await self._survey.run_once()
        for task in self.tasks:
            done += await task()
        return done

    async def run_until_idle(self, max_rounds: int = 100) -> int:
        """Run batches until there is nothing left to do now (retries due later wait)."""
        total = 0
        for _ in range(max_rounds):
            done = await self.run_once()
            total += done
            if not done:
                return total
        return total

    async def run(self, stop: asyncio.Event, *, idle_delay: float = 1.0) -> None:
        """Loop until `stop` is set; sleep only when idle, and wake up at once on stop."""
        while not stop.is_set():
            try:
                done = await self.run_once()
            except Exception:  # a database blip must not kill the loop; it is logged
                log.exception("worker round failed")
                done = 0
            if not done:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), timeout=idle_delay)


async def run_all_until_idle(workers: list[Worker], max_rounds: int = 200) -> int:
    """Drive several instances' workers (tests, demo) until none has anything to do."""
    total = 0
    for _ in range(max_rounds):
        done = 0
        for worker in workers:
            done += await worker.run_once()
        total += done
        if not done:
            return total
    raise RuntimeError("the workers did not settle")
