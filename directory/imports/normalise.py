"""Normalising the mess of real data: HTML in text, odd URLs and phones, absurd coordinates.

Each function returns the cleaned value and appends a French warning when it changed or
dropped something, so that the import report says what happened to each record.
"""

from __future__ import annotations

import html
import math
import re
from typing import Any

import nh3

from directory.validation import EMAIL, PHONE, POSTAL_CODE, TEXT_LIMITS, is_http_url

_BLOCK = re.compile(r"<\s*(br|/p|/div|/li|/h[1-6]|/tr)\b[^>]*>", re.IGNORECASE)
_SPACES = re.compile(r"[ \t\r\f\v]+")
_LINES = re.compile(r"\n{3,}")
_PHONE_SPLIT = re.compile(r"\s+(?:ou|or|et)\s+|[/,;|]", re.IGNORECASE)
_DOMAIN = re.compile(r"^(www\.)?[\w\-]+(\.[\w\-]+)+(/\S*)?$", re.UNICODE)

# Where a French initiative may be: metropolitan France with Corsica, then overseas.
# (min_lat, max_lat, min_lon, max_lon)
FRANCE_AREAS: tuple[tuple[str, float, float, float, float], ...] = (
    ("France métropolitaine", 41.0, 51.5, -5.5, 10.0),
    ("Guadeloupe", 15.8, 16.6, -61.9, -60.9),
    ("Martinique", 14.3, 14.95, -61.3, -60.75),
    ("Guyane", 2.0, 6.0, -54.7, -51.5),
    ("La Réunion", -21.45, -20.8, 55.2, 55.9),
    ("Mayotte", -13.05, -12.6, 44.95, 45.35),
    ("Saint-Pierre-et-Miquelon", 46.7, 47.2, -56.5, -56.1),
    ("Saint-Martin et Saint-Barthélemy", 17.85, 18.15, -63.2, -62.75),
    ("Nouvelle-Calédonie", -22.8, -19.0, 163.0, 168.5),
    ("Polynésie française", -28.0, -7.0, -155.0, -134.0),
    ("Wallis-et-Futuna", -14.4, -13.2, -178.3, -176.1),
)


def in_france(lat: float, lon: float) -> bool:
    return any(a <= lat <= b and c <= lon <= d for _, a, b, c, d in FRANCE_AREAS)


def plain_text(value: Any, *, multiline: bool = False) -> str:
    """Text without any HTML (scripts and styles dropped with their content), entities decoded.

    The result is stored as Markdown source: it holds no tag that a renderer could execute.
    """
    if value is None:
        return ""
    if not isinstance(value, str):
        value = str(value)
    if "<" in value or "&" in value:
        value = _BLOCK.sub("\n", value)
        value = nh3.clean(value, tags=set(), attributes={}, strip_comments=True)
        value = html.unescape(value)
        # A decoded "&lt;script&gt;" must not become a live tag either.
        if "<" in value:
            value = nh3.clean(value, tags=set(), attributes={})
            value = html.unescape(value).replace("<", "‹").replace(">", "›")
    if multiline:
        lines = [_squeeze(line).strip() for line in value.replace("\r\n", "\n").split("\n")]
        text = "\n".join(lines)
        return (_LINES.sub("\n\n", text) if "\n\n\n" in text else text).strip()
    return _squeeze(value.replace("\n", " ")).strip()


def _squeeze(text: str) -> str:
    """Runs of blanks as one space (the regular expression only where there is one: most
    values have none, and an import cleans a dozen values per record)."""
    if "  " in text or "\t" in text or "\r" in text or "\f" in text or "\v" in text:
        return _SPACES.sub(" ", text)
    return text


def bounded(value: str, field: str, warnings: list[str]) -> str:
    """Cut text longer than the field allows, at a word, with an ellipsis and a warning."""
    limit = TEXT_LIMITS.get(field)
    if limit is None or len(value) <= limit:
        return value
    warnings.append(f"{field} tronqué à {limit} caractères (il en avait {len(value)})")
    cut = value[: limit - 1].rsplit(" ", 1)[0] if " " in value[: limit - 1] else value[: limit - 1]
    return cut.rstrip() + "…"


def website(value: Any, warnings: list[str], field: str = "website") -> str:
    text = plain_text(value)
    if not text:
        return ""
    if not text.lower().startswith(("http://", "https://")) and _DOMAIN.match(text):
        text = "http://" + text
    if not is_http_url(text) or len(text) > 500:
        warnings.append(f"{field} ignoré (adresse web invalide : {text[:80]!r})")
        return ""
    return text


def email(value: Any, warnings: list[str]) -> str:
    text = plain_text(value).removeprefix("mailto:")
    if not text or text.lower() in ("hidden", "private", "masqué", "masque"):
        return ""
    if len(text) > 254 or not EMAIL.match(text):
        warnings.append(f"e-mail ignoré (invalide : {text[:80]!r})")
        return ""
    return text


def phone(value: Any, warnings: list[str]) -> str:
    text = plain_text(value)
    if not text:
        return ""
    if PHONE.match(text):
        return text
    parts = [p.strip() for p in _PHONE_SPLIT.split(text) if p.strip()]
    valid = [p for p in parts if PHONE.match(p)]
    if valid:
        if len(parts) > 1:
            warnings.append(f"plusieurs téléphones ({text!r}) : seul {valid[0]!r} est gardé")
        return valid[0]
    warnings.append(f"téléphone ignoré (invalide : {text[:40]!r})")
    return ""


def postal_code(value: Any, warnings: list[str]) -> str:
    text = plain_text(value)
    if isinstance(value, int | float) and not isinstance(value, bool):
        text = f"{int(value):05d}"
    if text and not (len(text) <= 10 and POSTAL_CODE.match(text)):
        warnings.append(f"code postal ignoré (invalide : {text[:20]!r})")
        return ""
    return text


def _number(value: Any) -> float | None:
    if value is None or value == "" or isinstance(value, bool):
        return None
    if isinstance(value, str):
        value = value.strip().replace(",", ".")
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if math.isfinite(number) else None


def coordinates(lat: Any, lon: Any, warnings: list[str]) -> tuple[float | None, float | None]:
    """Valid coordinates, or (None, None) with a warning; swapped lat/lon are detected."""
    if lat in (None, "") and lon in (None, ""):
        return None, None
    la, lo = _number(lat), _number(lon)
    if la is None or lo is None:
        warnings.append(f"coordonnées ignorées (illisibles : {lat!r}, {lon!r})")
        return None, None
    if la == 0 and lo == 0:
        warnings.append("coordonnées ignorées (0, 0 : position par défaut, pas un lieu)")
        return None, None
    if in_france(la, lo):
        return la, lo
    if in_france(lo, la):
        warnings.append(f"latitude et longitude inversées ({la}, {lo}) : corrigées en ({lo}, {la})")
        return lo, la
    if abs(la) > 90 or abs(lo) > 180:
        warnings.append(f"coordonnées absurdes ignorées ({la}, {lo})")
        return None, None
    warnings.append(f"coordonnées hors de France ({la}, {lo}) : gardées, à vérifier")
    return la, lo
