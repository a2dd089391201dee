"""`maillage import`, `export` and `duplicates` as a real process on a SQLite database."""

from __future__ import annotations

import csv
import io
import os
import subprocess
import sys
from pathlib import Path

import orjson
import pytest

ROOT = Path(__file__).resolve().parents[2]
DATA = Path("/work/shared/data")


@pytest.fixture(scope="module")
def maillage(tmp_path_factory):
    """Run `maillage ARGS` against a fresh migrated SQLite database; returns CompletedProcess."""
    folder = tmp_path_factory.mktemp("cli")
    env = {
        **os.environ,
        "MAILLAGE_DATA_DIR": str(folder),
        "MAILLAGE_DATABASE_URL": f"sqlite:///{folder / 'cli.sqlite3'}",
        "MAILLAGE_BASE_URL": "https://cli.maillage.test",
    }

    def run(*args: str, check: bool = True) -> subprocess.CompletedProcess:
        result = subprocess.run(
            [sys.executable, "-m", "web.cli", *args],
            cwd=ROOT, env=env, capture_output=True, timeout=120,
        )  # fmt: skip
        if check:
            assert result.returncode == 0, result.stderr.decode()
        return result

    run("migrate")
    return run


def test_import_reports_then_reimport_is_unchanged(maillage):
    first = maillage("import", "gogocarto", str(DATA / "transiscope-niort-2019.json"),
                     "--source", "transiscope")  # fmt: skip
    out = first.stdout.decode()
    assert "100 enregistrements" in out and "nouveaux 100" in out
    assert "100/100" in first.stderr.decode()  # the progress bar

    again = maillage("import", "gogocarto", str(DATA / "transiscope-niort-2019.json"),
                     "--source", "transiscope").stdout.decode()  # fmt: skip
    assert "inchangés 100" in again


def test_csv_mapping_is_shown_and_overridable(maillage, tmp_path):
    path = tmp_path / "liste.csv"
    path.write_bytes("Intitulé,Ville\nLa Fabrique,Niort\n".encode("latin-1"))

    refused = maillage("import", "csv", str(path), check=False)
    assert refused.returncode == 2
    assert "colonne obligatoire manquante" in refused.stderr.decode()

    shown = maillage("import", "csv", str(path), "--column", "name=Intitulé", "--show-mapping")
    text = shown.stdout.decode()
    assert "Encodage windows-1252" in text and "name           <- Intitulé" in text
    done = maillage("import", "csv", str(path), "--column", "name=Intitulé").stdout.decode()
    assert "nouveaux 1" in done


def test_export_with_filters_and_duplicates(maillage, tmp_path):
    maillage("import", "gogocarto", str(DATA / "transiscope-niort-2019.json"),
             "--source", "transiscope")  # fmt: skip
    out = tmp_path / "habitat.csv"
    maillage("export", "csv", "--theme", "habitat", "-o", str(out))
    rows = list(csv.DictReader(io.StringIO(out.read_text("utf-8-sig")), delimiter=";"))
    assert rows and all("habitat" in r["themes"] for r in rows)

    document = orjson.loads(maillage("export", "gogocarto").stdout)
    assert len(document["data"]) >= 100 and document["license"]

    listing = maillage("duplicates").stdout.decode()
    assert "L'alternateur" in listing and "L'Alternateur" in listing

    bad = maillage("export", "geojson", "--bbox", "1,2", check=False)
    assert bad.returncode == 2 and "bbox" in bad.stderr.decode()
