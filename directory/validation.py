"""Validation of initiative fields: every refusal names the field and the reason."""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Mapping
from typing import Any
from urllib.parse import urlsplit

from directory.errors import ValidationError
from directory.messages import N_
from directory.vocabulary import ACTOR_KIND_SLUGS, NEED_SLUGS, STATUS_SLUGS

TEXT_LIMITS = {
    "name": 200,
    "summary": 300,
    "description": 20_000,
    "street": 300,
    "city": 200,
    "opening_hours": 500,
    "fediverse": 300,
}
URL_FIELDS = {"website": 500, "image_url": 500}
LIST_LIMIT = 20

EMAIL = re.compile(r"^[^@\s<>\"']+@[^@\s<>\"']+\.[^@\s<>\"']+$")
PHONE = re.compile(r"^[0-9+().\- ]{4,40}$")
POSTAL_CODE = re.compile(r"^[0-9A-Za-z \-]{0,10}$")
INSEE = re.compile(r"^(\d{5}|2[AB]\d{3})$")
SLUG = re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,118}[a-z0-9])?$")
FEDIVERSE = re.compile(r"^@?[\w.\-]+@[\w.\-]+\.[a-z]{2,}$", re.IGNORECASE)
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")

# Every field an initiative accepts from outside, in display order.
FIELDS = (
    "name",
    "summary",
    "description",
    "themes",
    "actor_kinds",
    "needs",
    "status",
    "street",
    "postal_code",
    "city",
    "insee_code",
    "latitude",
    "longitude",
    "website",
    "email",
    "phone",
    "fediverse",
    "social_links",
    "opening_hours",
    "image_url",
    "same_as",
    "slug",
)


def is_http_url(value: str) -> bool:
    try:
        parts = urlsplit(value)
    except ValueError:  # e.g. "http://[abc": an unbalanced IPv6 bracket
        return False
    return parts.scheme in ("http", "https") and bool(parts.netloc) and " " not in value


def _text(value: Any, field: str, limit: int, errors: dict[str, str]) -> str:
    if value is None:
        return ""
    if not isinstance(value, str):
        errors[field] = N_("doit être un texte")
        return ""
    value = _CONTROL.sub("", value).strip()
    if len(value) > limit:
        errors[field] = N_(
            "trop long (%(n)s caractères, maximum %(limit)s)", n=len(value), limit=limit
        )
    return value


def _list(value: Any, field: str, errors: dict[str, str]) -> list[str]:
    if value is None:
        return []
    if isinstance(value, str):
        value = [v for v in (part.strip() for part in value.split(",")) if v]
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        errors[field] = N_("doit être une liste de textes")
        return []
    if len(value) > LIST_LIMIT:
        errors[field] = N_("trop d'éléments (maximum %(limit)s)", limit=LIST_LIMIT)
    return list(dict.fromkeys(v.strip() for v in value if v.strip()))


def _coordinate(value: Any, field: str, bound: float, errors: dict[str, str]) -> float | None:
    if value is None or value == "":
        return None
    try:
        number = float(value)
    except (TypeError, ValueError):
        errors[field] = N_("doit être un nombre")
        return None
    if isinstance(value, bool) or not math.isfinite(number) or abs(number) > bound:
        errors[field] = N_("hors limites (entre -%(bound)g et %(bound)g)", bound=bound)
        return None
    return number


def _vocabulary(
    values: list[str], field: str, allowed: Iterable[str], errors: dict[str, str]
) -> list[str]:
    allowed = set(allowed)
    unknown = [v for v in values if v not in allowed]
    if unknown:
        errors[field] = N_(
            "inconnu : %(names)s (valeurs possibles : %(choices)s)",
            names=", ".join(unknown),
            choices=", ".join(sorted(allowed)),
        )
    return values


def clean_initiative(
    data: Mapping[str, Any],
    *,
    theme_slugs: Iterable[str],
    partial: bool = False,
) -> dict[str, Any]:
    """Check and normalise initiative fields; raise ValidationError naming each bad field.

    With `partial`, only the fields present are checked (an update); otherwise `name` is
    required. Unknown fields are refused so that a typo never silently loses data.
    """
    errors: dict[str, str] = {}
    if not isinstance(data, Mapping):
        raise ValidationError({"_": N_("un objet JSON est attendu")})
    for field in data:
        if field not in FIELDS:
            errors[field] = N_("champ inconnu")
    out: dict[str, Any] = {}
    present = set(data) if partial else set(FIELDS)

    for field, limit in TEXT_LIMITS.items():
        if field in present:
            out[field] = _text(data.get(field), field, limit, errors)
    if "name" in present and not out.get("name") and "name" not in errors:
        errors["name"] = N_("obligatoire")

    for field, limit in URL_FIELDS.items():
        if field in present:
            value = _text(data.get(field), field, limit, errors)
            if value and not is_http_url(value):
                errors[field] = N_("doit être une adresse web commençant par http:// ou https://")
            out[field] = value
    if "email" in present:
        value = _text(data.get("email"), "email", 254, errors)
        if value and not EMAIL.match(value):
            errors["email"] = N_("adresse e-mail invalide")
        out["email"] = value
    if "phone" in present:
        value = _text(data.get("phone"), "phone", 40, errors)
        if value and not PHONE.match(value):
            errors["phone"] = N_("numéro de téléphone invalide")
        out["phone"] = value
    if "postal_code" in present:
        value = _text(data.get("postal_code"), "postal_code", 10, errors)
        if not POSTAL_CODE.match(value):
            errors["postal_code"] = N_("code postal invalide")
        out["postal_code"] = value
    if "insee_code" in present:
        value = _text(data.get("insee_code"), "insee_code", 5, errors).upper()
        if value and not INSEE.match(value):
            errors["insee_code"] = N_("code INSEE invalide (5 caractères, ex. 44109)")
        out["insee_code"] = value
    if out.get("fediverse") and not (
        FEDIVERSE.match(out["fediverse"]) or is_http_url(out["fediverse"])
    ):
        errors["fediverse"] = N_("compte du fédivers invalide (@nom@instance ou adresse web)")
    if "status" in present:
        value = data.get("status") or "active"
        if not isinstance(value, str) or value not in STATUS_SLUGS:
            errors["status"] = N_(
                "inconnu : %(names)s (valeurs possibles : %(choices)s)",
                names=value,
                choices=", ".join(sorted(STATUS_SLUGS)),
            )
        out["status"] = value
    if "slug" in present and data.get("slug"):
        value = data["slug"]
        if not isinstance(value, str) or not SLUG.match(value):
            errors["slug"] = N_("identifiant invalide (minuscules, chiffres et tirets)")
        out["slug"] = value

    if "latitude" in present:
        out["latitude"] = _coordinate(data.get("latitude"), "latitude", 90, errors)
    if "longitude" in present:
        out["longitude"] = _coordinate(data.get("longitude"), "longitude", 180, errors)
    if (
        not partial
        and (out["latitude"] is None) != (out["longitude"] is None)
        and "latitude" not in errors
        and "longitude" not in errors
    ):
        errors["latitude" if out["latitude"] is None else "longitude"] = (
            "latitude et longitude vont ensemble"
        )

    if "themes" in present:
        out["themes"] = _vocabulary(
            _list(data.get("themes"), "themes", errors), "themes", theme_slugs, errors
        )
    if "actor_kinds" in present:
        out["actor_kinds"] = _vocabulary(
            _list(data.get("actor_kinds"), "actor_kinds", errors),
            "actor_kinds",
            ACTOR_KIND_SLUGS,
            errors,
        )
    if "needs" in present:
        out["needs"] = _vocabulary(
            _list(data.get("needs"), "needs", errors), "needs", NEED_SLUGS, errors
        )
    for field in ("social_links", "same_as"):
        if field in present:
            values = _list(data.get(field), field, errors)
            bad = [v for v in values if len(v) > 500 or not is_http_url(v)]
            if bad:
                errors[field] = N_(
                    "adresses web invalides : %(addresses)s", addresses=", ".join(bad[:3])
                )
            out[field] = values

    if errors:
        raise ValidationError(errors)
    return out
