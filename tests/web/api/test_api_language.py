"""JSON API errors speak the language of Accept-Language: French by default, English asked."""

from __future__ import annotations

import pytest

from web.api_common import PREFIX

BASE = f"{PREFIX}/initiatives"
TOO_LONG = {"name": "N" * 201, "summary": "Un résumé", "themes": ["alimentation"]}


async def test_errors_are_french_by_default(api, callers):
    response = await api.post(BASE, json={**TOO_LONG, "proposer_email": "a@example.org"})

    assert response.status_code == 422
    assert response.headers["content-language"] == "fr"
    body = response.json()
    assert body["error"] == "données invalides"
    assert body["fields"]["name"] == "trop long (201 caractères, maximum 200)"


@pytest.mark.parametrize("header", ["en", "en-GB,en;q=0.9,fr;q=0.8", "de, en;q=0.5"])
async def test_validation_errors_in_english_when_asked(api, header):
    response = await api.post(
        BASE,
        json={**TOO_LONG, "proposer_email": "not an address", "colour": "blue"},
        headers={"Accept-Language": header},
    )

    assert response.status_code == 422
    assert response.headers["content-language"] == "en"
    body = response.json()
    assert body["error"] == "invalid data"
    assert body["fields"]["name"] == "too long (201 characters, 200 at most)"
    assert body["fields"]["proposer_email"] == "invalid e-mail address"
    assert body["fields"]["colour"] == "unknown field"


async def test_french_preferred_over_english_stays_french(api):
    response = await api.get(f"{BASE}/nope", headers={"Accept-Language": "fr-FR,en;q=0.5"})

    assert response.headers["content-language"] == "fr"
    assert response.json()["error"] == "initiative 'nope' introuvable"


async def test_not_found_conflict_and_auth_errors_in_english(api, callers, proposed):
    missing = await api.get(f"{BASE}/nope", headers={"Accept-Language": "en"})
    assert missing.status_code == 404
    assert missing.json()["error"] == "initiative 'nope' not found"

    anonymous = await api.get(f"{PREFIX}/tokens", headers={"Accept-Language": "en"})
    assert anonymous.status_code == 401
    assert anonymous.json()["error"] == "authentication required"

    forbidden = await api.post(
        f"{BASE}/{proposed.slug}/moderation",
        json={"action": "approve"},
        headers={"Accept-Language": "en", **callers["contributor"].headers},
    )
    assert forbidden.status_code == 403
    assert forbidden.json()["error"] == "role 'moderator' or higher required"


async def test_malformed_body_in_english(api, callers):
    response = await api.post(
        BASE,
        content=b"[1, 2]",
        headers={"Content-Type": "application/json", "Accept-Language": "en"},
    )

    assert response.status_code == 400
    assert response.json()["error"] == "a JSON object is expected"


async def test_the_openapi_document_describes_the_language_header(api):
    document = (await api.get(f"{PREFIX}/openapi.json")).json()

    assert document["components"]["parameters"]["AcceptLanguage"]["in"] == "header"
    for path, item in document["paths"].items():
        refs = [p.get("$ref") for p in item["parameters"]]
        assert "#/components/parameters/AcceptLanguage" in refs, path
    error = document["components"]["responses"]["422"]
    assert error["headers"]["Content-Language"]["schema"]["enum"] == ["fr", "en"]
