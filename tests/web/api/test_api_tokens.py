"""API tokens: sign in with e-mail and password, use, list, revoke; failed attempts limited."""

from __future__ import annotations

import pytest

from tests.web.api.conftest import PASSWORD
from web.api_tokens import ACCOUNT_FAILURES, ADDRESS_FAILURES
from web.ratelimit import FailureLimiter

TOKENS = "/api/v1/tokens"


async def sign_in(api, email: str, password: str = PASSWORD, **extra):
    return await api.post(TOKENS, json={"email": email, "password": password, **extra})


async def test_password_gives_a_token_that_authenticates(api, callers, proposed):
    response = await sign_in(api, "Moderator@Maillage.test", label="script d'import")

    assert response.status_code == 201
    body = response.json()
    assert body["token"].startswith("mlg_")
    assert body["label"] == "script d'import"
    assert body["person"]["role"] == "moderator"
    auth = {"Authorization": f"Bearer {body['token']}"}
    assert (await api.get(f"/api/v1/initiatives/{proposed.slug}", headers=auth)).status_code == 200


@pytest.mark.parametrize(
    ("email", "password"),
    [("moderator@maillage.test", "mauvais mot de passe"), ("personne@maillage.test", PASSWORD)],
)
async def test_wrong_credentials_are_401_with_the_same_message(api, callers, email, password):
    response = await sign_in(api, email, password)

    assert response.status_code == 401
    assert response.json()["error"] == "e-mail ou mot de passe incorrect"


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"password": PASSWORD}, "email"),
        ({"email": "a@b.fr"}, "password"),
        ({"email": 12, "password": PASSWORD}, "email"),
        ({"email": "a@b.fr", "password": ["x"]}, "password"),
        ({"email": "a@b.fr", "password": "x", "remember": True}, "remember"),
        ({"email": "a@b.fr", "password": "x", "label": "x" * 121}, "label"),
    ],
)
async def test_bad_sign_in_requests_are_422(api, body, field):
    response = await api.post(TOKENS, json=body)

    assert response.status_code == 422
    assert field in response.json()["fields"]


async def test_failed_attempts_on_an_account_are_limited(api, callers):
    for _ in range(ACCOUNT_FAILURES):
        assert (await sign_in(api, "admin@maillage.test", "devinette")).status_code == 401

    blocked = await sign_in(api, "admin@maillage.test")  # even the right password

    assert blocked.status_code == 429
    assert int(blocked.headers["retry-after"]) > 0
    assert (await sign_in(api, "moderator@maillage.test")).status_code == 201


async def test_failed_attempts_from_one_address_are_limited_across_accounts(api, callers):
    for n in range(ADDRESS_FAILURES):
        response = await sign_in(api, f"inconnu{n}@maillage.test", "devinette")
        assert response.status_code == 401

    assert (await sign_in(api, "moderator@maillage.test")).status_code == 429


async def test_a_success_clears_the_account_count(api, callers):
    for _ in range(ACCOUNT_FAILURES - 1):
        await sign_in(api, "admin@maillage.test", "devinette")
    assert (await sign_in(api, "admin@maillage.test")).status_code == 201
    for _ in range(ACCOUNT_FAILURES - 1):
        await sign_in(api, "admin@maillage.test", "devinette")

    assert (await sign_in(api, "admin@maillage.test")).status_code == 201


def test_limiter_window_slides():
    now = [1000.0]
    limiter = FailureLimiter(limit=2, window=60, clock=lambda: now[0])
    limiter.fail("k")
    now[0] += 30
    limiter.fail("k")
    assert limiter.retry_after("k") == 31
    now[0] += 31
    assert limiter.retry_after("k") == 0  # the first failure left the window
    assert limiter.retry_after("other") == 0


async def test_revoking_the_current_token(api, callers):
    headers = callers["contributor"].headers

    assert (await api.delete(TOKENS, headers=headers)).status_code == 204
    assert (await api.get(TOKENS, headers=headers)).status_code == 401


async def test_listing_and_revoking_own_tokens_by_id(api, callers):
    second = (await sign_in(api, "contributor@maillage.test", label="deuxième")).json()
    headers = callers["contributor"].headers

    listed = await api.get(TOKENS, headers=headers)

    assert listed.status_code == 200
    assert [t["label"] for t in listed.json()["items"]] == ["deuxième", ""]
    assert "mlg_" not in listed.text
    assert (await api.delete(f"{TOKENS}/{second['id']}", headers=headers)).status_code == 204
    assert (
        await api.get(TOKENS, headers={"Authorization": f"Bearer {second['token']}"})
    ).status_code == 401


async def test_tokens_of_others_are_404_except_for_admins(api, callers):
    other = (await sign_in(api, "referent@maillage.test")).json()

    stranger = await api.delete(f"{TOKENS}/{other['id']}", headers=callers["moderator"].headers)
    admin = await api.delete(f"{TOKENS}/{other['id']}", headers=callers["admin"].headers)

    assert stranger.status_code == 404
    assert admin.status_code == 204


async def test_token_endpoints_need_an_account(api):
    assert (await api.get(TOKENS)).status_code == 401
    assert (await api.delete(TOKENS)).status_code == 401
    assert (await api.delete(f"{TOKENS}/1")).status_code == 401


async def test_inactive_account_gets_no_token(api, db, callers):
    from directory.models import Person

    async with db.session() as session:
        (await session.get(Person, callers["admin"].person_id)).active = False

    assert (await sign_in(api, "admin@maillage.test")).status_code == 401
    assert (await api.get(TOKENS, headers=callers["admin"].headers)).status_code == 401
