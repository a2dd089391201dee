"""Exports: each format, filters, licence, no private field, round trip through GoGoCarto."""

from __future__ import annotations

import csv
import io

import orjson
import pytest
from sqlalchemy import select

from directory import initiatives
from directory.exports import ExportContext, stream_export
from directory.imports import gogocarto
from directory.initiatives import Author
from directory.models import Initiative
from directory.search import SearchQuery

CONTEXT = ExportContext(
    base_url="https://maillage.test",
    instance_name="Niort",
    licence="Licence Ouverte 2.0",
    licence_url="https://www.etalab.gouv.fr/licence-ouverte-open-licence/",
)
SECRET_EMAIL = "proposeuse-secrete@example.org"
SECRET_NOTE = "note de modération confidentielle"
ADMIN = Author(None, "test")


@pytest.fixture
async def directory(db):
    async with db.session() as session:
        first = await initiatives.create_initiative(
            session,
            {
                "name": "Repair café =SUM(A1)",
                "summary": '=HYPERLINK("http://evil.example")',
                "description": "Tous les **samedis**",
                "themes": ["reemploi-reparation"],
                "street": "2 rue Basse",
                "postal_code": "79000",
                "city": "Niort",
                "latitude": 46.32,
                "longitude": -0.46,
                "website": "https://repair.example.org",
                "email": "contact@repair.example.org",
                "phone": "+33 5 49 00 00 00",
                "opening_hours": "Sa 10:00-12:00",
            },
            author=ADMIN,
            moderation_state="published",
            proposer_email=SECRET_EMAIL,
        )
        first.moderation_note = SECRET_NOTE
        await initiatives.create_initiative(
            session,
            {"name": "AMAP du marais", "themes": ["alimentation"], "city": "Coulon"},
            author=ADMIN,
            moderation_state="published",
        )
        await initiatives.create_initiative(
            session, {"name": "Proposition en attente"}, author=ADMIN, proposer_email=SECRET_EMAIL
        )
    return db


async def export(db, fmt: str, query: SearchQuery | None = None) -> bytes:
    return b"".join(
        [chunk async for chunk in stream_export(db, fmt, query or SearchQuery(), CONTEXT)]
    )


@pytest.mark.parametrize("fmt", ["csv", "geojson", "jsonld", "gogocarto"])
async def test_exports_hold_only_public_published_records_and_the_licence(directory, fmt):
    body = await export(directory, fmt)
    text = body.decode("utf-8-sig")

    assert SECRET_EMAIL not in text and SECRET_NOTE not in text
    assert "proposer" not in text and "moderation" not in text
    assert "Proposition en attente" not in text
    assert "Repair café" in text and "AMAP du marais" in text
    assert CONTEXT.licence_url in text


async def test_csv_has_bom_semicolons_and_no_formula(directory):
    body = await export(directory, "csv")

    assert body.startswith(b"\xef\xbb\xbf")
    rows = list(csv.DictReader(io.StringIO(body.decode("utf-8-sig")), delimiter=";"))
    assert [r["name"] for r in rows] == ["Repair café =SUM(A1)", "AMAP du marais"]
    repair = rows[0]
    assert repair["summary"].startswith("'=HYPERLINK")
    assert repair["themes"] == "reemploi-reparation"
    assert repair["phone"] == "+33 5 49 00 00 00"
    assert (repair["latitude"], repair["longitude"]) == ("46.32", "-0.46")


def test_formula_cells_are_neutralised():
    from directory.exports import _cell

    assert _cell("=HYPERLINK(1)") == "'=HYPERLINK(1)"
    assert _cell("@SUM(1)") == "'@SUM(1)"
    assert _cell("-0.46") == "-0.46"
    assert _cell("Repair") == "Repair"


async def test_geojson_and_jsonld_shapes(directory):
    geo = orjson.loads(await export(directory, "geojson"))
    assert geo["type"] == "FeatureCollection" and len(geo["features"]) == 2
    point = geo["features"][0]
    assert point["geometry"] == {"type": "Point", "coordinates": [-0.46, 46.32]}
    assert geo["features"][1]["geometry"] is None
    ld = orjson.loads(await export(directory, "jsonld"))
    assert ld["@context"] == "https://schema.org" and ld["license"] == CONTEXT.licence_url
    assert ld["dataFeedElement"][0]["geo"]["latitude"] == 46.32
    assert ld["dataFeedElement"][0]["address"]["addressLocality"] == "Niort"


async def test_filters_are_the_site_filters(directory):
    body = await export(directory, "geojson", SearchQuery(themes=("alimentation",)))
    names = [f["properties"]["name"] for f in orjson.loads(body)["features"]]
    assert names == ["AMAP du marais"]
    empty = orjson.loads(await export(directory, "gogocarto", SearchQuery(themes=("sante",))))
    assert empty["data"] == []


async def test_gogocarto_export_imports_back(directory, run_import):
    body = await export(directory, "gogocarto")

    job = await run_import("gogocarto", body, source="roundtrip")

    assert (job.state, job.report["created"], job.report["rejected_count"]) == ("done", 2, 0)
    async with directory.session() as session:
        originals = {
            i.name: i
            for i in await session.scalars(select(Initiative).where(Initiative.source.is_(None)))
        }
        copies = list(
            await session.scalars(select(Initiative).where(Initiative.source == "roundtrip"))
        )
        for copy in copies:
            original = originals[copy.name]
            before = initiatives.field_values(original)
            after = initiatives.field_values(copy)
            assert after == before, initiatives.diff(before, after)
    assert [e.source_id for e in gogocarto.parse(body) if hasattr(e, "fields")]
