"""Re-import: idempotent, changes become revisions, vanished records are withdrawn, local
edits are never silently overwritten."""

from __future__ import annotations

import orjson
from sqlalchemy import func, select

from directory import initiatives
from directory.imports.models import ImportConflict
from directory.initiatives import Author
from directory.models import Initiative, Revision


def element(n: int, **changes) -> dict:
    record = {
        "id": f"e{n}",
        "name": f"Initiative numéro {n}",
        "geo": {"latitude": 46.0 + n / 1000, "longitude": -0.5 + n / 1000},
        "address": {"streetAddress": f"{n} rue de la Gare", "postalCode": "79000",
                    "addressLocality": "Niort"},
        "description": f"Description {n}",
        "website": f"https://initiative-{n}.example.org",
        "categories": ["Alimentation"],
    }  # fmt: skip
    record.update(changes)
    return record


def gogo(elements: list[dict]) -> bytes:
    return orjson.dumps({"ontology": "gogofull", "data": elements})


async def by_source_id(db, source_id: str) -> Initiative:
    async with db.session() as session:
        return await session.scalar(select(Initiative).where(Initiative.source_id == source_id))


async def revision_count(db) -> int:
    async with db.session() as session:
        return await session.scalar(select(func.count()).select_from(Revision))


async def test_reimport_is_idempotent(db, run_import, transiscope):
    first = await run_import("gogocarto", transiscope, source="t")
    revisions = await revision_count(db)

    second = await run_import("gogocarto", transiscope, source="t")

    assert second.state == "done"
    assert second.report["created"] == 0
    assert second.report["updated"] == 0
    assert second.report["withdrawn"] == 0
    assert second.report["unchanged"] == first.report["imported"]
    assert await revision_count(db) == revisions


async def test_one_percent_changed_are_updated_with_a_revision(db, run_import):
    records = [element(n) for n in range(200)]
    await run_import("gogocarto", gogo(records), source="s")
    records[7] = element(7, name="Épicerie solidaire du centre")
    records[99] = element(99, website="https://nouveau.example.org")

    job = await run_import("gogocarto", gogo(records), source="s")

    assert (job.report["updated"], job.report["unchanged"], job.report["created"]) == (2, 198, 0)
    seven = await by_source_id(db, "e7")
    assert seven.name == "Épicerie solidaire du centre"
    async with db.session() as session:
        history = await initiatives.revisions(session, seven.id)
    assert [r.action for r in history] == ["import", "import"]
    assert history[-1].changes["name"] == ["Initiative numéro 7", "Épicerie solidaire du centre"]
    assert history[-1].author == "import:s"


async def test_vanished_records_are_withdrawn_not_deleted_and_come_back(db, run_import):
    records = [element(n) for n in range(10)]
    await run_import("gogocarto", gogo(records), source="s")

    job = await run_import("gogocarto", gogo(records[:8]), source="s")

    assert job.report["withdrawn"] == 2
    gone = await by_source_id(db, "e9")
    assert gone is not None and gone.moderation_state == "withdrawn"

    back = await run_import("gogocarto", gogo(records), source="s")
    assert back.report["restored"] == 2
    assert (await by_source_id(db, "e9")).moderation_state == "published"


async def test_local_edit_is_a_conflict_not_overwritten(db, run_import):
    records = [element(n) for n in range(3)]
    await run_import("gogocarto", gogo(records), source="s")
    async with db.session() as session:
        one = await session.scalar(select(Initiative).where(Initiative.source_id == "e1"))
        await initiatives.update_initiative(
            session, one, {"name": "Nom corrigé ici", "summary": "Résumé local"},
            author=Author(None, "moderatrice"),
        )  # fmt: skip
    records[1] = element(1, name="Nom changé à la source", descriptionMore="Nouvelle description")

    job = await run_import("gogocarto", gogo(records), source="s")

    assert job.report["conflicts"] == 1
    one = await by_source_id(db, "e1")
    assert one.name == "Nom corrigé ici"  # the local edit stands
    assert one.summary == "Résumé local"
    assert one.description == "Nouvelle description"  # not edited here: the source wins
    async with db.session() as session:
        conflict = await session.scalar(select(ImportConflict))
    assert conflict.state == "open"
    assert conflict.fields == {"name": ["Nom corrigé ici", "Nom changé à la source"]}

    again = await run_import("gogocarto", gogo(records), source="s")
    assert again.report["conflicts"] == 0  # listed once, not at every sync


async def test_same_id_twice_in_a_file_is_reported(db, run_import):
    job = await run_import("gogocarto", gogo([element(1), element(1, name="Autre")]), source="s")

    assert job.report["created"] == 1
    assert job.report["rejected_count"] == 1
    assert "en double" in job.report["rejected"][0]["reason"]


async def test_same_id_in_a_later_chunk_is_reported_with_its_first_position(
    db, run_import, monkeypatch
):
    # Given chunks of 10 records (the ids already met are read back from the database),
    from directory.imports import sync

    monkeypatch.setattr(sync, "CHUNK", 10)
    records = [element(n) for n in range(25)] + [element(3, name="Autre")]

    job = await run_import("gogocarto", gogo(records), source="s")

    # then the copy 22 records later is refused, with where the id was first met.
    assert (job.report["created"], job.report["rejected_count"]) == (25, 1)
    assert "déjà à la position 4" in job.report["rejected"][0]["reason"]
    again = await run_import("gogocarto", gogo(records), source="s")
    assert (again.report["unchanged"], again.report["rejected_count"]) == (25, 1)
    assert "déjà à la position 4" in again.report["rejected"][0]["reason"]


async def test_category_mapping_edit_applies_on_next_import(db, run_import):
    from directory.imports import mapping

    records = [element(1, categories=["Vélo-école"])]
    first = await run_import("gogocarto", gogo(records), source="s")
    assert [t.slug for t in (await by_source_id(db, "e1")).themes] == ["mobilite"]
    async with db.session() as session:
        (row,) = await mapping.list_mappings(session, "s")
        assert (row.label, row.theme_slug, row.automatic) == ("Vélo-école", "mobilite", True)
        await mapping.set_mapping(session, row.id, "education-jeunesse")

    await run_import("gogocarto", gogo(records), source="s")

    assert first.report["unmapped_categories"] == {}
    assert [t.slug for t in (await by_source_id(db, "e1")).themes] == ["education-jeunesse"]


async def test_conflict_is_decided_by_a_moderator(db, run_import):
    from directory.imports import conflicts

    records = [element(n) for n in range(2)]
    await run_import("gogocarto", gogo(records), source="s")
    async with db.session() as session:
        one = await session.scalar(select(Initiative).where(Initiative.source_id == "e1"))
        await initiatives.update_initiative(
            session, one, {"name": "Nom local"}, author=Author(None, "m")
        )
    records[1] = element(1, name="Nom de la source")
    await run_import("gogocarto", gogo(records), source="s")
    async with db.session() as session:
        (conflict,) = await conflicts.open_conflicts(session)
        await conflicts.resolve_conflict(
            session, conflict.id, take_source=True, author=Author(None, "m")
        )

    assert (await by_source_id(db, "e1")).name == "Nom de la source"
    async with db.session() as session:
        assert await conflicts.open_conflicts(session) == []
