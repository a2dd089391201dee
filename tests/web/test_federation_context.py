"""The inbox's per-process caches: concurrent misses share one lookup."""

from __future__ import annotations

import asyncio

from web.federation_context import Remembered


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
