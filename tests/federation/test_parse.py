"""Parsing what real servers send, and refusing what is malformed with a reason."""

from __future__ import annotations

import pytest

from directory.vocabulary import CORE_THEMES
from federation import render
from federation.parse import (
    ParseError,
    parse_activity,
    parse_actor,
    parse_initiative,
)
from tests.federation.conftest import fixture_json

THEMES = {t.iri: t.slug for t in CORE_THEMES}


def test_mastodon_actor():
    actor = parse_actor(fixture_json("mastodon_actor.json"))

    assert actor.uri == "https://mastodon.example/users/camille"
    assert (actor.type, actor.host) == ("Person", "mastodon.example")
    assert actor.inbox == "https://mastodon.example/users/camille/inbox"
    assert actor.shared_inbox == "https://mastodon.example/inbox"
    assert actor.featured.endswith("/collections/featured")
    assert actor.preferred_username == "camille"
    assert actor.icon == "https://files.mastodon.example/accounts/avatars/camille.png"
    assert "<script" not in actor.summary and 'href="https://repair.example.org"' in actor.summary
    [key] = actor.keys
    assert key.key_id == "https://mastodon.example/users/camille#main-key"
    assert key.owner == actor.uri


def test_actor_with_type_array_key_list_and_no_shared_inbox():
    document = fixture_json("mastodon_actor.json") | {
        "type": ["Service", "Application"],
        "endpoints": "https://mastodon.example/endpoints",
        "publicKey": [
            {"id": "https://mastodon.example/k1", "publicKeyPem": "not a key"},
            {
                "id": "https://mastodon.example/k2",
                "owner": "https://mastodon.example/users/camille",
                "publicKeyPem": "-----BEGIN PUBLIC KEY-----\nx\n-----END PUBLIC KEY-----",
            },
        ],
    }
    actor = parse_actor(document)
    assert actor.type == "Application" and actor.shared_inbox == ""
    assert [k.key_id for k in actor.keys] == ["https://mastodon.example/k2"]


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        ({"id": None}, "`id`"),
        ({"id": "urn:uuid:1"}, "`id`"),
        ({"type": "Note"}, "not an actor"),
        ({"inbox": None}, "inbox"),
        ({"inbox": "javascript:alert(1)"}, "inbox"),
    ],
)
def test_malformed_actors(change, reason):
    with pytest.raises(ParseError, match=reason):
        parse_actor(fixture_json("mastodon_actor.json") | change)


def test_mastodon_create_note_activity():
    activity = parse_activity(fixture_json("mastodon_create_note.json"))

    assert activity.type == "Create" and activity.actor.endswith("/users/camille")
    assert activity.object_id == "https://mastodon.example/users/camille/statuses/113"
    assert activity.object_type == "Note" and activity.is_public
    assert activity.cc[1] == "https://maillage.test/actors/loire-atlantique"
    assert activity.published is not None and activity.published.year == 2026


def test_activity_shapes_tolerated():
    follow = parse_activity(
        {
            "id": "https://peer.test/follows/1",
            "type": ["Follow"],
            "actor": {"id": "https://peer.test/users/a", "type": "Person"},
            "object": ["https://maillage.test/actors/t"],
            "to": "https://maillage.test/actors/t",
        }
    )
    assert (follow.type, follow.actor, follow.object_id) == (
        "Follow",
        "https://peer.test/users/a",
        "https://maillage.test/actors/t",
    )
    assert follow.to == ("https://maillage.test/actors/t",) and not follow.is_public
    undo = parse_activity(
        {
            "id": "https://peer.test/undo/1",
            "type": "Undo",
            "actor": "https://peer.test/users/a",
            "object": {"id": "https://peer.test/follows/1", "type": "Follow"},
            "cc": "as:Public",
        }
    )
    assert undo.object_type == "Follow" and undo.is_public


@pytest.mark.parametrize(
    ("document", "reason"),
    [
        ([], "JSON object"),
        ({"type": "Create", "actor": "https://p.test/a"}, "`id`"),
        ({"id": "https://p.test/1", "actor": "https://p.test/a"}, "no `type`"),
        ({"id": "https://p.test/1", "type": "Create"}, "actor"),
        ({"id": "https://p.test/1", "type": "Create", "actor": "https://p.test/a",
          "object": {"type": "Note"}}, "object"),
        ({"id": "https://p.test/1", "type": "Create", "actor": "https://p.test/a",
          "object": ["https://p.test/x", "https://p.test/y"]}, "several"),
    ],
)  # fmt: skip
def test_malformed_activities(document, reason):
    with pytest.raises(ParseError, match=reason):
        parse_activity(document)


async def test_our_page_round_trips_into_the_same_fields(repair_cafe, urls, settings, session):
    from federation.collections import relations_of

    page = render.render_initiative(
        repair_cafe, urls, settings, relations=await relations_of(session, repair_cafe.id)
    )
    parsed = parse_initiative(page, theme_slugs_by_iri=THEMES)

    assert parsed.structured and parsed.notes == []
    assert parsed.uri == page["id"] and parsed.attributed_to == page["attributedTo"]
    values = parsed.values
    for field in (
        "name", "summary", "description", "street", "postal_code", "city", "insee_code",
        "latitude", "longitude", "website", "email", "phone", "fediverse", "social_links",
        "opening_hours", "image_url", "same_as", "status",
    ):  # fmt: skip
        assert values[field] == getattr(repair_cafe, field), field
    assert values["themes"] == ["reemploi-reparation", "solidarite-entraide"]
    assert sorted(values["actor_kinds"]) == sorted(repair_cafe.actor_kinds)
    assert sorted(values["needs"]) == sorted(repair_cafe.needs)
    assert parsed.relations == [("partner", "https://other.example/initiatives/atelier-velo")]
    assert parsed.updated is not None


def test_unknown_themes_and_terms_are_dropped_with_a_note():
    page = {
        "id": "https://b.test/initiatives/x",
        "type": "Page",
        "name": "X",
        "themes": ["urn:maillage:theme:alimentation", "https://b.test/themes/local-only"],
        "actorKinds": ["association", "licorne"],
        "needs": "isolement",
        "status": "frozen",
    }
    parsed = parse_initiative(page, theme_slugs_by_iri=THEMES)
    assert parsed.values["themes"] == ["alimentation"]
    assert parsed.values["actor_kinds"] == ["association"]
    assert parsed.values["needs"] == ["isolement"]
    assert "status" not in parsed.values
    assert parsed.notes == [
        "unknown theme https://b.test/themes/local-only dropped",
        "unknown actor kind 'licorne' dropped",
        "unknown status 'frozen' ignored",
    ]


def test_mastodon_note_falls_back_to_generic_fields():
    note = fixture_json("mastodon_create_note.json")["object"]
    parsed = parse_initiative(note, theme_slugs_by_iri=THEMES)

    assert not parsed.structured
    assert parsed.values["name"].startswith("Nouveau #ReparationLocale")
    assert "themes" not in parsed.values
    assert parsed.values["website"] == "https://mastodon.example/@camille/113"
    assert "hashtags ReparationLocale" in parsed.notes[0]


def test_mobilizon_event_location_and_sanitized_content():
    parsed = parse_initiative(fixture_json("mobilizon_event.json"), theme_slugs_by_iri=THEMES)

    values = parsed.values
    assert values["name"] == "Atelier vélo participatif"
    assert values["summary"] == "Venez réparer votre vélo"
    assert (values["latitude"], values["longitude"]) == (47.2184, -1.5536)
    assert (values["street"], values["postal_code"], values["city"]) == (
        "3 place Royale",
        "44000",
        "Nantes",
    )
    assert values["image_url"] == "https://mobilizon.example/media/velo.jpg"
    assert "<iframe" not in parsed.content_html and "<b>gratuits</b>" in parsed.content_html
    assert values["description"] == "Outils et conseils gratuits."
    assert parsed.attributed_to == "https://mobilizon.example/@velo"


def test_hostile_page_content_is_sanitized_and_bounded():
    page = {
        "id": "https://b.test/initiatives/x",
        "type": "Page",
        "name": "<b>Nom</b><script>x()</script>" + "n" * 300,
        "content": '<p onclick="x()">Texte <a href="javascript:alert(1)">lien</a></p>',
        "location": {"type": "Place", "latitude": 91, "longitude": "nan"},
        "themes": [],
    }
    parsed = parse_initiative(page, theme_slugs_by_iri=THEMES)
    assert parsed.values["name"].startswith("Nomnnn") and len(parsed.values["name"]) == 200
    assert "x()" not in parsed.values["name"]
    assert "onclick" not in parsed.content_html and "javascript" not in parsed.content_html
    assert "latitude" not in parsed.values
    assert "name shortened" in parsed.notes


@pytest.mark.parametrize(
    ("document", "reason"),
    [
        ({"type": "Page", "name": "x"}, "`id`"),
        ({"id": "https://b.test/x", "type": "Tombstone"}, "Tombstone"),
        ({"id": "https://b.test/x", "type": "Page"}, "neither a name nor content"),
    ],
)
def test_unusable_objects(document, reason):
    with pytest.raises(ParseError, match=reason):
        parse_initiative(document, theme_slugs_by_iri=THEMES)


async def test_theme_map_covers_core_and_local_themes(session):
    from directory.themes import add_local_theme
    from federation.collections import theme_slugs_by_iri

    local = await add_local_theme(
        session,
        label_fr="Jardins partagés",
        parent_slug="alimentation",
        iri_base="https://maillage.test",
    )
    mapping = await theme_slugs_by_iri(session)

    assert mapping["urn:maillage:theme:alimentation"] == "alimentation"
    assert mapping[local.iri] == local.slug and len(mapping) == 15
