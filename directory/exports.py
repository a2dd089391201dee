"""Open-data exports of the directory or any filtered view (the site's SearchQuery):
CSV (UTF-8 with BOM, `;`), GeoJSON, JSON-LD (schema.org) and GoGoCarto-compatible JSON.

Streamed: ids come from one server-side cursor and initiatives are loaded a batch at a
time, so 100k records never sit in memory. Every record goes through `public_record`,
the only shape in which an initiative leaves the instance; each file states the licence.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import AsyncIterator
from dataclasses import dataclass, replace
from typing import Any

import orjson
from sqlalchemy import select

from directory.db import Database
from directory.models import Initiative, utcnow
from directory.records import public_record, timestamp
from directory.search import SearchQuery, matching_ids

BATCH = 500
FORMATS: dict[str, tuple[str, str]] = {
    "csv": ("text/csv; charset=utf-8", "initiatives.csv"),
    "geojson": ("application/geo+json", "initiatives.geojson"),
    "jsonld": ("application/ld+json", "initiatives.jsonld"),
    "gogocarto": ("application/json", "gogocarto.json"),
}
CSV_COLUMNS = (
    "id", "slug", "uri", "name", "summary", "description", "themes", "themes_labels",
    "actor_kinds", "needs", "status", "street", "postal_code", "city", "insee_code",
    "latitude", "longitude", "website", "email", "phone", "fediverse", "social_links",
    "opening_hours", "image", "same_as", "origin", "source", "source_id", "created",
    "updated", "licence",
)  # fmt: skip
_NUMBER = re.compile(r"^[+-]?[\d .()]+$")
_OSM_DAY = re.compile(r"^(Mo|Tu|We|Th|Fr|Sa|Su) ([0-9:,\- ]+)$")


@dataclass(frozen=True)
class ExportContext:
    """Who publishes the data and under which licence (from the instance's settings)."""

    base_url: str
    instance_name: str
    licence: str
    licence_url: str


async def public_batches(
    db: Database, query: SearchQuery, *, base_url: str, batch: int = BATCH
) -> AsyncIterator[list[dict[str, Any]]]:
    """Public records of every published initiative the query matches, in id order."""
    query = replace(query, moderation_states=("published",))
    # matching_ids leaves out initiatives hidden behind their sameAs twin (sameas.py).
    ids_query = matching_ids(query, dialect=db.dialect).order_by(Initiative.id)
    async with db.sessionmaker() as ids_session, db.sessionmaker() as session:
        result = await ids_session.stream_scalars(ids_query)
        async for partition in result.partitions(batch):
            rows = await session.scalars(
                select(Initiative).where(Initiative.id.in_(list(partition))).order_by(Initiative.id)
            )
            # Descriptions as Markdown only: files are for data users, and rendering HTML
            # took three quarters of an export's time (bench/import.py).
            records = [public_record(row, base_url=base_url, html=False) for row in rows]
            session.expunge_all()
            yield records


def _cell(value: Any) -> Any:
    """A CSV cell that a spreadsheet will not run as a formula (OWASP CSV injection)."""
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@", "\t", "\r"):
        if value[:1] in "+-" and _NUMBER.match(value):
            return value
        return "'" + value
    return value


def csv_row(record: dict[str, Any], licence_url: str) -> list[Any]:
    address, contacts = record["address"], record["contacts"]
    values = {
        "id": record["id"],
        "slug": record["slug"],
        "uri": record["uri"],
        "name": record["name"],
        "summary": record["summary"],
        "description": record["description"],
        "themes": ", ".join(t["slug"] for t in record["themes"]),
        "themes_labels": ", ".join(t["labels"]["fr"] for t in record["themes"]),
        "actor_kinds": ", ".join(record["actor_kinds"]),
        "needs": ", ".join(record["needs"]),
        "status": record["status"],
        "street": address["street"],
        "postal_code": address["postal_code"],
        "city": address["city"],
        "insee_code": address["insee_code"],
        "latitude": "" if record["latitude"] is None else record["latitude"],
        "longitude": "" if record["longitude"] is None else record["longitude"],
        "website": contacts["website"],
        "email": contacts["email"],
        "phone": contacts["phone"],
        "fediverse": contacts["fediverse"],
        "social_links": " ".join(contacts["social_links"]),
        "opening_hours": record["opening_hours"],
        "image": record["image"] or "",
        "same_as": " ".join(record["same_as"]),
        "origin": record["origin"],
        "source": (record["source"] or {}).get("name", ""),
        "source_id": (record["source"] or {}).get("id", ""),
        "created": record["created"] or "",
        "updated": record["updated"] or "",
        "licence": licence_url,
    }
    return [_cell(values[column]) for column in CSV_COLUMNS]


def geojson_feature(record: dict[str, Any]) -> dict[str, Any]:
    properties = {k: v for k, v in record.items() if k not in ("latitude", "longitude")}
    geometry = (
        {"type": "Point", "coordinates": [record["longitude"], record["latitude"]]}
        if record["latitude"] is not None
        else None
    )
    return {"type": "Feature", "id": record["uri"], "geometry": geometry, "properties": properties}


def jsonld_item(record: dict[str, Any]) -> dict[str, Any]:
    address, contacts = record["address"], record["contacts"]
    item: dict[str, Any] = {
        "@type": "Organization",
        "@id": record["uri"],
        "name": record["name"],
        "description": record["summary"] or record["description"][:500],
        "url": contacts["website"] or record["uri"],
        "mainEntityOfPage": record["uri"],
        "address": {
            "@type": "PostalAddress",
            "streetAddress": address["street"],
            "postalCode": address["postal_code"],
            "addressLocality": address["city"],
            "addressCountry": "FR",
        },
        "keywords": [t["labels"]["fr"] for t in record["themes"]],
        "additionalType": [t["iri"] for t in record["themes"]],
        "sameAs": record["same_as"] + contacts["social_links"],
        "dateModified": record["updated"],
    }
    if record["latitude"] is not None:
        item["geo"] = {
            "@type": "GeoCoordinates",
            "latitude": record["latitude"],
            "longitude": record["longitude"],
        }
    for key, value in (
        ("email", contacts["email"]),
        ("telephone", contacts["phone"]),
        ("openingHours", record["opening_hours"]),
        ("image", record["image"]),
    ):
        if value:
            item[key] = value
    return item


def _open_hours(value: str) -> dict[str, str] | None:
    """OSM opening hours back into GoGoCarto's per-day form, when they are that simple."""
    if not value:
        return None
    days: dict[str, str] = {}
    for part in value.split(";"):
        match = _OSM_DAY.match(part.strip())
        if not match:
            return None
        days[match[1]] = match[2].strip()
    return days


def gogocarto_element(record: dict[str, Any], host: str) -> dict[str, Any]:
    address, contacts = record["address"], record["contacts"]
    hours = _open_hours(record["opening_hours"])
    element: dict[str, Any] = {
        "id": str(record["id"]),
        "name": record["name"],
        "geo": {"latitude": record["latitude"], "longitude": record["longitude"]},
        "address": {
            "streetAddress": address["street"],
            "addressLocality": address["city"],
            "postalCode": address["postal_code"],
            "addressCountry": "FR",
        },
        "description": record["summary"],
        "descriptionMore": record["description"],
        "telephone": contacts["phone"],
        "website": contacts["website"],
        "email": contacts["email"],
        "image": record["image"] or "",
        "categories": [t["labels"]["fr"] for t in record["themes"]],
        "categoriesFull": [{"id": t["slug"], "name": t["labels"]["fr"]} for t in record["themes"]],
        "sourceKey": host,
        "url": record["uri"],
        "status": 1,
        "updatedAt": record["updated"],
    }
    if hours is not None:
        element["openHours"] = hours
    elif record["opening_hours"]:
        element["openHoursMoreInfos"] = record["opening_hours"]
    return element


async def stream_export(
    db: Database, fmt: str, query: SearchQuery, context: ExportContext
) -> AsyncIterator[bytes]:
    """The export as a stream of bytes; `fmt` is one of FORMATS."""
    if fmt not in FORMATS:
        raise ValueError(f"format inconnu : {fmt}")
    host = context.base_url.split("://", 1)[-1].split("/", 1)[0]
    batches = public_batches(db, query, base_url=context.base_url)
    if fmt == "csv":
        buffer = io.StringIO()
        writer = csv.writer(buffer, delimiter=";", lineterminator="\r\n")
        writer.writerow(CSV_COLUMNS)
        yield ("\ufeff" + buffer.getvalue()).encode()
        async for batch in batches:
            buffer.seek(0)
            buffer.truncate()
            writer.writerows(csv_row(r, context.licence_url) for r in batch)
            yield buffer.getvalue().encode()
        return
    header: dict[str, Any]
    if fmt == "geojson":
        header = {"type": "FeatureCollection", "name": context.instance_name}
        render, key = geojson_feature, "features"
    elif fmt == "jsonld":
        header = {
            "@context": "https://schema.org",
            "@type": "DataFeed",
            "name": f"Initiatives — {context.instance_name}",
            "url": context.base_url,
            "dateModified": timestamp(utcnow()),
        }
        render, key = jsonld_item, "dataFeedElement"
    else:
        header = {"ontology": "gogofull"}
        render, key = (lambda r: gogocarto_element(r, host)), "data"
    header.update(
        licence=context.licence,
        license=context.licence_url,
        attribution=f"{context.instance_name} ({context.base_url})",
    )
    # The header's JSON, its closing brace replaced by the opening of the list.
    yield orjson.dumps(header)[:-1] + f',"{key}":['.encode()
    first = True
    async for batch in batches:
        if not batch:
            continue
        body = b",".join(orjson.dumps(render(r)) for r in batch)
        yield body if first else b"," + body
        first = False
    yield b"]}"
