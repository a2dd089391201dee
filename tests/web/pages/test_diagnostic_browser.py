"""/diagnostic in headless Chromium: charts and their tables, the uncovered-needs map,
filters kept in the URL, CSV download, axe-core."""

from __future__ import annotations

import json

import pytest

from tests.web.pages.conftest import axe_source

pytestmark = pytest.mark.browser


async def wait_uncovered_map(page) -> None:
    await page.wait_for_selector("#uncovered-map-canvas[data-state='ready']", timeout=10_000)


async def test_diagnostic_charts_tables_map_and_csv(page, artifacts):
    # Given the diagnostic of the whole territory
    response = await page.goto("/diagnostic")
    assert response.status == 200
    await wait_uncovered_map(page)

    # Then each chart is drawn by Observable Plot: one hatched bar per row of its data,
    # the value written beside each bar, the labels in clear, described by its table
    await page.wait_for_selector("#chart-themes[data-state='ready']", timeout=10_000)
    charts = page.locator(".chart svg[role='img']")
    assert await charts.count() == await page.locator(".chart[data-table]").count() >= 5
    for chart in ("themes", "actors", "needs", "communes", "months-created"):
        el = page.locator(f"#chart-{chart}")
        svg = el.locator("svg")
        data = json.loads(await el.locator("script.chart__data").text_content())
        assert await svg.get_attribute("class") and "plot-" in await svg.get_attribute("class")
        assert await svg.get_attribute("aria-label") == await el.get_attribute("data-title")
        table = await svg.get_attribute("aria-describedby")
        assert table.startswith("table-") and await page.locator(f"#{table}").is_visible()
        bars = svg.locator("g[data-mark='bar'] rect")
        assert await bars.count() == len(data)
        fill = await svg.locator("g[data-mark='bar']").get_attribute("fill")
        assert fill == f"url(#hatch-chart-{chart})"
        assert await svg.locator(f"pattern#hatch-chart-{chart}").count() == 1
        values = await svg.locator("g[data-mark='text'] text").all_text_contents()
        assert [v.replace("\u202f", "").replace("\xa0", "") for v in values] == [
            str(row["value"]) for row in data
        ]
        ticks = await svg.locator("g[data-mark='y-axis tick label'] text").all_text_contents()
        assert ticks == [
            row["label"][:33] + "…" if len(row["label"]) > 34 else row["label"] for row in data
        ]
    box = await charts.first.bounding_box()
    assert box and box["width"] > 100 and box["height"] > 40
    for table in ("themes", "actors", "needs", "communes", "coverage", "months"):
        assert await page.locator(f"#table-{table}").is_visible()
    chart_box = await page.locator("#chart-themes svg").bounding_box()
    table_box = await page.locator("#table-themes").bounding_box()
    assert table_box["x"] > chart_box["x"] + chart_box["width"] - 1  # side by side

    # And the uncovered needs are on the map, each commune marked with how many
    markers = page.locator(".uncovered-icon")
    assert await markers.count() >= 1
    assert (await markers.first.inner_text()).strip().isdigit()
    assert await page.locator("#uncovered-map-canvas .leaflet-tile-loaded").count() >= 1
    rows = await page.locator("#table-uncovered tbody tr").count()
    assert rows >= await markers.count()
    await markers.first.click()
    await page.wait_for_selector(".leaflet-popup-content li")

    # And the matrix links to the map
    await page.locator("#coverage a[href='#uncovered-map']").click()
    await page.wait_for_function("location.hash === '#uncovered-map'")

    # And the CSV link downloads the same data
    href = await page.locator("#themes a[download]").get_attribute("href")
    assert href.startswith("/diagnostic.csv?") and "table=themes" in href
    csv = await page.request.get(href)
    assert csv.ok and csv.headers["content-type"].startswith("text/csv")
    assert (await csv.text()).splitlines()[0].startswith("theme,label,initiatives")
    await page.screenshot(path=str(artifacts / "diagnostic.png"), full_page=True)


async def test_diagnostic_charts_render_identically(page, artifacts):
    # The same data draw the same chart, to the pixel, from one load to the next
    drawn = []
    for _ in range(2):
        await page.goto("/diagnostic?lang=en")
        await page.wait_for_selector("#chart-needs[data-state='ready']", timeout=10_000)
        svg = page.locator("#chart-needs svg")
        drawn.append((await svg.evaluate("e => e.outerHTML"), await svg.screenshot()))
    assert drawn[0] == drawn[1]
    assert 'aria-label="Initiatives by need"' in drawn[0][0]
    (artifacts / "diagnostic-chart-needs.png").write_bytes(drawn[0][1])


async def test_diagnostic_prints_charts_with_their_tables(page, artifacts):
    await page.goto("/diagnostic")
    await page.wait_for_selector("#chart-themes[data-state='ready']", timeout=10_000)
    await page.emulate_media(media="print")
    # The print stylesheet keeps each chart and its table, and drops the filters
    assert await page.locator("#chart-themes svg").is_visible()
    assert await page.locator("#table-themes").is_visible()
    assert not await page.locator(".diagnostic__filters").is_visible()
    assert await page.locator(".print-only").first.is_visible()
    await page.screenshot(path=str(artifacts / "diagnostic-print.png"), full_page=True)
    pdf = await page.pdf(format="A4")
    assert pdf.startswith(b"%PDF")
    (artifacts / "diagnostic.pdf").write_bytes(pdf)


async def test_diagnostic_filters_live_in_the_url(page, artifacts):
    await page.goto("/diagnostic")
    await wait_uncovered_map(page)
    before = await page.locator(".page-header .lead").inner_text()

    # When the visitor chooses a commune and a theme and shows the diagnostic
    await page.select_option("#d-commune", "44109")
    await page.select_option("#d-theme", "alimentation")
    async with page.expect_navigation():
        await page.locator(".diagnostic__filters button[type='submit']").click()

    # Then the URL holds the filters, the figures change, and a reload keeps them
    assert "commune=44109" in page.url and "theme=alimentation" in page.url
    after = await page.locator(".page-header .lead").inner_text()
    assert after != before
    assert "Nantes" in await page.locator("h1").inner_text()
    csv_href = await page.locator(".diagnostic__filters a[download]").get_attribute("href")
    assert "commune=44109" in csv_href and "theme=alimentation" in csv_href
    await page.reload()
    assert await page.locator("#d-theme").input_value() == "alimentation"
    assert await page.locator("#d-commune").input_value() == "44109"
    await page.screenshot(path=str(artifacts / "diagnostic-filtered.png"), full_page=True)


async def test_diagnostic_has_no_serious_accessibility_violation(page, artifacts):
    await page.goto("/diagnostic")
    await wait_uncovered_map(page)
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
    await page.screenshot(path=str(artifacts / "page-diagnostic.png"), full_page=True)
    assert bad == []
