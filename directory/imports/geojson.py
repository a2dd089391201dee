"""GeoJSON FeatureCollections: one feature per initiative, properties named as CSV headers."""

from __future__ import annotations

import io
from collections.abc import Iterator
from typing import IO, Any

import orjson

from directory.imports import jsonstream
from directory.imports.csv import guess_mapping, record_from_values
from directory.imports.records import ParseError, Rejected, SourceRecord


def load(raw: bytes) -> list[Any]:
    try:
        document = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise ParseError(f"JSON illisible : {exc}") from None
    if isinstance(document, dict) and document.get("type") == "Feature":
        return [document]
    if (
        not isinstance(document, dict)
        or document.get("type") != "FeatureCollection"
        or not isinstance(document.get("features"), list)
    ):
        raise ParseError("ce n'est pas une FeatureCollection GeoJSON (`features` manquant)")
    return document["features"]


def _point(geometry: Any, warnings: list[str]) -> tuple[Any, Any]:
    """Latitude and longitude of a Point (GeoJSON order is lon, lat), or of a shape's centre."""
    if not isinstance(geometry, dict):
        return None, None
    coords = geometry.get("coordinates")
    if geometry.get("type") == "Point" and isinstance(coords, list) and len(coords) >= 2:
        return coords[1], coords[0]
    points: list[list[float]] = []

    def walk(value: Any) -> None:
        if (
            isinstance(value, list)
            and len(value) >= 2
            and all(isinstance(v, int | float) for v in value[:2])
        ):
            points.append(value)
        elif isinstance(value, list):
            for item in value:
                walk(item)

    walk(coords)
    if not points:
        warnings.append(f"géométrie {geometry.get('type')!r} illisible : sans coordonnées")
        return None, None
    warnings.append(f"géométrie {geometry.get('type')} : placée en son centre")
    return (
        sum(p[1] for p in points) / len(points),
        sum(p[0] for p in points) / len(points),
    )


def open_file(file: IO[bytes]) -> tuple[int, Iterator[SourceRecord | Rejected]]:
    """The number of features of a FeatureCollection and its records, read one at a time
    (jsonstream.py); a lone Feature is one record. ParseError if unreadable."""
    shape = jsonstream.outline(file, "features")
    file.seek(0)
    if shape.top == "object" and shape.members.get("type") == "Feature":
        return 1, _parse_all([load(file.read())[0]])
    if (
        shape.top != "object"
        or shape.members.get("type") != "FeatureCollection"
        or "features" not in shape.lists
    ):
        raise ParseError("ce n'est pas une FeatureCollection GeoJSON (`features` manquant)")
    return shape.items, _parse_all(jsonstream.items(file, shape.prefix))


def _parse_all(features: Iterator[Any] | list[Any]) -> Iterator[SourceRecord | Rejected]:
    for position, feature in enumerate(features, start=1):
        yield parse_feature(feature, position)


def parse(raw: bytes) -> Iterator[SourceRecord | Rejected]:
    yield from open_file(io.BytesIO(raw))[1]


def parse_feature(feature: Any, position: int) -> SourceRecord | Rejected:
    """One GeoJSON Feature as a source record, or a refusal with its reason."""
    if not isinstance(feature, dict) or feature.get("type") != "Feature":
        return Rejected(position, "", "", "élément qui n'est pas une Feature GeoJSON")
    props = feature.get("properties") if isinstance(feature.get("properties"), dict) else {}
    mapping = guess_mapping(list(props))
    values: dict[str, Any] = {target: props[header] for target, header in mapping.items()}
    if feature.get("id") not in (None, ""):
        values["source_id"] = str(feature["id"])
    elif values.get("source_id") not in (None, ""):
        values["source_id"] = str(values["source_id"])
    warnings: list[str] = []
    lat, lon = _point(feature.get("geometry"), warnings)
    if lat is not None:
        values["latitude"], values["longitude"] = lat, lon
    return record_from_values(values, position, warnings)


def count(raw: bytes) -> int:
    return len(load(raw))
