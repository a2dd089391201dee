"""Collections and links over HTTP: public pages, feed, embed, AS2, and the référent's forms."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import delete, func, select, update

from directory import collections
from directory.initiatives import Author, create_initiative, moderate
from directory.models import Initiative, Relation, Revision
from directory.models_collections import Collection, CollectionItem
from federation import instances
from federation.flow_models import RemoteInstance
from federation.http import HttpxClient
from tests.federation.documents import DocumentSite
from tests.web.contribute.conftest import _person

ADMIN = Author(None, "test")
AS = {"Accept": "application/activity+json"}


@pytest.fixture
async def referent(db):
    return await _person(db, "referent@example.org", "referent")


@pytest.fixture
async def other_referent(db):
    return await _person(db, "autre@example.org", "referent")


@pytest.fixture
async def fablabs(db):
    async with db.session() as session:
        for name in ("Fablab de la médiathèque", "Visières solidaires"):
            await create_initiative(
                session,
                {"name": name, "themes": ["fablabs-numerique"], "city": "Rezé"},
                author=ADMIN,
                moderation_state="published",
            )


@pytest.fixture
async def remote_site(app, db):
    """angers.example, another Maillage instance whose initiatives we publish (trust policy
    "publish"), and whatever else tests put there."""
    async with db.session() as session:
        await instances.set_trust(session, "angers.example", "publish")
    site = DocumentSite("angers.example")
    client = HttpxClient({site.base: site.app()})
    app.state.http = client
    yield site
    await client.close()


def angers_page(site: DocumentSite, slug: str = "fablab", **changes) -> str:
    uri = f"{site.base}/initiatives/{slug}"
    document = {
        "@context": ["https://www.w3.org/ns/activitystreams"],
        "id": uri,
        "type": "Page",
        "name": "Fablab d'Angers",
        "attributedTo": f"{site.base}/actors/angers",
        "themes": ["urn:maillage:theme:fablabs-numerique"],
        "actorKinds": ["association"],
        "needs": [],
        "status": "active",
        "content": "<p>Des visières imprimées en 3D.</p>",
        **changes,
    }
    return site.put(f"/initiatives/{slug}", document)


async def _make(db, name: str, referent) -> str:
    async with db.session() as session:
        made = await collections.create_collection(session, name=name, person=referent)
        return made.slug


async def count(db, model) -> int:
    async with db.session() as session:
        return await session.scalar(select(func.count()).select_from(model)) or 0


async def test_referent_creates_fills_and_orders_a_collection(
    client, sign_in, referent, fablabs, remote_site, db
):
    token = await sign_in(referent)
    # When a référent creates a collection
    created = await client.post(
        "/collections/nouvelle",
        data={"csrf_token": token, "name": "Fablabs et visières", "summary": "Printemps 2020"},
    )
    assert created.status_code == 303
    edit = created.headers["location"]
    assert edit == "/collections/fablabs-et-visieres/modifier"
    # And adds a local initiative by slug and a remote one by URL (fetched first)
    remote = angers_page(remote_site)
    for target in ("visieres-solidaires", "fablab-de-la-mediatheque", remote):
        added = await client.post(
            edit, data={"csrf_token": token, "action": "add", "target": target}
        )
        assert added.status_code == 303, added.text
    # And moves the remote one up
    page = (await client.get(edit)).text
    assert "Initiative ajoutée à la collection." in page
    last_item = re.findall(r'name="item" value="(\d+)"', page)[-1]
    moved = await client.post(edit, data={"csrf_token": token, "action": "up", "item": last_item})
    assert moved.status_code == 303
    # Then the public page lists them in that order, the remote one from its instance
    public = await client.get("/collections/fablabs-et-visieres")
    assert public.status_code == 200
    names = re.findall(r'<h3><a href="/initiatives/[^"]+">([^<]+)</a>', public.text)
    assert names == ["Visières solidaires", "Fablab d&#39;Angers", "Fablab de la médiathèque"]
    assert "angers.example" in public.text
    assert "/embed/collection/fablabs-et-visieres" in public.text
    assert "Modifier la collection" in public.text
    # And the remote initiative was stored as one from its origin
    async with db.session() as session:
        stored = await session.scalar(select(Initiative).where(Initiative.uri == remote))
        assert stored.origin == "angers.example" and stored.moderation_state == "published"


async def test_bad_target_keeps_what_was_typed_and_stores_nothing(
    app, client, sign_in, referent, fablabs, remote_site, db
):
    slug = await _make(db, "Ma collection", referent)
    token = await sign_in(referent)
    edit = f"/collections/{slug}/modifier"
    note = remote_site.put(
        "/notes/1",
        {"id": f"{remote_site.base}/notes/1", "type": "Note", "content": "Bonjour"},
    )
    lemmy = remote_site.put(
        "/post/1",
        {"id": f"{remote_site.base}/post/1", "type": "Page", "name": "Un fil de discussion"},
    )
    cases = {
        f"{remote_site.base}/initiatives/absente": "rien à cette adresse (404)",
        note: "ne désigne pas une initiative (type Note)",
        lemmy: "pas une initiative d&#39;un annuaire Maillage",
        "https://127.0.0.1/initiatives/x": "adresse injoignable ou refusée",
        "inconnue-ici": "aucune initiative connue",
    }
    # Outside test configuration: private addresses are refused, names resolved first.
    app.state.settings = app.state.settings.with_(allow_private_addresses=False)
    app.state.instance_fetcher = None
    addresses = {"angers.example": ["93.184.215.14"], "intranet.example": ["10.0.0.5"]}

    async def resolve(host: str) -> list[str]:
        return addresses[host]

    app.state.resolve_host = resolve
    for target, reason in cases.items():
        response = await client.post(
            edit, data={"csrf_token": token, "action": "add", "target": target}
        )
        assert response.status_code == 422, (target, response.status_code)
        assert reason in response.text, (target, response.text[-2000:])
        assert f'value="{target}"' in response.text  # what was typed stays
    assert await count(db, CollectionItem) == 0
    assert await count(db, Initiative) == 2  # nothing fetched was stored


async def test_only_its_referent_and_moderators_edit_a_collection(
    client, sign_in, referent, other_referent, moderator, db
):
    slug = await _make(db, "À moi", referent)
    edit = f"/collections/{slug}/modifier"
    anonymous = await client.get(edit)
    assert anonymous.status_code == 303 and anonymous.headers["location"].startswith("/connexion")
    token = await sign_in(other_referent)
    refused = await client.post(
        edit, data={"csrf_token": token, "action": "details", "name": "Volée"}
    )
    assert refused.status_code == 403
    await client.post("/deconnexion", data={"csrf_token": token})
    token = await sign_in(moderator)
    renamed = await client.post(
        edit, data={"csrf_token": token, "action": "details", "name": "Renommée", "summary": ""}
    )
    assert renamed.status_code == 303
    async with db.session() as session:
        assert (await collections.get_collection(session, slug)).name == "Renommée"


async def test_forms_need_their_csrf_token_and_errors_keep_the_input(client, sign_in, referent, db):
    token = await sign_in(referent)
    no_token = await client.post("/collections/nouvelle", data={"name": "Sans jeton"})
    assert no_token.status_code == 403
    empty = await client.post(
        "/collections/nouvelle", data={"csrf_token": token, "name": " ", "summary": "Gardé"}
    )
    assert empty.status_code == 422
    assert "obligatoire" in empty.text and ">Gardé</textarea>" in empty.text
    assert await count(db, Collection) == 0


async def test_delete_asks_for_confirmation_then_leaves_a_tombstone(client, sign_in, referent, db):
    slug = await _make(db, "Éphémère", referent)
    token = await sign_in(referent)
    edit = f"/collections/{slug}/modifier"
    unconfirmed = await client.post(edit, data={"csrf_token": token, "action": "delete"})
    assert unconfirmed.status_code == 422
    deleted = await client.post(
        edit, data={"csrf_token": token, "action": "delete", "confirm": "oui"}
    )
    assert deleted.status_code == 303 and deleted.headers["location"] == "/collections"
    assert (await client.get(f"/collections/{slug}")).status_code == 410
    gone = await client.get(f"/collections/{slug}", headers=AS)
    assert gone.status_code == 410 and gone.json()["type"] == "Tombstone"
    assert "Éphémère" not in (await client.get("/collections")).text


async def _both_fablabs(db, person, settings) -> str:
    """A collection "Fablabs" of `person` holding both local fablabs; its slug."""
    slug = await _make(db, "Fablabs", person)
    async with db.session() as session:
        collection = await collections.get_collection(session, slug)
        for target in ("visieres-solidaires", "fablab-de-la-mediatheque"):
            await collections.add_item(
                session, collection, target=target, base_url=settings.base_url
            )
    return slug


async def test_public_list_page_feed_embed_and_activitypub(client, referent, fablabs, db, settings):
    slug = await _both_fablabs(db, referent, settings)
    listed = await client.get("/collections")
    assert listed.status_code == 200 and "Fablabs" in listed.text and "2 initiatives" in listed.text
    assert "Créer une collection" not in listed.text  # anonymous
    english = await client.get("/collections?lang=en")
    assert "Initiatives from several territories brought together" in english.text
    feed = await client.get(f"/collections/{slug}/flux.atom")
    assert feed.headers["content-type"].startswith("application/atom+xml")
    entries = re.findall(r"<title>([^<]+)</title>", feed.text)
    assert entries == ["Fablabs", "Visières solidaires", "Fablab de la médiathèque"]
    embed = await client.get(f"/embed/collection/{slug}")
    assert embed.status_code == 200
    assert embed.headers["content-security-policy"] == "frame-ancestors *"
    assert "Visières solidaires" in embed.text
    document = await client.get(f"/collections/{slug}", headers=AS)
    assert document.headers["content-type"].startswith("application/activity+json")
    body = document.json()
    assert body["type"] == "OrderedCollection" and body["name"] == "Fablabs"
    assert body["id"] == f"{settings.base_url}/collections/{slug}"
    assert body["attributedTo"] == f"{settings.base_url}/actors/loire-atlantique"
    assert body["orderedItems"] == [
        f"{settings.base_url}/initiatives/visieres-solidaires",
        f"{settings.base_url}/initiatives/fablab-de-la-mediatheque",
    ]
    assert (await client.get("/collections/inconnue")).status_code == 404


async def test_referent_links_initiatives_through_the_form(
    client, sign_in, referent, fablabs, remote_site, db
):
    token = await sign_in(referent)
    page = await client.get("/initiatives/fablab-de-la-mediatheque")
    assert "/initiatives/fablab-de-la-mediatheque/liens" in page.text
    links = "/initiatives/fablab-de-la-mediatheque/liens"
    remote = angers_page(remote_site)
    added = await client.post(
        links,
        data={"csrf_token": token, "target": remote, "kind": "inspired-by", "note": "Visières"},
    )
    assert added.status_code == 303, added.text
    bad = await client.post(
        links, data={"csrf_token": token, "target": remote, "kind": "cousin", "note": "Gardée"}
    )
    assert bad.status_code == 422 and 'value="Gardée"' in bad.text
    shown = await client.get("/initiatives/fablab-de-la-mediatheque")
    assert "Fablab d&#39;Angers" in shown.text and "Visières" in shown.text
    async with db.session() as session:
        (relation,) = await session.scalars(select(Relation))
    removed = await client.post(
        links, data={"csrf_token": token, "action": "remove", "relation": str(relation.id)}
    )
    assert removed.status_code == 303
    assert await count(db, Relation) == 0


async def test_contributors_cannot_link(client, sign_in, contributor, fablabs):
    token = await sign_in(contributor)
    response = await client.post(
        "/initiatives/fablab-de-la-mediatheque/liens",
        data={"csrf_token": token, "target": "visieres-solidaires", "kind": "similar"},
    )
    assert response.status_code == 403


LINKS = "/initiatives/fablab-de-la-mediatheque/liens"


async def _trust_angers(db, trust: str | None) -> None:
    """Set angers.example's trust policy; None: an instance never met."""
    async with db.session() as session:
        if trust is None:
            await session.execute(
                delete(RemoteInstance).where(RemoteInstance.host == "angers.example")
            )
        else:
            await instances.set_trust(session, "angers.example", trust)


async def _link_and_collect(client, db, person, token: str, linked: str, collected: str) -> str:
    """`person` links the fablab to `linked` and adds `collected` to a new collection of
    theirs (both forms answer 303); the collection's slug."""
    slug = await _make(db, "Visières", person)
    added = await client.post(
        LINKS, data={"csrf_token": token, "target": linked, "kind": "similar", "note": "Cousins"}
    )
    assert added.status_code == 303, added.text
    put = await client.post(
        f"/collections/{slug}/modifier",
        data={"csrf_token": token, "action": "add", "target": collected},
    )
    assert put.status_code == 303, put.text
    return slug


@pytest.mark.parametrize("trust", ["hold", None])  # None: an instance never met (hold)
async def test_a_target_on_a_held_instance_awaits_moderation(
    client, sign_in, referent, fablabs, remote_site, db, trust
):
    await _trust_angers(db, trust)
    token = await sign_in(referent)
    remote = angers_page(remote_site)
    # When a référent links to it and adds it to a collection
    slug = await _link_and_collect(client, db, referent, token, remote, remote)
    # Then the copy awaits moderation, and the links are kept
    async with db.session() as session:
        stored = await session.scalar(select(Initiative).where(Initiative.uri == remote))
        assert (stored.origin, stored.moderation_state) == ("angers.example", "proposed")
        # (the instance is listed on the admin's federation page, where "publish" is set)
        known = await session.scalar(
            select(RemoteInstance.trust).where(RemoteInstance.host == "angers.example")
        )
        assert known == "hold"
    assert await count(db, Relation) == 1 and await count(db, CollectionItem) == 1
    # The référent is told so, on the links page and the collection's editor
    page = (await client.get(LINKS)).text
    assert "Elle apparaîtra une fois approuvée par la modération." in page
    assert "Fablab d&#39;Angers" in page and "en attente de modération" in page
    assert (
        "en attente de modération ici" in (await client.get(f"/collections/{slug}/modifier")).text
    )
    # The public pages do not show it: no link, and a collection item awaiting moderation
    public = (await client.get("/initiatives/fablab-de-la-mediatheque")).text
    assert "Angers" not in public and "Cousins" not in public
    listed = (await client.get(f"/collections/{slug}")).text
    assert "Fablab d&#39;Angers" not in listed and "en attente de modération ici" in listed
    # Until a moderator approves it
    async with db.session() as session:
        stored = await session.scalar(select(Initiative).where(Initiative.uri == remote))
        await moderate(session, stored, "published", author=ADMIN)
    public = (await client.get("/initiatives/fablab-de-la-mediatheque")).text
    assert "Fablab d&#39;Angers" in public and "Cousins" in public
    assert "Fablab d&#39;Angers" in (await client.get(f"/collections/{slug}")).text


@pytest.mark.parametrize("when", ["before", "after"])  # blocked before or after we fetched it
async def test_a_target_on_a_blocked_instance_is_refused(
    client, sign_in, referent, fablabs, remote_site, db, when
):
    token = await sign_in(referent)
    remote = angers_page(remote_site)
    links = "/initiatives/fablab-de-la-mediatheque/liens"
    if when == "after":
        other = "/initiatives/visieres-solidaires/liens"
        data = {"csrf_token": token, "target": remote, "kind": "similar"}
        assert (await client.post(other, data=data)).status_code == 303
        assert await count(db, Initiative) == 3
    async with db.session() as session:
        await instances.set_trust(session, "angers.example", "block")
    response = await client.post(
        links, data={"csrf_token": token, "target": remote, "kind": "similar"}
    )
    assert response.status_code == 422
    assert "bloqué" in response.text
    assert await count(db, Relation) == (1 if when == "after" else 0)
    assert await count(db, Initiative) == (3 if when == "after" else 2)


@pytest.mark.parametrize("trust", ["hold", None])  # None: an instance never met (hold)
@pytest.mark.parametrize("role", ["moderator", "admin"])
async def test_a_moderators_own_link_approves_a_held_target(
    client, sign_in, fablabs, remote_site, db, trust, role
):
    await _trust_angers(db, trust)
    person = await _person(db, f"{role}@example.org", role)
    token = await sign_in(person)
    first, second = angers_page(remote_site), angers_page(remote_site, "atelier", name="Atelier")
    # When a moderator (or an admin) links to one and adds the other to a collection
    slug = await _link_and_collect(client, db, person, token, first, second)
    # Then both are published, each approval recorded as theirs, as moderation records it
    async with db.session() as session:
        for uri in (first, second):
            stored = await session.scalar(select(Initiative).where(Initiative.uri == uri))
            assert stored.moderation_state == "published"
            (approval,) = await moderation_revisions(session, stored)
            assert (approval.person_id, approval.changes) == (
                person.id,
                {"moderation_state": ["proposed", "published"]},
            )
    assert "apparaîtra une fois approuvée" not in (await client.get(LINKS)).text
    # And the public pages show them at once
    public = (await client.get("/initiatives/fablab-de-la-mediatheque")).text
    assert "Fablab d&#39;Angers" in public and "Cousins" in public
    listed = (await client.get(f"/collections/{slug}")).text
    assert "Atelier" in listed and "en attente de modération" not in listed


async def moderation_revisions(session, initiative: Initiative) -> list[Revision]:
    return list(
        await session.scalars(
            select(Revision).where(
                Revision.initiative_id == initiative.id, Revision.action == "moderate"
            )
        )
    )


@pytest.mark.parametrize("state", ["proposed", "rejected"])
async def test_an_item_not_published_here_is_left_out_of_public_pages(
    client, sign_in, referent, fablabs, db, settings, state
):
    # Given a collection of two local initiatives, one of them since unpublished
    slug = await _both_fablabs(db, referent, settings)
    async with db.session() as session:
        await session.execute(
            update(Initiative)
            .where(Initiative.slug == "visieres-solidaires")
            .values(moderation_state=state)
        )
    # Then the public page and the embed show neither it, nor its address, nor a note
    for path in (f"/collections/{slug}", f"/embed/collection/{slug}"):
        shown = (await client.get(path)).text
        assert "Fablab de la médiathèque" in shown
        assert "visieres-solidaires" not in shown and "Visières" not in shown, path
        assert "modération" not in shown and "autre instance" not in shown, path
    assert "1 initiative" in (await client.get(f"/collections/{slug}")).text
    # And the editor lists it, saying why it is not public
    await sign_in(referent)
    editor = (await client.get(f"/collections/{slug}/modifier")).text
    assert f"{settings.base_url}/initiatives/visieres-solidaires" in editor
    assert "les pages publiques ne la montrent pas" in editor


async def test_a_refused_target_stays_on_the_links_page_only(
    client, sign_in, referent, fablabs, remote_site, db
):
    async with db.session() as session:
        await instances.set_trust(session, "angers.example", "hold")
    token = await sign_in(referent)
    remote = angers_page(remote_site)
    links = "/initiatives/fablab-de-la-mediatheque/liens"
    data = {"csrf_token": token, "target": remote, "kind": "similar", "note": "Cousins"}
    assert (await client.post(links, data=data)).status_code == 303
    # When a moderator refuses the target
    async with db.session() as session:
        stored = await session.scalar(select(Initiative).where(Initiative.uri == remote))
        await moderate(session, stored, "rejected", author=ADMIN)
    # Then the référent's page says the link is not shown, and the public page leaves it out
    page = (await client.get(links)).text
    assert "non publiée ici : le lien n'est pas montré" in page
    assert "en attente de modération" not in page
    public = (await client.get("/initiatives/fablab-de-la-mediatheque")).text
    assert remote not in public and "Cousins" not in public
