"""The ActivityPub routes: discovery, actors by content negotiation, collections, objects,
tombstones, and authorized fetch."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import orjson
import pytest
from starlette.applications import Starlette
from starlette.responses import Response
from starlette.routing import Route

from directory.initiatives import moderate
from federation import collections
from federation.flow_models import Follower
from federation.http import HttpxClient
from tests.federation.conftest import ADMIN
from web.app import create_app

AP = {"Accept": "application/activity+json"}
LD = {"Accept": 'application/ld+json; profile="https://www.w3.org/ns/activitystreams"'}
BROWSER = {"Accept": "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"}
TERRITORY = "https://maillage.test/actors/loire-atlantique"


# Discovery.


@pytest.mark.parametrize(
    ("resource", "actor"),
    [
        ("acct:loire-atlantique@maillage.test", "loire-atlantique"),
        ("acct:alimentation@maillage.test", "alimentation"),
        ("acct:instance@maillage.test", "instance"),
        ("acct:maillage.test@maillage.test", "instance"),  # FEP-d556
        ("https://maillage.test/", "instance"),  # FEP-d556
        ("https://maillage.test/actors/sante", "sante"),
    ],
)
async def test_webfinger_finds_each_actor(client, resource, actor):
    response = await client.get("/.well-known/webfinger", params={"resource": resource})

    assert response.status_code == 200
    assert response.headers["content-type"] == "application/jrd+json"
    jrd = response.json()
    assert jrd["subject"] == f"acct:{actor}@maillage.test"
    self_link = next(link for link in jrd["links"] if link["rel"] == "self")
    assert self_link == {
        "rel": "self",
        "type": "application/activity+json",
        "href": f"https://maillage.test/actors/{actor}",
    }


@pytest.mark.parametrize(
    ("resource", "status"),
    [
        ("acct:personne@maillage.test", 404),
        ("acct:loire-atlantique@ailleurs.test", 404),
        ("https://ailleurs.test/actors/x", 404),
        ("", 400),
    ],
)
async def test_webfinger_refusals(client, resource, status):
    response = await client.get("/.well-known/webfinger", params={"resource": resource})
    assert response.status_code == status
    assert response.json()["error"]


@pytest.mark.parametrize(
    ("language", "error"),
    [
        ("en-GB,fr;q=0.5", "no account acct:personne@maillage.test on this instance"),
        ("fr-FR", "aucun compte acct:personne@maillage.test sur cette instance"),
    ],
)
async def test_webfinger_refusal_follows_accept_language(client, language, error):
    response = await client.get(
        "/.well-known/webfinger",
        params={"resource": "acct:personne@maillage.test"},
        headers={"Accept-Language": language},
    )
    assert (response.status_code, response.json()["error"]) == (404, error)
    assert response.headers["Content-Language"] == language[:2]


async def test_nodeinfo_names_the_instance_actor_and_counts(client, make_initiative, session):
    await make_initiative()
    await make_initiative(state="proposed")
    await session.commit()

    links = (await client.get("/.well-known/nodeinfo")).json()["links"]
    assert {
        "rel": "https://www.w3.org/ns/activitystreams#Application",
        "href": "https://maillage.test/actors/instance",
    } in links
    href = next(link["href"] for link in links if link["rel"].endswith("schema/2.1"))
    response = await client.get(href)

    info = response.json()
    assert response.headers["content-type"].startswith("application/json")
    assert info["version"] == "2.1" and info["software"]["name"] == "maillage"
    assert info["protocols"] == ["activitypub"]
    assert info["usage"]["localPosts"] == 1
    assert info["metadata"]["territory"]["actor"] == TERRITORY


async def test_host_meta_points_at_webfinger(client):
    response = await client.get("/.well-known/host-meta")
    assert response.headers["content-type"].startswith("application/xrd+xml")
    assert 'template="https://maillage.test/.well-known/webfinger?resource={uri}"' in response.text


async def test_context_document(client):
    response = await client.get("/ns")
    assert response.headers["content-type"] == "application/ld+json"
    assert response.json()["@context"]["themes"]["@id"] == "maillage:themes"


# Actors and content negotiation.


@pytest.mark.parametrize("headers", [AP, LD, {"Accept": "application/ld+json"}])
async def test_actor_document_for_activitypub_clients(client, headers):
    response = await client.get("/actors/loire-atlantique", headers=headers)

    assert response.status_code == 200
    media = response.headers["content-type"]
    assert media.startswith(("application/activity+json", "application/ld+json"))
    if headers is LD:
        assert "activitystreams" in media
    actor = orjson.loads(response.content)
    assert actor["id"] == TERRITORY and actor["type"] == "Group"
    assert actor["initiatives"] == f"{TERRITORY}/initiatives"


async def test_browsers_are_redirected_to_the_html_page(client):
    territory = await client.get("/actors/loire-atlantique", headers=BROWSER)
    theme = await client.get("/actors/alimentation", headers=BROWSER)

    assert (territory.status_code, territory.headers["location"]) == (303, "https://maillage.test/")
    assert theme.headers["location"] == "https://maillage.test/themes/alimentation"


async def test_unknown_actor_is_404(client):
    assert (await client.get("/actors/inconnu", headers=AP)).status_code == 404


async def test_actor_keys_are_stable(client):
    first = (await client.get("/actors/loire-atlantique", headers=AP)).json()
    second = (await client.get("/actors/loire-atlantique", headers=AP)).json()
    assert first["publicKey"] == second["publicKey"]


async def test_actor_icon_is_a_png(client):
    response = await client.get("/actors/loire-atlantique/icon.png")
    assert response.headers["content-type"] == "image/png"
    assert response.content.startswith(b"\x89PNG")


# Initiatives.


async def test_initiative_as_page(client, repair_cafe):
    response = await client.get("/initiatives/repair-cafe-de-reze", headers=AP)

    assert response.status_code == 200
    page = response.json()
    assert page["type"] == "Page" and page["id"].endswith("/initiatives/repair-cafe-de-reze")
    assert page["relations"][0]["relatedTo"] == "https://other.example/initiatives/atelier-velo"
    assert "proposer-secret" not in response.text and "note-de-moderation" not in response.text


async def test_browsers_get_the_public_page_of_an_initiative(client, repair_cafe):
    """The public pages serve the HTML (the AS2 stand-in, 406 for browsers, is gone)."""
    response = await client.get("/initiatives/repair-cafe-de-reze", headers=BROWSER)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")


async def test_withdrawn_initiative_leaves_a_tombstone(client, repair_cafe, session):
    await moderate(session, repair_cafe, "withdrawn", author=ADMIN)
    await session.commit()

    response = await client.get("/initiatives/repair-cafe-de-reze", headers=AP)

    assert response.status_code == 410
    body = response.json()
    assert (body["type"], body["formerType"]) == ("Tombstone", "Page")
    assert body["id"] == "https://maillage.test/initiatives/repair-cafe-de-reze"
    assert "Repair" not in response.text


async def test_unpublished_and_remote_initiatives_are_not_served_as_ours(
    client, make_initiative, session
):
    await make_initiative(state="proposed", name="Pas encore publiée")
    remote = await make_initiative(name="Venue d'ailleurs")
    remote.origin, remote.uri = "other.test", "https://other.test/initiatives/x"
    await session.commit()

    assert (await client.get("/initiatives/pas-encore-publiee", headers=AP)).status_code == 404
    elsewhere = await client.get("/initiatives/venue-d-ailleurs", headers=AP)
    assert (elsewhere.status_code, elsewhere.headers["location"]) == (
        302,
        "https://other.test/initiatives/x",
    )
    assert (await client.get("/initiatives/inconnue", headers=AP)).status_code == 404


# Collections.


async def test_initiatives_collection_pages_by_cursor(
    client, make_initiative, session, monkeypatch
):
    monkeypatch.setattr(collections, "PAGE_SIZE", 2)
    names = ["Une", "Deux", "Trois"]
    for name in names:
        await make_initiative(name=name)
    await make_initiative(state="proposed", name="Cachée")
    remote = await make_initiative(name="Distante")
    remote.origin, remote.uri = "other.test", "https://other.test/initiatives/d"
    await session.commit()

    collection = (await client.get("/actors/loire-atlantique/initiatives", headers=AP)).json()
    assert collection["type"] == "OrderedCollection" and collection["totalItems"] == 3
    seen, url, pages = [], collection["first"], 0
    while url:
        page = (await client.get(url, headers=AP)).json()
        assert page["type"] == "OrderedCollectionPage" and page["partOf"] == collection["id"]
        seen += [item["name"] for item in page["orderedItems"]]
        url, pages = page.get("next"), pages + 1
    assert (seen, pages) == (names, 2)


@pytest.mark.parametrize(
    ("language", "error"),
    [("en", "invalid cursor: 'abc'"), ("fr", "curseur invalide : 'abc'"), ("", "curseur invalide")],
)
async def test_bad_cursor_is_a_400_in_the_asked_language(client, language, error):
    response = await client.get(
        "/actors/loire-atlantique/initiatives?cursor=abc",
        headers={**AP, "Accept-Language": language},
    )
    assert response.status_code == 400
    assert response.json()["error"].startswith(error)
    assert response.headers["Content-Language"] == (language or "fr")


async def test_only_the_territory_actor_has_an_initiatives_collection(client):
    assert (await client.get("/actors/alimentation/initiatives", headers=AP)).status_code == 404


async def test_outboxes_and_featured(client, make_initiative, session):
    await make_initiative(name="Jardin partagé", themes=["alimentation"])
    await make_initiative(name="Atelier vélo", themes=["mobilite"])
    await session.commit()

    outbox = (await client.get("/actors/loire-atlantique/outbox", headers=AP)).json()
    page = (await client.get(outbox["first"], headers=AP)).json()
    assert outbox["totalItems"] == 2
    assert [(a["type"], a["object"]["name"]) for a in page["orderedItems"]] == [
        ("Create", "Atelier vélo"),
        ("Create", "Jardin partagé"),
    ]
    theme_outbox = (await client.get("/actors/alimentation/outbox?page=true", headers=AP)).json()
    assert [(a["type"], a["object"]) for a in theme_outbox["orderedItems"]] == [
        ("Announce", "https://maillage.test/initiatives/jardin-partage")
    ]
    featured = (await client.get("/actors/loire-atlantique/featured", headers=AP)).json()
    assert featured["orderedItems"] == [
        "https://maillage.test/initiatives/atelier-velo",
        "https://maillage.test/initiatives/jardin-partage",
    ]


async def test_followers_collection_shows_the_count(client, session):
    for n in range(2):
        session.add(
            Follower(
                actor_name="loire-atlantique",
                remote_actor_uri=f"https://peer.test/users/{n}",
                remote_host="peer.test",
                inbox=f"https://peer.test/users/{n}/inbox",
                state="accepted",
            )
        )
    await session.commit()

    followers = (await client.get("/actors/loire-atlantique/followers", headers=AP)).json()
    following = (await client.get("/actors/loire-atlantique/following", headers=AP)).json()
    assert (followers["totalItems"], following["totalItems"]) == (2, 0)
    assert "orderedItems" not in followers


# Authorized fetch.


def peer_with_actor(public_pem: str) -> Starlette:
    """A peer serving alice, whose key signs our test requests."""

    async def alice(request):
        return Response(
            orjson.dumps(
                {
                    "id": "https://peer.test/users/alice",
                    "type": "Person",
                    "preferredUsername": "alice",
                    "inbox": "https://peer.test/users/alice/inbox",
                    "publicKey": {
                        "id": "https://peer.test/users/alice#main-key",
                        "owner": "https://peer.test/users/alice",
                        "publicKeyPem": public_pem,
                    },
                }
            ),
            media_type="application/activity+json",
        )

    return Starlette(routes=[Route("/users/alice", alice)])


@pytest.fixture
async def locked_client(settings, db, peer_key) -> AsyncIterator[HttpxClient]:
    """A client to an instance with authorized fetch on, that can reach the peer."""
    app = create_app(settings.with_(authorized_fetch=True), database=db)
    app.state.http = HttpxClient({"https://peer.test": peer_with_actor(peer_key[0])})
    client = HttpxClient({settings.base_url: httpx.ASGITransport(app=app)})
    yield client
    await client.close()
    await app.state.http.close()


@pytest.mark.parametrize(
    "path",
    [
        "/actors/loire-atlantique/initiatives?cursor=0",
        "/actors/loire-atlantique/outbox",
        "/actors/loire-atlantique/followers",
        "/actors/alimentation/featured",
        "/initiatives/repair-cafe-de-reze",
    ],
)
async def test_authorized_fetch_needs_a_signature(locked_client, peer_key, repair_cafe, path):
    url = "https://maillage.test" + path

    unsigned = await locked_client.get(url)
    signed = await locked_client.get(url, key=peer_key[1])

    assert unsigned.status == 401 and b"not signed" in unsigned.body
    assert signed.status == 200, signed.body


async def test_authorized_fetch_refuses_a_wrong_key(locked_client, key_pairs):
    from bovine.crypto.types import CryptographicSecret

    forged = CryptographicSecret.from_pem("https://peer.test/users/alice#main-key", key_pairs[1][1])
    response = await locked_client.get(
        "https://maillage.test/actors/loire-atlantique/outbox", key=forged
    )
    assert response.status == 401 and b"does not verify" in response.body


async def test_authorized_fetch_keeps_discovery_and_actors_public(locked_client, peer_key):
    for path in (
        "/actors/instance",
        "/actors/loire-atlantique",
        "/.well-known/webfinger?resource=acct:loire-atlantique@maillage.test",
        "/.well-known/nodeinfo",
        "/nodeinfo/2.1",
    ):
        response = await locked_client.get("https://maillage.test" + path)
        assert response.status == 200, path
    signed = await locked_client.get(
        "https://maillage.test/actors/loire-atlantique", key=peer_key[1]
    )
    assert signed.status == 200


async def test_rfc9421_signed_get_is_a_401_not_a_500(locked_client):
    client = locked_client._client
    response = await client.get(
        "https://maillage.test/actors/loire-atlantique/outbox",
        headers={
            "Signature-Input": 'sig1=("@method" "@target-uri");created=1;keyid="https://peer.test/k"',
            "Signature": "sig1=:aGVsbG8=:",
        },
    )
    assert response.status_code == 401 and "RFC 9421" in response.json()["error"]


async def test_initiative_with_a_local_sub_theme_is_served(client, make_initiative, session):
    from directory.themes import add_local_theme

    local = await add_local_theme(
        session,
        label_fr="Jardins partagés",
        parent_slug="alimentation",
        iri_base="https://maillage.test",
    )
    await make_initiative(name="Jardin du Sillon", themes=[local.slug])
    await session.commit()

    page = (await client.get("/initiatives/jardin-du-sillon", headers=AP)).json()
    collection = (
        await client.get("/actors/loire-atlantique/initiatives?page=true", headers=AP)
    ).json()

    assert "urn:maillage:theme:alimentation" in page["themes"]
    assert collection["orderedItems"][0]["tag"][0]["name"] == "#AlimentationLocale"


async def test_authorized_fetch_refuses_blocked_domains(locked_client, peer_key, db):
    from federation.instances import block_domain

    async with db.session() as session:
        await block_domain(session, "peer.test", "spam")

    response = await locked_client.get(
        "https://maillage.test/actors/loire-atlantique/outbox", key=peer_key[1]
    )
    assert response.status == 403
