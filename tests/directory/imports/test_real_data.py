"""Both real files come through entirely, or each record is reported with its reason."""

from __future__ import annotations

import orjson
from sqlalchemy import func, select

from directory.models import Initiative


async def test_transiscope_every_record_accounted_for(db, run_import, transiscope):
    job = await run_import("gogocarto", transiscope, source="transiscope")

    assert job.state == "done", job.error
    report = job.report
    total = len(orjson.loads(transiscope))
    assert report["total"] == total == 100
    assert report["imported"] + report["rejected_count"] == total
    assert len(report["rejected"]) == report["rejected_count"]
    for entry in report["rejected"]:
        assert entry["reason"]
    async with db.session() as session:
        stored = await session.scalar(
            select(func.count()).select_from(Initiative).where(Initiative.source == "transiscope")
        )
        assert stored == report["created"] == report["imported"]
        # The real mess: lowercase or empty countries and missing postal codes still import.
        niort = await session.scalars(select(Initiative).where(Initiative.postal_code == ""))
        assert list(niort), "records without postal code are kept"
        themed = await session.scalar(
            select(func.count()).select_from(Initiative).where(Initiative.themes.any())
        )
        assert themed == 100 - 16  # the 16 without categories stay without theme


async def test_gogocarto_full_sample_sanitised_and_hidden_emails_dropped(db, run_import, gogofull):
    job = await run_import("gogocarto", gogofull, source="gogo")

    assert job.state == "done", job.error
    assert job.report["imported"] + job.report["rejected_count"] == 12
    async with db.session() as session:
        rows = list(await session.scalars(select(Initiative).where(Initiative.source == "gogo")))
    assert len(rows) == job.report["created"]
    for row in rows:
        assert "<" not in row.description and "<" not in row.summary
        assert row.email != "hidden"
    ruche = next(r for r in rows if r.source_id == "10kw")
    assert ruche.summary == "Tous produits alimentaires locaux"
    assert (ruche.latitude, ruche.longitude) == (46.3252, -0.0339)
    # Numeric taxonomy ids carry no label: listed for the admin to map.
    assert "10427" in job.report["unmapped_categories"]
