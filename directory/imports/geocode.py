"""Geocoding addresses without coordinates: BAN (api-adresse.data.gouv.fr) or Nominatim,
through an injected JSON client; off unless configured (and always off in tests)."""

from __future__ import annotations

import logging
from typing import Any, Protocol

from directory.imports.fetch import FetchError

log = logging.getLogger("maillage.imports")

BAN_URL = "https://api-adresse.data.gouv.fr/search/"
NOMINATIM_URL = "https://nominatim.openstreetmap.org/search"
MIN_SCORE = 0.5  # BAN's confidence below which an address is not trusted


class JsonClient(Protocol):
    async def get_json(self, url: str, params: dict[str, str]) -> Any:
        """The JSON document at `url` with these query parameters; FetchError on failure."""
        ...


class BanGeocoder:
    """The French national address base: precise for French addresses, no key needed."""

    def __init__(self, client: JsonClient, url: str = BAN_URL) -> None:
        self.client, self.url = client, url

    async def geocode(
        self, *, street: str, postal_code: str, city: str
    ) -> tuple[float, float] | None:
        query = " ".join(p for p in (street, postal_code, city) if p).strip()
        if len(query) < 3:
            return None
        params = {"q": query[:200], "limit": "1"}
        if postal_code:
            params["postcode"] = postal_code
        try:
            document = await self.client.get_json(self.url, params)
            feature = document["features"][0]
            if float(feature["properties"].get("score", 0)) < MIN_SCORE:
                return None
            lon, lat = feature["geometry"]["coordinates"][:2]
            return float(lat), float(lon)
        except (FetchError, KeyError, IndexError, TypeError, ValueError) as exc:
            log.info("BAN geocoding of %r failed: %s", query, exc)
            return None


class NominatimGeocoder:
    """OpenStreetMap's Nominatim (usage policy: one request per second, a real User-Agent)."""

    def __init__(self, client: JsonClient, url: str = NOMINATIM_URL) -> None:
        self.client, self.url = client, url

    async def geocode(
        self, *, street: str, postal_code: str, city: str
    ) -> tuple[float, float] | None:
        params = {"format": "jsonv2", "limit": "1", "countrycodes": "fr"}
        for key, value in (("street", street), ("postalcode", postal_code), ("city", city)):
            if value:
                params[key] = value
        if len(params) == 3:
            return None
        try:
            results = await self.client.get_json(self.url, params)
            return float(results[0]["lat"]), float(results[0]["lon"])
        except (FetchError, KeyError, IndexError, TypeError, ValueError) as exc:
            log.info("Nominatim geocoding of %r failed: %s", params, exc)
            return None


def make_geocoder(
    name: str, client: JsonClient, url: str = ""
) -> BanGeocoder | NominatimGeocoder | None:
    """The geocoder called `name` ("ban", "nominatim"; "" or "off": none)."""
    if name in ("", "off", "none"):
        return None
    if name == "ban":
        return BanGeocoder(client, url or BAN_URL)
    if name == "nominatim":
        return NominatimGeocoder(client, url or NOMINATIM_URL)
    raise ValueError(f"géocodeur inconnu : {name} (ban, nominatim ou off)")
