"""CSV imports: encoding and delimiter detection, and the column-mapping step.

Files are read as streams, never whole (see open_file).

Headers are recognised in French and English (accents, case and punctuation ignored);
the admin sees the mapping and may override any column before importing.
"""

from __future__ import annotations

import csv as _csv
import hashlib
import io
import itertools
import re
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import IO, Any

from directory.imports import normalise as n
from directory.imports.records import Category, ParseError, Rejected, SourceRecord
from directory.text import fold

# Target field -> header spellings (folded, punctuation as spaces).
ALIASES: dict[str, tuple[str, ...]] = {
    "source_id": ("id", "identifiant", "ref", "reference", "source id", "uid"),
    "name": ("nom", "name", "titre", "title", "nom de l initiative", "initiative", "structure",
             "nom de la structure", "organisation", "organization", "raison sociale"),
    "summary": ("resume", "summary", "accroche", "description courte", "short description",
                "sous titre", "subtitle"),
    "description": ("description", "presentation", "details", "description longue",
                    "long description", "texte", "text"),
    "categories": ("categories", "categorie", "category", "themes", "theme", "thematique",
                   "thematiques", "tags", "secteur", "secteurs", "type"),
    "street": ("adresse", "address", "rue", "street", "adresse postale", "street address",
               "voie", "adresse 1"),
    "postal_code": ("code postal", "cp", "postal code", "postcode", "zip", "zip code",
                    "postal_code", "code_postal"),
    "city": ("ville", "commune", "city", "town", "localite", "locality"),
    "insee_code": ("insee", "code insee", "code commune", "insee code", "citycode",
                   "code_insee"),
    "latitude": ("latitude", "lat", "y", "geo lat"),
    "longitude": ("longitude", "lon", "lng", "long", "x", "geo lon"),
    "website": ("site", "site web", "site internet", "website", "url", "web", "lien"),
    "email": ("email", "e mail", "mail", "courriel", "adresse e mail", "adresse mail"),
    "phone": ("telephone", "tel", "phone", "numero de telephone", "portable", "mobile"),
    "opening_hours": ("horaires", "opening hours", "opening_hours", "heures d ouverture"),
    "image_url": ("image", "photo", "logo", "image url", "visuel"),
    "fediverse": ("mastodon", "fediverse", "fedivers"),
}  # fmt: skip
TARGETS = tuple(ALIASES)
MAX_CELL = 100_000
_PUNCT = re.compile(r"[^a-z0-9]+")


def header_key(header: str) -> str:
    return _PUNCT.sub(" ", fold(header)).strip()


_LOOKUP = {alias: target for target, aliases in ALIASES.items() for alias in aliases}


def guess_mapping(headers: list[str]) -> dict[str, str]:
    """Target field -> header, from the headers' names (first match wins)."""
    mapping: dict[str, str] = {}
    for header in headers:
        target = _LOOKUP.get(header_key(header))
        if target and target not in mapping:
            mapping[target] = header
    return mapping


PREFIX = 4096  # bytes looked at for a BOM and binary content
FIRST_LINE = 1 << 20  # characters looked at, at most, to choose the delimiter
CHUNK = 1 << 16
# Tried in order, each on the whole stream: the first that decodes it wins.
_FALLBACKS = (("utf-8", "utf-8"), ("cp1252", "windows-1252"), ("latin-1", "latin-1"))


def _candidates(file: IO[bytes]) -> tuple[list[tuple[str, str]], int]:
    """The (codec, name) to try and the bytes to skip (a UTF-8 BOM), from the first bytes."""
    file.seek(0)
    prefix = file.read(PREFIX)
    if prefix.startswith((b"\xff\xfe", b"\xfe\xff")):
        return [("utf-16", "utf-16")], 0
    if b"\x00" in prefix:
        raise ParseError("fichier binaire : un CSV (texte) est attendu")
    return list(_FALLBACKS), 3 if prefix.startswith(b"\xef\xbb\xbf") else 0


def sniff_delimiter(text: str) -> str:
    first = text.split("\n", 1)[0]
    counts = {d: first.count(d) for d in (";", ",", "\t", "|")}
    best = max(counts, key=lambda d: counts[d])
    return best if counts[best] else ","


@dataclass
class CsvPlan:
    """What the mapping step shows: encoding, delimiter, headers, mapping and row count."""

    encoding: str
    delimiter: str
    headers: list[str]
    mapping: dict[str, str]  # target field -> header
    rows: int
    unmapped: list[str] = field(default_factory=list)


def read(raw: bytes, overrides: Mapping[str, str] | None = None) -> tuple[CsvPlan, list[list[str]]]:
    """Decode and split the file; apply the admin's overrides (field -> header, "" to unset)."""
    plan, rows = open_file(io.BytesIO(raw), overrides)
    return plan, list(rows)


def open_file(
    file: IO[bytes], overrides: Mapping[str, str] | None = None
) -> tuple[CsvPlan, Iterator[list[str]]]:
    """The plan of a CSV and its data rows, read one at a time (memory stays flat).

    The file is read once to choose the encoding and count the rows: as UTF-8 first and,
    on the first byte that is not, again from the start as Windows-1252 (then Latin-1);
    then again, row by row, as the returned iterator is consumed. Blank rows are skipped.
    """
    codecs, skip = _candidates(file)
    for codec, encoding in codecs:
        try:
            delimiter, headers, count = _scan(file, skip, codec)
        except UnicodeDecodeError:
            continue
        plan = _plan(encoding, delimiter, headers, count, overrides)
        return plan, _data_rows(file, skip, codec, delimiter)
    raise ParseError("fichier UTF-16 illisible")


@contextmanager
def _text(file: IO[bytes], skip: int, codec: str) -> Iterator[io.TextIOWrapper]:
    """The file as text from byte `skip`, left open when done."""
    file.seek(skip)
    text = io.TextIOWrapper(file, codec, newline="")
    try:
        yield text
    finally:
        if not file.closed:  # (a reader left unfinished may outlive the file)
            text.detach()


def _rows(lines: Iterable[str], delimiter: str) -> Iterator[list[str]]:
    """The non-blank rows of some lines (header first); ParseError if not CSV."""
    _csv.field_size_limit(MAX_CELL * 10)
    try:
        for row in _csv.reader(lines, delimiter=delimiter):
            if any(cell.strip() for cell in row):
                yield row
    except _csv.Error as exc:
        raise ParseError(f"CSV illisible : {exc}") from None


def _scan(file: IO[bytes], skip: int, codec: str) -> tuple[str, list[str], int]:
    """Delimiter (from the first line), headers and number of data rows, decoding as
    `codec`; UnicodeDecodeError at the first byte it cannot decode."""
    with _text(file, skip, codec) as text:
        first: list[str] = []
        for line in text:
            first.append(line)
            if "\n" in line or sum(map(len, first)) > FIRST_LINE:
                break
        delimiter = sniff_delimiter("".join(first))
        rows = _rows(itertools.chain(first, text), delimiter)
        headers = next(rows, None)
        count = sum(1 for _ in rows)
    if headers is None:
        raise ParseError("fichier vide")
    return delimiter, [h.strip() for h in headers], count


def _data_rows(file: IO[bytes], skip: int, codec: str, delimiter: str) -> Iterator[list[str]]:
    with _text(file, skip, codec) as text:
        rows = _rows(text, delimiter)
        next(rows, None)  # the headers
        yield from rows


def _plan(
    encoding: str,
    delimiter: str,
    headers: list[str],
    count: int,
    overrides: Mapping[str, str] | None,
) -> CsvPlan:
    mapping = guess_mapping(headers)
    for target, header in (overrides or {}).items():
        if target not in TARGETS:
            raise ParseError(
                f"champ inconnu dans la correspondance : {target} (possibles : {', '.join(TARGETS)})"
            )
        if not header:
            mapping.pop(target, None)
        elif header not in headers:
            raise ParseError(f"colonne {header!r} absente (colonnes : {', '.join(headers)})")
        else:
            mapping[target] = header
    if "name" not in mapping:
        raise ParseError(
            "colonne obligatoire manquante : le nom de l'initiative (en-tête « nom » ou « name »,"
            f" ou --column name=EN-TÊTE) ; colonnes trouvées : {', '.join(headers)}"
        )
    used = set(mapping.values())
    return CsvPlan(
        encoding, delimiter, headers, mapping, count, [h for h in headers if h not in used]
    )


def _split_categories(value: str) -> list[Category]:
    labels = [n.plain_text(v) for v in re.split(r"[,;|/]", value) if v.strip()]
    return [Category(fold(label), label) for label in labels if label]


def record_from_values(
    values: Mapping[str, Any], position: int, warnings: list[str]
) -> SourceRecord | Rejected:
    """A record from target-field values (shared by CSV rows and GeoJSON properties)."""
    name = n.plain_text(values.get("name"))
    source_id = n.plain_text(values.get("source_id"))
    if not name:
        return Rejected(position, source_id, "", "nom manquant")
    if not source_id:
        # No id column: a stable id from what identifies the place, so re-imports match.
        basis = "|".join(
            fold(n.plain_text(values.get(k))) for k in ("name", "postal_code", "city", "street")
        )
        source_id = "h:" + hashlib.sha256(basis.encode()).hexdigest()[:20]
    if len(source_id) > 200:
        return Rejected(position, source_id[:40], name, "identifiant trop long")
    lat, lon = n.coordinates(values.get("latitude"), values.get("longitude"), warnings)
    fields = {
        "name": n.bounded(name, "name", warnings),
        "summary": n.bounded(n.plain_text(values.get("summary")), "summary", warnings),
        "description": n.bounded(
            n.plain_text(values.get("description"), multiline=True), "description", warnings
        ),
        "street": n.bounded(n.plain_text(values.get("street")), "street", warnings),
        "postal_code": n.postal_code(values.get("postal_code"), warnings),
        "city": n.bounded(n.plain_text(values.get("city")), "city", warnings),
        "latitude": lat,
        "longitude": lon,
        "website": n.website(values.get("website"), warnings),
        "email": n.email(values.get("email"), warnings),
        "phone": n.phone(values.get("phone"), warnings),
        "opening_hours": n.bounded(
            n.plain_text(values.get("opening_hours")), "opening_hours", warnings
        ),
        "image_url": n.website(values.get("image_url"), warnings, "image"),
    }
    insee = n.plain_text(values.get("insee_code")).upper()
    if insee:
        if re.fullmatch(r"\d{5}|2[AB]\d{3}", insee):
            fields["insee_code"] = insee
        else:
            warnings.append(f"code INSEE ignoré (invalide : {insee[:10]!r})")
    fediverse = n.plain_text(values.get("fediverse"))
    if fediverse:
        fields["fediverse"] = fediverse[:300]
    categories = values.get("categories")
    if isinstance(categories, list):
        cats = [Category(fold(str(c)), n.plain_text(str(c))) for c in categories if str(c).strip()]
    else:
        cats = _split_categories(n.plain_text(categories))
    return SourceRecord(position, source_id, fields, cats, warnings)


def records(plan: CsvPlan, rows: Iterable[list[str]]) -> Iterator[SourceRecord | Rejected]:
    """Every data row as a record (row 2 is the first data row, as a spreadsheet shows it)."""
    width = len(plan.headers)
    index = {target: plan.headers.index(header) for target, header in plan.mapping.items()}
    for number, row in enumerate(rows, start=2):
        warnings: list[str] = []
        if len(row) != width:
            warnings.append(f"ligne {number} : {len(row)} colonnes au lieu de {width}")
        if any(len(cell) > MAX_CELL for cell in row):
            yield Rejected(
                number, "", "", f"ligne {number} : cellule de plus de {MAX_CELL} caractères"
            )
            continue
        values = {t: (row[i] if i < len(row) else "") for t, i in index.items()}
        yield record_from_values(values, number, warnings)


def parse(
    raw: bytes, overrides: Mapping[str, str] | None = None
) -> Iterator[SourceRecord | Rejected]:
    plan, rows = read(raw, overrides)
    yield from records(plan, rows)
