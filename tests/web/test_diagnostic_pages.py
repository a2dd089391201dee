"""/diagnostic and /diagnostic.csv over HTTP (both databases)."""

from __future__ import annotations

import csv
import io
import json
from html import unescape

import pytest
from sqlalchemy import select

from directory.models import Initiative
from tests.directory.test_diagnostic import build_territory
from web.diagnostic import refresh_counts


@pytest.fixture
async def territory(db):
    async with db.session() as session:
        await build_territory(session)


async def test_page_shows_charts_tables_and_uncovered_cells(client, territory):
    response = await client.get("/diagnostic")
    assert response.status_code == 200
    html = response.text
    assert "Diagnostic territorial" in html
    # Each chart has its data table beside it, which describes it and is the no-JS view.
    for table in ("themes", "actors", "needs", "communes", "coverage", "months"):
        assert f'id="table-{table}"' in html
    assert 'data-table="table-themes"' in html and 'data-table="table-months"' in html
    assert "/assets/plot/plot.umd.min.js" in html and "/static/js/diagnostic-charts.js" in html
    assert '<svg class="chart' not in html and "<rect" not in html  # drawn in the browser
    assert 'class="num uncovered"' in html
    assert 'class="num uncovered"' in html
    assert "Population inconnue" in html and "Vertou (44215)" in html
    assert "Sans coordonnées" in html and "Rezé (44143)" in html
    assert "/static/css/diagnostic.css" in html


def chart_data(html: str) -> dict[str, list[dict]]:
    """The JSON each chart is drawn from, by chart id."""
    found = {}
    for part in html.split('<div class="chart" id="chart-')[1:]:
        name = part[: part.index('"')]
        start = part.index(">", part.index('class="chart__data"')) + 1
        found[name] = json.loads(part[start : part.index("</script>", start)])
    return found


async def test_chart_data_are_the_table_figures(client, territory):
    html = (await client.get("/diagnostic")).text
    charts = chart_data(html)
    assert set(charts) >= {"themes", "actors", "needs", "communes", "months-created"}
    themes = list(
        csv.DictReader(
            io.StringIO((await client.get("/diagnostic.csv", params={"table": "themes"})).text)
        )
    )
    expected = [
        {"label": r["label"], "value": int(r["initiatives"])}
        for r in themes
        if int(r["initiatives"])
    ]
    assert charts["themes"] == expected and expected
    communes = {c["label"]: c["value"] for c in charts["communes"]}
    assert communes["Nantes"] >= 2 and all(v > 0 for v in communes.values())
    assert sum(m["value"] for m in charts["months-created"]) >= 1


async def test_chart_libraries_are_served_by_the_instance(client):
    for path in ("/assets/d3/d3.min.js", "/assets/plot/plot.umd.min.js"):
        response = await client.get(path)
        assert response.status_code == 200 and len(response.content) > 10_000
    script = await client.get("/static/js/diagnostic-charts.js")
    assert script.status_code == 200 and "Plot.barX" in script.text


async def test_one_commune_and_remote_toggle(client, territory):
    local = await client.get("/diagnostic", params={"commune": "44215"})
    assert "1 initiative publiée" in local.text
    remote = await client.get("/diagnostic", params={"commune": "44215", "suivies": "1"})
    assert "2 initiatives publiées" in remote.text
    assert "instances suivies" in remote.text


async def test_empty_state_is_explained(client, territory):
    response = await client.get("/diagnostic", params={"need": "logement"})
    assert response.status_code == 200
    assert "Aucune initiative ne correspond à ces critères" in response.text
    assert 'id="table-themes"' not in response.text


async def test_bad_filter_is_reported_not_a_500(client, territory):
    response = await client.get("/diagnostic", params={"need": "inconnu"})
    assert response.status_code == 200
    assert "need" in response.text and "ignorés" in response.text


async def test_csv_one_table_with_filters(client, territory):
    response = await client.get(
        "/diagnostic.csv", params={"table": "communes", "theme": "alimentation"}
    )
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(response.text)))
    assert rows[0][:3] == ["insee_code", "commune", "initiatives"]
    assert {r[0]: int(r[2]) for r in rows[1:]} == {"44109": 2, "44143": 0, "44215": 0}


async def test_csv_coverage_and_all_sections(client, territory):
    coverage = await client.get("/diagnostic.csv", params={"table": "coverage"})
    rows = list(csv.reader(io.StringIO(coverage.text)))
    header = rows[0]
    reze = next(r for r in rows if r[0] == "44143")
    assert reze[header.index("isolement")] == "0" and reze[header.index("mobilite")] == "1"
    every = await client.get("/diagnostic.csv")
    sections = [line for line in every.text.splitlines() if line.startswith("# ")]
    assert sections == [
        "# themes",
        "# actor_kinds",
        "# needs",
        "# communes",
        "# coverage",
        "# months",
    ]


async def test_csv_unknown_table_is_422(client, territory):
    response = await client.get("/diagnostic.csv", params={"table": "secrets"})
    assert response.status_code == 422 and "table" in response.text


async def test_initiative_page_explains_similar_initiatives(client, db, territory):
    async with db.session() as session:
        slug = await session.scalar(
            select(Initiative.slug).where(Initiative.name == "Épicerie solidaire")
        )
    html = (await client.get(f"/initiatives/{slug}")).text
    assert "Initiatives similaires, ici et ailleurs" in html
    section = html[html.index('id="similar-title"') :]
    assert "Jardin partagé" in section
    assert "même thème : Alimentation ; même besoin : Précarité alimentaire" in section
    # Followed initiatives are candidates too, with their origin named.
    assert "sur autre.example" in section


async def test_uncovered_needs_on_a_map_with_its_table(client, territory):
    html = (await client.get("/diagnostic")).text
    # The matrix links to the map, whose data are the communes with uncovered needs
    assert 'href="#uncovered-map"' in html
    assert 'id="uncovered-map-canvas"' in html and "/static/js/diagnostic-map.js" in html
    start = html.index("data-points='") + len("data-points='")
    points = json.loads(unescape(html[start : html.index("'", start)]))
    by_code = {p["code"]: p for p in points}
    # Rezé has no coordinates: in the table, said to be absent from the map
    assert set(by_code) == {"44109", "44215"}
    assert "Isolement" not in by_code["44109"]["needs"]  # covered in Nantes
    assert "Mobilité" in by_code["44215"]["needs"]  # Vertou's is paused
    table = html[html.index('id="table-uncovered"') :]
    assert "Rezé (44143)" in table and "absente de la carte" in table
    assert "Données de l'annuaire au" in html


async def test_worker_task_recounts_changed_communes(db, territory):
    assert await refresh_counts(db) >= 1
    assert await refresh_counts(db) == 0
