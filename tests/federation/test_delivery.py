"""Durable delivery: every follower reached exactly once, through failures and crashes."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from directory import initiatives
from directory.initiatives import Author
from federation import delivery_store, follows
from federation.flow_models import Delivery, DeliveryAttempt
from federation.retry import next_state

ADMIN = Author(None, "test")
CAFE = {
    "name": "Repair café de Rezé",
    "summary": "Réparer ensemble",
    "themes": ["reemploi-reparation"],
    "city": "Rezé",
}


async def _follow_territory(db, settings, peer) -> None:
    async with db.session() as session:
        await follows.add_follower(
            session,
            actor_name=settings.territory_username,
            remote_actor_uri=peer.actor,
            remote_host=peer.host,
            inbox=f"{peer.actor}/inbox",
            shared_inbox=peer.inbox,
        )


async def _publish(db, data=CAFE):
    async with db.session() as session:
        return await initiatives.create_initiative(
            session, data, author=ADMIN, moderation_state="published"
        )


async def test_peer_answering_500_then_recovering_receives_everything_once(
    wired, db, settings, peer, clock
):
    # Given a follower whose server fails twice
    await _follow_territory(db, settings, peer)
    peer.answers = [500, 500]
    await _publish(db)
    # When the worker runs, then runs again once each retry is due
    await wired.run_until_idle()
    assert peer.received == []
    for _ in range(2):
        clock.advance(hours=1)
        await wired.run_until_idle()
    # Then the Create arrived exactly once, after three recorded attempts
    creates = peer.of_type("Create")
    assert len(creates) == 1
    assert creates[0]["object"]["name"] == CAFE["name"]
    assert peer.attempts == 3
    async with db.session() as session:
        delivery = (await delivery_store.deliveries_for_inbox(session, peer.inbox))[0]
        attempts = await delivery_store.attempts_of(session, delivery.id)
    assert delivery.state == "done"
    assert [a.status for a in attempts] == [500, 500, 202]
    # And nothing more is sent later
    clock.advance(days=1)
    await wired.run_until_idle()
    assert len(peer.of_type("Create")) == 1


async def test_shared_inbox_gets_one_copy_for_several_followers(wired, db, settings, peer):
    # Given two actors of the same server following the territory and a theme actor
    await _follow_territory(db, settings, peer)
    async with db.session() as session:
        await follows.add_follower(
            session,
            actor_name="reemploi-reparation",
            remote_actor_uri=f"{peer.base}/users/bob",
            remote_host=peer.host,
            inbox=f"{peer.base}/users/bob/inbox",
            shared_inbox=peer.inbox,
        )
    await _publish(db)
    await wired.run_until_idle()
    # Then the shared inbox got one Create (territory) and one Announce (theme actor)
    assert len(peer.of_type("Create")) == 1
    announces = peer.of_type("Announce")
    assert len(announces) == 1
    assert announces[0]["actor"].endswith("/actors/reemploi-reparation")
    assert announces[0]["object"] == peer.of_type("Create")[0]["object"]["id"]


async def test_worker_killed_mid_batch_loses_nothing(wired, db, settings, peer, clock):
    # Given deliveries claimed by a worker that then died (lease taken, nothing sent)
    await _follow_territory(db, settings, peer)
    await _publish(db)
    async with db.session() as session:
        await wired.publisher.run_once(session)
    async with db.session() as session:
        claimed = await delivery_store.claim_deliveries(session, now=clock())
    assert len(claimed) == 1
    # When another worker runs before the lease expires, it leaves them alone
    await wired.deliverer.run_once()
    assert peer.received == []
    # And once the lease has expired, it takes them over
    clock.advance(minutes=3)
    await wired.run_until_idle()
    assert len(peer.of_type("Create")) == 1
    async with db.session() as session:
        states = list(await session.scalars(select(Delivery.state)))
    assert states == ["done"]


async def test_4xx_stops_and_429_waits_for_retry_after(wired, db, settings, peer, clock):
    await _follow_territory(db, settings, peer)
    peer.answers = [429]
    peer.retry_after = "7200"
    await _publish(db)
    await wired.run_until_idle()
    async with db.session() as session:
        delivery = (await delivery_store.deliveries_for_inbox(session, peer.inbox))[0]
    assert delivery.state == "pending" and delivery.last_status == 429
    # Not due after one hour, due after two
    clock.advance(hours=1)
    await wired.run_until_idle()
    assert peer.received == []
    clock.advance(hours=1, minutes=1)
    await wired.run_until_idle()
    assert len(peer.received) == 1
    # A 403 is final
    peer.answers = [403]
    async with db.session() as session:
        initiative = await initiatives.get_initiative(session, 1)
        await initiatives.update_initiative(session, initiative, {"summary": "Autre"}, author=ADMIN)
    clock.advance(seconds=1)
    await wired.run_until_idle()
    clock.advance(days=1)
    await wired.run_until_idle()
    async with db.session() as session:
        rows = await delivery_store.deliveries_for_inbox(session, peer.inbox)
        total = await session.scalar(select(func.count()).select_from(DeliveryAttempt))
    assert [r.state for r in rows] == ["done", "failed"]
    assert total == 3


def test_retry_policy(clock):
    now = clock()
    assert next_state(status=202, attempts=1, created_at=now, now=now) == ("done", None)
    assert next_state(status=410, attempts=1, created_at=now, now=now) == ("failed", None)
    state, when = next_state(
        status=503, attempts=1, created_at=now, now=now, retry_after_header="60"
    )
    assert state == "pending" and (when - now).total_seconds() == 60
    state, when = next_state(status=None, attempts=5, created_at=now, now=now)
    assert state == "pending" and 240 <= (when - now).total_seconds() <= 480
    old = now.replace(year=now.year - 1)
    assert next_state(status=500, attempts=30, created_at=old, now=now) == ("gave_up", None)


async def test_slug_change_deletes_the_old_id_and_creates_the_new(wired, db, settings, peer):
    await _follow_territory(db, settings, peer)
    initiative = await _publish(db)
    await wired.run_until_idle()
    async with db.session() as session:
        initiative = await initiatives.get_initiative(session, initiative.id)
        await initiatives.update_initiative(
            session, initiative, {"slug": "repair-cafe-reze"}, author=ADMIN
        )
    await wired.run_until_idle()
    kinds = [
        (a["type"], a["object"] if isinstance(a["object"], str) else a["object"]["id"])
        for a in peer.received
    ]
    old, new = (
        f"{settings.base_url}/initiatives/{s}" for s in ("repair-cafe-de-reze", "repair-cafe-reze")
    )
    assert kinds == [("Create", old), ("Delete", old), ("Create", new)]


async def test_two_workers_never_claim_the_same_delivery(db, clock):
    """PostgreSQL: a second worker skips the rows the first one holds (SKIP LOCKED)."""
    if db.dialect != "postgresql":
        pytest.skip("SQLite runs one worker (it serialises writers)")
    async with db.session() as session:
        await delivery_store.enqueue_activity(
            session,
            {"id": "https://maillage.test/activities/1", "type": "Create"},
            actor_name="loire-atlantique",
            inboxes=[f"https://h{i}.test/inbox" for i in range(10)],
            now=clock(),
        )
    async with db.sessionmaker() as first, db.sessionmaker() as second:
        mine = await delivery_store.claim_deliveries(first, limit=6, now=clock())
        theirs = await delivery_store.claim_deliveries(second, limit=6, now=clock())
        await first.commit()
        await second.commit()
    assert len(mine) == 6 and len(theirs) == 4
    assert not {d.id for d in mine} & {d.id for d in theirs}
