"""Rendering: initiatives as `Page` with every field of DESIGN.md section 4, actors, activities."""

from __future__ import annotations

import orjson

from federation import collections, render
from federation.keys import get_or_create_actor
from federation.urls import PUBLIC


async def test_page_has_every_field_of_the_contract(repair_cafe, urls, settings, session):
    relations = await collections.relations_of(session, repair_cafe.id)
    page = render.render_initiative(repair_cafe, urls, settings, relations=relations)

    uri = "https://maillage.test/initiatives/repair-cafe-de-reze"
    territory = "https://maillage.test/actors/loire-atlantique"
    assert page["@context"][0] == "https://www.w3.org/ns/activitystreams"
    assert page["@context"][2]["themes"]["@id"] == "maillage:themes"
    assert page["@context"][2]["maillage"] == "urn:maillage:ns:"
    assert (page["id"], page["type"], page["url"]) == (uri, "Page", uri)
    assert page["name"] == "Repair café de Rezé"
    assert page["summary"] == "Réemploi et réparation, Solidarité et entraide · Rezé"
    assert page["attributedTo"] == page["audience"] == territory
    assert page["to"] == [PUBLIC]
    assert page["cc"] == [f"{territory}/followers"]
    assert page["published"].endswith("Z") and page["updated"].endswith("Z")
    assert "<strong>premier samedi</strong>" in page["content"]
    assert page["abstract"] == "Réparer ensemble petits appareils et vélos"
    assert page["source"]["mediaType"] == "text/markdown"
    assert page["location"] == {
        "type": "Place",
        "name": "12 rue de la Commune, Rezé",
        "address": {
            "type": "PostalAddress",
            "streetAddress": "12 rue de la Commune",
            "postalCode": "44400",
            "addressLocality": "Rezé",
            "addressCountry": "FR",
        },
        "latitude": 47.19,
        "longitude": -1.56,
    }
    assert page["tag"] == [
        {
            "type": "Hashtag",
            "href": "https://maillage.test/tags/ReparationLocale",
            "name": "#ReparationLocale",
        },
        {"type": "Hashtag", "href": "https://maillage.test/tags/Entraide", "name": "#Entraide"},
    ]
    assert page["image"] == {"type": "Image", "url": "https://repair.example.org/photo.jpg"}
    assert page["themes"] == [
        "urn:maillage:theme:reemploi-reparation",
        "urn:maillage:theme:solidarite-entraide",
    ]
    assert page["actorKinds"] == ["association", "collectif-habitants"]
    assert page["needs"] == ["isolement", "precarite-energetique"]
    assert page["status"] == "active"
    assert page["contacts"] == {
        "website": "https://repair.example.org",
        "email": "contact@repair.example.org",
        "telephone": "02 40 00 00 00",
        "fediverse": "@repair@mastodon.example",
        "socialLinks": ["https://social.example/repair"],
    }
    assert page["sameAs"] == ["https://national.example/initiatives/repair-cafe-de-reze"]
    assert page["relations"] == [
        {"relationKind": "partner", "relatedTo": "https://other.example/initiatives/atelier-velo"}
    ]
    assert page["license"] == settings.licence_url
    assert page["openingHours"] == "Sa 10:00-12:00"
    assert page["inseeCode"] == "44143"


async def test_private_fields_never_leave(repair_cafe, urls, settings):
    body = orjson.dumps(render.render_initiative(repair_cafe, urls, settings)).decode()
    assert "proposer-secret@example.org" not in body
    assert "note-de-moderation-secrete" not in body


async def test_description_html_is_sanitized(make_initiative, urls, settings):
    initiative = await make_initiative(
        description="<script>alert(1)</script><img src=x onerror=alert(2)> [x](javascript:alert(3))"
    )
    content = render.render_initiative(initiative, urls, settings)["content"]
    assert "<script" not in content and "<img" not in content
    assert 'href="javascript' not in content
    assert "&lt;script&gt;" in content  # shown as text, not run


async def test_initiative_without_place_has_no_location(make_initiative, urls, settings):
    initiative = await make_initiative(
        street="", city="", latitude=None, longitude=None, insee_code="", image_url=""
    )
    page = render.render_initiative(initiative, urls, settings)
    assert "location" not in page and "image" not in page
    assert page["summary"] == "Réemploi et réparation, Solidarité et entraide"


async def test_territory_actor_document_has_what_mastodon_reads(session, settings, urls):
    actor = await get_or_create_actor(session, settings, "loire-atlantique")
    doc = render.render_actor(actor, urls, settings)

    base = "https://maillage.test/actors/loire-atlantique"
    assert doc["type"] == "Group" and doc["preferredUsername"] == "loire-atlantique"
    assert doc["name"] == "Loire-Atlantique"
    assert doc["summary"].startswith("<p>") and doc["url"] == "https://maillage.test/"
    assert doc["icon"] == {"type": "Image", "mediaType": "image/png", "url": f"{base}/icon.png"}
    for key in ("inbox", "outbox", "followers", "following", "featured", "initiatives"):
        assert doc[key] == f"{base}/{key}"
    assert doc["endpoints"] == {"sharedInbox": "https://maillage.test/inbox"}
    assert doc["publicKey"]["id"] == f"{base}#main-key"
    assert doc["publicKey"]["owner"] == base
    assert doc["publicKey"]["publicKeyPem"].startswith("-----BEGIN PUBLIC KEY-----")
    assert doc["manuallyApprovesFollowers"] is False and doc["discoverable"] is True
    assert [(a["type"], a["name"]) for a in doc["attachment"]] == [
        ("PropertyValue", "Site web"),
        ("PropertyValue", "Territoire"),
    ]
    assert doc["attachment"][1]["value"] == "Loire-Atlantique (departement 44)"


async def test_theme_and_instance_actors(session, settings, urls):
    theme_actor = await get_or_create_actor(session, settings, "alimentation")
    instance = await get_or_create_actor(session, settings, "instance")
    theme_doc = render.render_actor(theme_actor, urls, settings, theme=await _theme(session))
    instance_doc = render.render_actor(instance, urls, settings)

    assert theme_doc["type"] == "Group" and theme_doc["name"] == "Alimentation · Loire-Atlantique"
    assert theme_doc["url"] == "https://maillage.test/themes/alimentation"
    assert theme_doc["tag"][0]["name"] == "#AlimentationLocale"
    assert "initiatives" not in theme_doc
    assert instance_doc["type"] == "Application"
    assert instance_doc["manuallyApprovesFollowers"] is True
    assert instance_doc["discoverable"] is False


async def _theme(session):
    from directory.themes import themes_by_slug

    return (await themes_by_slug(session, ["alimentation"]))[0]


def test_activities_shapes():
    page = {"id": "https://a.test/initiatives/x", "type": "Page", "to": [PUBLIC], "cc": ["f"],
            "published": "2026-01-01T00:00:00Z", "updated": "2026-01-02T00:00:00Z",
            "@context": ["x"]}  # fmt: skip
    actor = "https://a.test/actors/t"
    created = render.create("https://a.test/activities/1", actor, page)
    assert (created["type"], created["actor"], created["to"], created["cc"]) == (
        "Create",
        actor,
        [PUBLIC],
        ["f"],
    )
    assert "@context" not in created["object"] and created["published"] == page["published"]
    assert render.update("u", actor, page)["published"] == page["updated"]

    deleted = render.delete("d", actor, page["id"], followers=f"{actor}/followers")
    assert deleted["object"] == {"id": page["id"], "type": "Tombstone", "formerType": "Page"}

    announced = render.announce("n", actor, page["id"], followers=f"{actor}/followers")
    assert announced["object"] == page["id"] and announced["cc"] == [f"{actor}/followers"]

    follow = render.follow("f1", actor, "https://b.test/actors/u")
    accept = render.accept("a1", "https://b.test/actors/u", follow)
    reject = render.reject("r1", "https://b.test/actors/u", "f1")
    undo = render.undo("u1", actor, follow)
    assert follow["object"] == "https://b.test/actors/u" and follow["to"] == [follow["object"]]
    assert accept["object"]["id"] == "f1" and accept["to"] == [actor]
    assert reject["object"] == "f1" and reject["type"] == "Reject"
    assert undo["object"]["type"] == "Follow"
    assert all("@context" not in a["object"] for a in (accept, undo))


def test_context_document_lists_the_terms():
    terms = render.context_document()["@context"]
    for term in ("themes", "actorKinds", "needs", "contacts", "status", "sameAs", "relations",
                 "license", "PostalAddress", "PropertyValue", "initiatives"):  # fmt: skip
        assert term in terms


async def test_local_sub_theme_travels_with_its_core_theme(
    make_initiative, session, urls, settings
):
    from directory.themes import add_local_theme

    local = await add_local_theme(
        session,
        label_fr="Jardins partagés",
        parent_slug="alimentation",
        iri_base="https://maillage.test",
    )
    created = await make_initiative(themes=[local.slug])
    await session.commit()
    session.expunge_all()
    initiative = await collections.initiative_for_render(session, created.id)

    page = render.render_initiative(initiative, urls, settings)

    assert page["themes"] == [
        "https://maillage.test/themes/jardins-partages",
        "urn:maillage:theme:alimentation",
    ]
    assert [t["name"] for t in page["tag"]] == ["#AlimentationLocale"]
