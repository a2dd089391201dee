"""Instance settings, read from MAILLAGE_* environment variables (see the README)."""

from __future__ import annotations

import os
import secrets
from dataclasses import dataclass, field, replace
from pathlib import Path
from urllib.parse import urlsplit

DEFAULT_LICENCE = "Licence Ouverte / Open Licence 2.0 (Etalab)"
DEFAULT_LICENCE_URL = "https://www.etalab.gouv.fr/licence-ouverte-open-licence/"
DEFAULT_TILE_URL = "https://tile.openstreetmap.org/{z}/{x}/{y}.png"
DEFAULT_TILE_ATTRIBUTION = "© les contributeurs d'OpenStreetMap"


def _bool(value: str) -> bool:
    return value.strip().lower() in {"1", "true", "yes", "on", "oui"}


@dataclass(frozen=True)
class Settings:
    data_dir: Path = Path("data")
    database_url: str = ""
    base_url: str = "http://127.0.0.1:8000"
    secret_key: str = ""
    territory_name: str = "Mon territoire"
    territory_kind: str = "departement"
    territory_code: str = ""
    territory_username: str = "territoire"
    licence: str = DEFAULT_LICENCE
    licence_url: str = DEFAULT_LICENCE_URL
    tile_url: str = DEFAULT_TILE_URL
    tile_attribution: str = DEFAULT_TILE_ATTRIBUTION
    # ActivityPub: require signed GETs for actors' collections and objects.
    authorized_fetch: bool = False
    # Test configurations only: allow fetching loopback and private addresses.
    allow_private_addresses: bool = False
    max_body_bytes: int = 1_000_000
    default_language: str = "fr"
    extra: dict[str, str] = field(default_factory=dict)

    @property
    def host(self) -> str:
        """The host (with port when not default) that names this instance."""
        return urlsplit(self.base_url).netloc

    @property
    def resolved_database_url(self) -> str:
        return self.database_url or f"sqlite+aiosqlite:///{self.data_dir / 'maillage.sqlite3'}"

    def with_(self, **changes: object) -> Settings:
        return replace(self, **changes)

    @classmethod
    def from_env(cls, environ: dict[str, str] | None = None) -> Settings:
        """Read settings from the environment; generate and store the secret key if absent."""
        env = dict(os.environ if environ is None else environ)
        data_dir = Path(env.get("MAILLAGE_DATA_DIR", "data"))
        settings = cls(
            data_dir=data_dir,
            database_url=env.get("MAILLAGE_DATABASE_URL", ""),
            base_url=env.get("MAILLAGE_BASE_URL", cls.base_url).rstrip("/"),
            secret_key=env.get("MAILLAGE_SECRET_KEY", ""),
            territory_name=env.get("MAILLAGE_TERRITORY_NAME", cls.territory_name),
            territory_kind=env.get("MAILLAGE_TERRITORY_KIND", cls.territory_kind),
            territory_code=env.get("MAILLAGE_TERRITORY_CODE", ""),
            territory_username=env.get("MAILLAGE_TERRITORY_USERNAME", cls.territory_username),
            licence=env.get("MAILLAGE_LICENCE", DEFAULT_LICENCE),
            licence_url=env.get("MAILLAGE_LICENCE_URL", DEFAULT_LICENCE_URL),
            tile_url=env.get("MAILLAGE_TILE_URL", DEFAULT_TILE_URL),
            tile_attribution=env.get("MAILLAGE_TILE_ATTRIBUTION", DEFAULT_TILE_ATTRIBUTION),
            authorized_fetch=_bool(env.get("MAILLAGE_AUTHORIZED_FETCH", "")),
            allow_private_addresses=_bool(env.get("MAILLAGE_ALLOW_PRIVATE_ADDRESSES", "")),
            max_body_bytes=int(env.get("MAILLAGE_MAX_BODY_BYTES", "1000000")),
            default_language=env.get("MAILLAGE_LANGUAGE", "fr"),
        )
        if not settings.secret_key:
            settings = replace(settings, secret_key=stored_secret_key(data_dir))
        return settings


def stored_secret_key(data_dir: Path) -> str:
    """The secret key kept in the data directory, created on first use (mode 0600)."""
    path = data_dir / "secret_key"
    if path.exists():
        return path.read_text().strip()
    data_dir.mkdir(parents=True, exist_ok=True)
    key = secrets.token_urlsafe(48)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(key + "\n")
    return key
