"""Fixtures for import tests: the real data files and a one-call import helper."""

from __future__ import annotations

from pathlib import Path

import pytest

from directory.db import Database
from directory.imports import jobs
from directory.imports.models import ImportJob

DATA = Path("/work/shared/data")
if not DATA.exists():  # the repository copy, when the shared folder is not mounted
    DATA = Path(__file__).parents[2] / "data"


@pytest.fixture(scope="session")
def transiscope() -> bytes:
    return (DATA / "transiscope-niort-2019.json").read_bytes()


@pytest.fixture(scope="session")
def gogofull() -> bytes:
    return (DATA / "gogocarto-sample.json").read_bytes()


@pytest.fixture
def run_import(db: Database, tmp_path: Path):
    """await run_import(kind, raw, source="key", **options) -> the finished ImportJob."""

    async def run(kind: str, raw: bytes, source: str = "test", **options) -> ImportJob:
        return await jobs.import_payload(
            db, kind=kind, source_key=source, raw=raw, data_dir=tmp_path, options=options
        )

    return run
