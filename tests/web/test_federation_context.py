"""The inbox's per-process state: concurrent misses share one lookup; concurrent
arrivals share commits."""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy import select

from directory.db import Database
from federation import inbox_store
from federation.flow_models import InboxItem
from web.federation_context import GroupWriter, Remembered


async def test_concurrent_misses_share_one_lookup_and_refresh_bypasses_it():
    remembered = Remembered(ttl=60)
    calls = 0

    async def load() -> str:
        nonlocal calls
        calls += 1
        await asyncio.sleep(0.01)
        return f"value {calls}"

    # Given 20 requests that miss at the same time, one lookup serves them all
    answers = await asyncio.gather(*(remembered.get("key", load) for _ in range(20)))
    assert answers == ["value 1"] * 20 and calls == 1
    # then the answer is remembered
    assert await remembered.get("key", load) == "value 1" and calls == 1
    # and a refresh (key rotation) looks again and keeps the new answer
    assert await remembered.get("key", load, refresh=True) == "value 2"
    assert await remembered.get("key", load) == "value 2" and calls == 2


async def test_a_failed_lookup_reaches_every_waiter_and_is_not_remembered():
    remembered = Remembered(ttl=60)
    calls = 0

    async def load() -> str:
        nonlocal calls
        calls += 1
        await asyncio.sleep(0.01)
        raise LookupError("blocked")

    results = await asyncio.gather(
        *(remembered.get("key", load) for _ in range(5)), return_exceptions=True
    )
    assert all(isinstance(r, LookupError) for r in results) and calls == 1
    assert "key" not in remembered.values and not remembered.pending


def _row(i: int, activity_type: str = "Create") -> dict:
    activity = {"id": f"https://peer.example/a/{i}", "type": activity_type}
    return inbox_store.item_row(
        activity, f'{{"id": "{activity["id"]}"}}', key_owner="https://peer.example/u"
    )


async def _stored(db) -> list[str]:
    async with db.session() as session:
        return list(await session.scalars(select(InboxItem.activity_id).order_by(InboxItem.id)))


async def test_concurrent_arrivals_are_stored_in_shared_commits(db):
    writer = GroupWriter(db, max_batch=7)

    # Given 30 requests storing at once (more than one batch), every one returns stored
    await asyncio.gather(*(writer.store(_row(i)) for i in range(30)))
    assert await _stored(db) == [f"https://peer.example/a/{i}" for i in range(30)]
    # and a later arrival, once the connection went back to the pool, is stored too
    await writer.store(_row(30))
    assert len(await _stored(db)) == 31


async def test_a_failed_commit_answers_its_batch_and_the_next_batch_is_stored(db):
    writer = GroupWriter(db, max_batch=2)
    bad = _row(1)
    bad["state"] = None  # NOT NULL: the whole batch's transaction fails

    results = await asyncio.gather(
        writer.store(_row(0)), writer.store(bad), writer.store(_row(2)), return_exceptions=True
    )
    # The batch with the bad row fails for both its requests, nothing of it is stored;
    # the following batch, on a fresh connection, is
    assert isinstance(results[0], Exception) and isinstance(results[1], Exception)
    assert results[2] is None
    assert await _stored(db) == ["https://peer.example/a/2"]
    await writer.store(_row(3))
    assert await _stored(db) == ["https://peer.example/a/2", "https://peer.example/a/3"]


async def test_a_database_that_cannot_be_reached_fails_the_waiting_requests():
    db = Database("postgresql://nobody@127.0.0.1:1/nothing")
    writer = GroupWriter(db)
    try:
        with pytest.raises(OSError):
            await asyncio.wait_for(writer.store(_row(0)), 30)
    finally:
        await db.dispose()
