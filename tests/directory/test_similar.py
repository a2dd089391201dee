"""Similar elsewhere: transparent scoring, explanations, local and followed initiatives."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from directory.imports import duplicates
from directory.imports.models import DuplicateDecision
from directory.initiatives import Author, create_initiative, moderate
from directory.models import Theme
from directory.sameas import SAME_AS
from directory.similar import similar_initiatives

ADMIN = Author(None, "test")


async def add(
    session, name, themes, needs, lat=None, lon=None, origin=None, state="published", summary=""
):
    initiative = await create_initiative(
        session,
        {
            "name": name,
            "summary": summary,
            "themes": themes,
            "needs": needs,
            "latitude": lat,
            "longitude": lon,
        },
        author=ADMIN,
        moderation_state=state,
        origin=origin,
        uri=f"https://{origin}/i/{name}" if origin else None,
    )
    await session.flush()
    return initiative


@pytest.fixture
async def source(session):
    return await add(
        session,
        "Épicerie solidaire de Nantes",
        ["alimentation"],
        ["precarite-alimentaire"],
        47.218,
        -1.553,
        summary="Épicerie solidaire pour les étudiants",
    )


async def test_shared_theme_and_need_rank_first_with_explanation(session, source):
    both = await add(
        session,
        "Épicerie solidaire d'Angers",
        ["alimentation"],
        ["precarite-alimentaire"],
        47.47,
        -0.55,
        origin="angers.example",
        summary="Une épicerie solidaire",
    )
    theme_only = await add(session, "Jardin de Rezé", ["alimentation"], ["climat"], 47.18, -1.55)
    await add(session, "Atelier vélo", ["mobilite"], ["mobilite"], 47.21, -1.55)
    await add(
        session,
        "Épicerie non publiée",
        ["alimentation"],
        ["precarite-alimentaire"],
        47.21,
        -1.55,
        state="proposed",
    )
    results = await similar_initiatives(session, source, limit=6)
    assert [r.initiative.id for r in results] == [both.id, theme_only.id]
    first = results[0]
    assert [t.slug for t in first.themes] == ["alimentation"]
    assert first.needs == ["precarite-alimentaire"]
    assert 75 < first.km < 85  # Nantes - Angers
    explanation = first.explanation()
    assert explanation.startswith(
        "même thème : Alimentation ; même besoin : Précarité alimentaire ; mots proches ; "
    )
    assert "km" in explanation and "sur angers.example" in explanation
    assert "same need: Food insecurity" in first.explanation("en")
    assert results[1].needs == [] and results[1].km < 5


async def test_nearer_wins_between_equal_matches(session, source):
    far = await add(session, "Banque alimentaire A", ["alimentation"], [], 43.6, 1.44)
    near = await add(session, "Banque alimentaire B", ["alimentation"], [], 47.25, -1.5)
    results = await similar_initiatives(session, source)
    assert [r.initiative.id for r in results] == [near.id, far.id]
    assert results[0].score > results[1].score


async def test_sub_theme_counts_as_its_core_theme(session, source):
    parent = await session.scalar(select(Theme).where(Theme.slug == "alimentation"))
    session.add(
        Theme(
            slug="glanage",
            iri="urn:local:glanage",
            label_fr="Glanage",
            label_en="Gleaning",
            parent_id=parent.id,
        )
    )
    await session.flush()
    other = await add(session, "Glaneurs", ["glanage"], [], 47.3, -1.5)
    results = await similar_initiatives(session, source)
    assert [r.initiative.id for r in results] == [other.id]
    assert [t.slug for t in results[0].themes] == ["alimentation"]


async def test_nothing_shared_gives_nothing(session):
    lonely = await add(session, "Seule", [], [])
    await add(session, "Autre", ["mobilite"], ["mobilite"])
    assert await similar_initiatives(session, lonely) == []


async def test_a_same_as_copy_is_hidden_behind_its_published_twin(session, source):
    mine = await add(session, "Épicerie de Rezé", ["alimentation"], [], 47.18, -1.55)
    copy = await add(
        session, "Epicerie-de-Reze", ["alimentation"], [], 47.18, -1.55, origin="reze.example"
    )
    first = await add(session, "Cantine A", ["alimentation"], [], 47.3, -1.5, origin="a.example")
    second = await add(session, "Cantine B", ["alimentation"], [], 47.3, -1.5, origin="b.example")
    await duplicates.link_same_as(session, mine.id, copy.id, author=ADMIN)
    session.add(DuplicateDecision(first_id=first.id, second_id=second.id, decision=SAME_AS))
    await session.flush()
    found = [r.initiative.id for r in await similar_initiatives(session, source)]
    assert mine.id in found and first.id in found
    assert copy.id not in found and second.id not in found

    await moderate(session, mine, "withdrawn", author=ADMIN)
    await session.flush()
    found = [r.initiative.id for r in await similar_initiatives(session, source)]
    assert copy.id in found and mine.id not in found


async def test_order_scores_explanations_and_cards_are_pinned(session, source):
    # Given candidates that differ by themes, needs, words, distance and origin
    both = await add(
        session,
        "Épicerie solidaire de Rezé",
        ["alimentation", "solidarite-entraide"],
        ["precarite-alimentaire", "isolement"],
        47.18,
        -1.55,
        summary="Épicerie solidaire pour tous",
    )
    far = await add(
        session, "Cantine", ["alimentation"], ["precarite-alimentaire"], 45.76, 4.84,
        origin="lyon.example",
    )  # fmt: skip
    need_only = await add(session, "Maraude", ["mobilite"], ["precarite-alimentaire"])
    words_only = await add(session, "Épicerie solidaire", ["culture-bibliotheques"], [], 47.2, -1.5)
    # When the similar ones are asked for
    results = await similar_initiatives(session, source, limit=6)
    # Then the order, scores and explanations are exactly these: 3 + 3 (theme, need),
    # 2 x 25 / (25 + km) for nearness, 4 x the Jaccard of the words (3 of 7 shared here)
    assert [(r.initiative.id, r.score) for r in results] == [
        (both.id, 9.42),
        (far.id, 6.09),
        (need_only.id, 3.0),
    ]
    assert words_only.id not in [r.initiative.id for r in results]
    assert [r.explanation() for r in results] == [
        "même thème : Alimentation ; même besoin : Précarité alimentaire ; mots proches ; 4 km",
        "même thème : Alimentation ; même besoin : Précarité alimentaire ; 515 km ; sur lyon.example",
        "même besoin : Précarité alimentaire",
    ]
    assert results[1].explanation("en") == (
        "same theme: Food ; same need: Food insecurity ; 515 km ; on lyon.example"
    )
    # And each card holds what the page shows: name, slug, city, origin, status, themes
    card = results[0].initiative
    assert (card.name, card.slug, card.origin, card.status) == (
        both.name, both.slug, None, "active",
    )  # fmt: skip
    assert [t.slug for t in card.themes] == [t.slug for t in both.themes]
