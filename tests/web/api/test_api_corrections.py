"""The corrections queue and moderators' decisions."""

from __future__ import annotations

import pytest

from directory import initiatives

CORRECTIONS = "/api/v1/corrections"


@pytest.fixture
async def correction(api, published) -> int:
    """An anonymous correction of the published initiative's phone and summary."""
    response = await api.patch(
        f"/api/v1/initiatives/{published.slug}",
        json={
            "phone": "02 40 00 00 00",
            "summary": "Réparer ensemble",
            "proposer_email": "voisine@example.org",
            "message": "numéro affiché sur la porte",
        },
    )
    assert response.status_code == 202
    return response.json()["correction"]


@pytest.mark.parametrize("role", ("moderator", "admin"))
async def test_moderators_list_pending_corrections(api, callers, correction, role):
    response = await api.get(CORRECTIONS, headers=callers[role].headers)

    assert response.status_code == 200
    [item] = response.json()["items"]
    assert item["id"] == correction
    assert item["initiative"] == "repair-cafe-de-reze"
    assert item["proposer_email"] == "voisine@example.org"
    assert item["changes"]["phone"] == ["", "02 40 00 00 00"]


@pytest.mark.parametrize("role", ("anonymous", "contributor", "referent"))
async def test_others_cannot_see_the_queue_or_decide(api, callers, correction, role):
    listed = await api.get(CORRECTIONS, headers=callers[role].headers)
    decided = await api.post(
        f"{CORRECTIONS}/{correction}/decision",
        json={"decision": "approve"},
        headers=callers[role].headers,
    )

    expected = 401 if role == "anonymous" else 403
    assert (listed.status_code, decided.status_code) == (expected, expected)


async def test_approving_applies_the_change_with_a_revision(api, db, callers, correction):
    response = await api.post(
        f"{CORRECTIONS}/{correction}/decision",
        json={"decision": "approve", "message": "merci"},
        headers=callers["moderator"].headers,
    )

    assert response.status_code == 200
    body = response.json()
    assert body["correction"]["state"] == "published"
    assert body["initiative"]["contacts"]["phone"] == "02 40 00 00 00"
    assert body["changes"]["summary"][1] == "Réparer ensemble"
    async with db.session() as session:
        history = await initiatives.revisions(session, body["initiative"]["id"])
        assert history[-1].action == "correction"
    assert (await api.get(CORRECTIONS, headers=callers["moderator"].headers)).json()["total"] == 0


async def test_approving_with_edits(api, callers, correction):
    response = await api.post(
        f"{CORRECTIONS}/{correction}/decision",
        json={"decision": "approve", "edits": {"phone": "02 40 11 11 11"}},
        headers=callers["admin"].headers,
    )

    assert response.status_code == 200
    assert response.json()["initiative"]["contacts"]["phone"] == "02 40 11 11 11"


async def test_invalid_edits_are_422_and_the_correction_stays_pending(api, callers, correction):
    response = await api.post(
        f"{CORRECTIONS}/{correction}/decision",
        json={"decision": "approve", "edits": {"latitude": 400}},
        headers=callers["admin"].headers,
    )

    assert response.status_code == 422
    assert "latitude" in response.json()["fields"]
    queue = await api.get(CORRECTIONS, headers=callers["admin"].headers)
    assert queue.json()["items"][0]["state"] == "proposed"


async def test_rejecting_leaves_the_initiative_unchanged(api, callers, correction, published):
    response = await api.post(
        f"{CORRECTIONS}/{correction}/decision",
        json={"decision": "reject", "message": "numéro non vérifiable"},
        headers=callers["moderator"].headers,
    )

    assert response.status_code == 200
    assert response.json()["correction"]["state"] == "rejected"
    assert response.json()["initiative"]["contacts"]["phone"] == ""
    again = await api.post(
        f"{CORRECTIONS}/{correction}/decision",
        json={"decision": "approve"},
        headers=callers["moderator"].headers,
    )
    assert again.status_code == 409


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({}, "decision"),
        ({"decision": "maybe"}, "decision"),
        ({"decision": "approve", "edits": ["phone"]}, "edits"),
        ({"decision": "approve", "message": 3}, "message"),
        ({"decision": "approve", "urgent": True}, "urgent"),
    ],
)
async def test_bad_decisions_are_422(api, callers, correction, body, field):
    response = await api.post(
        f"{CORRECTIONS}/{correction}/decision", json=body, headers=callers["moderator"].headers
    )

    assert response.status_code == 422
    assert field in response.json()["fields"]


async def test_unknown_correction_is_404(api, callers):
    response = await api.post(
        f"{CORRECTIONS}/999/decision",
        json={"decision": "approve"},
        headers=callers["moderator"].headers,
    )

    assert response.status_code == 404
