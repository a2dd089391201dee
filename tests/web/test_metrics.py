"""/metrics: Prometheus text read from the database."""

from __future__ import annotations

import re
from collections import Counter

from directory import demo
from web.metrics import Gauge, render

SAMPLE = re.compile(r"^(\w+)(?:\{(.*)\})? (\d+(?:\.\d+)?)$")


def parse(text: str) -> dict[tuple[str, frozenset], float]:
    samples = {}
    for line in text.splitlines():
        if line.startswith("#"):
            continue
        name, labels, value = SAMPLE.match(line).groups()
        pairs = frozenset(re.findall(r'(\w+)="([^"]*)"', labels or ""))
        samples[(name, pairs)] = float(value)
    return samples


async def test_metrics_count_initiatives_corrections_and_accounts(client, db):
    async with db.session() as session:
        summary = await demo.load_demo(session, admin_password="mot-de-passe-de-test", count=40)
    states = Counter(
        i.moderation_state for i in demo.generate_initiatives(demo.communes_44(), count=40)
    )

    response = await client.get("/metrics")
    samples = parse(response.text)

    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain; version=0.0.4")
    for state, count in states.items():
        key = ("maillage_initiatives", frozenset({("state", state), ("origin", "local")}))
        assert samples[key] == count
    assert samples[("maillage_corrections", frozenset({("state", "proposed")}))] == (
        summary.corrections
    )
    assert samples[("maillage_accounts", frozenset({("role", "admin")}))] == 1
    assert samples[("maillage_communes", frozenset())] == 207
    assert "# TYPE maillage_initiatives gauge" in response.text


def test_render_escapes_label_values():
    text = render([Gauge("m", "Aide.", [({"name": 'a"b\\c\nd'}, 2.5)])])
    assert text == '# HELP m Aide.\n# TYPE m gauge\nm{name="a\\"b\\\\c\\nd"} 2.5\n'


async def test_metrics_show_the_queues_and_their_oldest_pending_item(client, db):
    from datetime import timedelta

    from directory.models import utcnow
    from federation.flow_models import InboxItem, RemoteInstance

    async with db.session() as session:
        session.add_all(
            [
                InboxItem(activity_type="Create", received_at=utcnow() - timedelta(minutes=10)),
                InboxItem(activity_type="Create"),
                InboxItem(activity_type="Follow", state="refused", reason="signature"),
                RemoteInstance(host="region.example", trust="publish"),
            ]
        )

    samples = parse((await client.get("/metrics")).text)

    assert samples[("maillage_inbox_items", frozenset({("state", "pending")}))] == 2
    assert samples[("maillage_inbox_items", frozenset({("state", "refused")}))] == 1
    assert samples[("maillage_remote_instances", frozenset({("trust", "publish")}))] == 1
    inbox_age = samples[("maillage_oldest_pending_seconds", frozenset({("queue", "inbox")}))]
    assert 600 <= inbox_age < 3600
    assert samples[("maillage_oldest_pending_seconds", frozenset({("queue", "deliveries")}))] == 0
