"""Bad input: a clear report, nothing half-imported, never a crash."""

from __future__ import annotations

import orjson
import pytest
from sqlalchemy import func, select

from directory import search
from directory.imports import jobs
from directory.imports.fetch import MAX_IMPORT_BYTES
from directory.models import Initiative

from .test_sync import element, gogo


async def count(db) -> int:
    async with db.session() as session:
        return await session.scalar(select(func.count()).select_from(Initiative))


async def test_broken_json_fails_cleanly(db, run_import):
    job = await run_import("gogocarto", b'{"data": [{"id": "1", "name": "x"},')

    assert job.state == "failed"
    assert "JSON illisible" in job.error and "rien n'a été importé" in job.error
    assert await count(db) == 0


async def test_broken_json_says_where_and_nothing_is_written(db, run_import):
    # Given a well-formed first half: the whole file is checked before anything is written.
    good = b",\n".join(orjson.dumps(element(n)) for n in range(600))
    raw = b'{"ontology": "gogofull", "data": [\n' + good + b',\n{"id": "x", name: 1}]}'

    job = await run_import("gogocarto", raw)

    assert job.state == "failed"
    assert "JSON illisible ligne 602, colonne 13" in job.error, job.error
    assert await count(db) == 0


async def test_empty_file_is_reported(db, run_import):
    job = await run_import("gogocarto", b"  \n")
    assert job.state == "failed" and "fichier vide" in job.error


async def test_compact_gogocarto_is_refused_even_when_said_last(db, run_import):
    raw = b'{"data": [[1, "x", [46.3, -0.4]]], "ontology": "gogocompact"}'

    job = await run_import("gogocarto", raw)

    assert job.state == "failed" and "compact" in job.error
    assert await count(db) == 0


async def test_json_that_is_not_gogocarto(db, run_import):
    job = await run_import("gogocarto", b'{"hello": "world"}')
    assert job.state == "failed" and "data" in job.error


async def test_binary_file_as_csv(db, run_import):
    job = await run_import("csv", b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR")
    assert job.state == "failed" and "binaire" in job.error
    assert await count(db) == 0


async def test_latin1_csv_is_decoded(db, run_import):
    raw = "nom;ville;code postal\nRépar'café;Saint-Étienne;42000\n".encode("latin-1")

    job = await run_import("csv", raw)

    assert job.state == "done", job.error
    async with db.session() as session:
        row = await session.scalar(select(Initiative))
    assert (row.name, row.city) == ("Répar'café", "Saint-Étienne")


async def test_csv_missing_name_column(db, run_import):
    job = await run_import("csv", b"ville,site\nNiort,https://a.example\n")

    assert job.state == "failed"
    assert "colonne obligatoire manquante" in job.error
    assert await count(db) == 0


async def test_file_over_50_mb_is_refused(db, tmp_path):
    raw = b" " * (MAX_IMPORT_BYTES + 1)
    with pytest.raises(jobs.ParseError, match="trop gros"):
        await jobs.import_payload(
            db, kind="gogocarto", source_key="big", raw=raw, data_dir=tmp_path
        )
    path = tmp_path / "big.json"
    path.write_bytes(raw)
    async with db.session() as session:
        job = await jobs.create_job(
            session, kind="gogocarto", source_key="big", payload_path=str(path)
        )
    job = await jobs.run_job(db, job.id)
    assert job.state == "failed" and "trop gros (50.0 Mo, maximum 50.0 Mo)" in job.error


async def test_html_and_script_are_stripped(db, run_import):
    nasty = element(
        1,
        name="<b>Jardin</b> <script>alert('x')</script>partagé",
        description="<p onclick='x()'>Bienvenue</p><img src=x onerror=alert(1)>"
        "<a href='javascript:alert(1)'>lien</a> &lt;script&gt;alert(2)&lt;/script&gt;",
    )

    job = await run_import("gogocarto", gogo([nasty]))

    assert job.state == "done"
    async with db.session() as session:
        row = await session.scalar(select(Initiative))
    assert row.name == "Jardin partagé"
    for text in (row.name, row.summary, row.description):
        assert "<" not in text and "script" not in text and "onerror" not in text
    assert "Bienvenue" in row.summary + row.description


async def test_swapped_and_absurd_coordinates_are_reported(db, run_import):
    swapped = element(1, geo={"latitude": -0.46, "longitude": 46.32})
    absurd = element(2, geo={"latitude": 460.0, "longitude": -1000})
    overseas = element(3, geo={"latitude": -21.11, "longitude": 55.53})  # La Réunion

    job = await run_import("gogocarto", gogo([swapped, absurd, overseas]))

    assert job.report["imported"] == 3
    warnings = {w["source_id"]: " ".join(w["warnings"]) for w in job.report["warnings"]}
    assert "inversées" in warnings["e1"]
    assert "absurdes" in warnings["e2"]
    assert "e3" not in warnings
    assert [r["source_id"] for r in job.report["without_coordinates"]] == ["e2"]
    async with db.session() as session:
        one = await session.scalar(select(Initiative).where(Initiative.source_id == "e1"))
        two = await session.scalar(select(Initiative).where(Initiative.source_id == "e2"))
    assert (one.latitude, one.longitude) == (46.32, -0.46)
    assert two.latitude is None  # kept, without coordinates, and listed


async def test_failure_midway_leaves_nothing_and_the_job_can_run_again(db, run_import, monkeypatch):
    calls = 0
    real = search.index_initiatives

    async def failing(session, ids):
        nonlocal calls
        calls += 1
        if calls == 2:
            raise RuntimeError("disque plein")
        await real(session, ids)

    monkeypatch.setattr(search, "index_initiatives", failing)
    job = await run_import("gogocarto", gogo([element(n) for n in range(1200)]))

    assert job.state == "failed" and "disque plein" in job.error
    assert await count(db) == 0  # the first chunk was rolled back with the rest
    monkeypatch.setattr(search, "index_initiatives", real)
    async with db.session() as session:
        await jobs.retry_job(session, job.id)
    again = await jobs.run_job(db, job.id)
    assert again.state == "done" and again.report["created"] == 1200
    assert await count(db) == 1200


async def test_record_errors_do_not_stop_the_others(db, run_import):
    records = [
        element(1),
        {"id": "e2"},  # no name
        element(3, status=-4),  # deleted at the source
        "not an object",
        element(5, name="x" * 300),  # too long: cut with a warning
        {"name": "sans identifiant"},
    ]
    job = await run_import("gogocarto", orjson.dumps({"data": records}))

    report = job.report
    assert (report["total"], report["imported"], report["rejected_count"]) == (6, 2, 4)
    reasons = {r["position"]: r["reason"] for r in report["rejected"]}
    assert reasons == {
        2: "nom manquant",
        3: "supprimée dans la source",
        4: "élément qui n'est pas un objet JSON",
        6: "identifiant (`id`) manquant",
    }
