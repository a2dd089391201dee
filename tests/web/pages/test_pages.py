"""Route tests of the public pages, on SQLite and PostgreSQL (the `client` fixture)."""

from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ET

import pytest

from directory.models import Initiative

HTML = {"accept": "text/html,application/xhtml+xml"}
ATOM = "{http://www.w3.org/2005/Atom}"

PAGES = (
    "/",
    "/carte",
    "/carte?theme=alimentation&need=isolement",
    "/initiatives",
    "/initiatives?q=réparation&sort=relevance",
    "/initiatives?theme=alimentation&commune=44162&page=1",
    "/initiatives/repair-cafe-de-chantenay",
    "/initiatives/repair-cafe-de-chantenay/historique",
    "/initiatives/ressourcerie-de-l-erdre",
    "/themes",
    "/themes/alimentation",
    "/communes/44109",
    "/integrer",
    "/integrer?widget=list&theme=alimentation",
    "/embed/map?theme=alimentation",
    "/embed/list?commune=44109&need=isolement",
    "/accessibilite",
)


@pytest.mark.parametrize("path", PAGES)
async def test_every_public_page_renders_without_private_data(client, sample, path):
    response = await client.get(path, headers=HTML)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    body = response.text
    assert '<main id="contenu"' in body
    assert path.startswith("/embed/") or 'class="skip-link"' in body
    # Unpublished proposals and proposers' e-mails never show.
    assert "Proposition en attente secrète" not in body
    assert "secret.person@example.net" not in body
    assert "someone@example.org" not in body


async def test_home_counts_and_lists_latest_initiatives(client, sample):
    body = (await client.get("/", headers=HTML)).text
    assert re.search(r'stat__value">7<', body)  # 6 local + 1 remote, the proposal excluded
    assert "Ressourcerie de l&#39;Erdre" in body  # the latest published
    assert 'href="/themes/alimentation"' in body
    assert 'action="/initiatives"' in body


async def test_home_in_english_by_parameter_cookie_and_header(client, sample):
    english = await client.get("/?lang=en", headers=HTML)
    assert '<html lang="en">' in english.text
    assert "Latest initiatives" in english.text
    assert english.cookies.get("lang") == "en"
    by_header = await client.get("/", headers={**HTML, "accept-language": "en-GB,en;q=0.8"})
    assert '<html lang="en">' in by_header.text
    client.cookies.clear()
    french = await client.get("/", headers={**HTML, "accept-language": "de, fr;q=0.5"})
    assert '<html lang="fr">' in french.text
    assert "Dernières initiatives" in french.text


async def test_initiative_page_shows_fields_provenance_and_metadata(client, sample):
    body = (await client.get("/initiatives/repair-cafe-de-chantenay", headers=HTML)).text
    assert "<h1>Repair Café de Chantenay</h1>" in body
    assert "<h3>Comment ça marche</h3>" in body  # Markdown, headings under the page's
    for text in ("12 rue de la Montagne", "Sa 14:00-18:00", "02 40 00 00 00"):
        assert text in body
    assert 'href="/themes/reemploi-reparation"' in body
    assert "Adaptation au climat" in body and "Association" in body
    assert 'href="/initiatives/repair-cafe-de-chantenay/correction"' in body
    assert 'href="/initiatives/repair-cafe-de-chantenay/historique"' in body
    assert 'href="/initiatives/atelier-velo-velocampus"' in body  # the partner relation
    assert '<meta property="og:title" content="Repair Café de Chantenay">' in body
    assert 'name="twitter:card"' in body
    assert (
        'rel="canonical" href="https://maillage.test/initiatives/repair-cafe-de-chantenay"' in body
    )
    ld = re.search(r'<script type="application/ld\+json">(.*?)</script>', body, re.S)
    data = json.loads(ld.group(1))
    assert data["@type"] == "Organization" and data["name"] == "Repair Café de Chantenay"
    assert data["location"]["geo"]["latitude"] == pytest.approx(47.205)
    assert "Publiée par cet annuaire" in body


async def test_remote_initiative_names_its_origin_and_path(client, sample):
    body = (await client.get("/initiatives/ressourcerie-de-l-erdre", headers=HTML)).text
    assert "erdre.example" in body
    assert "erdre.example → pays-de-la-loire.example → maillage.test" in body
    assert 'href="https://erdre.example/initiatives/ressourcerie"' in body


async def test_json_ld_cannot_close_its_script_element(client, db):
    from directory.initiatives import Author, create_initiative

    async with db.session() as session:
        await create_initiative(
            session,
            {"name": "Piège </script><script>alert(1)</script>", "summary": "<b>x</b>"},
            author=Author(None, "t"),
            moderation_state="published",
        )
    body = (await client.get("/initiatives/piege-script-script-alert-1-script", headers=HTML)).text
    assert "<script>alert(1)" not in body
    ld = re.search(r'<script type="application/ld\+json">(.*?)</script>', body, re.S).group(1)
    assert json.loads(ld)["name"] == "Piège </script><script>alert(1)</script>"


async def test_unpublished_and_unknown_initiatives_are_html_404(client, sample):
    for path in (
        "/initiatives/proposition-en-attente-secrete",
        "/initiatives/nexiste-pas",
        "/themes/inconnu",
        "/communes/99999",
        "/page/qui/nexiste/pas",
    ):
        response = await client.get(path, headers=HTML)
        assert response.status_code == 404, path
        assert "Page introuvable" in response.text
        assert response.headers["content-type"].startswith("text/html")


async def test_api_clients_still_get_json_errors(client, sample):
    response = await client.get("/page/qui/nexiste/pas", headers={"accept": "application/json"})
    assert response.status_code == 404
    assert response.json()["status"] == 404


async def test_history_lists_revisions_without_emails(client, sample):
    body = (await client.get("/initiatives/repair-cafe-de-chantenay/historique", headers=HTML)).text
    assert "Création" in body and "Modification" in body
    assert "Import « demo »" in body
    assert "Proposition anonyme" in body
    assert "@example" not in body


async def test_map_data_clusters_at_low_zoom_and_points_when_zoomed(client, sample):
    wide = (await client.get("/map/data.json?bbox=46.5,-3,48,-1&zoom=7")).json()
    assert wide["total"] == 7
    assert sum(c[2] for c in wide["clusters"]) + len(wide["points"]) == 7
    assert wide["clusters"], "neighbouring initiatives share a cell at zoom 7"
    close = (await client.get("/map/data.json?bbox=46.5,-3,48,-1&zoom=16")).json()
    assert close["clusters"] == [] and len(close["points"]) == 7
    names = {p[4] for p in close["points"]}
    assert "Proposition en attente secrète" not in names
    filtered = (
        await client.get("/map/data.json?bbox=46.5,-3,48,-1&zoom=16&theme=alimentation")
    ).json()
    assert {p[3] for p in filtered["points"]} == {
        "epicerie-solidaire-du-sillon",
        "jardin-partage-des-trois-moulins",
    }
    text = (await client.get("/map/data.json?bbox=46.5,-3,48,-1&zoom=16&q=vélo")).json()
    assert "atelier-velo-velocampus" in [p[3] for p in text["points"]]
    assert "fablab-de-l-estuaire" not in [p[3] for p in text["points"]]


@pytest.mark.parametrize(
    "query",
    (
        "",
        "bbox=1,2,3&zoom=5",
        "bbox=47,-2,48,-1&zoom=abc",
        "bbox=47,-2,48,-1&zoom=40",
        "bbox=47,-2,48,-1&zoom=5&need=inconnu",
        "bbox=nan,1,2,3&zoom=3",
    ),
)
async def test_map_data_refuses_bad_parameters_clearly(client, sample, query):
    response = await client.get(f"/map/data.json?{query}")
    assert response.status_code == 422
    assert response.json()["fields"]


@pytest.mark.parametrize(
    ("language", "error", "zoom"),
    [
        ("en", "invalid parameters", "integer between 0 and 19"),
        ("fr", "paramètres invalides", "entier entre 0 et 19"),
    ],
)
async def test_map_data_errors_follow_accept_language(client, sample, language, error, zoom):
    response = await client.get(
        "/map/data.json?bbox=47,-2,48,-1&zoom=40", headers={"Accept-Language": language}
    )
    body = response.json()
    assert (response.status_code, body["error"], body["fields"]) == (422, error, {"zoom": zoom})
    assert response.headers["Content-Language"] == language
    bounds = await client.get(
        "/map/bounds.json?need=inconnu", headers={"Accept-Language": language}
    )
    assert (bounds.status_code, bounds.json()["error"]) == (422, error)


async def test_map_list_follows_the_view_and_filters(client, sample):
    body = (await client.get("/carte/liste?bbox=47.15,-1.7,47.25,-1.5&zoom=12", headers=HTML)).text
    assert "Épicerie solidaire du Sillon" in body
    assert "Fablab de l'estuaire" not in body  # Saint-Nazaire is outside the view
    body = (await client.get("/carte/liste?bbox=46,-3,48,-1&zoom=8&need=fracture-numerique")).text
    assert "Fablab de l" in body and "Repair Café" not in body


async def test_map_page_keeps_filters_and_configures_tiles(client, sample, settings):
    body = (await client.get("/carte?theme=alimentation", headers=HTML)).text
    assert '<option value="alimentation" selected>' in body
    assert f'data-tiles="{settings.tile_url}"' in body
    assert "data-attribution=" in body and "OpenStreetMap" in body
    assert "/assets/leaflet/leaflet.js" in body
    assert "Repair Café" not in body  # the server-rendered list follows the filter too


async def test_search_page_facets_pagination_and_sort(client, sample):
    body = (await client.get("/initiatives?per_page=2&sort=name", headers=HTML)).text
    assert "7 initiatives" in body
    assert 'aria-label="Pagination"' in body and "page=2" in body
    assert 'name="theme" value="alimentation"' in body
    page2 = (await client.get("/initiatives?per_page=2&sort=name&page=2", headers=HTML)).text
    assert '<span aria-current="page">2</span>' in page2


async def test_search_page_reports_bad_parameters_instead_of_failing(client, sample):
    response = await client.get("/initiatives?page=abc&need=nope&theme=inconnu", headers=HTML)
    assert response.status_code == 200
    assert 'role="alert"' in response.text
    assert "need" in response.text


async def test_theme_and_commune_pages(client, sample):
    theme = (await client.get("/themes/alimentation", headers=HTML)).text
    assert "2 initiatives publiées sur ce thème." in theme
    assert "Épicerie solidaire du Sillon" in theme and "Repair Café" not in theme
    assert 'href="/themes/alimentation/flux.atom"' in theme
    commune = (await client.get("/communes/44109", headers=HTML)).text
    assert "<h1>Nantes</h1>" in commune
    assert "Repair Café de Chantenay" in commune and "Fablab de l" not in commune


def _entries(xml: str) -> list[str]:
    root = ET.fromstring(xml)
    assert root.tag == f"{ATOM}feed"
    return [e.findtext(f"{ATOM}title") for e in root.findall(f"{ATOM}entry")]


async def test_atom_feeds_for_directory_theme_and_commune(client, sample):
    response = await client.get("/flux.atom")
    assert response.headers["content-type"].startswith("application/atom+xml")
    assert set(_entries(response.text)) >= {"Repair Café de Chantenay", "Ressourcerie de l'Erdre"}
    assert "Proposition en attente secrète" not in response.text
    assert set(_entries((await client.get("/themes/alimentation/flux.atom")).text)) == {
        "Épicerie solidaire du Sillon",
        "Jardin partagé des Trois-Moulins",
    }
    assert "Fablab de l'estuaire" in _entries((await client.get("/communes/44184/flux.atom")).text)
    assert (await client.get("/themes/inconnu/flux.atom")).status_code == 404


async def test_embeds_are_frameable_filtered_and_offer_a_snippet(client, sample):
    embed = await client.get("/embed/list?theme=alimentation", headers=HTML)
    assert embed.headers["content-security-policy"] == "frame-ancestors *"
    assert "Épicerie solidaire du Sillon" in embed.text and "Repair Café" not in embed.text
    assert 'target="_top"' in embed.text and "/static/js/embed.js" in embed.text
    assert '<header class="site-header"' not in embed.text
    builder = (await client.get("/integrer?widget=list&theme=alimentation", headers=HTML)).text
    assert "https://maillage.test/embed/list?theme=alimentation" in builder
    assert "embed-host.js" in builder
    map_embed = (await client.get("/embed/map?commune=44109", headers=HTML)).text
    assert 'data-embed="1"' in map_embed


async def test_static_files_and_npm_assets_are_served_locally(client):
    assert (await client.get("/static/css/maillage.css")).status_code == 200
    assert (await client.get("/static/js/map.js")).status_code == 200
    leaflet = await client.get("/assets/leaflet/leaflet.js")
    assert leaflet.status_code == 200 and "Leaflet" in leaflet.text[:500]


async def test_the_map_and_its_embed_open_on_what_the_filters_match(client, sample):
    fitted = 'data-bounds="47.185,-1.64,47.22,-1.56"'  # the two published food initiatives
    assert fitted in (await client.get("/carte?theme=alimentation", headers=HTML)).text
    assert fitted in (await client.get("/embed/map?theme=alimentation", headers=HTML)).text
    assert fitted not in (await client.get("/carte", headers=HTML)).text
    response = await client.get("/map/bounds.json?theme=alimentation")
    assert response.json() == {"bounds": [47.185, -1.64, 47.22, -1.56]}
    cycling = (await client.get("/map/bounds.json?q=Vélocampus")).json()["bounds"]
    assert cycling == [47.245, -1.555, 47.245, -1.555]
    assert (await client.get("/map/bounds.json?q=introuvablezz")).json() == {"bounds": None}
    assert (await client.get("/map/bounds.json?need=inconnu")).status_code == 422


async def test_map_page_counts_and_communes_follow_each_published_change(client, db, sample):
    body = (await client.get("/carte", headers=HTML)).text
    assert "7 initiatives" in body
    assert 'value="44184"' in body
    async with db.session() as session:
        fablab = await session.get(Initiative, sample["fablab-de-l-estuaire"].id)
        fablab.moderation_state = "withdrawn"
    body = (await client.get("/carte", headers=HTML)).text
    assert "6 initiatives" in body
    assert 'value="44184"' not in body  # its only initiative left the map
    data = (await client.get("/map/data.json?bbox=46.5,-3,48,-1&zoom=7")).json()
    assert data["total"] == 6
