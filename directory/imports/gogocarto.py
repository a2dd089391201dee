"""GoGoCarto JSON: the full ontology (`{"ontology": "gogofull", "data": [...]}`) and the
Transiscope-style flattened form (`title`, `location{lat,lon}`, `categories[{id,name,parent}]`).
"""

from __future__ import annotations

import functools
import io
from collections.abc import Iterator
from typing import IO, Any

import orjson

from directory.imports import jsonstream
from directory.imports import normalise as n
from directory.imports.records import Category, ParseError, RawRecord, Rejected, SourceRecord
from directory.text import fold

DAYS = ("Mo", "Tu", "We", "Th", "Fr", "Sa", "Su")
# Part of each element's digest: change it when parsing or normalising changes, so that the
# next import parses every element again instead of keeping them as unchanged.
PARSER_VERSION = b"gogocarto/1 "
# GoGoCarto element statuses below zero: refused, deleted, duplicate, ...
_GONE = {
    -1: "refusée",
    -2: "refusée",
    -3: "supprimée",
    -4: "supprimée",
    -5: "doublon",
    -6: "modifiée",
}
# Fields we read; anything else is a custom field, counted in the report.
KNOWN = {
    "id", "name", "title", "geo", "location", "address", "description", "descriptionMore",
    "commitment", "summary", "telephone", "website", "email", "image", "images", "openHours",
    "openHoursMoreInfos", "categories", "categoriesFull", "taxonomy", "status",
    "moderationState", "sourceKey", "url", "createdAt", "updatedAt", "licence",
}  # fmt: skip


def load(raw: bytes) -> tuple[list[Any], dict[str, Any]]:
    """The list of elements and the document's other members; ParseError if unreadable."""
    try:
        document = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise ParseError(f"JSON illisible : {exc}") from None
    if isinstance(document, list):
        return document, {}
    if isinstance(document, dict):
        if document.get("ontology") == "gogocompact":
            raise ParseError(
                "format GoGoCarto compact non pris en charge : exportez avec ontology=gogofull"
            )
        data = document.get("data")
        if isinstance(data, list):
            return data, {k: v for k, v in document.items() if k != "data"}
    raise ParseError("ce n'est pas un export GoGoCarto : liste `data` d'éléments attendue")


def _first(*values: Any) -> Any:
    for value in values:
        if value not in (None, "", [], {}):
            return value
    return None


def _opening_hours(value: Any) -> str:
    """GoGoCarto's {"Mo": "09:00-12:00,14:00-18:00", ...} in OSM opening_hours syntax."""
    if isinstance(value, str):
        return n.plain_text(value)
    if not isinstance(value, dict):
        return ""
    parts = [
        f"{day} {n.plain_text(value[day])}"
        for day in DAYS
        if isinstance(value.get(day), str) and value[day].strip()
    ]
    return "; ".join(parts)


def _categories(element: dict[str, Any]) -> list[Category]:
    found: list[Category] = []
    for raw in (element.get("categoriesFull"), element.get("categories"), element.get("taxonomy")):
        if not isinstance(raw, list):
            continue
        for item in raw:
            if isinstance(item, dict):
                name = item.get("name") or item.get("shortName") or ""
                parent = str(item.get("parent") or "")
                category = _category(str(item.get("id") or ""), str(name), parent)
                if category.key:
                    found.append(category)
            elif isinstance(item, str | int) and not isinstance(item, bool):
                text = str(item).strip()
                if text.isdigit():
                    found.append(Category(text, "", ""))
                elif text:
                    found.append(_named(text))
        if found:
            break
    return list({c.key: c for c in found}.values())


# A source has a few dozen categories over thousands of elements: each is cleaned once.
@functools.lru_cache(maxsize=4096)
def _category(key: str, name: str, parent: str) -> Category:
    label = n.plain_text(name)
    return Category(key or fold(label), label, parent)


@functools.lru_cache(maxsize=4096)
def _named(text: str) -> Category:
    return Category(fold(text), n.plain_text(text), "")


def parse_element(
    element: Any, position: int, categories: list[Category] | None = None
) -> SourceRecord | Rejected:
    """One GoGoCarto element as a source record, or a refusal with its reason."""
    if not isinstance(element, dict):
        return Rejected(position, "", "", "élément qui n'est pas un objet JSON")
    source_id = str(element.get("id") or "").strip()
    name = n.plain_text(_first(element.get("name"), element.get("title")))
    if not source_id:
        return Rejected(position, "", name, "identifiant (`id`) manquant")
    if len(source_id) > 200:
        return Rejected(position, source_id[:40], name, "identifiant trop long")
    if not name:
        return Rejected(position, source_id, "", "nom manquant")
    status = element.get("status")
    if isinstance(status, int) and status in _GONE:
        return Rejected(position, source_id, name, f"{_GONE[status]} dans la source")
    warnings: list[str] = []
    geo = element.get("geo") if isinstance(element.get("geo"), dict) else {}
    location = element.get("location") if isinstance(element.get("location"), dict) else {}
    address = element.get("address") if isinstance(element.get("address"), dict) else {}
    if not geo and not location and isinstance(address.get("location"), dict):
        location = address["location"]
    lat, lon = n.coordinates(
        _first(geo.get("latitude"), location.get("lat")),
        _first(geo.get("longitude"), location.get("lon"), location.get("lng")),
        warnings,
    )
    short = n.plain_text(element.get("summary"))
    long_parts = [
        n.plain_text(element.get("description"), multiline=True),
        n.plain_text(element.get("descriptionMore"), multiline=True),
    ]
    commitment = n.plain_text(element.get("commitment"), multiline=True)
    if commitment:
        long_parts.append(f"Engagement : {commitment}")
    more_hours = n.plain_text(element.get("openHoursMoreInfos"))
    if more_hours:
        long_parts.append(f"Horaires : {more_hours}")
    if not short and long_parts[0] and len(long_parts[0]) <= 300 and "\n" not in long_parts[0]:
        # GoGoCarto's `description` is the short text; `descriptionMore` the long one.
        short, long_parts[0] = long_parts[0], ""
    description = "\n\n".join(p for p in long_parts if p)
    image = element.get("image")
    if not image and isinstance(element.get("images"), list) and element["images"]:
        image = element["images"][0]
    fields: dict[str, Any] = {
        "name": n.bounded(name, "name", warnings),
        "summary": n.bounded(short, "summary", warnings),
        "description": n.bounded(description, "description", warnings),
        "street": n.bounded(
            n.plain_text(_first(address.get("streetAddress"), address.get("street"))),
            "street",
            warnings,
        ),
        "postal_code": n.postal_code(address.get("postalCode"), warnings),
        "city": n.bounded(
            n.plain_text(_first(address.get("addressLocality"), address.get("city"))),
            "city",
            warnings,
        ),
        "latitude": lat,
        "longitude": lon,
        "website": n.website(element.get("website"), warnings),
        "email": n.email(element.get("email"), warnings),
        "phone": n.phone(element.get("telephone"), warnings),
        "opening_hours": n.bounded(
            _opening_hours(element.get("openHours")), "opening_hours", warnings
        ),
        "image_url": n.website(image if isinstance(image, str) else "", warnings, "image"),
    }
    custom = sorted(k for k in element if k not in KNOWN)
    if custom:
        warnings.append(f"champs propres à la source ignorés : {', '.join(custom[:10])}")
    return SourceRecord(
        position=position,
        source_id=source_id,
        fields=fields,
        categories=_categories(element) if categories is None else categories,
        warnings=warnings,
        published=not (isinstance(status, int) and status == 0),
    )


def open_file(file: IO[bytes]) -> tuple[int, Iterator[SourceRecord | Rejected]]:
    """The number of elements of a GoGoCarto export and its records, read one at a time
    (jsonstream.py: a 50 MB export is never held whole); ParseError if unreadable."""
    shape = jsonstream.outline(file, "data")
    if shape.top == "object" and shape.members.get("ontology") == "gogocompact":
        raise ParseError(
            "format GoGoCarto compact non pris en charge : exportez avec ontology=gogofull"
        )
    if shape.top != "array" and "data" not in shape.lists:
        raise ParseError("ce n'est pas un export GoGoCarto : liste `data` d'éléments attendue")
    file.seek(0)
    return shape.items, _parse_all(file, shape.prefix)


def _parse_all(file: IO[bytes], prefix: str) -> Iterator[RawRecord | SourceRecord | Rejected]:
    for position, element in enumerate(jsonstream.items(file, prefix), start=1):
        yield raw_record(element, position)


def raw_record(element: Any, position: int) -> RawRecord | SourceRecord | Rejected:
    """An element left unparsed until the import knows it changed (sync.py), when it has
    an id; else parsed now (to be refused with its reason)."""
    source_id = str(element.get("id") or "").strip() if isinstance(element, dict) else ""
    if not source_id or len(source_id) > 200:
        return parse_element(element, position)
    categories = _categories(element)
    return RawRecord(
        position,
        source_id,
        PARSER_VERSION + orjson.dumps(element, option=orjson.OPT_SORT_KEYS),
        categories,
        lambda: parse_element(element, position, categories),
    )


def parse(raw: bytes) -> Iterator[SourceRecord | Rejected]:
    """Every element of a GoGoCarto export, in order."""
    for record in open_file(io.BytesIO(raw))[1]:
        yield record.parse() if isinstance(record, RawRecord) else record


def count(raw: bytes) -> int:
    return len(load(raw)[0])
