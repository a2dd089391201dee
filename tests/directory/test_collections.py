"""Collections curated by référents, and what links change on their initiative."""

from __future__ import annotations

import pytest
from argon2 import PasswordHasher
from sqlalchemy import func, select

from directory import collections, people, relations
from directory.errors import Conflict, NotEditable, NotFound, ValidationError
from directory.initiatives import Author, create_initiative
from directory.models import Revision
from directory.models_collections import Collection, CollectionItem

BASE = "https://maillage.test"
ADMIN = Author(None, "test")


@pytest.fixture(autouse=True)
def fast_password_hashing(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(people, "_hasher", PasswordHasher(time_cost=1, memory_cost=1024))


@pytest.fixture
async def cast(session):
    """Two référents, a moderator, a contributor; two local initiatives and a remote one."""
    made = {}
    for role, who in (
        ("referent", "camille"),
        ("referent", "dominique"),
        ("moderator", "modo"),
        ("contributor", "contrib"),
    ):
        made[who] = await people.create_person(
            session, email=f"{who}@example.org", password="x" * 12, role=role
        )
    for key, name, origin in (
        ("fablab", "Fablab de la médiathèque", None),
        ("visieres", "Visières solidaires", None),
        ("angers", "Fablab d'Angers", "angers.example"),
    ):
        made[key] = await create_initiative(
            session,
            {"name": name, "themes": ["fablabs-numerique"]},
            author=ADMIN,
            moderation_state="published",
            origin=origin,
            uri="https://angers.example/initiatives/fablab" if origin else None,
        )
    made["proposal"] = await create_initiative(
        session, {"name": "Pas encore relue"}, author=ADMIN, moderation_state="proposed"
    )
    await session.flush()
    return made


async def test_referent_curates_an_ordered_collection_across_territories(session, cast):
    # Given a référent's new collection
    visors = await collections.create_collection(
        session,
        name="  Fablabs de bibliothèques   qui ont fabriqué des visières ",
        summary="Pendant le premier confinement.",
        person=cast["camille"],
    )
    assert visors.slug == "fablabs-de-bibliotheques-qui-ont-fabrique-des-visieres"
    assert visors.name == "Fablabs de bibliothèques qui ont fabriqué des visières"
    # When they add a local initiative (by slug, by URL) and a remote one (by its id)
    await collections.add_item(session, visors, target="fablab-de-la-mediatheque", base_url=BASE)
    await collections.add_item(
        session, visors, target=f"{BASE}/initiatives/visieres-solidaires", base_url=BASE
    )
    remote = await collections.add_item(
        session, visors, target="https://angers.example/initiatives/fablab", base_url=BASE
    )
    # Then the items keep that order, each with its initiative, by canonical id
    assert await collections.item_uris(session, visors) == [
        f"{BASE}/initiatives/fablab-de-la-mediatheque",
        f"{BASE}/initiatives/visieres-solidaires",
        "https://angers.example/initiatives/fablab",
    ]
    # When the remote one moves to the top and the second is removed
    await collections.move_item(session, visors, remote.id, -1)
    await collections.move_item(session, visors, remote.id, -1)
    await collections.move_item(session, visors, remote.id, -1)  # already first: no-op
    items = await collections.items_of(session, visors)
    await collections.remove_item(session, visors, items[2].item.id)
    # Then
    shown = await collections.items_of(session, visors)
    assert [i.initiative.name for i in shown] == ["Fablab d'Angers", "Fablab de la médiathèque"]
    # And a full reorder puts them back
    await collections.reorder(session, visors, [shown[1].item.id, shown[0].item.id])
    assert (await collections.item_uris(session, visors))[0].endswith("fablab-de-la-mediatheque")
    listed = await collections.list_collections(session)
    assert [(c.slug, n) for c, n in listed] == [(visors.slug, 2)]


@pytest.mark.parametrize(
    ("target", "error"),
    [
        ("", "obligatoire"),
        ("inconnue", "aucune initiative"),
        ("https://nulle-part.example/initiatives/x", "aucune initiative"),
        ("pas-encore-relue", "pas publiée"),
    ],
)
async def test_bad_items_are_refused_and_nothing_is_stored(session, cast, target, error):
    collection = await collections.create_collection(session, name="Test", person=None)
    with pytest.raises(ValidationError) as refused:
        await collections.add_item(session, collection, target=target, base_url=BASE)
    assert error in refused.value.errors["target"]
    assert await session.scalar(select(func.count(CollectionItem.id))) == 0


async def test_an_initiative_is_listed_once(session, cast):
    collection = await collections.create_collection(session, name="Test", person=None)
    await collections.add_item(session, collection, target="visieres-solidaires", base_url=BASE)
    with pytest.raises(Conflict):
        await collections.add_item(
            session, collection, target=f"{BASE}/initiatives/visieres-solidaires", base_url=BASE
        )


@pytest.mark.parametrize(
    ("name", "summary", "field"),
    [("", "", "name"), ("   ", "", "name"), ("x" * 201, "", "name"), ("Ok", "y" * 1001, "summary")],
)
async def test_names_and_summaries_are_checked(session, name, summary, field):
    with pytest.raises(ValidationError) as refused:
        await collections.create_collection(session, name=name, summary=summary, person=None)
    assert field in refused.value.errors
    assert await session.scalar(select(func.count(Collection.id))) == 0


async def test_slugs_are_unique_and_never_a_page_path(session):
    first = await collections.create_collection(session, name="Nouvelle", person=None)
    second = await collections.create_collection(session, name="Nouvelle", person=None)
    assert first.slug == "nouvelle-2" and second.slug == "nouvelle-3"


async def test_who_may_edit(session, cast):
    mine = await collections.create_collection(session, name="Mine", person=cast["camille"])
    assert collections.may_edit(cast["camille"], mine)
    assert not collections.may_edit(cast["dominique"], mine)
    assert collections.may_edit(cast["modo"], mine)
    assert not collections.may_edit(cast["contrib"], mine)
    assert not collections.may_edit(None, mine)
    assert collections.may_create(cast["dominique"]) and not collections.may_create(cast["contrib"])


async def test_rename_delete_and_remote_copies_are_not_edited_here(session, cast):
    collection = await collections.create_collection(session, name="Avant", person=None)
    before = collection.updated_at
    assert await collections.update_collection(session, collection, name="Après", summary="Texte")
    assert collection.updated_at >= before and collection.slug == "avant"
    assert not await collections.update_collection(
        session, collection, name="Après", summary="Texte"
    )
    await collections.delete_collection(session, collection)
    assert collections.may_edit(cast["modo"], collection) is False
    with pytest.raises(NotFound):
        await collections.add_item(session, collection, target="visieres-solidaires", base_url=BASE)
    assert await collections.list_collections(session) == []
    # A copy of a remote collection belongs to its origin
    copy, created = await collections.replace_remote(
        session,
        uri="https://angers.example/collections/visieres",
        origin="angers.example",
        name="Visières",
        summary="",
        items=[
            "https://angers.example/initiatives/fablab",
            f"{BASE}/initiatives/fablab-de-la-mediatheque",
        ],
        local_base_url=BASE,
    )
    assert created and not collections.may_edit(cast["modo"], copy)
    with pytest.raises(NotEditable):
        await collections.update_collection(session, copy, name="Autre", summary="")
    assert [i.initiative.name for i in await collections.items_of(session, copy)] == [
        "Fablab d'Angers",
        "Fablab de la médiathèque",
    ]
    with pytest.raises(Conflict):
        await collections.replace_remote(
            session,
            uri="https://angers.example/collections/visieres",
            origin="intrus.example",
            name="Volée",
            summary="",
            items=[],
            local_base_url=BASE,
        )
    assert copy.name == "Visières"


async def test_remote_items_show_once_their_initiative_arrives(session, cast):
    copy, _ = await collections.replace_remote(
        session,
        uri="https://angers.example/collections/c",
        origin="angers.example",
        name="C",
        summary="",
        items=["https://angers.example/initiatives/plus-tard"],
        local_base_url=BASE,
    )
    assert (await collections.items_of(session, copy))[0].initiative is None
    await create_initiative(
        session,
        {"name": "Arrivée plus tard"},
        author=ADMIN,
        moderation_state="published",
        origin="angers.example",
        uri="https://angers.example/initiatives/plus-tard",
    )
    assert (await collections.items_of(session, copy))[0].initiative.name == "Arrivée plus tard"


async def test_a_link_changes_its_initiative_so_that_it_is_published_again(session, cast):
    fablab = cast["fablab"]
    before = fablab.updated_at
    relation = await relations.add_relation(
        session,
        fablab,
        target="visieres-solidaires",
        kind="partner",
        note="Prêt de machines",
        person_id=cast["camille"].id,
        base_url=BASE,
    )
    assert fablab.updated_at > before
    after_add = fablab.updated_at
    await relations.remove_relation(session, fablab, relation.id, person_id=cast["camille"].id)
    assert fablab.updated_at > after_add
    history = list(
        await session.scalars(
            select(Revision.changes).where(
                Revision.initiative_id == fablab.id, Revision.action == "relation"
            )
        )
    )
    target = f"{BASE}/initiatives/visieres-solidaires"
    assert history == [
        {"relations": [None, f"partner {target}"]},
        {"relations": [f"partner {target}", None]},
    ]


async def test_remote_relations_follow_what_their_origin_says(session, cast):
    angers = cast["angers"]
    ours = f"{BASE}/initiatives/visieres-solidaires"
    await relations.replace_remote_relations(
        session,
        angers,
        [("partner", ours, "Ensemble"), ("similar", "https://ailleurs.example/i/x", ""),
         ("cousin", ours, "")],
        local_base_url=BASE,
    )  # fmt: skip
    found = {(r.kind, r.target_uri): r for r in await relations.relations_of(session, angers)}
    assert set(found) == {("partner", ours), ("similar", "https://ailleurs.example/i/x")}
    assert found[("partner", ours)].target_id == cast["visieres"].id
    assert found[("partner", ours)].note == "Ensemble"
    await relations.replace_remote_relations(
        session, angers, [("partner", ours, "")], local_base_url=BASE
    )
    assert [(r.kind, r.note) for r in await relations.relations_of(session, angers)] == [
        ("partner", "")
    ]
