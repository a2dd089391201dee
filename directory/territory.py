"""The instance's territory and its communes."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from directory.errors import ValidationError
from directory.messages import N_
from directory.models import Commune, Territory
from directory.places import communes_box
from directory.validation import INSEE
from directory.vocabulary import TERRITORY_KIND_SLUGS


@dataclass(frozen=True)
class CommuneRow:
    insee_code: str
    name: str
    latitude: float | None
    longitude: float | None
    population: int | None = None
    postal_code: str = ""


HEADERS = {
    "insee_code": ("insee", "code_insee", "insee_code", "code", "codgeo", "code_commune_insee"),
    "name": ("name", "nom", "nom_commune", "commune", "libelle", "libgeo"),
    "latitude": ("lat", "latitude"),
    "longitude": ("lon", "lng", "longitude"),
    "population": ("population", "pop", "pmun"),
    "postal_code": ("postal_code", "code_postal", "cp"),
}


def parse_communes_csv(text: str) -> list[CommuneRow]:
    """Read communes from CSV (INSEE code, name, lat, lon[, population, postal code]).

    A header row is recognised by its French or English names; without one the columns
    are taken in that order. `;` or `,` separated. Raises ValidationError naming the lines.
    """
    sample = text[:4096]
    delimiter = ";" if sample.count(";") > sample.count(",") else ","
    rows = list(csv.reader(io.StringIO(text), delimiter=delimiter))
    rows = [r for r in rows if any(cell.strip() for cell in r)]
    if not rows:
        raise ValidationError({"csv": N_("fichier vide")})
    header = [h.strip().lower().lstrip("\ufeff") for h in rows[0]]
    columns: dict[str, int] = {}
    for field, names in HEADERS.items():
        for i, h in enumerate(header):
            if h in names:
                columns[field] = i
                break
    if {"insee_code", "name"} <= columns.keys():
        body = rows[1:]
    else:
        columns = {"insee_code": 0, "name": 1, "latitude": 2, "longitude": 3}
        body = rows
    errors: dict[str, str] = {}
    out: list[CommuneRow] = []
    first_line = 2 if body is not rows else 1
    for n, row in enumerate(body, start=first_line):

        def cell(field: str, row: list[str] = row) -> str:
            i = columns.get(field)
            return row[i].strip() if i is not None and i < len(row) else ""

        code = cell("insee_code").upper().zfill(5) if cell("insee_code") else ""
        name = cell("name")
        try:
            lat = float(cell("latitude").replace(",", ".")) if cell("latitude") else None
            lon = float(cell("longitude").replace(",", ".")) if cell("longitude") else None
            pop = int(cell("population")) if cell("population") else None
        except ValueError:
            errors[f"ligne {n}"] = N_("nombre illisible")
            continue
        if not INSEE.match(code):
            errors[f"ligne {n}"] = N_("code INSEE invalide : %(code)r", code=code)
        elif not name:
            errors[f"ligne {n}"] = N_("nom manquant")
        elif (lat is not None and abs(lat) > 90) or (lon is not None and abs(lon) > 180):
            errors[f"ligne {n}"] = N_("coordonnées hors limites")
        else:
            out.append(CommuneRow(code, name, lat, lon, pop, cell("postal_code")))
    if errors:
        raise ValidationError(errors)
    return out


async def get_territory(session: AsyncSession) -> Territory | None:
    return await session.scalar(select(Territory).order_by(Territory.id).limit(1))


async def set_territory(
    session: AsyncSession,
    *,
    name: str,
    kind: str,
    code: str = "",
    communes: Iterable[CommuneRow] = (),
) -> Territory:
    """Set the instance's territory and upsert its communes; the bounding box follows them."""
    if kind not in TERRITORY_KIND_SLUGS:
        raise ValidationError(
            {
                "kind": N_(
                    "inconnu : %(kind)s (%(choices)s)",
                    kind=kind,
                    choices=", ".join(sorted(TERRITORY_KIND_SLUGS)),
                )
            }
        )
    if not name.strip():
        raise ValidationError({"name": N_("obligatoire")})
    territory = await get_territory(session)
    if territory is None:
        territory = Territory(name=name.strip(), kind=kind, code=code)
        session.add(territory)
    else:
        territory.name, territory.kind, territory.code = name.strip(), kind, code
    existing = {c.insee_code: c for c in await session.scalars(select(Commune))}
    for row in communes:
        commune = existing.get(row.insee_code)
        if commune is None:
            commune = Commune(insee_code=row.insee_code)
            session.add(commune)
            existing[row.insee_code] = commune
        commune.name, commune.latitude, commune.longitude = row.name, row.latitude, row.longitude
        if row.population is not None:
            commune.population = row.population
        if row.postal_code:
            commune.postal_code = row.postal_code
    await session.flush()
    box = await communes_box(session)
    territory.min_lat, territory.min_lon, territory.max_lat, territory.max_lon = box
    await session.flush()
    return territory


async def communes(session: AsyncSession) -> list[Commune]:
    return list(await session.scalars(select(Commune).order_by(Commune.name)))


async def commune_by_code(session: AsyncSession, insee_code: str) -> Commune | None:
    return await session.scalar(select(Commune).where(Commune.insee_code == insee_code))
