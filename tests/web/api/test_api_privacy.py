"""Proposers' e-mails, accounts and moderation notes never reach the public through the API."""

from __future__ import annotations

import pytest

from tests.web.api.conftest import MODERATION_NOTE, PROPOSER_EMAIL

SECRETS = (PROPOSER_EMAIL, MODERATION_NOTE, "proposer_id", "moderation_note", "proposer_email")


def assert_clean(text: str) -> None:
    for secret in SECRETS:
        assert secret not in text


@pytest.mark.parametrize("role", ("anonymous", "contributor", "referent"))
async def test_no_public_endpoint_shows_private_fields(
    api, callers, published, proposed, remote, role
):
    headers = callers[role].headers
    urls = [
        f"/api/v1/initiatives/{published.slug}",
        f"/api/v1/initiatives/{remote.slug}",
        f"/api/v1/initiatives/{published.slug}/history",
        "/api/v1/themes",
        "/api/v1/communes",
        "/api/v1/vocabulary",
        "/api/v1/openapi.json" if role != "anonymous" else "/api/v1/vocabulary",
    ]
    for url in urls:
        response = await api.get(url, headers=headers)
        assert response.status_code == 200, url
        if "openapi" not in url:  # the document names the fields moderators get
            assert_clean(response.text)


async def test_correction_answer_does_not_echo_private_data(api, published):
    response = await api.patch(
        f"/api/v1/initiatives/{published.slug}",
        json={"phone": "0240000000", "proposer_email": "voisin@example.org"},
    )

    assert response.status_code == 202
    assert_clean(response.text)
    assert "voisin@example.org" not in response.text
