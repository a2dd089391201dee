"""Instance settings an admin changes at run time, stored in `instance_settings`.

Each key overrides the environment's default (web/settings.py) when set; an empty value
means "use the default". The territory itself (name, kind, code, communes) lives in the
`territories` table (directory/territory.py); these keys hold what the site shows.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from directory.errors import ValidationError
from directory.messages import N_
from directory.models import InstanceSetting
from directory.validation import is_http_url


@dataclass(frozen=True)
class Key:
    name: str
    limit: int
    kind: str = "text"  # text, url, tile-url, markdown


KEYS: tuple[Key, ...] = (
    Key("site_name", 120),
    Key("welcome_text", 5000, "markdown"),
    Key("logo_url", 500, "url"),
    Key("licence", 200),
    Key("licence_url", 500, "url"),
    Key("tile_url", 500, "tile-url"),
    Key("tile_attribution", 300),
    Key("contact_email", 254, "email"),
)
KEY_NAMES = tuple(k.name for k in KEYS)
# Keys that replace the environment's setting of the same name (web/settings.py Settings).
SETTINGS_FIELDS = ("licence", "licence_url", "tile_url", "tile_attribution")


def overrides(stored: Mapping[str, str]) -> dict[str, str]:
    """The stored values that replace the environment's settings (`settings.with_(**...)`)."""
    return {name: stored[name] for name in SETTINGS_FIELDS if stored.get(name)}


def clean_settings(values: Mapping[str, str]) -> dict[str, str]:
    """Check each value against its key's kind and limit; ValidationError names each field."""
    errors: dict[str, str] = {}
    out: dict[str, str] = {}
    by_name = {k.name: k for k in KEYS}
    for name, raw in values.items():
        key = by_name.get(name)
        if key is None:
            errors[name] = N_("réglage inconnu")
            continue
        if not isinstance(raw, str):
            errors[name] = N_("doit être un texte")
            continue
        value = raw.replace("\r\n", "\n").strip()
        if len(value) > key.limit:
            errors[name] = N_(
                "trop long (%(n)s caractères, maximum %(limit)s)", n=len(value), limit=key.limit
            )
        elif key.kind == "url" and value and not is_http_url(value):
            errors[name] = N_("doit être une adresse web commençant par http:// ou https://")
        elif (
            key.kind == "tile-url"
            and value
            and not (
                is_http_url(value.replace("{", "").replace("}", ""))
                and all(part in value for part in ("{z}", "{x}", "{y}"))
            )
        ):
            errors[name] = N_("adresse de tuiles attendue, avec {z}, {x} et {y}")
        elif key.kind == "email" and value and ("@" not in value or " " in value):
            errors[name] = N_("adresse e-mail invalide")
        out[name] = value
    if errors:
        raise ValidationError(errors)
    return out


async def load(session: AsyncSession) -> dict[str, str]:
    """Every stored setting (set values only)."""
    rows = await session.execute(select(InstanceSetting.key, InstanceSetting.value))
    return {key: value for key, value in rows.all() if value}


async def save(session: AsyncSession, values: Mapping[str, str]) -> dict[str, str]:
    """Validate and store settings; an empty value removes the override. Returns what changed."""
    clean = clean_settings(values)
    stored = {row.key: row for row in await session.scalars(select(InstanceSetting))}
    changed: dict[str, str] = {}
    for name, value in clean.items():
        row = stored.get(name)
        if row is None and value:
            session.add(InstanceSetting(key=name, value=value))
            changed[name] = value
        elif row is not None and row.value != value:
            if value:
                row.value = value
            else:
                await session.delete(row)
            changed[name] = value
    await session.flush()
    return changed
