"""CSV (mapping step, delimiters, encodings) and GeoJSON imports."""

from __future__ import annotations

import orjson
import pytest
from sqlalchemy import select

from directory.imports import csv
from directory.imports.records import ParseError
from directory.models import Initiative

FRENCH = (
    "\ufeffNom;Résumé;Adresse;Code postal;Ville;Latitude;Longitude;Site web;Courriel;Thèmes\n"
    "Repair café;Réparer ensemble;2 rue Basse;79000;Niort;46,32;-0,46;repair.example.org;"
    "rc@example.org;Réparation, Vélo\n"
    "AMAP du marais;;;79000;Niort;;;;;Alimentation\n"
)
ENGLISH = "id,name,city,lat,lng,website\n7,Tool library,Niort,46.3,-0.45,https://t.example\n"


def test_headers_are_recognised_in_french_and_english():
    plan, _ = csv.read(FRENCH.encode())
    assert plan.delimiter == ";"
    assert plan.mapping == {
        "name": "Nom",
        "summary": "Résumé",
        "street": "Adresse",
        "postal_code": "Code postal",
        "city": "Ville",
        "latitude": "Latitude",
        "longitude": "Longitude",
        "website": "Site web",
        "email": "Courriel",
        "categories": "Thèmes",
    }
    plan, _ = csv.read(ENGLISH.encode())
    assert plan.delimiter == ","
    assert plan.mapping["source_id"] == "id" and plan.mapping["longitude"] == "lng"


def test_overrides_change_the_mapping_and_unknown_columns_are_refused():
    raw = "Intitulé;Commune\nLa Fabrique;Niort\n".encode()
    with pytest.raises(ParseError, match="nom de l'initiative"):
        csv.read(raw)
    plan, _ = csv.read(raw, {"name": "Intitulé"})
    assert plan.mapping == {"name": "Intitulé", "city": "Commune"}
    with pytest.raises(ParseError, match="absente"):
        csv.read(raw, {"name": "Nope"})


def test_a_csv_is_streamed_and_falls_back_to_windows_1252_past_the_first_chunk(tmp_path):
    # Valid UTF-8 for well over one read, then one Windows-1252 byte: the whole file is
    # decoded again as Windows-1252, from the start (as when it was decoded whole).
    lines = ["nom;ville\n"] + [f"Atelier {n};Niort\n" for n in range(20_000)]
    path = tmp_path / "big.csv"
    path.write_bytes("".join(lines).encode() + "Caf\xe9 final;Niort\n".encode("cp1252"))
    assert path.stat().st_size > 4 * csv.CHUNK

    with path.open("rb") as file:
        plan, rows = csv.open_file(file)
        assert (plan.encoding, plan.delimiter, plan.headers, plan.rows) == (
            "windows-1252",
            ";",
            ["nom", "ville"],
            20_001,
        )
        records = list(csv.records(plan, rows))
    assert len(records) == 20_001
    assert records[0].position == 2 and records[0].fields["name"] == "Atelier 0"
    assert records[-1].fields["name"] == "Café final"

    path.write_bytes("".join(lines).encode())
    with path.open("rb") as file:
        plan, rows = csv.open_file(file)
        assert (plan.encoding, plan.rows) == ("utf-8", 20_000)
        assert sum(1 for _ in rows) == 20_000


async def test_french_csv_with_bom_imports(db, run_import):
    job = await run_import("csv", FRENCH.encode("utf-8"))

    assert job.state == "done", job.error
    assert (job.report["created"], job.report["rejected_count"]) == (2, 0)
    async with db.session() as session:
        rc = await session.scalar(select(Initiative).where(Initiative.name == "Repair café"))
    assert (rc.latitude, rc.longitude) == (46.32, -0.46)
    assert rc.website == "http://repair.example.org"
    assert {t.slug for t in rc.themes} == {"reemploi-reparation", "mobilite"}
    assert [r["name"] for r in job.report["without_coordinates"]] == ["AMAP du marais"]


async def test_csv_without_id_reimports_idempotently(db, run_import):
    await run_import("csv", FRENCH.encode())
    again = await run_import("csv", FRENCH.encode())
    assert (again.report["created"], again.report["unchanged"]) == (0, 2)


async def test_short_rows_are_kept_with_a_warning(db, run_import):
    job = await run_import("csv", b"nom,ville,site\nA,Niort\nB,Niort,https://b.example\n")
    assert job.report["created"] == 2
    assert "2 colonnes au lieu de 3" in job.report["warnings"][0]["warnings"][0]


async def test_geojson_feature_collection(db, run_import):
    document = {
        "type": "FeatureCollection",
        "features": [
            {
                "type": "Feature",
                "id": "f1",
                "geometry": {"type": "Point", "coordinates": [-0.46, 46.32]},
                "properties": {"nom": "Ressourcerie", "ville": "Niort", "categories": ["Réemploi"]},
            },
            {
                "type": "Feature",
                "geometry": {
                    "type": "Polygon",
                    "coordinates": [[[-0.5, 46.3], [-0.4, 46.3], [-0.4, 46.4], [-0.5, 46.3]]],
                },
                "properties": {"name": "Jardin partagé", "id": "g2"},
            },
            {"type": "Feature", "geometry": None, "properties": {"city": "Niort"}},
        ],
    }
    job = await run_import("geojson", orjson.dumps(document))

    assert (job.report["created"], job.report["rejected_count"]) == (2, 1)
    assert job.report["rejected"][0]["reason"] == "nom manquant"
    async with db.session() as session:
        ressourcerie = await session.scalar(select(Initiative).where(Initiative.source_id == "f1"))
        jardin = await session.scalar(select(Initiative).where(Initiative.source_id == "g2"))
    assert (ressourcerie.latitude, ressourcerie.longitude) == (46.32, -0.46)
    assert [t.slug for t in ressourcerie.themes] == ["reemploi-reparation"]
    assert jardin.latitude == pytest.approx(46.325)


async def test_geojson_members_in_any_order_and_a_lone_feature(db, run_import):
    feature = {"type": "Feature", "id": "a", "properties": {"nom": "Amap"},
               "geometry": {"type": "Point", "coordinates": [-0.46, 46.32]}}  # fmt: skip
    collection = {"features": [feature], "name": "couche", "type": "FeatureCollection"}

    first = await run_import("geojson", orjson.dumps(collection), source="c")
    lone = await run_import("geojson", orjson.dumps({**feature, "id": "b"}), source="f")

    assert (first.state, first.total, first.report["created"]) == ("done", 1, 1)
    assert (lone.state, lone.total, lone.report["created"]) == ("done", 1, 1)


async def test_not_geojson(db, run_import):
    job = await run_import("geojson", b'{"type": "Feature"')
    assert job.state == "failed" and "JSON illisible" in job.error
