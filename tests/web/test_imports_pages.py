"""Admin pages for imports and duplicates, and the public open-data downloads."""

from __future__ import annotations

import csv
import io
import re
from pathlib import Path

import orjson
import pytest
from sqlalchemy import select

from directory import initiatives, people
from directory.imports.models import CategoryMapping, ImportJob
from directory.initiatives import Author
from directory.models import Initiative

DATA = Path("/work/shared/data")
SECRET = "proposeur-prive@example.org"


async def _person(db, role: str) -> str:
    async with db.session() as session:
        person = await people.create_person(
            session, email=f"{role}@example.org", password="mot de passe solide 123", role=role
        )
        return await people.issue_token(session, person, "test")


@pytest.fixture
async def admin(client, db):
    """The client, signed in as an admin (bearer token), with the page's CSRF token."""
    token = await _person(db, "admin")
    client.headers["Authorization"] = f"Bearer {token}"
    return client


async def csrf(client, path: str) -> str:
    page = await client.get(path)
    assert page.status_code == 200, page.text
    return re.search(r'name="csrf_token" value="([^"]+)"', page.text)[1]


async def test_import_pages_need_an_admin(client, db):
    assert (await client.get("/admin/imports")).status_code == 401
    token = await _person(db, "contributor")
    response = await client.get("/admin/imports", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 403


async def test_upload_gogocarto_runs_and_reports(admin, db):
    token = await csrf(admin, "/admin/imports")
    raw = (DATA / "gogocarto-sample.json").read_bytes()

    response = await admin.post(
        "/admin/imports",
        data={"csrf_token": token, "kind": "", "source": "colibris"},
        files={"file": ("elements.json", raw, "application/json")},
    )

    assert response.status_code == 303
    page = await admin.get(response.headers["location"])
    assert page.status_code == 200
    assert "Rapport" in page.text and "colibris" in page.text
    async with db.session() as session:
        job = await session.scalar(select(ImportJob))
    assert job.state == "done" and job.report["imported"] == 12
    assert "10427" in page.text  # unmapped taxonomy ids are shown for the admin to map


async def test_post_without_csrf_is_refused(admin):
    response = await admin.post(
        "/admin/imports", files={"file": ("a.json", b"[]", "application/json")}
    )
    assert response.status_code == 403


async def test_csv_goes_through_the_mapping_step(admin, db):
    token = await csrf(admin, "/admin/imports")
    raw = "Intitulé;Commune;Site\nLa Fabrique;Niort;https://fabrique.example\n".encode("cp1252")
    response = await admin.post(
        "/admin/imports",
        data={"csrf_token": token, "source": "tableur"},
        files={"file": ("liste.csv", raw, "text/csv")},
    )
    job_url = response.headers["location"]
    page = await admin.get(job_url)
    assert "Correspondance des colonnes" in page.text
    assert "colonne obligatoire manquante" in page.text  # "Intitulé" is not a known header

    response = await admin.post(
        f"{job_url}/lancer",
        data={"csrf_token": token, "column_name": "Intitulé", "column_city": "Commune",
              "column_website": "Site"},
    )  # fmt: skip
    assert response.status_code == 303
    async with db.session() as session:
        row = await session.scalar(select(Initiative))
    assert (row.name, row.city, row.website) == ("La Fabrique", "Niort", "https://fabrique.example")


async def test_bad_upload_is_a_clear_page_not_a_crash(admin, db):
    token = await csrf(admin, "/admin/imports")
    response = await admin.post(
        "/admin/imports",
        data={"csrf_token": token},
        files={"file": ("cassé.json", b'{"data": [', "application/json")},
    )
    page = await admin.get(response.headers["location"])
    assert "JSON illisible" in page.text and "Relancer" in page.text
    missing = await admin.post("/admin/imports", data={"csrf_token": token})
    assert missing.status_code == 422 and "choisissez un fichier" in missing.text


async def test_category_mapping_is_editable(admin, db):
    async with db.session() as session:
        session.add(CategoryMapping(source_key="s", category="42", label="Vélo", theme_slug=None))
    token = await csrf(admin, "/admin/imports/categories")
    async with db.session() as session:
        row = await session.scalar(select(CategoryMapping))
    response = await admin.post(
        f"/admin/imports/categories/{row.id}", data={"csrf_token": token, "theme": "mobilite"}
    )
    assert response.status_code == 303
    async with db.session() as session:
        row = await session.scalar(select(CategoryMapping))
    assert (row.theme_slug, row.automatic) == ("mobilite", False)


async def test_duplicates_side_by_side_then_merge(admin, db):
    async with db.session() as session:
        for name in ("Repair café de Niort", "Repair Café Niort"):
            await initiatives.create_initiative(
                session,
                {"name": name, "latitude": 46.3230, "longitude": -0.4600, "city": "Niort"},
                author=Author(None, "t"), moderation_state="published",
            )  # fmt: skip
    token = await csrf(admin, "/admin/doublons")
    page = await admin.get("/admin/doublons")
    assert "Repair café de Niort" in page.text and "Repair Café Niort" in page.text
    async with db.session() as session:
        a, b = list(await session.scalars(select(Initiative).order_by(Initiative.id)))

    response = await admin.post(
        "/admin/doublons",
        data={"csrf_token": token, "first": a.id, "second": b.id, "action": "merge",
              "keep": a.id},
    )  # fmt: skip

    assert response.status_code == 303
    async with db.session() as session:
        merged = await session.get(Initiative, b.id)
    assert merged.moderation_state == "withdrawn"
    assert "Aucun doublon possible" in (await admin.get("/admin/doublons")).text


@pytest.fixture
async def published(db):
    async with db.session() as session:
        first = await initiatives.create_initiative(
            session,
            {"name": "Jardin partagé", "themes": ["biodiversite-nature"], "latitude": 46.3,
             "longitude": -0.46, "city": "Niort", "email": "jardin@example.org"},
            author=Author(None, "t"), moderation_state="published", proposer_email=SECRET,
        )  # fmt: skip
        first.moderation_note = "note interne"
        await initiatives.create_initiative(
            session, {"name": "Épicerie", "themes": ["alimentation"]},
            author=Author(None, "t"), moderation_state="published",
        )  # fmt: skip


async def test_open_data_downloads(client, settings, published):
    response = await client.get("/exports/initiatives.csv")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/csv")
    assert response.headers["link"] == f'<{settings.licence_url}>; rel="license"'
    assert response.content.startswith(b"\xef\xbb\xbf")
    rows = list(csv.DictReader(io.StringIO(response.content.decode("utf-8-sig")), delimiter=";"))
    assert {r["name"] for r in rows} == {"Jardin partagé", "Épicerie"}

    geo = orjson.loads(
        (await client.get("/exports/initiatives.geojson?theme=alimentation")).content
    )
    assert [f["properties"]["name"] for f in geo["features"]] == ["Épicerie"]
    for path in ("/exports/initiatives.jsonld", "/exports/gogocarto.json"):
        body = (await client.get(path)).text
        assert settings.licence_url in body
        assert SECRET not in body and "note interne" not in body
    bad = await client.get("/exports/initiatives.csv?bbox=1,2")
    assert bad.status_code == 422 and "bbox" in bad.json()["fields"]
