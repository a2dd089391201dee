"""What software a peer runs, from its NodeInfo (`/.well-known/nodeinfo` -> 2.1 or 2.0).

The worker identifies each remote instance soon after we first meet it and again once a
day (SOFTWARE_TTL): `SoftwareSurvey` claims the instances due (SKIP LOCKED on
PostgreSQL, so several workers share them), fetches their NodeInfo through the Fetcher
(SSRF rules: private and loopback addresses refused unless the test configuration allows
them; body cap; redirects checked) and records name and version. A peer that does not
answer keeps what we knew and is asked again a day later.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from directory.db import Database
from directory.models import utcnow
from federation import instances
from federation.fetch import Fetcher, FetchError, parse_json_object
from federation.http import NetworkError
from federation.urls import host_of

if TYPE_CHECKING:
    from web.settings import Settings

log = logging.getLogger("maillage.nodeinfo")

SCHEMA = "http://nodeinfo.diaspora.software/ns/schema/"
SCHEMAS = (f"{SCHEMA}2.1", f"{SCHEMA}2.0")  # preferred first
SOFTWARE_TTL = timedelta(days=1)
NAME = re.compile(r"^[a-z0-9][a-z0-9._-]*$")  # NodeInfo 2.x: lowercase, digits, dashes
FIELD_LIMIT = 80


@dataclass(frozen=True)
class Software:
    name: str
    version: str = ""


def base_of(settings: Settings, host: str) -> str:
    """`scheme://host` of a peer: our own scheme (https in production, http on loopback)."""
    scheme = urlsplit(settings.base_url).scheme or "https"
    return f"{scheme}://{host}"


async def nodeinfo_document(fetcher: Fetcher, host: str) -> dict[str, Any]:
    """The NodeInfo document of `host` (2.1 preferred, else 2.0), from its own host."""
    index = await fetcher.get(
        f"{base_of(fetcher.settings, host)}/.well-known/nodeinfo", accept="application/json"
    )
    if index.status != 200:
        raise FetchError(f"{host} has no NodeInfo ({index.status})", status=index.status)
    links = parse_json_object(index.body).get("links")
    found = {
        link.get("rel"): link.get("href")
        for link in (links if isinstance(links, list) else [])
        if isinstance(link, dict) and isinstance(link.get("href"), str)
    }
    href = next((found[rel] for rel in SCHEMAS if rel in found), None)
    if href is None:
        raise FetchError(f"{host} NodeInfo links no 2.1 or 2.0 document")
    if host_of(href) != host:
        raise FetchError(f"{host} NodeInfo names a document on another host ({host_of(href)})")
    document = await fetcher.get(href, accept="application/json")
    if document.status != 200:
        raise FetchError(f"{href} answered {document.status}", status=document.status)
    return parse_json_object(document.body)


def software_of(document: dict[str, Any]) -> Software:
    """Name and version from a NodeInfo document; FetchError when there is no usable name."""
    software = document.get("software")
    if not isinstance(software, dict):
        raise FetchError("NodeInfo without `software`")
    name, version = software.get("name"), software.get("version")
    name = name.strip().lower() if isinstance(name, str) else ""
    if not NAME.match(name) or len(name) > FIELD_LIMIT:
        raise FetchError(f"NodeInfo software name unusable: {software.get('name')!r}")
    version = version.strip() if isinstance(version, str) else ""
    version = "".join(c for c in version if c.isprintable())[:FIELD_LIMIT]
    return Software(name, version)


async def fetch_software(fetcher: Fetcher, host: str) -> Software:
    """The software `host` runs, by its NodeInfo."""
    return software_of(await nodeinfo_document(fetcher, host))


class SoftwareSurvey:
    """Identifies remote instances (first contact, then daily), a few per round."""

    def __init__(
        self,
        db: Database,
        fetcher: Fetcher,
        *,
        batch: int = 20,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self.db = db
        self.fetcher = fetcher
        self.batch = batch
        self.clock = clock

    async def run_once(self) -> int:
        """Identify the instances due; how many were asked."""
        now = self.clock()
        async with self.db.session() as session:
            hosts = await instances.claim_unidentified(
                session, now=now, older_than=now - SOFTWARE_TTL, limit=self.batch
            )
        for host in hosts:
            try:
                software = await fetch_software(self.fetcher, host)
            except (FetchError, NetworkError) as exc:
                log.info("NodeInfo of %s: %s", host, exc)
                continue
            async with self.db.session() as session:
                await instances.record_software(
                    session, host, software.name, software.version, at=now
                )
        return len(hosts)
