"""The territorial diagnostic: counts, rates, coverage, months, against a hand-built fixture."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import delete, select, update

from directory import diagnostic
from directory.initiatives import Author, create_initiative
from directory.models import Commune, Initiative, InitiativeNeed, Theme
from directory.search import SearchQuery

ADMIN = Author(None, "test")

# Three communes: Nantes (population, coordinates), Rezé (population, no coordinates),
# Vertou (no population). Needs: precarite-alimentaire, isolement, mobilite only.
COMMUNES = [
    Commune(insee_code="44109", name="Nantes", population=320000, latitude=47.21, longitude=-1.55),
    Commune(insee_code="44143", name="Rezé", population=40000),
    Commune(insee_code="44215", name="Vertou", latitude=47.17, longitude=-1.47),
]
FIXTURE = [
    # name, themes, actor kinds, needs, INSEE, status, moderation state, origin, created
    (
        "Épicerie solidaire",
        ["alimentation"],
        ["association"],
        ["precarite-alimentaire"],
        "44109",
        "active",
        "published",
        None,
        "2026-01-10",
    ),
    (
        "Jardin partagé",
        ["alimentation"],
        ["association", "collectif-habitants"],
        ["precarite-alimentaire", "isolement"],
        "44109",
        "active",
        "published",
        None,
        "2026-01-20",
    ),
    (
        "Atelier vélo",
        ["mobilite"],
        ["association"],
        ["mobilite"],
        "44143",
        "active",
        "published",
        None,
        "2026-02-05",
    ),
    (
        "Café des aidants fermé",
        ["sante"],
        ["collectivite"],
        ["isolement"],
        "44143",
        "ended",
        "published",
        None,
        "2026-02-15",
    ),
    (
        "Covoiturage en pause",
        ["mobilite"],
        ["entreprise-ess"],
        ["mobilite"],
        "44215",
        "paused",
        "published",
        None,
        "2026-03-01",
    ),
    (
        "Proposition non relue",
        ["alimentation"],
        ["association"],
        ["mobilite"],
        "44215",
        "active",
        "proposed",
        None,
        "2026-03-02",
    ),
    (
        "Épicerie suivie ailleurs",
        ["alimentation"],
        ["association"],
        ["mobilite"],
        "44215",
        "active",
        "published",
        "autre.example",
        "2026-03-03",
    ),
]


@pytest.fixture
async def territory(session):
    await build_territory(session)


async def build_territory(session) -> None:
    """Store COMMUNES and FIXTURE (created_at as given, updated_at a month later)."""
    for commune in COMMUNES:
        session.add(
            Commune(
                **{
                    k: getattr(commune, k)
                    for k in ("insee_code", "name", "population", "latitude", "longitude")
                }
            )
        )
    for n, (name, themes, kinds, needs, insee, status, state, origin, created) in enumerate(
        FIXTURE
    ):
        initiative = await create_initiative(
            session,
            {
                "name": name,
                "themes": themes,
                "actor_kinds": kinds,
                "needs": needs,
                "insee_code": insee,
                "status": status,
            },
            author=ADMIN,
            moderation_state=state,
            origin=origin,
            uri=f"https://{origin}/i/{n}" if origin else None,
        )
        when = datetime.fromisoformat(created).replace(tzinfo=UTC)
        await session.flush()
        await session.execute(
            update(Initiative)
            .where(Initiative.id == initiative.id)
            .values(created_at=when, updated_at=when.replace(month=when.month + 1))
        )
    await session.flush()


def counts(rows) -> dict[str, int]:
    return {r.key: r.count for r in rows if r.count}


async def test_whole_territory_counts_published_local_only(session, territory):
    d = await diagnostic.compute(session)
    assert d.total == 5 and d.active == 3
    assert counts(d.by_theme) == {"alimentation": 2, "mobilite": 2, "sante": 1}
    assert counts(d.by_actor_kind) == {
        "association": 3,
        "collectif-habitants": 1,
        "collectivite": 1,
        "entreprise-ess": 1,
    }
    assert counts(d.by_need) == {"precarite-alimentaire": 2, "isolement": 2, "mobilite": 2}
    assert {c.insee_code: c.count for c in d.by_commune} == {"44109": 2, "44143": 2, "44215": 1}
    assert d.actor_kinds_present == 4 and d.multi_actor == 1
    # Vertou has no population: the territory's population is unknown, so no rates.
    assert d.population is None
    assert [c.name for c in d.communes_without_population] == ["Vertou"]
    assert [c.name for c in d.communes_without_coordinates] == ["Rezé"]
    assert all(r.per_10k is None for r in d.by_theme)


async def test_per_10k_inhabitants(session, territory):
    d = await diagnostic.compute(session)
    by_code = {c.insee_code: c for c in d.by_commune}
    assert by_code["44109"].per_10k == 0.1  # 2 / 320,000 * 10,000 = 0.0625 -> 0.1
    assert by_code["44143"].per_10k == 0.5  # 2 / 40,000 * 10,000
    assert by_code["44215"].per_10k is None
    one = await diagnostic.compute(session, commune="44143")
    assert one.population == 40000 and one.total == 2
    assert {r.key: r.per_10k for r in one.by_need if r.count} == {"mobilite": 0.2, "isolement": 0.2}


async def test_uncovered_cells_count_only_active_initiatives(session, territory):
    d = await diagnostic.compute(session)
    cov = d.coverage
    assert cov.count("precarite-alimentaire", "44109") == 2
    assert cov.count("isolement", "44109") == 1
    # Rezé's isolement initiative has ended, Vertou's mobility one is paused.
    assert cov.count("isolement", "44143") == 0
    assert cov.count("mobilite", "44215") == 0
    uncovered = {(n.slug, c.insee_code) for n, c in cov.uncovered}
    assert ("isolement", "44143") in uncovered and ("mobilite", "44215") in uncovered
    assert ("mobilite", "44143") not in uncovered
    assert len(uncovered) == 3 * len(cov.needs) - 3  # three covered cells


async def test_include_remote_adds_followed_initiatives(session, territory):
    d = await diagnostic.compute(session, include_remote=True)
    assert d.total == 6
    assert d.coverage.count("mobilite", "44215") == 1


async def test_filters_narrow_every_table(session, territory):
    d = await diagnostic.compute(session, SearchQuery(themes=("alimentation",)))
    assert d.total == 2
    assert counts(d.by_need) == {"precarite-alimentaire": 2, "isolement": 1}
    assert {c.insee_code: c.count for c in d.by_commune if c.count} == {"44109": 2}
    needs = await diagnostic.compute(session, SearchQuery(needs=("isolement",)))
    assert [n.slug for n in needs.coverage.needs] == ["isolement"]


async def test_a_filtered_diagnostic_counts_every_figure(session, territory):
    # Given a filter the stored counts do not hold (counted from the directory itself)
    d = await diagnostic.compute(session, SearchQuery(needs=("isolement",)), use_cache=False)
    # Then: Jardin partagé (Nantes, active, two kinds of actors, created in January) and
    # the Café des aidants (Rezé, ended in March, created in February)
    assert figures(d) == {
        "total": 2,
        "active": 1,
        "themes": {"alimentation": 1, "sante": 1},
        "kinds": {"association": 1, "collectif-habitants": 1, "collectivite": 1},
        "needs": {"isolement": 2, "precarite-alimentaire": 1},
        "communes": {"44109": 1, "44143": 1, "44215": 0},
        "cells": {("isolement", "44109"): 1, ("precarite-alimentaire", "44109"): 1},
        "months": [("2026-01", 1, 0), ("2026-02", 1, 0), ("2026-03", 0, 1)],
        "multi": 1,
        "population": None,
    }


async def test_months_created_and_ended(session, territory):
    d = await diagnostic.compute(session)
    months = {m.month: (m.created, m.ended) for m in d.months}
    assert months == {"2026-01": (2, 0), "2026-02": (2, 0), "2026-03": (1, 1)}


async def test_empty_filters_give_an_empty_diagnostic(session, territory):
    d = await diagnostic.compute(session, SearchQuery(needs=("logement",)))
    assert d.empty and d.total == 0
    assert all(c.count == 0 for c in d.by_commune)


def figures(d: diagnostic.Diagnostic) -> dict:
    """Everything a diagnostic shows, comparable between two ways of computing it."""
    return {
        "total": d.total,
        "active": d.active,
        "themes": counts(d.by_theme),
        "kinds": counts(d.by_actor_kind),
        "needs": counts(d.by_need),
        "communes": {c.insee_code: c.count for c in d.by_commune},
        "cells": {k: v for k, v in d.coverage.cells.items() if v},
        "months": [(m.month, m.created, m.ended) for m in d.months],
        "multi": d.multi_actor,
        "population": d.population,
    }


SCOPES = [
    {},
    {"include_remote": True},
    {"commune": "44143"},
    {"commune": "44215", "include_remote": True},
    {"query": SearchQuery(statuses=("active",))},
]


@pytest.mark.parametrize("scope", SCOPES)
async def test_stored_counts_equal_the_direct_count(session, territory, scope):
    # Given the counts stored by a refresh
    assert await diagnostic.refresh(session) >= 1
    assert await diagnostic.changed_communes(session) == set()
    # Then the diagnostic from them is the one counted from the directory itself
    stored = await diagnostic.compute(session, **scope)
    query = diagnostic.scope_query(
        scope.get("query") or SearchQuery(),
        commune=scope.get("commune"),
        include_remote=scope.get("include_remote", False),
    )
    direct = await diagnostic.compute_directly(session, query, scope.get("include_remote", False))
    assert figures(stored) == figures(direct)


async def test_a_change_is_seen_at_once_then_stored_by_the_refresh(session, territory):
    await diagnostic.refresh(session)
    before = await diagnostic.compute(session)
    # When an initiative is published in Vertou
    await create_initiative(
        session,
        {"name": "Nouvelle", "themes": ["sante"], "needs": ["sante"], "insee_code": "44215"},
        author=ADMIN,
        moderation_state="published",
    )
    await session.flush()
    # Then Vertou is recorded as changed, and counted live until the refresh
    assert await diagnostic.changed_communes(session) == {"44215"}
    after = await diagnostic.compute(session)
    assert after.total == before.total + 1
    assert after.coverage.count("sante", "44215") == 1
    assert await diagnostic.refresh(session) == 1
    assert figures(await diagnostic.compute(session)) == figures(after)


async def test_changes_recorded_by_the_triggers(session, territory):
    await diagnostic.refresh(session)
    ids = dict((await session.execute(select(Initiative.name, Initiative.id))).all())
    # A proposal, or a new name, changes no count
    await create_initiative(
        session, {"name": "Idée", "insee_code": "44109"}, author=ADMIN, moderation_state="proposed"
    )
    await session.execute(
        update(Initiative).where(Initiative.id == ids["Atelier vélo"]).values(name="Vélo")
    )
    await session.flush()
    assert await diagnostic.changed_communes(session) == set()
    # Moving an initiative changes both communes
    await session.execute(
        update(Initiative).where(Initiative.id == ids["Atelier vélo"]).values(insee_code="44109")
    )
    assert await diagnostic.changed_communes(session) == {"44143", "44109"}
    await diagnostic.refresh(session)
    # A need removed, a status changed
    await session.execute(
        delete(InitiativeNeed).where(InitiativeNeed.initiative_id == ids["Covoiturage en pause"])
    )
    assert await diagnostic.changed_communes(session) == {"44215"}
    await diagnostic.refresh(session)
    await session.execute(
        update(Initiative).where(Initiative.id == ids["Jardin partagé"]).values(status="ended")
    )
    assert await diagnostic.changed_communes(session) == {"44109"}
    await diagnostic.refresh(session)
    # The theme tree: every commune
    sante = await session.scalar(select(Theme).where(Theme.slug == "sante"))
    session.add(Theme(slug="soin", iri="urn:local:soin", label_fr="Soin", label_en="Care"))
    await session.flush()
    await session.execute(update(Theme).where(Theme.slug == "soin").values(parent_id=sante.id))
    assert await diagnostic.changed_communes(session) == {"*"}
    assert figures(await diagnostic.compute(session)) == figures(
        await diagnostic.compute_directly(
            session,
            diagnostic.scope_query(SearchQuery(), commune=None, include_remote=False),
            False,
        )
    )
