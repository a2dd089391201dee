"""A small, demo-like directory around Nantes for the public pages' tests."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from directory.initiatives import Author, update_initiative
from directory.models import Initiative, Relation
from tests.builders import add_communes, add_initiatives

COMMUNES = (
    ("44109", "Nantes", 47.2181, -1.5528, 320732, "44000"),
    ("44162", "Saint-Herblain", 47.2122, -1.6497, 48950, "44800"),
    ("44143", "Rezé", 47.1833, -1.5500, 42919, "44400"),
    ("44184", "Saint-Nazaire", 47.2736, -2.2139, 71887, "44600"),
)

INITIATIVES = (
    dict(
        name="Repair Café de Chantenay",
        summary="Un samedi par mois, on répare ensemble petits appareils et vélos.",
        description="## Comment ça marche\n\nApportez l'objet **en panne**, des bénévoles vous aident.",
        themes=["reemploi-reparation"],
        actor_kinds=["association"],
        needs=["climat"],
        street="12 rue de la Montagne",
        postal_code="44100",
        city="Nantes",
        insee_code="44109",
        latitude=47.2050,
        longitude=-1.5920,
        website="https://repaircafe.example.org",
        email="contact@repaircafe.example.org",
        phone="02 40 00 00 00",
        opening_hours="Sa 14:00-18:00",
    ),
    dict(
        name="Épicerie solidaire du Sillon",
        summary="Des produits à petits prix pour les foyers aux revenus modestes.",
        themes=["alimentation", "solidarite-entraide"],
        actor_kinds=["association", "collectivite"],
        needs=["precarite-alimentaire"],
        city="Saint-Herblain",
        insee_code="44162",
        latitude=47.2200,
        longitude=-1.6400,
    ),
    dict(
        name="Jardin partagé des Trois-Moulins",
        summary="Un jardin cultivé par les habitants du quartier.",
        themes=["alimentation", "biodiversite-nature"],
        actor_kinds=["collectif-habitants"],
        needs=["isolement"],
        city="Rezé",
        insee_code="44143",
        latitude=47.1850,
        longitude=-1.5600,
    ),
    dict(
        name="Fablab de l'estuaire",
        summary="Imprimantes 3D, découpe laser et ateliers pour les jeunes.",
        themes=["fablabs-numerique", "education-jeunesse"],
        actor_kinds=["association"],
        needs=["fracture-numerique"],
        city="Saint-Nazaire",
        insee_code="44184",
        latitude=47.2750,
        longitude=-2.2100,
    ),
    dict(
        name="Conseillers numériques de Nantes",
        summary="Accompagnement gratuit aux démarches en ligne.",
        themes=["fablabs-numerique", "solidarite-entraide"],
        actor_kinds=["collectivite"],
        needs=["fracture-numerique", "isolement"],
        city="Nantes",
        insee_code="44109",
        latitude=47.2184,
        longitude=-1.5536,
    ),
    dict(
        name="Atelier vélo Vélocampus",
        summary="Apprendre à entretenir et réparer son vélo.",
        themes=["mobilite", "reemploi-reparation"],
        actor_kinds=["association"],
        needs=["mobilite"],
        city="Nantes",
        insee_code="44109",
        latitude=47.2450,
        longitude=-1.5550,
    ),
)

REMOTE = dict(
    _origin="erdre.example",
    _uri="https://erdre.example/initiatives/ressourcerie",
    _via=["erdre.example", "pays-de-la-loire.example"],
    _author=Author(None, "federation:erdre.example"),
    name="Ressourcerie de l'Erdre",
    summary="Collecte, tri et revente d'objets de seconde main.",
    themes=["reemploi-reparation"],
    actor_kinds=["entreprise-ess"],
    city="Nantes",
    insee_code="44109",
    latitude=47.2300,
    longitude=-1.5450,
)

HIDDEN = dict(
    _state="proposed",
    _author=Author(None, "secret.person@example.net"),
    _proposer_email="secret.person@example.net",
    name="Proposition en attente secrète",
    summary="Ne doit apparaître nulle part.",
    themes=["alimentation"],
    city="Nantes",
    insee_code="44109",
    latitude=47.21,
    longitude=-1.55,
)


async def populate(session: AsyncSession) -> dict[str, Initiative]:
    """Communes, six local published initiatives, one remote, one proposal, a relation."""
    add_communes(session, COMMUNES)
    stored = await add_initiatives(
        session, [*INITIATIVES, REMOTE, HIDDEN], author=Author(None, "import:demo")
    )
    out = {item.slug: item for item in stored}
    repair = out["repair-cafe-de-chantenay"]
    await update_initiative(
        session,
        repair,
        {"summary": INITIATIVES[0]["summary"] + " Gratuit."},
        author=Author(None, "someone@example.org"),
    )
    session.add(
        Relation(
            initiative_id=repair.id,
            target_uri="https://maillage.test/initiatives/atelier-velo-velocampus",
            target_id=out["atelier-velo-velocampus"].id,
            kind="partner",
        )
    )
    await session.flush()
    return out


async def populate_many(session: AsyncSession, count: int) -> None:
    """`count` more published initiatives spread over Loire-Atlantique (deterministic)."""
    import random

    from directory.vocabulary import CORE_THEMES, NEEDS

    rng = random.Random(44)
    records = []
    for n in range(count):
        code, city, lat, lon, _, postal = COMMUNES[n % len(COMMUNES)]
        records.append(
            {
                "name": f"Initiative {city} {n + 1:03d}",
                "summary": f"Une initiative locale à {city}.",
                "themes": [CORE_THEMES[n % len(CORE_THEMES)].slug],
                "needs": [NEEDS[n % len(NEEDS)].slug],
                "actor_kinds": ["association"],
                "city": city,
                "postal_code": postal,
                "insee_code": code,
                "latitude": lat + rng.uniform(-0.12, 0.12),
                "longitude": lon + rng.uniform(-0.18, 0.18),
            }
        )
    await add_initiatives(session, records, author=Author(None, "import:demo"))
