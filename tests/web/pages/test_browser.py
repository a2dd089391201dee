"""The public site in headless Chromium: map clusters, filters, list, initiative, axe-core."""

from __future__ import annotations

import re

import pytest

from tests.web.pages.conftest import axe_source

pytestmark = pytest.mark.browser

PUBLIC_PAGES = (
    ("home", "/"),
    ("home-en", "/?lang=en"),
    ("map", "/carte"),
    ("list", "/initiatives"),
    ("search", "/initiatives?q=vélo&theme=mobilite"),
    ("initiative", "/initiatives/repair-cafe-de-chantenay"),
    ("initiative-remote", "/initiatives/ressourcerie-de-l-erdre"),
    ("history", "/initiatives/repair-cafe-de-chantenay/historique"),
    ("themes", "/themes"),
    ("theme", "/themes/alimentation"),
    ("commune", "/communes/44109"),
    ("embed-builder", "/integrer?theme=alimentation"),
    ("embed-map", "/embed/map?commune=44109"),
    ("embed-list", "/embed/list?theme=reemploi-reparation"),
    ("accessibility", "/accessibilite"),
    ("not-found", "/initiatives/nexiste-pas"),
)


async def wait_map_ready(page) -> None:
    await page.wait_for_selector("#map[data-state='ready']", timeout=10_000)


async def test_map_shows_clusters_and_the_list_follows_the_theme_filter(page, artifacts):
    # Given the map of a territory with ~200 initiatives
    await page.goto("/carte")
    await wait_map_ready(page)
    clusters = await page.locator(".cluster-icon").count()
    assert clusters >= 2
    counts = [
        int(re.sub(r"\D", "", t)) for t in await page.locator(".cluster-icon").all_inner_texts()
    ]
    assert sum(counts) > 50  # clusters group many initiatives each
    await page.screenshot(path=str(artifacts / "map.png"))
    before = await page.locator("#map-count").inner_text()

    # When the visitor chooses the theme "Alimentation"
    async with page.expect_response(
        lambda r: "/carte/liste" in r.url and "theme=alimentation" in r.url
    ):
        await page.select_option("#map-theme", "alimentation")
    await wait_map_ready(page)

    # Then the URL keeps the filter, and the list beside the map follows
    assert "theme=alimentation" in page.url
    after = await page.locator("#map-count").inner_text()
    assert after != before
    names = await page.locator(".map-list li a").all_inner_texts()
    assert "Épicerie solidaire du Sillon" in names or "Jardin partagé des Trois-Moulins" in names
    assert "Repair Café de Chantenay" not in names
    await page.screenshot(path=str(artifacts / "map-filtered.png"))

    # And reloading the URL restores the filter
    await page.reload()
    await wait_map_ready(page)
    assert await page.locator("#map-theme").input_value() == "alimentation"


async def test_the_first_clusters_come_from_the_early_request_and_filters_refit(page):
    data_requests = []
    page.on("request", lambda r: "/map/data.json" in r.url and data_requests.append(r.url))
    await page.goto("/carte")
    await wait_map_ready(page)
    # map-early.js asked for the very view Leaflet opened on: no second request.
    assert len(data_requests) == 1
    assert await page.evaluate("performance.getEntriesByName('maillage:first-clusters').length")
    zoom_before = int((await page.evaluate("location.hash")).split("/")[0][1:])

    # Choosing a theme fits the map to what it matches: two initiatives 5 km apart.
    async with page.expect_response(lambda r: "/map/bounds.json" in r.url):
        await page.select_option("#map-theme", "alimentation")
    await page.wait_for_function(f"!location.hash.startsWith('#{zoom_before}/')")
    await wait_map_ready(page)
    assert int((await page.evaluate("location.hash")).split("/")[0][1:]) > zoom_before
    assert await page.locator(".point-icon, .cluster-icon").count() >= 1


async def test_clicking_a_cluster_zooms_in_until_single_initiatives(page):
    await page.goto("/carte?commune=44109")
    await wait_map_ready(page)
    for _ in range(8):
        if await page.locator(".point-icon").count():
            break
        zoom_before = await page.evaluate("location.hash")
        await page.locator(".cluster-icon").first.click()
        await page.wait_for_function(f"location.hash !== {zoom_before!r}")
        await wait_map_ready(page)
    assert await page.locator(".point-icon").count() >= 1


async def test_a_visitor_opens_an_initiative_from_the_list(page, artifacts):
    await page.goto("/carte?q=repair")
    await wait_map_ready(page)
    link = page.locator(".map-list a", has_text="Repair Café de Chantenay")
    await link.click()
    await page.wait_for_url("**/initiatives/repair-cafe-de-chantenay")
    assert await page.locator("h1").inner_text() == "Repair Café de Chantenay"
    assert await page.locator("#initiative-map .leaflet-tile-loaded").count() >= 1
    og = await page.locator("meta[property='og:title']").get_attribute("content")
    assert og == "Repair Café de Chantenay"
    await page.screenshot(path=str(artifacts / "initiative.png"), full_page=True)


async def test_the_map_and_filters_work_with_the_keyboard(page):
    await page.goto("/carte")
    await page.keyboard.press("Tab")
    focused = await page.evaluate("document.activeElement.className")
    assert "skip-link" in focused
    await page.keyboard.press("Enter")
    assert await page.evaluate("document.activeElement.id") == "contenu"
    await wait_map_ready(page)
    # The filters come before the map in the focus order, each with a label.
    await page.focus("#map-theme")
    await page.keyboard.press("ArrowDown")
    await page.wait_for_function("location.search.includes('theme=')")
    # The map takes the focus and pans with the arrow keys.
    await page.focus("#map")
    hash_before = await page.evaluate("location.hash")
    await page.keyboard.press("ArrowRight")
    await page.wait_for_function(f"location.hash !== {hash_before!r}")


@pytest.mark.parametrize(("name", "path"), PUBLIC_PAGES)
async def test_public_pages_have_no_serious_accessibility_violation(page, artifacts, name, path):
    response = await page.goto(path)
    assert response.status == (404 if name == "not-found" else 200)
    if path.startswith(("/carte", "/embed/map")):
        await wait_map_ready(page)
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
    await page.screenshot(path=str(artifacts / f"page-{name}.png"), full_page=True)
    assert bad == []
