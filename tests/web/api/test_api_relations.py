"""Référents link initiatives: POST/GET/DELETE /api/v1/initiatives/{slug}/relations."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from directory.initiatives import Author, create_initiative
from directory.models import Initiative, Relation, Revision
from federation.http import HttpxClient
from tests.federation.documents import DocumentSite

ADMIN = Author(None, "test")


@pytest.fixture(autouse=True)
async def network(app):
    """Remote targets are fetched: nulle-part.example answers 404 to everything."""
    site = DocumentSite("nulle-part.example")
    client = HttpxClient({site.base: site.app()})
    app.state.http = client
    yield site
    await client.close()


@pytest.fixture
async def pair(db):
    """Two local published initiatives, a followed one, and a local proposal."""
    async with db.session() as session:
        made = {}
        for key, name, state, origin in (
            ("a", "Fablab de la médiathèque", "published", None),
            ("b", "Atelier de réparation", "published", None),
            ("remote", "Fablab d'Angers", "published", "angers.example"),
            ("proposal", "Projet pas relu", "proposed", None),
        ):
            initiative = await create_initiative(
                session,
                {"name": name, "themes": ["fablabs-numerique"]},
                author=ADMIN,
                moderation_state=state,
                origin=origin,
                uri="https://angers.example/initiatives/fablab" if origin else None,
            )
            made[key] = (initiative.slug, initiative.uri)
    return made


def url(slug: str) -> str:
    return f"/api/v1/initiatives/{slug}/relations"


async def count_relations(db) -> int:
    async with db.session() as session:
        return await session.scalar(select(func.count(Relation.id)))


async def test_referent_links_local_and_followed_initiatives(api, callers, pair, settings):
    referent = callers["referent"].headers
    local = await api.post(
        url(pair["a"][0]),
        json={"target": pair["b"][0], "kind": "partner", "note": "Prêt  de machines"},
        headers=referent,
    )
    assert local.status_code == 201, local.text
    assert local.json()["target"] == f"{settings.base_url}/initiatives/{pair['b'][0]}"
    assert local.json()["note"] == "Prêt de machines"
    remote = await api.post(
        url(pair["a"][0]),
        json={"target": pair["remote"][1], "kind": "inspired-by"},
        headers=referent,
    )
    assert remote.status_code == 201, remote.text
    listed = (await api.get(url(pair["a"][0]))).json()["items"]
    assert [(r["kind"], r["target"]) for r in listed] == [
        ("partner", f"{settings.base_url}/initiatives/{pair['b'][0]}"),
        ("inspired-by", "https://angers.example/initiatives/fablab"),
    ]
    gone = await api.delete(f"{url(pair['a'][0])}/{listed[0]['id']}", headers=referent)
    assert gone.status_code == 204
    assert len((await api.get(url(pair["a"][0]))).json()["items"]) == 1


@pytest.mark.parametrize(
    ("target", "kind", "field"),
    [
        ("https://nulle-part.example/initiatives/x", "similar", "target"),
        ("initiative-qui-n-existe-pas", "similar", "target"),
        ("https://maillage.test/themes/numerique", "similar", "target"),
        ("", "similar", "target"),
        ("SELF", "similar", "target"),
        ("PROPOSAL", "similar", "target"),
        ("B", "cousin", "kind"),
    ],
)
async def test_bad_links_are_refused_and_nothing_is_stored(
    api, callers, pair, db, target, kind, field
):
    target = {"SELF": pair["a"][0], "PROPOSAL": pair["proposal"][0], "B": pair["b"][0]}.get(
        target, target
    )
    response = await api.post(
        url(pair["a"][0]),
        json={"target": target, "kind": kind},
        headers=callers["referent"].headers,
    )
    assert response.status_code == 422, response.text
    assert field in response.text
    assert await count_relations(db) == 0


async def test_only_referents_and_above_may_link(api, callers, pair, db):
    body = {"target": pair["b"][0], "kind": "similar"}
    assert (await api.post(url(pair["a"][0]), json=body)).status_code == 401
    contributor = callers["contributor"].headers
    assert (await api.post(url(pair["a"][0]), json=body, headers=contributor)).status_code == 403
    moderator = callers["moderator"].headers
    assert (await api.post(url(pair["a"][0]), json=body, headers=moderator)).status_code == 201
    again = await api.post(url(pair["a"][0]), json=body, headers=moderator)
    assert again.status_code == 409
    assert await count_relations(db) == 1


async def test_followed_initiatives_are_not_edited_here(api, callers, pair):
    response = await api.post(
        url(pair["remote"][0]),
        json={"target": pair["a"][0], "kind": "similar"},
        headers=callers["referent"].headers,
    )
    assert response.status_code == 409
    missing = await api.delete(f"{url(pair['a'][0])}/999", headers=callers["referent"].headers)
    assert missing.status_code == 404


@pytest.mark.parametrize(
    ("role", "state"),
    [("referent", "proposed"), ("moderator", "published"), ("admin", "published")],
)
async def test_a_moderators_link_approves_a_target_from_an_instance_never_met(
    api, callers, pair, db, network, role, state
):
    # Given an initiative on an instance this one never met (its policy: hold)
    target = network.put(
        "/initiatives/atelier",
        {
            "id": f"{network.base}/initiatives/atelier",
            "type": "Page",
            "name": "Atelier d'ailleurs",
            "attributedTo": f"{network.base}/actors/ailleurs",
            "themes": ["urn:maillage:theme:fablabs-numerique"],
            "status": "active",
        },
    )
    # When someone with this role links to it
    caller = callers[role]
    body = {"target": target, "kind": "similar"}
    response = await api.post(url(pair["a"][0]), json=body, headers=caller.headers)
    assert response.status_code == 201, response.text
    # Then a référent's link leaves it for moderation; a moderator's or admin's approves it
    async with db.session() as session:
        stored = await session.scalar(select(Initiative).where(Initiative.uri == target))
        assert stored.moderation_state == state
        approvals = await session.scalars(
            select(Revision.person_id).where(
                Revision.initiative_id == stored.id, Revision.action == "moderate"
            )
        )
        assert list(approvals) == ([] if state == "proposed" else [caller.person_id])
