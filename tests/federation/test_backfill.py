"""Backfill stores a followed instance's initiatives page by page, in batches: one bad
object in a page is refused visibly (backfill_error), the others are stored."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from directory.initiatives import revisions
from directory.models import Initiative
from directory.relations import relations_of
from federation import collections, follows, instances, render


async def _follow_peer(db, peer) -> None:
    async with db.session() as session:
        following = await follows.add_following(
            session,
            remote_actor_uri=peer.actor,
            remote_host=peer.host,
            inbox=peer.inbox,
            follow_id="https://maillage.test/activities/follow-1",
        )
        await follows.mark_following(session, following, "accepted")
        await instances.set_trust(session, peer.host, "publish")


def _serve_pages(peer, pages: list[list[Any]]) -> None:
    collection = f"{peer.actor}/initiatives"
    peer.actor_extra["initiatives"] = collection
    peer.documents["/users/alice/initiatives"] = {
        "id": collection,
        "type": "OrderedCollection",
        "first": f"{collection}?page=0",
    }
    for n, items in enumerate(pages):
        page: dict[str, Any] = {
            "id": f"{collection}?page={n}",
            "type": "OrderedCollectionPage",
            "orderedItems": items,
        }
        if n + 1 < len(pages):
            page["next"] = f"{collection}?page={n + 1}"
        peer.documents[f"/users/alice/initiatives?page={n}"] = page


async def test_backfill_stores_pages_in_batches_and_reports_bad_objects(
    wired, db, peer, repair_cafe, urls, settings
):
    # Given a peer whose collection holds, over two pages, initiatives shaped like ours:
    # one named like a local initiative, one without a name, one whose uri another
    # origin already owns here, one on a third host, and a last one on the next page
    async with db.session() as s:
        ours = await collections.initiative_for_render(s, repair_cafe.id)
        document = render.render_initiative(ours, urls, settings, with_context=False)

    def page_object(slug: str, **changes: Any) -> dict[str, Any]:
        return {**document, "id": f"{peer.base}/initiatives/{slug}", **changes}

    async with db.session() as s:
        s.add(
            Initiative(
                slug="volee",
                name="Volée",
                uri=f"{peer.base}/initiatives/volee",
                origin="other.test",
                via=[],
                social_links=[],
                same_as=[],
            )
        )
    _serve_pages(
        peer,
        [
            [
                page_object("repair"),
                page_object("sans-nom", name="", content="", summary=""),
                page_object("volee"),
                {**document, "id": "https://third.test/initiatives/x"},
            ],
            [
                page_object(
                    "atelier",
                    name="Atelier vélo",
                    relations=[
                        {
                            "relationKind": "partner",
                            "relatedTo": f"{peer.base}/initiatives/repair",
                            "relationNote": "Outils partagés",
                        }
                    ],
                )
            ],
        ],
    )
    await _follow_peer(db, peer)

    # When the worker backfills
    await wired.run_until_idle()

    # Then the two good ones are stored as the peer's, with their themes and a revision
    async with db.session() as s:
        (following,) = await follows.following_list(s)
        assert following.backfill_state == "done"
        assert following.backfill_count == 2
        stored = {
            i.uri: i
            for i in await s.scalars(select(Initiative).where(Initiative.origin == peer.host))
        }
        assert set(stored) == {
            f"{peer.base}/initiatives/repair",
            f"{peer.base}/initiatives/atelier",
        }
        repair = stored[f"{peer.base}/initiatives/repair"]
        assert repair.slug != repair_cafe.slug and repair.slug.startswith(repair_cafe.slug)
        assert repair.moderation_state == "published" and repair.via == [peer.host]
        assert sorted(t.slug for t in repair.themes) == sorted(
            t.slug for t in (await collections.initiative_for_render(s, repair_cafe.id)).themes
        )
        (revision,) = await revisions(s, repair.id)
        assert revision.author == f"federation:{peer.host}"
        # with the links their origin states, note included
        (link,) = await relations_of(s, stored[f"{peer.base}/initiatives/atelier"])
        assert (link.kind, link.target_id, link.note) == ("partner", repair.id, "Outils partagés")
        # the bad ones are named, with their reason, where an admin sees the backfill
        assert f"{peer.base}/initiatives/sans-nom" in following.backfill_error
        assert f"{peer.base}/initiatives/volee" in following.backfill_error
        assert "other.test" in following.backfill_error
        assert "third.test" not in following.backfill_error
        # and the initiative owned by another origin is untouched
        volee = await s.scalar(select(Initiative).where(Initiative.slug == "volee"))
        assert volee.origin == "other.test" and volee.name == "Volée"
