"""Contribution and moderation in headless Chromium, against uvicorn on loopback.

A new visitor proposes an initiative anonymously (commune typed, pin placed on the map); a
moderator signs in, reads the diff, approves; the initiative is then on the map and in the
Atom feed. axe-core runs on every contribution and administration page.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from directory import contributions, people
from directory.db import Database
from directory.initiatives import Author, get_initiative
from federation import follows, instances
from tests.web.contribute.conftest import PASSWORD
from tests.web.contribute.remote import record_contact
from tests.web.pages.conftest import artifacts, axe_source, browser  # noqa: F401 (fixtures)
from tests.web.pages.live import LiveServer
from tests.web.pages.sample import populate
from web.migrate import upgrade

pytestmark = pytest.mark.browser

NAME = "Atelier vélo des Couëts"
MODERATOR = "moderatrice@example.org"
ADMIN = "admin@example.org"


async def federation_state(session) -> None:
    """Instances in every state, so the federation page shows what an admin will see."""
    await instances.set_trust(session, "erdre.example", "publish")
    await record_contact(session, "erdre.example")
    await follows.add_following(
        session,
        remote_actor_uri="https://erdre.example/actors/erdre",
        remote_host="erdre.example",
        inbox="https://erdre.example/inbox",
        follow_id="https://maillage.test/activities/follow-erdre",
    )
    following = await follows.get_following(session, "https://erdre.example/actors/erdre")
    await follows.mark_following(session, following, "accepted")
    await follows.add_follower(
        session,
        actor_name="territoire",
        remote_actor_uri="https://pays-de-la-loire.example/actors/region",
        remote_host="pays-de-la-loire.example",
        inbox="https://pays-de-la-loire.example/inbox",
    )
    await record_contact(
        session, "panne.example", error="HTTP 503 (Service Unavailable) après 4 tentatives"
    )
    await instances.block_domain(session, "spam.example", "Publicités en masse")


@pytest.fixture(scope="module")
async def site(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[LiveServer]:
    """An instance with the sample directory, a moderator and an admin, on a free port."""
    folder = tmp_path_factory.mktemp("contribute-live")
    url = f"sqlite+aiosqlite:///{folder / 'live.sqlite3'}"
    await upgrade(url)
    database = Database(url)
    async with database.session() as session:
        sample = await populate(session)
        ids = {"proposal": next(i.id for i in sample.values() if i.moderation_state == "proposed")}
        await people.create_person(
            session, email=MODERATOR, password=PASSWORD, role="moderator", display_name="Maud"
        )
        await people.create_person(session, email=ADMIN, password=PASSWORD, role="admin")
        jardin = await get_initiative(session, "jardin-partage-des-trois-moulins")
        submitted = await contributions.propose_correction(
            session,
            jardin,
            {"opening_hours": "We 14:00-18:00"},
            author=Author(None, "anonyme"),
            proposer_email="voisine@example.org",
            message="Horaires affichés sur le portail",
        )
        ids["correction"] = submitted.correction.id
        await federation_state(session)
    await database.dispose()
    # The minimum fill time is for people; the browser types faster than any.
    with LiveServer(url, folder, extra={"min_fill_seconds": "0"}) as server:
        server.ids = ids
        yield server


@pytest.fixture
async def tab(browser, site: LiveServer) -> AsyncIterator[object]:  # noqa: F811
    context = await browser.new_context(
        viewport={"width": 1280, "height": 900}, locale="fr-FR", base_url=site.url
    )
    outside: list[str] = []

    async def only_loopback(route) -> None:
        if route.request.url.startswith(site.url):
            await route.continue_()
        else:
            outside.append(route.request.url)
            await route.abort()

    await context.route("**/*", only_loopback)
    page = await context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    yield page
    await context.close()
    assert not outside, f"requests outside the instance: {outside}"
    assert not errors, f"JavaScript errors: {errors}"


async def check_accessibility(page, artifacts: Path, name: str) -> None:  # noqa: F811
    """axe-core in the page: no serious or critical violation; keep a screenshot."""
    await page.screenshot(path=str(artifacts / f"contribute-{name}.png"), full_page=True)
    await page.add_script_tag(content=axe_source())
    result = await page.evaluate(
        """async () => await axe.run(document, {
            runOnly: {type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'best-practice']}
        })"""
    )
    bad = [
        (v["id"], v["impact"], [n["target"] for n in v["nodes"]][:3])
        for v in result["violations"]
        if v["impact"] in ("serious", "critical")
    ]
    assert bad == [], name


async def sign_in(page, email: str) -> None:
    await page.goto("/connexion")
    await page.fill("#f-email", email)
    await page.fill("#f-password", PASSWORD)
    await page.click("button[type=submit] >> text=Se connecter")


async def test_visitor_proposes_then_moderator_approves_and_it_is_published(
    tab,
    artifacts,  # noqa: F811
):
    page = tab
    # Given a new visitor on the proposal form
    await page.goto("/proposer")
    await page.wait_for_selector("#pin-map .leaflet-tile-loaded")
    await check_accessibility(page, artifacts, "propose")

    # When they describe the initiative, type their commune and place the pin on the map
    await page.fill("#f-name", NAME)
    await page.fill("#f-summary", "Réparer son vélo soi-même, avec des bénévoles")
    await page.fill("#f-description", "Ouvert à toutes et tous, **sans inscription**.")
    await page.check("#f-themes-mobilite")
    await page.check("#f-themes-reemploi-reparation")
    await page.check("#f-actor_kinds-association")
    await page.check("#f-needs-mobilite")
    await page.type("#f-city", "Rez", delay=30)
    # The instance suggests its communes; choosing one fills the hidden INSEE code.
    await page.wait_for_function(
        "[...document.querySelectorAll('#f-city-options option')].some(o => o.value === 'Rezé (44400)')"
    )
    await page.fill("#f-city", "Rezé (44400)")
    assert await page.input_value("#f-insee_code") == "44143"
    assert await page.input_value("#f-city") == "Rezé"
    assert await page.input_value("#f-postal_code") == "44400"
    await page.click("#pin-map", position={"x": 420, "y": 120})
    lat, lon = (
        float(await page.input_value("#f-latitude")),
        float(await page.input_value("#f-longitude")),
    )
    assert abs(lat - 47.18) < 0.05 and abs(lon + 1.55) < 0.05  # near Rezé, moved by the click
    await page.fill("#f-website", "https://velo.example.org")
    await page.fill("#f-proposer_email", "camille@example.org")
    await page.screenshot(path=str(artifacts / "contribute-propose-filled.png"), full_page=True)
    await page.click("button[type=submit] >> text=Envoyer ma proposition")

    # Then they see thanks and their private status link
    await page.wait_for_url(re.compile(r"/suivi/[\w-]+\?nouveau=1$"))
    assert "Merci" in await page.locator("main").inner_text()
    status_link = await page.input_value("#status-link")
    assert "Proposée" in await page.locator(".status-facts").inner_text()
    await check_accessibility(page, artifacts, "status")

    # When a moderator signs in
    await sign_in(page, MODERATOR)
    await page.wait_for_url("**/moderation")
    assert NAME in await page.locator("table.queue").inner_text()
    await check_accessibility(page, artifacts, "queue")

    # Then they see the proposal's fields as a diff
    await page.click(f"text={NAME}")
    await page.wait_for_url(re.compile(r"/moderation/propositions/\d+$"))
    diff = await page.locator("table.diff").inner_text()
    for expected in (
        NAME,
        "Mobilité",
        "Réemploi et réparation",
        "Rezé",
        "https://velo.example.org",
    ):
        assert expected in diff
    assert "camille@example.org" in await page.locator("header.page-header").inner_text()
    await check_accessibility(page, artifacts, "proposal")

    # When they approve it
    await page.fill("#approve-message", "Merci, c'est en ligne !")
    await page.click("text=Publier l'initiative")
    await page.wait_for_url("**/moderation")
    assert "proposition publiée" in await page.locator(".alert--success").inner_text()

    # Then the initiative is on the map (and its list), and in the Atom feed
    await page.goto("/carte?q=Couëts")
    await page.wait_for_selector("#map[data-state='ready']", timeout=10_000)
    assert NAME in await page.locator(".map-list").inner_text()
    assert await page.locator(".point-icon, .cluster-icon").count() >= 1
    await page.screenshot(path=str(artifacts / "contribute-on-the-map.png"))
    feed = await page.request.get("/flux.atom")
    assert feed.ok and NAME in await feed.text()

    # And the proposer's private link says it is published, with the moderator's message
    await page.goto(status_link)
    text = await page.locator("main").inner_text()
    assert "Publiée" in text and "Merci, c'est en ligne !" in text


async def test_refused_form_shows_errors_beside_fields_and_keeps_input(
    tab,
    artifacts,  # noqa: F811
):
    page = tab
    await page.goto("/proposer")
    await page.fill("#f-summary", "Un résumé gardé")
    await page.fill("#f-website", "pas une adresse")
    await page.click("button[type=submit] >> text=Envoyer ma proposition")

    await page.wait_for_selector("#erreurs")
    assert await page.evaluate("document.activeElement.id") == "erreurs"
    assert await page.input_value("#f-summary") == "Un résumé gardé"
    assert await page.input_value("#f-website") == "pas une adresse"
    assert "obligatoire" in await page.locator("#f-name-error").inner_text()
    assert await page.get_attribute("#f-name", "aria-invalid") == "true"
    # The summary's links lead to the fields.
    await page.click("#erreurs a[href='#f-name']")
    assert page.url.endswith("#f-name")
    await check_accessibility(page, artifacts, "propose-errors")


@pytest.mark.parametrize(
    ("name", "path", "who"),
    [
        ("login", "/connexion", None),
        ("signup", "/inscription", None),
        ("correction-form", "/initiatives/repair-cafe-de-chantenay/correction", None),
        ("my-proposals", "/mes-propositions", MODERATOR),
        ("correction-review", "/moderation/corrections/{correction}", MODERATOR),
        ("proposal-edit", "/moderation/propositions/{proposal}?modifier=1", MODERATOR),
        ("history", "/moderation/historique/jardin-partage-des-trois-moulins", MODERATOR),
        ("admin", "/admin", ADMIN),
        ("accounts", "/admin/comptes", ADMIN),
        ("settings", "/admin/parametres", ADMIN),
        ("federation", "/admin/federation", ADMIN),
        ("logout", "/deconnexion", ADMIN),
        ("privacy", "/confidentialite", None),
        ("account", "/compte", MODERATOR),
        # The same pages in English: labels and error texts of another length.
        ("login-en", "/connexion?lang=en", None),
        ("propose-en", "/proposer?lang=en", None),
        ("account-en", "/compte?lang=en", MODERATOR),
        ("proposal-edit-en", "/moderation/propositions/{proposal}?modifier=1&lang=en", MODERATOR),
        ("accounts-en", "/admin/comptes?lang=en", ADMIN),
    ],
)
async def test_contribution_and_admin_pages_are_accessible(
    tab,
    site,
    artifacts,  # noqa: F811
    name,
    path,
    who,
):
    page = tab
    path = path.format(**site.ids)
    if who:
        await sign_in(page, who)
        await page.wait_for_load_state()
    response = await page.goto(path)
    assert response.status == 200, path
    if await page.locator("#pin-map").count():
        await page.wait_for_selector("#pin-map .leaflet-tile-loaded")
    await check_accessibility(page, artifacts, name)
