"""Prometheus-style /metrics: gauges read from the database, so every process agrees.

Nothing is counted in process memory (web processes are many and stateless): each scrape
reads the current figures. Other areas add theirs (delivery and inbox queues, imports) by
listing a "module:function" in METRIC_COLLECTORS, where `function(session)` returns
`Gauge`s. The figures are aggregate counts, nothing personal; restrict the path at the
reverse proxy if they should stay private.
"""

from __future__ import annotations

import importlib
from collections.abc import Iterable
from dataclasses import dataclass, field

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.requests import Request
from starlette.responses import PlainTextResponse
from starlette.routing import BaseRoute, Route

from directory.models import Commune, Correction, Initiative, Person

METRIC_COLLECTORS: tuple[str, ...] = ()
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
    corrections = Gauge("maillage_corrections", "Proposed corrections by state.")
    rows = await session.execute(select(Correction.state, func.count()).group_by(Correction.state))
    corrections.samples.extend(({"state": state}, count) for state, count in rows)
    accounts = Gauge("maillage_accounts", "Active accounts by role.")
    rows = await session.execute(
        select(Person.role, func.count()).where(Person.active).group_by(Person.role)
    )
    accounts.samples.extend(({"role": role}, count) for role, count in rows)
    communes = Gauge("maillage_communes", "Communes of the instance's territory.")
    communes.samples.append(({}, await session.scalar(select(func.count(Commune.id))) or 0))
    return [initiatives, corrections, accounts, communes]


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
        gauges = await directory_gauges(session)
        for path in METRIC_COLLECTORS:
            module, _, name = path.partition(":")
            gauges += await getattr(importlib.import_module(module), name)(session)
    return PlainTextResponse(render(gauges), media_type=CONTENT_TYPE)


def routes() -> list[BaseRoute]:
    return [Route("/metrics", metrics)]
