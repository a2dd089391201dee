"""Prometheus-style /metrics: gauges read from the database, so every process agrees.

Nothing is counted in process memory (web processes are many and stateless): each scrape
reads the current figures: the directory, the federation queues (deliveries, inbox,
follows, remote instances) and imports. Other areas add theirs by listing a
"module:function" in METRIC_COLLECTORS, where `function(session)` returns `Gauge`s. The figures are aggregate counts, nothing personal; restrict the path at the
reverse proxy if they should stay private.
"""

from __future__ import annotations

import importlib
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.requests import Request
from starlette.responses import PlainTextResponse
from starlette.routing import BaseRoute, Route

from directory.imports.models import ImportConflict, ImportJob
from directory.models import Commune, Correction, Initiative, Person, utcnow
from federation.flow_models import Delivery, Follower, Following, InboxItem, RemoteInstance

METRIC_COLLECTORS: tuple[str, ...] = ("web.metrics_federation:gauges",)
CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"


@dataclass
class Gauge:
    name: str
    help: str
    samples: list[tuple[dict[str, str], float]] = field(default_factory=list)


async def directory_gauges(session: AsyncSession) -> list[Gauge]:
    """Initiatives by moderation state and origin, corrections by state, accounts, communes."""
    initiatives = Gauge("maillage_initiatives", "Initiatives by moderation state and origin.")
    rows = await session.execute(
        select(Initiative.moderation_state, Initiative.origin.is_(None), func.count()).group_by(
            Initiative.moderation_state, Initiative.origin.is_(None)
        )
    )
    for state, local, count in rows:
        origin = "local" if local else "remote"
        initiatives.samples.append(({"state": state, "origin": origin}, count))
    corrections = await _by(
        session, "maillage_corrections", "Proposed corrections by state.", Correction.state, "state"
    )
    accounts = await _by(
        session, "maillage_accounts", "Active accounts by role.", Person.role, "role", Person.active
    )
    communes = Gauge("maillage_communes", "Communes of the instance's territory.")
    communes.samples.append(({}, await session.scalar(select(func.count(Commune.id))) or 0))
    return [initiatives, corrections, accounts, communes]


async def _by(
    session: AsyncSession, name: str, text: str, column: Any, label: str, *where: Any
) -> Gauge:
    """A gauge counting the rows of `column`'s table, labelled by that column's value."""
    rows = await session.execute(select(column, func.count()).where(*where).group_by(column))
    return Gauge(name, text, [({label: str(value)}, count) for value, count in rows])


def _age(oldest: datetime | None) -> float:
    if oldest is None:
        return 0
    if oldest.tzinfo is None:  # SQLite gives naive UTC
        oldest = oldest.replace(tzinfo=utcnow().tzinfo)
    return max(0.0, round((utcnow() - oldest).total_seconds(), 3))


async def queue_gauges(session: AsyncSession) -> list[Gauge]:
    """Background work waiting or failed: deliveries, inbox, follows, instances, imports."""
    gauges = [
        await _by(session, "maillage_deliveries", "Deliveries by state.", Delivery.state, "state"),
        await _by(
            session,
            "maillage_inbox_items",
            "Received activities by state.",
            InboxItem.state,
            "state",
        ),
        await _by(
            session,
            "maillage_following",
            "Instances we follow, by state.",
            Following.state,
            "state",
        ),
        await _by(
            session, "maillage_followers", "Our followers, by state.", Follower.state, "state"
        ),
        await _by(
            session,
            "maillage_remote_instances",
            "Known instances by trust policy.",
            RemoteInstance.trust,
            "trust",
        ),
        await _by(
            session, "maillage_import_jobs", "Import jobs by state.", ImportJob.state, "state"
        ),
        await _by(
            session,
            "maillage_import_conflicts",
            "Import conflicts by state.",
            ImportConflict.state,
            "state",
        ),
    ]
    oldest_delivery = await session.scalar(
        select(func.min(Delivery.created_at)).where(Delivery.state == "pending")
    )
    oldest_inbox = await session.scalar(
        select(func.min(InboxItem.received_at)).where(InboxItem.state == "pending")
    )
    gauges.append(
        Gauge(
            "maillage_oldest_pending_seconds",
            "Age of the oldest pending item of each queue (0 when empty).",
            [
                ({"queue": "deliveries"}, _age(oldest_delivery)),
                ({"queue": "inbox"}, _age(oldest_inbox)),
            ],
        )
    )
    return gauges


def _escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')


def render(gauges: Iterable[Gauge]) -> str:
    """The Prometheus text exposition format (version 0.0.4)."""
    lines: list[str] = []
    for gauge in gauges:
        lines += [f"# HELP {gauge.name} {gauge.help}", f"# TYPE {gauge.name} gauge"]
        for labels, value in sorted(gauge.samples, key=lambda s: sorted(s[0].items())):
            label_text = ",".join(f'{k}="{_escape(v)}"' for k, v in sorted(labels.items()))
            number = int(value) if float(value).is_integer() else value
            lines.append(
                f"{gauge.name}{{{label_text}}} {number}" if labels else f"{gauge.name} {number}"
            )
    return "\n".join(lines) + "\n"


async def metrics(request: Request) -> PlainTextResponse:
    async with request.app.state.db.session() as session:
        gauges = await directory_gauges(session) + await queue_gauges(session)
        for path in METRIC_COLLECTORS:
            module, _, name = path.partition(":")
            gauges += await getattr(importlib.import_module(module), name)(session)
    return PlainTextResponse(render(gauges), media_type=CONTENT_TYPE)


def routes() -> list[BaseRoute]:
    return [Route("/metrics", metrics)]
