"""The federation admin API: trust policies and the blocklist, admins only."""

from __future__ import annotations

import pytest

from directory import people
from federation import inbox_store, instances


async def _token(db, role: str) -> dict[str, str]:
    async with db.session() as session:
        person = await people.create_person(
            session, email=f"{role}@example.org", password="mot-de-passe-long", role=role
        )
        token = await people.issue_token(session, person)
    return {"Authorization": f"Bearer {token}"}


@pytest.fixture
async def admin(db) -> dict[str, str]:
    return await _token(db, "admin")


async def test_trust_policy_is_set_and_listed(client, db, admin):
    response = await client.put(
        "/api/v1/federation/instances/region.example/trust", json={"trust": "hold"}, headers=admin
    )
    assert response.status_code == 200
    assert response.json() == {"host": "region.example", "trust": "hold"}
    listed = (await client.get("/api/v1/federation/instances", headers=admin)).json()["items"]
    assert [(i["host"], i["trust"]) for i in listed] == [("region.example", "hold")]
    async with db.session() as session:
        assert await instances.trust_of(session, "region.example") == "hold"


async def test_unknown_trust_policy_is_a_422_with_the_field(client, admin):
    response = await client.put(
        "/api/v1/federation/instances/region.example/trust", json={"trust": "maybe"}, headers=admin
    )
    assert response.status_code == 422
    assert "trust" in response.json()["fields"]


async def test_blocklist_add_list_remove(client, db, admin):
    response = await client.post(
        "/api/v1/federation/blocks",
        json={"domain": "Spam.Example", "reason": "spam"},
        headers=admin,
    )
    assert response.status_code == 201 and response.json()["domain"] == "spam.example"
    async with db.session() as session:
        assert await instances.is_blocked(session, "sub.spam.example")
        assert not await instances.is_blocked(session, "notspam.example")
    listed = (await client.get("/api/v1/federation/blocks", headers=admin)).json()["items"]
    assert [b["domain"] for b in listed] == ["spam.example"]
    assert (
        await client.delete("/api/v1/federation/blocks/spam.example", headers=admin)
    ).status_code == 204
    assert (
        await client.delete("/api/v1/federation/blocks/spam.example", headers=admin)
    ).status_code == 404


async def test_malformed_body_is_a_400_and_bad_fields_a_422(client, admin):
    response = await client.post(
        "/api/v1/federation/blocks",
        content=b"{nope",
        headers={**admin, "Content-Type": "application/json"},
    )
    assert response.status_code == 400
    response = await client.post("/api/v1/federation/blocks", json={"reason": 3}, headers=admin)
    assert response.status_code == 422
    assert set(response.json()["fields"]) == {"domain", "reason"}


async def test_oversize_body_is_a_413_and_non_json_a_400(client, admin):
    big = {"domain": "spam.example", "reason": "x" * 20_000}
    response = await client.post("/api/v1/federation/blocks", json=big, headers=admin)
    assert response.status_code == 413
    response = await client.post(
        "/api/v1/federation/blocks",
        content=b"domain=spam.example",
        headers={**admin, "Content-Type": "application/x-www-form-urlencoded"},
    )
    assert response.status_code == 400
    listed = (await client.get("/api/v1/federation/blocks", headers=admin)).json()["items"]
    assert listed == []


async def test_inbox_listing_shows_refusals_with_reasons(client, db, admin):
    async with db.session() as session:
        await inbox_store.record_refusal(
            session, "401 signature refusée", activity={"type": "Create"}
        )
    body = (await client.get("/api/v1/federation/inbox?state=refused", headers=admin)).json()
    assert body["counts"] == {"refused": 1}
    assert body["items"][0]["reason"] == "401 signature refusée"


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/api/v1/federation/instances"),
        ("PUT", "/api/v1/federation/instances/x.example/trust"),
        ("GET", "/api/v1/federation/blocks"),
        ("POST", "/api/v1/federation/blocks"),
        ("DELETE", "/api/v1/federation/blocks/x.example"),
        ("GET", "/api/v1/federation/inbox"),
        ("GET", "/api/v1/federation/deliveries"),
    ],
)
async def test_admins_only(client, db, method, path):
    moderator = await _token(db, "moderator")
    assert (await client.request(method, path)).status_code == 401
    response = await client.request(
        method, path, headers=moderator, json={"trust": "hold", "domain": "x"}
    )
    assert response.status_code == 403


async def test_metrics_show_federation_queues(client, db):
    async with db.session() as session:
        await inbox_store.record_refusal(session, "401 non signée")
    text = (await client.get("/metrics")).text
    assert 'maillage_inbox_items{state="refused"} 1' in text
    assert "maillage_delivery_lag_seconds 0" in text
