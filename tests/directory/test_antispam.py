"""Stored rate limits: counts per fixed window, shared by every session."""

from __future__ import annotations

from directory import antispam
from directory.antispam import Limit

LIMIT = Limit(3, 60)
T0 = 1_800_000_000.0  # the start of a window (a multiple of 60)


async def test_hits_are_allowed_up_to_the_limit_then_refused(db):
    verdicts = []
    for _ in range(4):
        async with db.session() as session:  # each hit its own unit of work, as in requests
            verdicts.append(await antispam.hit(session, "k", LIMIT, now=T0 + 10))

    assert [v.allowed for v in verdicts] == [True, True, True, False]
    assert [v.count for v in verdicts] == [1, 2, 3, 4]
    assert verdicts[-1].retry_after == 50


async def test_a_new_window_starts_afresh_and_old_ones_are_deleted(db):
    async with db.session() as session:
        for _ in range(4):
            await antispam.hit(session, "k", LIMIT, now=T0)
        later = await antispam.hit(session, "k", LIMIT, now=T0 + 61)
        before = await antispam.peek(session, "k", LIMIT, now=T0)

    assert (later.allowed, later.count) == (True, 1)
    assert before.count == 0  # the old window was cleaned up


async def test_keys_are_independent_and_peek_does_not_count(db):
    async with db.session() as session:
        for _ in range(3):
            await antispam.hit(session, "a", LIMIT, now=T0)
        peeked = await antispam.peek(session, "a", LIMIT, now=T0)
        again = await antispam.peek(session, "a", LIMIT, now=T0)
        other = await antispam.hit(session, "b", LIMIT, now=T0)

    assert (peeked.count, peeked.allowed, again.count) == (3, False, 3)
    assert (other.count, other.allowed) == (1, True)


async def test_clear_forgets_a_key(db):
    async with db.session() as session:
        await antispam.hit(session, "a", LIMIT, now=T0)
        await antispam.clear(session, "a")
        assert (await antispam.peek(session, "a", LIMIT, now=T0)).count == 0


def test_fill_time_checks():
    assert antispam.filled_too_fast(T0, now=T0 + 1)
    assert not antispam.filled_too_fast(T0, now=T0 + 5)
    assert antispam.form_expired(T0, now=T0 + 2 * 24 * 3600)
    assert not antispam.form_expired(T0, now=T0 + 3600)


async def test_counters_keyed_by_address_are_forgotten_after_a_day(db):
    async with db.session() as session:
        await antispam.hit(session, "propose:ip:203.0.113.9", LIMIT, now=T0)
        await antispam.hit(session, "other", LIMIT, now=T0 + 2 * 24 * 3600)
        stale = await antispam.peek(session, "propose:ip:203.0.113.9", LIMIT, now=T0)

    assert stale.count == 0
