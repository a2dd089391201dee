"""The network side of imports: fetching sources over HTTP (timeouts, size cap, no private
addresses), the geocoders' client, and the periodic sync the worker runs."""

from __future__ import annotations

import asyncio
import ipaddress
import logging
import os
import socket
from typing import Any
from urllib.parse import urljoin, urlsplit

import aiohttp
import orjson

from directory.db import Database
from directory.errors import Conflict
from directory.imports import jobs
from directory.imports.fetch import MAX_IMPORT_BYTES, FetchError, size_label
from directory.imports.geocode import make_geocoder
from directory.imports.sync import Geocoder
from web.settings import Settings

log = logging.getLogger("maillage.imports")

TIMEOUT_SECONDS = 60.0
MAX_REDIRECTS = 5
USER_AGENT = "Maillage (annuaire fédéré des initiatives territoriales; imports)"


async def _check_address(url: str, allow_private: bool) -> None:
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise FetchError(f"adresse refusée : {url!r} (http ou https attendu)")
    if allow_private:
        return
    try:
        infos = await asyncio.get_running_loop().getaddrinfo(
            parts.hostname, parts.port or (443 if parts.scheme == "https" else 80),
            type=socket.SOCK_STREAM,
        )  # fmt: skip
    except OSError as exc:
        raise FetchError(f"nom de domaine introuvable : {parts.hostname} ({exc})") from None
    for info in infos:
        address = ipaddress.ip_address(info[4][0])
        if not address.is_global:
            raise FetchError(f"adresse privée ou locale refusée : {parts.hostname} ({address})")


class HttpClient:
    """aiohttp with the rules imports need; also the geocoders' JSON client."""

    def __init__(self, settings: Settings, *, timeout: float = TIMEOUT_SECONDS) -> None:
        self.allow_private = settings.allow_private_addresses
        self.timeout = timeout

    async def fetch(self, url: str, *, max_bytes: int = MAX_IMPORT_BYTES) -> bytes:
        """The body at `url`, following a few redirects, each target checked; FetchError."""
        timeout = aiohttp.ClientTimeout(total=self.timeout)
        try:
            async with aiohttp.ClientSession(
                timeout=timeout, headers={"User-Agent": USER_AGENT}
            ) as http:
                for _ in range(MAX_REDIRECTS + 1):
                    await _check_address(url, self.allow_private)
                    async with http.get(url, allow_redirects=False) as response:
                        if response.status in (301, 302, 303, 307, 308):
                            location = response.headers.get("Location", "")
                            if not location:
                                raise FetchError(f"redirection sans destination depuis {url}")
                            url = urljoin(url, location)
                            continue
                        if response.status != 200:
                            raise FetchError(
                                f"le serveur a répondu {response.status} {response.reason or ''}"
                                f" pour {url}".replace("  ", " ")
                            )
                        if (response.content_length or 0) > max_bytes:
                            raise FetchError(
                                f"source trop grosse ({size_label(response.content_length)},"
                                f" maximum {size_label(max_bytes)})"
                            )
                        body = bytearray()
                        async for piece in response.content.iter_chunked(65536):
                            body += piece
                            if len(body) > max_bytes:
                                raise FetchError(
                                    f"source trop grosse (plus de {size_label(max_bytes)})"
                                )
                        return bytes(body)
                raise FetchError(f"trop de redirections (plus de {MAX_REDIRECTS})")
        except TimeoutError:
            raise FetchError(
                f"délai dépassé : {url} n'a pas répondu en {self.timeout:g} s"
            ) from None
        except aiohttp.ClientError as exc:
            raise FetchError(f"connexion impossible à {url} : {exc}") from None

    async def get_json(self, url: str, params: dict[str, str]) -> Any:
        query = "&".join(f"{k}={aiohttp.helpers.quote(v, safe='')}" for k, v in params.items())
        body = await self.fetch(f"{url}?{query}", max_bytes=1_000_000)
        try:
            return orjson.loads(body)
        except orjson.JSONDecodeError as exc:
            raise FetchError(f"réponse illisible de {url} : {exc}") from None


def geocoder_for(settings: Settings, client: HttpClient) -> Geocoder | None:
    """The configured geocoder (MAILLAGE_GEOCODER=ban|nominatim, MAILLAGE_GEOCODER_URL)."""
    name = settings.extra.get("geocoder") or os.environ.get("MAILLAGE_GEOCODER", "")
    url = settings.extra.get("geocoder_url") or os.environ.get("MAILLAGE_GEOCODER_URL", "")
    return make_geocoder(name.strip().lower(), client, url)


async def run_due_imports(db: Database, settings: Settings) -> int:
    """Queue a job for each periodic source that is due, then run every pending job.

    For the worker's loop (`maillage worker`); returns the number of jobs run.
    """
    client = HttpClient(settings)
    geocoder = geocoder_for(settings, client)
    async with db.session() as session:
        await jobs.queue_due_sources(session)
        pending = await jobs.pending_job_ids(session)
    ran = 0
    for job_id in pending:
        try:
            await jobs.run_job(
                db, job_id, fetcher=client, geocoder=geocoder, data_dir=settings.data_dir
            )
        except Conflict:
            continue  # another worker claimed it first
        ran += 1
    return ran
