"""The demo data set: Loire-Atlantique, its 207 communes, and invented initiatives.

`generate_initiatives` is pure and deterministic (seeded), so tests and benchmarks reuse
it; `load_demo` stores everything through the domain in one unit of work and is
idempotent: initiatives are keyed by (source "demo", source id), so a second load adds
nothing. No real personal data: example.org / .test addresses and telephone numbers from
the range ARCEP reserves for fiction (02 61 91 xx xx).
"""

from __future__ import annotations

import random
import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from importlib import resources
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from directory import initiatives, people
from directory.demo_catalogue import (
    AUDIENCES,
    CORRECTIONS,
    FAMILIES,
    NAMES,
    PLACES,
    STREETS,
    WAYS_IN,
    Family,
)
from directory.initiatives import Author
from directory.models import Initiative, Person
from directory.territory import CommuneRow, parse_communes_csv, set_territory
from directory.text import slugify

SOURCE = "demo"
DEFAULT_COUNT = 360
DEFAULT_SEED = 44
TERRITORY = {"name": "Loire-Atlantique", "kind": "departement", "code": "44"}
ADMIN_EMAIL = "admin@demo.maillage.test"
AUTHOR = Author(None, "demo")
# Creation dates are spread over the four years before this fixed day, so that the data
# set does not depend on the day it is generated.
LAST_DAY = datetime(2026, 9, 30, 12, tzinfo=UTC)
FICTION_NOTE = "_Initiative fictive, créée pour la démonstration de Maillage._"


def communes_44() -> list[CommuneRow]:
    """The 207 communes of Loire-Atlantique (COG 2026), shipped with the package."""
    text = resources.files("directory").joinpath("data/communes-44.csv").read_text("utf-8")
    return parse_communes_csv(text)


@dataclass(frozen=True)
class DemoInitiative:
    """One invented initiative: its fields, where it stands, and a correction to propose."""

    source_id: str
    data: dict[str, Any]
    moderation_state: str
    created_at: datetime
    proposer_email: str = ""
    moderation_note: str = ""
    correction: tuple[dict[str, Any], str] | None = None


_ELISIONS = (
    (re.compile(r"\b([Dd])e Les "), r"\1es "),
    (re.compile(r"\b([Dd])e Le "), r"\1u "),
    (re.compile(r"\bà Les "), "aux "),
    (re.compile(r"\bà Le "), "au "),
    (re.compile(r"\b([Dd])e ([AEIOUYÉÈÂÎÔaeiouyé])"), r"\1'\2"),
)


def french(text: str) -> str:
    """Contract "de Le Pellerin" into "du Pellerin", "de Orvault" into "d'Orvault"."""
    for pattern, replacement in _ELISIONS:
        text = pattern.sub(replacement, text)
    return text


def _phone(rng: random.Random) -> str:
    return f"02 61 91 {rng.randrange(100):02d} {rng.randrange(100):02d}"


def _pick(rng: random.Random, values: tuple[str, ...], first: bool) -> list[str]:
    """All values the first time a family is used, else a non-empty random subset."""
    if first:
        return list(values)
    return [values[0], *(v for v in values[1:] if rng.random() < 0.5)]


def _initiative(
    rng: random.Random, family: Family, commune: CommuneRow, first: bool
) -> dict[str, Any]:
    words = {"commune": commune.name, "nom": rng.choice(NAMES), "lieu": rng.choice(PLACES)}
    name = french(rng.choice(family.names).format(**words))
    slug = slugify(name, max_length=40)
    themes = [family.theme, *(t for t in family.also if first or rng.random() < 0.6)]
    ways = rng.sample(WAYS_IN, 2)
    description = "\n\n".join(
        (
            french(family.intro.format(**words)),
            f"**Pour qui ?** {rng.choice(AUDIENCES)}",
            "**Comment participer ?**\n\n" + "\n".join(f"- {w}" for w in ways),
            FICTION_NOTE,
        )
    )
    has_site = rng.random() < 0.65
    return {
        "name": name,
        "summary": family.summary,
        "description": description,
        "themes": themes,
        "actor_kinds": _pick(rng, family.actors, first),
        "needs": _pick(rng, family.needs, first),
        "status": rng.choices(("active", "paused", "ended"), (85, 9, 6))[0],
        "street": f"{rng.randint(1, 60)} {rng.choice(STREETS)}",
        "postal_code": commune.postal_code,
        "city": commune.name,
        "insee_code": commune.insee_code,
        "latitude": round((commune.latitude or 0) + rng.uniform(-0.008, 0.008), 5),
        "longitude": round((commune.longitude or 0) + rng.uniform(-0.008, 0.008), 5),
        "website": f"https://{slug}.example.org" if has_site else "",
        "email": f"contact@{slug}.example.org" if rng.random() < 0.55 else "",
        "phone": _phone(rng) if rng.random() < 0.5 else "",
        "fediverse": f"@{slug[:24].strip('-')}@social.example.org" if rng.random() < 0.15 else "",
        "social_links": (
            [f"https://video.example.org/c/{slug}"] if has_site and rng.random() < 0.2 else []
        ),
        "opening_hours": rng.choice(family.hours),
    }


def _correction(rng: random.Random, data: dict[str, Any]) -> tuple[dict[str, Any], str]:
    field, value, message = rng.choice(CORRECTIONS)
    if field == "summary":
        value = data["summary"] + " (gratuit)"
    elif field == "phone":
        value = _phone(rng)
    if data.get(field) == value:
        field, value, message = "opening_hours", "Sa 09:00-12:00", CORRECTIONS[0][2]
    return {field: value}, message


def generate_initiatives(
    communes: list[CommuneRow], *, count: int = DEFAULT_COUNT, seed: int = DEFAULT_SEED
) -> list[DemoInitiative]:
    """`count` invented initiatives over these communes, the same for the same seed.

    Every family (hence every theme, need and actor kind) appears at least once when
    `count` reaches the number of families; communes are drawn by population (square
    power 3/4, so that villages have some too).
    """
    rng = random.Random(seed)
    weights = [max(c.population or 100, 100) ** 0.75 for c in communes]
    families = list(FAMILIES)
    out: list[DemoInitiative] = []
    span = 4 * 365
    for n in range(count):
        first = n < len(families)
        family = families[n] if first else rng.choice(families)
        commune = rng.choices(communes, weights)[0]
        data = _initiative(rng, family, commune, first)
        state = rng.choices(("published", "proposed", "rejected", "withdrawn"), (86, 8, 3, 3))[0]
        if n < 4:  # the first ones show each moderation state in a small demo too
            state = ("published", "proposed", "rejected", "withdrawn")[n]
        created = LAST_DAY - timedelta(days=rng.randrange(span), minutes=rng.randrange(600))
        out.append(
            DemoInitiative(
                source_id=f"demo-{n:04d}",
                data=data,
                moderation_state=state,
                created_at=created,
                proposer_email=f"proposition-{n}@example.org" if state != "published" else "",
                moderation_note={
                    "rejected": "Doublon d'une initiative déjà publiée.",
                    "withdrawn": "Retirée à la demande de l'équipe : l'activité a cessé.",
                }.get(state, ""),
                correction=(
                    _correction(rng, data)
                    if state == "published" and (n == 0 or rng.random() < 0.05)
                    else None
                ),
            )
        )
    return out


@dataclass(frozen=True)
class DemoSummary:
    created: int
    existing: int
    corrections: int
    communes: int
    admin_email: str
    admin_created: bool


async def ensure_admin(session: AsyncSession, email: str, password: str) -> tuple[Person, bool]:
    """The admin account `email` with this password: created, or its password reset."""
    person = await people.person_by_email(session, email)
    if person is None:
        person = await people.create_person(
            session,
            email=email,
            password=password,
            role="admin",
            display_name="Administration de démonstration",
        )
        return person, True
    if person.role != "admin" or not people.check_password(person, password):
        person.role, person.active = "admin", True
        person.password_hash = people.hash_password(password)
        await session.flush()
    return person, False


async def load_demo(
    session: AsyncSession,
    *,
    admin_password: str,
    count: int = DEFAULT_COUNT,
    seed: int = DEFAULT_SEED,
) -> DemoSummary:
    """Store the demo territory, communes, initiatives and admin; add only what is missing."""
    communes = communes_44()
    await set_territory(session, communes=communes, **TERRITORY)
    _, admin_created = await ensure_admin(session, ADMIN_EMAIL, admin_password)
    present = set(
        await session.scalars(select(Initiative.source_id).where(Initiative.source == SOURCE))
    )
    created = corrections = 0
    for item in generate_initiatives(communes, count=count, seed=seed):
        if item.source_id in present:
            continue
        state = "published" if item.moderation_state == "published" else "proposed"
        initiative = await initiatives.create_initiative(
            session,
            item.data,
            author=AUTHOR,
            moderation_state=state,
            proposer_email=item.proposer_email,
            source=SOURCE,
            source_id=item.source_id,
            published=item.created_at,
        )
        if item.moderation_state not in ("published", "proposed"):
            await initiatives.moderate(
                session,
                initiative,
                item.moderation_state,
                author=AUTHOR,
                message=item.moderation_note,
            )
        if item.correction:
            changes, message = item.correction
            await initiatives.propose_correction(
                session,
                initiative,
                changes,
                author=Author(None, "demo:visiteur"),
                proposer_email=f"correction-{item.source_id}@example.org",
                message=message,
            )
            corrections += 1
        created += 1
    return DemoSummary(
        created=created,
        existing=len(present),
        corrections=corrections,
        communes=len(communes),
        admin_email=ADMIN_EMAIL,
        admin_created=admin_created,
    )
