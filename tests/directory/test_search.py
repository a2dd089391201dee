"""Search: full text (French stems, accents), filters, facets, geography, paging, sorting."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import select, text, update
from starlette.datastructures import QueryParams

from directory import initiatives, themes
from directory.errors import ValidationError
from directory.initiatives import Author
from directory.models import Initiative
from directory.search import (
    SearchQuery,
    matching_ids,
    query_from_params,
    search_initiatives,
)
from tests.builders import add_initiatives

ADMIN = Author(None, "test")
T0 = datetime(2026, 1, 1, tzinfo=UTC)

# Ten initiatives around Nantes; the comment after each says what it is there to test.
FIXTURE = [
    # name, summary/description, themes, actor kinds, needs, INSEE, lat, lon, status, state, origin
    dict(
        name="Repair café de Rezé",
        summary="Réparer ensemble petits appareils et vélos",
        themes=["reemploi-reparation"],
        actor_kinds=["association"],
        needs=["precarite-energetique"],
        insee_code="44143",
        latitude=47.1833,
        longitude=-1.5500,
    ),
    dict(
        name="Atelier vélo solidaire",
        summary="Réparations de vélos à prix libre",
        themes=["mobilite", "reemploi-reparation"],
        actor_kinds=["association", "collectif-habitants"],
        needs=["mobilite"],
        insee_code="44109",
        latitude=47.2184,
        longitude=-1.5536,
    ),
    dict(
        name="Ressourcerie du Pays de Retz",
        summary="Collecte et revente d'objets",
        description="Le réemploi des meubles et de l'électroménager, avec des salariés en insertion.",
        themes=["reemploi-reparation"],
        actor_kinds=["entreprise-ess"],
        needs=["insertion-emploi"],
        insee_code="44087",
        latitude=46.9900,
        longitude=-1.8200,
        status="paused",
        _origin="autre.example",
    ),
    dict(
        name="Jardin partagé des Dervallières",
        summary="Un potager collectif au pied des immeubles",
        themes=["alimentation", "biodiversite-nature"],
        actor_kinds=["collectif-habitants"],
        needs=["precarite-alimentaire", "isolement"],
        insee_code="44109",
        latitude=47.2200,
        longitude=-1.5900,
    ),
    dict(
        name="Épicerie solidaire de Saint-Nazaire",
        summary="Produits frais à petits prix",
        themes=["alimentation", "solidarite-entraide"],
        actor_kinds=["association"],
        needs=["precarite-alimentaire"],
        insee_code="44184",
        latitude=47.2735,
        longitude=-2.2138,
        status="ended",
    ),
    dict(
        name="Fablab de Guérande",
        summary="Imprimantes 3D et médiation numérique",
        themes=["fablabs-numerique"],
        actor_kinds=["etablissement-public", "collectivite"],
        needs=["fracture-numerique"],
        insee_code="44069",
        latitude=47.3281,
        longitude=-2.4294,
    ),
    dict(
        name="Conseil citoyen du climat",
        summary="Des habitants tirés au sort proposent un plan climat",
        themes=["participation-citoyenne", "climat-energie"],
        actor_kinds=["collectivite"],
        needs=["climat"],
    ),
    dict(
        name="Ecole de la réparation",
        summary="Apprendre à réparer soi-même",
        themes=["education-jeunesse"],
        actor_kinds=["association"],
        needs=["insertion-emploi"],
        insee_code="44109",
        latitude=47.2100,
        longitude=-1.5600,
    ),
    dict(
        name="Repair café clandestin",
        summary="Une proposition pas encore relue",
        themes=["reemploi-reparation"],
        actor_kinds=["association"],
        insee_code="44109",
        latitude=47.2150,
        longitude=-1.5550,
        _state="proposed",
    ),
    dict(
        name="Réparation refusée",
        summary="Refusée par la modération",
        themes=["reemploi-reparation"],
        actor_kinds=["association"],
        insee_code="44109",
        latitude=47.2150,
        longitude=-1.5550,
        _state="rejected",
    ),
]
PUBLISHED = [d["name"] for d in FIXTURE if d.get("_state", "published") == "published"]


@pytest.fixture
async def directory(session):
    """The fixture above, stored; created_at one day apart in list order."""
    stored = await add_initiatives(session, FIXTURE, author=ADMIN, first_published=T0)
    return {initiative.name: initiative for initiative in stored}


def read_window(monkeypatch, how: str) -> None:
    """Make PostgreSQL read the ranked window one way: "walk" (the count, and a walk of
    the ids by primary key), "one" (every match read once by a bitmap scan)."""

    async def estimate(session, statement) -> float:
        return 1e9 if how == "walk" else 0.0

    monkeypatch.setattr("directory.search._estimated_rows", estimate)


def names(result) -> list[str]:
    return [i.name for i in result.items]


async def search(session, **kwargs):
    return await search_initiatives(session, SearchQuery(**kwargs))


# --- Full text ---------------------------------------------------------------------------


async def test_stems_match_across_inflections(session, directory):
    # Snowball French reduces réparer, réparations, réparation, réparé all to "repar";
    # the Ressourcerie matches through its theme label "Réemploi et réparation".
    result = await search(session, text="réparations")
    assert set(names(result)) == {
        "Repair café de Rezé",
        "Atelier vélo solidaire",
        "Ressourcerie du Pays de Retz",
        "Ecole de la réparation",
    }


async def test_plural_s_of_short_words_is_not_stemmed(session, directory):
    # True Snowball behaviour: "vélos" stems to "velos", "vélo" to "velo". The Repair café
    # only says "vélos", the Atelier says both; a word before the last must match exactly.
    assert names(await search(session, text="vélo café")) == []
    assert names(await search(session, text="vélos café")) == ["Repair café de Rezé"]
    assert names(await search(session, text="vélo atelier")) == ["Atelier vélo solidaire"]


async def test_accents_are_folded_both_ways(session, directory):
    # "Réemploi" is in the Ressourcerie's description and in the theme label of three.
    assert set(names(await search(session, text="reemploi"))) == {
        "Repair café de Rezé",
        "Atelier vélo solidaire",
        "Ressourcerie du Pays de Retz",
    }
    assert names(await search(session, text="EPICERIE")) == ["Épicerie solidaire de Saint-Nazaire"]
    assert names(await search(session, text="electromenager")) == ["Ressourcerie du Pays de Retz"]
    assert names(await search(session, text="Guerande")) == ["Fablab de Guérande"]


async def test_last_word_is_a_prefix(session, directory):
    assert names(await search(session, text="fabl")) == ["Fablab de Guérande"]
    assert names(await search(session, text="guérande fabl")) == ["Fablab de Guérande"]
    assert names(await search(session, text="fabl guérande")) == []  # only the last word
    assert names(await search(session, text="potag")) == ["Jardin partagé des Dervallières"]


async def test_all_words_must_match_and_stop_words_are_ignored(session, directory):
    assert names(await search(session, text="jardin de la gare")) == []
    assert names(await search(session, text="le jardin des immeubles")) == [
        "Jardin partagé des Dervallières"
    ]


async def test_theme_labels_are_searched(session, directory):
    # "Biodiversité et nature" is only a theme label of the Jardin partagé.
    assert names(await search(session, text="biodiversité")) == ["Jardin partagé des Dervallières"]


async def test_relevance_puts_name_before_summary_before_description(session, directory):
    await initiatives.create_initiative(
        session,
        {"name": "Maison des potagers", "summary": "Semences", "description": "Rien d'autre"},
        author=ADMIN,
        moderation_state="published",
    )
    await initiatives.create_initiative(
        session,
        {"name": "Maison du quartier", "description": "Un grand potager derrière la maison."},
        author=ADMIN,
        moderation_state="published",
    )
    result = await search(session, text="potager", sort="relevance")
    assert names(result) == [
        "Maison des potagers",
        "Jardin partagé des Dervallières",
        "Maison du quartier",
    ]


@pytest.mark.parametrize(
    "hostile",
    [
        '"',
        '"""',
        "répar*",
        "*",
        "a OR b",
        "NOT vélo",
        "vélo AND",
        "NEAR(vélo café, 2)",
        "name:vélo",
        "{name summary}: vélo",
        "^vélo",
        "vélo -café",
        "(vélo",
        "vélo)",
        "vélo & café | !jardin",
        "vélo:*",
        "'; DROP TABLE initiatives; --",
        "1' OR '1'='1",
        "\\",
        "\x00",
        "é" * 5000,
        "vélo " * 500,
        "🚲 réparation 🔧",
        "ßtraße İstanbul ǅ",
        "e\u0301picerie",  # a decomposed é
        "___",
        "_vélo_",
        "  ",
        "de la le",
        "%_%",
    ],
)
async def test_hostile_text_never_raises(session, directory, hostile):
    result = await search(session, text=hostile, sort="relevance")
    assert result.total >= len(result.items)
    for sort in ("name", "recent"):
        await search(session, text=hostile, sort=sort)


async def test_decomposed_accents_match_like_composed_ones(session, directory):
    assert names(await search(session, text="e\u0301picerie")) == [
        "Épicerie solidaire de Saint-Nazaire"
    ]


async def test_text_without_searchable_word_filters_nothing(session, directory):
    assert (await search(session, text="*** !!")).total == len(PUBLISHED)


# --- Visibility and filters ----------------------------------------------------------------


async def test_only_published_by_default(session, directory):
    result = await search(session, per_page=100)
    assert sorted(names(result)) == sorted(PUBLISHED)
    assert result.total == len(PUBLISHED) == 8
    assert names(await search(session, text="clandestin")) == []
    assert names(await search(session, text="refusée")) == []


async def test_moderation_states_filter_for_moderators(session, directory):
    result = await search(session, moderation_states=("proposed", "rejected"))
    assert sorted(names(result)) == ["Repair café clandestin", "Réparation refusée"]


@pytest.mark.parametrize(
    ("filters", "expected"),
    [
        (
            {"themes": ("reemploi-reparation",)},
            {"Repair café de Rezé", "Atelier vélo solidaire", "Ressourcerie du Pays de Retz"},
        ),
        (
            {"themes": ("mobilite", "fablabs-numerique")},  # OR within a facet
            {"Atelier vélo solidaire", "Fablab de Guérande"},
        ),
        (
            {"actor_kinds": ("collectif-habitants",)},
            {"Atelier vélo solidaire", "Jardin partagé des Dervallières"},
        ),
        (
            {"needs": ("precarite-alimentaire",)},
            {"Jardin partagé des Dervallières", "Épicerie solidaire de Saint-Nazaire"},
        ),
        (
            {"communes": ("44109",)},
            {
                "Atelier vélo solidaire",
                "Jardin partagé des Dervallières",
                "Ecole de la réparation",
            },
        ),
        (
            {"statuses": ("paused", "ended")},
            {"Ressourcerie du Pays de Retz", "Épicerie solidaire de Saint-Nazaire"},
        ),
        ({"origin": "remote"}, {"Ressourcerie du Pays de Retz"}),
        (
            {"origin": "local", "themes": ("reemploi-reparation",)},
            {"Repair café de Rezé", "Atelier vélo solidaire"},
        ),
        (
            {"communes": ("44109",), "actor_kinds": ("association",)},  # AND across facets
            {"Atelier vélo solidaire", "Ecole de la réparation"},
        ),
        (
            {"communes": ("44109",), "text": "répar"},
            {"Atelier vélo solidaire", "Ecole de la réparation"},
        ),
        # Text and several values per facet: alternatives within a facet, all facets hold.
        (
            {"text": "répar", "themes": ("mobilite", "education-jeunesse")},
            {"Atelier vélo solidaire", "Ecole de la réparation"},
        ),
        (
            {"text": "répar", "communes": ("44109", "44143")},
            {"Repair café de Rezé", "Atelier vélo solidaire", "Ecole de la réparation"},
        ),
        (
            {"text": "répar", "actor_kinds": ("collectif-habitants", "entreprise-ess")},
            {"Atelier vélo solidaire", "Ressourcerie du Pays de Retz"},
        ),
        ({"text": "répar", "statuses": ("paused",)}, {"Ressourcerie du Pays de Retz"}),
        ({"text": "répar", "origin": "remote"}, {"Ressourcerie du Pays de Retz"}),
        (
            {"text": "répar", "origin": "local", "needs": ("mobilite", "precarite-energetique")},
            {"Repair café de Rezé", "Atelier vélo solidaire"},
        ),
        (
            {"text": "répar", "themes": ("reemploi-reparation",), "bbox": (47.1, -1.6, 47.3, -1.5)},
            {"Repair café de Rezé", "Atelier vélo solidaire"},
        ),
        ({"text": "répar", "moderation_states": ("proposed",)}, {"Repair café clandestin"}),
        (
            {
                "text": "répar",
                "moderation_states": ("published", "rejected"),
                "communes": ("44109",),
            },
            {"Atelier vélo solidaire", "Ecole de la réparation", "Réparation refusée"},
        ),
    ],
)
async def test_filters(session, directory, filters, expected):
    result = await search(session, per_page=100, **filters)
    assert set(names(result)) == expected
    assert result.total == len(expected)


async def test_core_theme_matches_its_local_sub_themes(session, directory):
    sub = await themes.add_local_theme(
        session,
        label_fr="Cafés réparation",
        parent_slug="reemploi-reparation",
        iri_base="https://maillage.test",
    )
    await initiatives.create_initiative(
        session,
        {"name": "Repair café de Vertou", "themes": [sub.slug]},
        author=ADMIN,
        moderation_state="published",
    )
    core = await search(session, themes=("reemploi-reparation",))
    assert "Repair café de Vertou" in names(core)
    assert core.total == 4
    assert names(await search(session, themes=(sub.slug,))) == ["Repair café de Vertou"]
    # The core theme's facet counts what filtering by it returns.
    assert core.facets["themes"]["reemploi-reparation"] == 4
    assert core.facets["themes"][sub.slug] == 1


async def test_unknown_theme_is_a_validation_error(session, directory):
    with pytest.raises(ValidationError) as caught:
        await search(session, themes=("astrologie",))
    assert "theme" in caught.value.errors


# --- Facets --------------------------------------------------------------------------------


async def test_facets_count_the_whole_published_set(session, directory):
    facets = (await search(session)).facets
    assert facets["themes"] == {
        "alimentation": 2,
        "reemploi-reparation": 3,
        "biodiversite-nature": 1,
        "climat-energie": 1,
        "education-jeunesse": 1,
        "fablabs-numerique": 1,
        "mobilite": 1,
        "participation-citoyenne": 1,
        "solidarite-entraide": 1,
    }
    assert facets["actor_kinds"] == {
        "association": 4,
        "collectif-habitants": 2,
        "collectivite": 2,
        "entreprise-ess": 1,
        "etablissement-public": 1,
    }
    assert facets["needs"] == {
        "insertion-emploi": 2,
        "precarite-alimentaire": 2,
        "climat": 1,
        "fracture-numerique": 1,
        "isolement": 1,
        "mobilite": 1,
        "precarite-energetique": 1,
    }
    assert facets["communes"] == {"44109": 3, "44069": 1, "44087": 1, "44143": 1, "44184": 1}
    assert facets["statuses"] == {"active": 6, "ended": 1, "paused": 1}


async def test_facets_count_under_the_current_filters(session, directory):
    result = await search(session, communes=("44109",), text="répar")
    assert result.facets == {
        "themes": {"education-jeunesse": 1, "mobilite": 1, "reemploi-reparation": 1},
        "actor_kinds": {"association": 2, "collectif-habitants": 1},
        "needs": {"insertion-emploi": 1, "mobilite": 1},
        # The commune facet ignores the commune selection: what adding a commune would add.
        "communes": {"44109": 2, "44087": 1, "44143": 1},
        "statuses": {"active": 2},
    }


@pytest.mark.parametrize("text", ["", "répar"])
async def test_facets_are_disjunctive(session, directory, text):
    # Given two actor kinds chosen (either will do) and one need
    result = await search(
        session,
        text=text,
        actor_kinds=("association", "entreprise-ess"),
        needs=("insertion-emploi",),
    )
    # Then the items have one of the kinds and the need
    assert set(names(result)) == {"Ressourcerie du Pays de Retz", "Ecole de la réparation"}
    assert result.total == 2
    # The kind counts ignore the kind selection (but keep the need): one more kind can be
    # added; the need counts ignore the need selection (but keep the kinds).
    assert result.facets["actor_kinds"] == {"association": 1, "entreprise-ess": 1}
    needs = {"insertion-emploi": 2, "precarite-energetique": 1, "mobilite": 1}
    if not text:
        needs |= {"precarite-alimentaire": 1}
    assert result.facets["needs"] == needs
    # The other facets count the matching items.
    assert result.facets["statuses"] == {"active": 1, "paused": 1}
    assert result.facets["communes"] == {"44087": 1, "44109": 1}


async def test_facets_can_be_skipped(session, directory):
    result = await search(session, facets=False, text="répar")
    assert result.facets == {}
    assert result.total == 4


async def test_cached_facets_follow_every_change(session, directory):
    before = (await search(session)).facets
    assert before["statuses"]["active"] == 6
    assert (await search(session)).facets == before  # served again (from the cache)

    fablab = directory["Fablab de Guérande"]
    await initiatives.update_initiative(session, fablab, {"status": "ended"}, author=ADMIN)
    await session.commit()
    assert (await search(session)).facets["statuses"] == {"active": 5, "ended": 2, "paused": 1}

    proposal = directory["Repair café clandestin"]
    await initiatives.moderate(session, proposal, "published", author=ADMIN)
    await session.commit()
    after = await search(session)
    assert after.total == 9
    assert after.facets["themes"]["reemploi-reparation"] == 4
    assert after.facets["communes"]["44109"] == 4

    await session.execute(
        update(Initiative).where(Initiative.id == fablab.id).values(insee_code="44109")
    )
    await session.commit()
    assert (await search(session)).facets["communes"]["44109"] == 5

    await session.delete(await session.get(Initiative, fablab.id))
    await session.commit()
    assert (await search(session)).total == 8


async def test_uncommitted_writes_never_reach_the_cache(db, directory, session):
    await session.commit()
    before = (await search(session)).facets
    async with db.sessionmaker() as other:
        await initiatives.create_initiative(
            other,
            {"name": "Brouillon", "themes": ["sante"], "insee_code": "44001"},
            author=ADMIN,
            moderation_state="published",
        )
        seen_inside = await search_initiatives(other, SearchQuery())
        assert seen_inside.facets["themes"]["sante"] == 1
        await other.rollback()
    async with db.sessionmaker() as third:
        assert (await search_initiatives(third, SearchQuery())).facets == before


# --- Geography -----------------------------------------------------------------------------


async def test_bounding_box(session, directory):
    nantes = (47.15, -1.65, 47.25, -1.50)
    result = await search(session, bbox=nantes)
    assert set(names(result)) == {
        "Repair café de Rezé",
        "Atelier vélo solidaire",
        "Jardin partagé des Dervallières",
        "Ecole de la réparation",
    }
    assert result.facets["communes"] == {"44109": 3, "44143": 1}


async def test_radius_filters_sorts_and_reports_distances(session, directory):
    # From Nantes city centre (47.2184, -1.5536), 40 km: not Saint-Nazaire (about 50 km).
    result = await search(session, near=(47.2184, -1.5536, 40.0), sort="distance")
    assert names(result) == [
        "Atelier vélo solidaire",
        "Ecole de la réparation",
        "Jardin partagé des Dervallières",
        "Repair café de Rezé",
        "Ressourcerie du Pays de Retz",
    ]
    distances = [result.distances_km[i.id] for i in result.items]
    assert distances[0] == pytest.approx(0.0, abs=0.01)
    assert distances == sorted(distances)
    # Rezé: 0.0351° of latitude south, 0.0036° of longitude east ≈ 3.92 km.
    assert result.distances_km[directory["Repair café de Rezé"].id] == pytest.approx(3.92, abs=0.03)
    assert max(distances) <= 40
    wider = await search(session, near=(47.2184, -1.5536, 60.0))
    assert "Épicerie solidaire de Saint-Nazaire" in names(wider)


async def test_bbox_across_the_antimeridian(session):
    for name, lon in (("Est", 179.5), ("Ouest", -179.5), ("Loin", 10.0)):
        await initiatives.create_initiative(
            session,
            {"name": name, "latitude": 0.0, "longitude": lon},
            author=ADMIN,
            moderation_state="published",
        )
    result = await search(session, bbox=(-1.0, 179.0, 1.0, -179.0))
    assert sorted(names(result)) == ["Est", "Ouest"]


# --- Sorting and paging ----------------------------------------------------------------------


async def test_sort_by_name_folds_accents(session, directory):
    result = await search(session, sort="name", per_page=100)
    assert names(result) == sorted(PUBLISHED, key=lambda n: n.replace("É", "E").casefold())
    assert names(result)[:4] == [
        "Atelier vélo solidaire",
        "Conseil citoyen du climat",
        "Ecole de la réparation",
        "Épicerie solidaire de Saint-Nazaire",
    ]


async def test_sort_by_recent(session, directory):
    result = await search(session, sort="recent", per_page=3)
    assert names(result) == [
        "Ecole de la réparation",
        "Conseil citoyen du climat",
        "Fablab de Guérande",
    ]


async def test_relevance_without_text_falls_back_to_name(session, directory):
    assert names(await search(session, sort="relevance")) == names(
        await search(session, sort="name")
    )


async def test_pages_cover_everything_once_and_keep_the_total(session, directory):
    seen = []
    for page in (1, 2, 3):
        result = await search(session, per_page=3, page=page)
        assert result.total == 8
        seen += names(result)
    assert seen == names(await search(session, per_page=100))
    assert (await search(session, per_page=3, page=4)).items == []


async def test_bad_paging_is_a_validation_error(session, directory):
    with pytest.raises(ValidationError) as caught:
        await search(session, per_page=0, page=0, sort="random")
    assert set(caught.value.errors) == {"per_page", "page", "sort"}


# --- matching_ids ----------------------------------------------------------------------------


async def test_matching_ids_selects_every_match_without_paging(session, directory):
    query = SearchQuery(text="répar", per_page=1, page=2)
    ids = set(await session.scalars(matching_ids(query, dialect=session.bind.dialect.name)))
    expected = {
        directory[n].id
        for n in (
            "Repair café de Rezé",
            "Atelier vélo solidaire",
            "Ressourcerie du Pays de Retz",
            "Ecole de la réparation",
        )
    }
    assert ids == expected
    names_by_subquery = await session.scalars(
        select(Initiative.name).where(
            Initiative.id.in_(
                matching_ids(SearchQuery(origin="remote"), dialect=session.bind.dialect.name)
            )
        )
    )
    assert list(names_by_subquery) == ["Ressourcerie du Pays de Retz"]


# --- query_from_params -----------------------------------------------------------------------


def test_query_from_params_reads_everything():
    query = query_from_params(
        {
            "q": "  répar ",
            "theme": "alimentation,mobilite",
            "actor_kind": "association",
            "need": "isolement",
            "commune": "44109",
            "status": "active",
            "origin": "local",
            "bbox": "47,-2,48,-1",
            "near": "47.2,-1.5,10",
            "sort": "distance",
            "page": "2",
            "per_page": "50",
        }
    )
    assert query == SearchQuery(
        text="répar",
        themes=("alimentation", "mobilite"),
        actor_kinds=("association",),
        needs=("isolement",),
        communes=("44109",),
        statuses=("active",),
        origin="local",
        bbox=(47.0, -2.0, 48.0, -1.0),
        near=(47.2, -1.5, 10.0),
        sort="distance",
        page=2,
        per_page=50,
    )


def test_query_from_params_takes_repeated_and_single_values():
    repeated = QueryParams("theme=alimentation&theme=mobilite&need=isolement&need=climat")
    query = query_from_params(repeated)
    assert query.themes == ("alimentation", "mobilite")
    assert query.needs == ("isolement", "climat")
    assert query_from_params({"theme": "alimentation"}).themes == ("alimentation",)
    assert query_from_params(QueryParams("status=active,paused")).statuses == ("active", "paused")


def test_query_from_params_defaults():
    assert query_from_params({}) == SearchQuery(sort="name")
    assert query_from_params({"q": "vélo"}).sort == "relevance"


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"status": "zombie"}, "status"),
        ({"actor_kind": "licorne"}, "actor_kind"),
        ({"need": "ennui"}, "need"),
        ({"origin": "mars"}, "origin"),
        ({"sort": "random"}, "sort"),
        ({"sort": "distance"}, "sort"),
        ({"bbox": "1,2,3"}, "bbox"),
        ({"bbox": "48,0,47,1"}, "bbox"),
        ({"bbox": "a,b,c,d"}, "bbox"),
        ({"bbox": "nan,0,1,1"}, "bbox"),
        ({"near": "47,-1,0"}, "near"),
        ({"near": "47,-1,5000"}, "near"),
        ({"near": "95,0,10"}, "near"),
        ({"page": "0"}, "page"),
        ({"page": "deux"}, "page"),
        ({"per_page": "1000"}, "per_page"),
    ],
)
def test_query_from_params_names_bad_parameters(params, field):
    with pytest.raises(ValidationError) as caught:
        query_from_params(params)
    assert field in caught.value.errors


@pytest.mark.parametrize("how", ["walk", "one"])
async def test_relevance_pages_past_the_ranked_window_cover_every_match_once(
    session, directory, monkeypatch, how
):
    # Ranking is bounded to the newest RANK_CANDIDATES matches; later ones follow them.
    # PostgreSQL reads that window one of two ways (read_window).
    monkeypatch.setattr("directory.search.RANK_CANDIDATES", 3)
    read_window(monkeypatch, how)
    pages = [
        names(await search(session, text="répar", sort="relevance", per_page=2, page=p))
        for p in (1, 2, 3)
    ]
    assert [len(p) for p in pages] == [2, 2, 0]
    seen = pages[0] + pages[1]
    assert sorted(seen) == sorted(
        [
            "Repair café de Rezé",
            "Atelier vélo solidaire",
            "Ressourcerie du Pays de Retz",
            "Ecole de la réparation",
        ]
    )
    # The three newest matches are ranked (name match first); the oldest comes last.
    assert seen[0] == "Ecole de la réparation"
    assert seen[3] == "Repair café de Rezé"


@pytest.mark.parametrize("facets", [False, True])
async def test_relevance_page_past_the_matches_keeps_the_exact_total(session, directory, facets):
    # The ranked page and the total come from one statement, which answers the total
    # even when the page holds no match.
    first = await search(session, text="répar", per_page=3, facets=facets)
    assert first.total == 4 and len(first.items) == 3
    second = await search(session, text="répar", per_page=3, page=2, facets=facets)
    assert second.total == 4 and len(second.items) == 1
    beyond = await search(session, text="répar", per_page=3, page=5, facets=facets)
    assert (beyond.total, beyond.items) == (4, [])
    none = await search(session, text="introuvablemot", facets=facets)
    assert (none.total, none.items) == (0, [])


async def test_ranked_page_with_an_area_or_a_radius_counts_and_measures(session, directory):
    boxed = await search(
        session, text="répar", themes=("reemploi-reparation",), bbox=(47.1, -1.6, 47.3, -1.5),
        facets=False,
    )  # fmt: skip
    assert boxed.total == len(boxed.items) == 2
    assert set(names(boxed)) == {"Repair café de Rezé", "Atelier vélo solidaire"}
    near = await search(session, text="répar", near=(47.2184, -1.5536, 10.0), facets=False)
    assert near.total == len(near.items) == 3  # Ecole (1.1 km), Atelier, Rezé (3.9 km)
    assert set(names(near)) == {
        "Repair café de Rezé",
        "Atelier vélo solidaire",
        "Ecole de la réparation",
    }
    assert set(near.distances_km) == {i.id for i in near.items}
    assert near.distances_km[directory["Atelier vélo solidaire"].id] == 0.0


WINDOW_QUERIES = [
    dict(text="répar"),
    dict(text="répar", themes=("reemploi-reparation",)),
    dict(text="répar", communes=("44109",)),
    dict(text="répar", moderation_states=("published", "rejected")),
    dict(text="répar", bbox=(47.1, -1.6, 47.3, -1.5)),
    dict(text="répar", near=(47.2184, -1.5536, 10.0)),
    dict(text="vélo répar"),
    dict(text="a"),
]


@pytest.mark.parametrize("query", WINDOW_QUERIES, ids=lambda q: ",".join(map(str, q.values())))
async def test_the_ranked_window_is_the_same_however_it_is_read(
    session, directory, monkeypatch, query
):
    # PostgreSQL: every match read by a bitmap scan, and the count with a walk of the ids
    # by primary key (giving up or not) give the same pages, totals and distances.
    monkeypatch.setattr("directory.search.RANK_CANDIDATES", 2)

    async def pages(how: str, walk_reach: float = 4) -> list:
        read_window(monkeypatch, how)
        monkeypatch.setattr("directory.search.WALK_REACH", walk_reach)
        found = []
        for page in (1, 2, 3):
            result = await search(session, **query, per_page=1, page=page, facets=False)
            found.append((result.total, names(result), result.distances_km))
        return found

    bitmap = await pages("one")
    assert bitmap == await pages("walk")
    assert bitmap == await pages("walk", 0.01)  # gives up: nothing within its reach
    if query["text"] == "répar" and len(query) == 1:
        assert [total for total, _, _ in bitmap] == [4, 4, 4]
        assert all(len(found) == 1 for _, found, _ in bitmap)


@pytest.mark.parametrize("how", ["walk", "one"])
async def test_a_search_leaves_the_planner_settings_as_it_found_them(
    session, directory, monkeypatch, how
):
    # PostgreSQL: a full-text search changes them for its own statements only (they last
    # as long as the transaction, which the caller goes on using).
    if session.bind.dialect.name != "postgresql":
        pytest.skip("PostgreSQL's planner settings")
    monkeypatch.setattr("directory.search.RANK_CANDIDATES", 2)
    read_window(monkeypatch, how)
    names = ("enable_seqscan", "enable_indexscan", "enable_bitmapscan", "plan_cache_mode")
    monkeypatch.setattr("directory.search.WALK_REACH", 0.01)  # gives up, then the other way

    async def settings() -> list[str]:
        return [await session.scalar(text(f"SHOW {name}")) for name in names]

    before = await settings()
    found = await search(session, text="répar", themes=("reemploi-reparation",), facets=False)
    assert found.total == 3  # put back by the statement that loads the page's initiatives
    assert await settings() == before == ["on", "on", "on", "auto"]
    assert (await search(session, text="introuvablemot", facets=False)).total == 0
    assert await settings() == before  # no page to load: put back on their own


async def test_the_in_line_copy_of_each_vector_follows_its_text(session, directory):
    # PostgreSQL ranks and walks with a copy of each search vector kept in line (0018).
    if session.bind.dialect.name != "postgresql":
        pytest.skip("PostgreSQL's search tables")
    copies = text(
        "SELECT count(*) FROM initiative_search s FULL JOIN initiative_rank r USING (id)"
        " WHERE s.vector IS DISTINCT FROM r.vector"
    )
    assert await session.scalar(copies) == 0
    fablab = directory["Fablab de Guérande"]
    await initiatives.update_initiative(
        session, fablab, {"summary": "Imprimantes et brodeuses numériques"}, author=ADMIN
    )
    await session.flush()
    assert await session.scalar(copies) == 0
    assert names(await search(session, text="brodeuses", facets=False)) == ["Fablab de Guérande"]
    await session.delete(fablab)
    await session.flush()
    assert await session.scalar(copies) == 0


async def test_a_moved_initiative_is_searched_where_it_now_is(session, directory):
    # PostgreSQL's search index holds the coordinates (migration 0017): kept on update.
    rezé = directory["Repair café de Rezé"]
    box = (47.25, -2.25, 47.30, -2.20)  # around Saint-Nazaire
    assert not (await search(session, text="répar", bbox=box)).items
    await session.execute(
        update(Initiative).where(Initiative.id == rezé.id).values(latitude=47.27, longitude=-2.21)
    )
    found = await search(session, text="répar", bbox=box, facets=False)
    assert (found.total, names(found)) == (1, ["Repair café de Rezé"])
    near = await search(session, text="répar", near=(47.27, -2.21, 1.0), facets=False)
    assert near.distances_km == {rezé.id: 0.0}


async def test_deleted_initiatives_leave_the_index(session, directory):
    repair = directory["Repair café de Rezé"]
    await session.delete(repair)
    await session.flush()
    assert "Repair café de Rezé" not in names(await search(session, text="répar"))
    if session.bind.dialect.name == "sqlite":
        left = await session.scalar(
            text("SELECT count(*) FROM initiative_fts WHERE rowid = :id"), {"id": repair.id}
        )
        assert left == 0


async def test_text_search_filters_follow_every_change(session, directory):
    # The filters of a text search come from tags in the full-text index, which the
    # database keeps current whatever writes the moderation state, themes or commune.
    proposal = directory["Repair café clandestin"]
    assert "Repair café clandestin" not in names(await search(session, text="répar"))
    await initiatives.moderate(session, proposal, "published", author=ADMIN)
    await session.flush()
    assert "Repair café clandestin" in names(await search(session, text="répar"))

    fablab = directory["Fablab de Guérande"]
    await initiatives.update_initiative(
        session, fablab, {"themes": ["sante"], "needs": ["isolement"]}, author=ADMIN
    )
    await session.flush()
    found = await search(session, text="fablab", themes=("sante",), needs=("isolement",))
    assert names(found) == ["Fablab de Guérande"]
    assert not (await search(session, text="fablab", themes=("fablabs-numerique",))).items

    await session.execute(
        update(Initiative).where(Initiative.id == fablab.id).values(insee_code="44109")
    )
    assert names(await search(session, text="fablab", communes=("44109",))) == [
        "Fablab de Guérande"
    ]

    sub = await themes.add_local_theme(
        session, label_fr="Labos", parent_slug="sante", iri_base="https://maillage.test"
    )
    await initiatives.update_initiative(session, fablab, {"themes": [sub.slug]}, author=ADMIN)
    await session.flush()
    # A sub-theme's initiatives are found under its core theme.
    assert names(await search(session, text="fablab", themes=("sante",))) == ["Fablab de Guérande"]


async def test_initiatives_deleted_in_sql_leave_the_index(session, directory):
    # Cascaded deletes of themes, kinds and needs must not trip the index's triggers.
    repair = directory["Repair café de Rezé"]
    await session.execute(text("DELETE FROM initiatives WHERE id = :id"), {"id": repair.id})
    result = await search(session, text="répar")
    assert "Repair café de Rezé" not in names(result)
    assert result.total == 3
