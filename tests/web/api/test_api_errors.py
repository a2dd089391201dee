"""Bad input never gets a 500: malformed JSON, wrong types, huge bodies, wrong methods."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from directory.models import Correction, Initiative
from tests.web.api.conftest import REPAIR_CAFE

BASE = "/api/v1/initiatives"


def write_endpoints(slug: str) -> list[tuple[str, str]]:
    return [
        ("POST", BASE),
        ("PATCH", f"{BASE}/{slug}"),
        ("POST", f"{BASE}/{slug}/moderation"),
        ("POST", "/api/v1/corrections/1/decision"),
        ("POST", "/api/v1/tokens"),
    ]


async def stored(db) -> tuple[int, int]:
    async with db.session() as session:
        return (
            await session.scalar(select(func.count()).select_from(Initiative)),
            await session.scalar(select(func.count()).select_from(Correction)),
        )


@pytest.mark.parametrize(
    ("content", "content_type", "reason"),
    [
        (b"{not json", "application/json", "JSON mal formé"),
        (b'{"name": "a",}', "application/json", "JSON mal formé"),
        (b"\xff\xfe{}", "application/json", "JSON mal formé"),
        (b'{"latitude": NaN}', "application/json", "JSON mal formé"),
        (b"[1, 2]", "application/json", "objet JSON"),
        (b'"texte"', "application/json", "objet JSON"),
        (b"null", "application/json", "objet JSON"),
        (b"", "application/json", "vide"),
        (b"name=Repair", "application/x-www-form-urlencoded", "application/json"),
        (b'{"name": "a"}', "text/plain", "application/json"),
        (b'{"name": "a"}', "", "application/json"),
        (b"[" * 5000 + b"]" * 5000, "application/json", "JSON mal formé"),
    ],
)
async def test_malformed_bodies_are_400_on_every_write_endpoint(
    api, db, callers, published, content, content_type, reason
):
    headers = {**callers["admin"].headers, "content-type": content_type}
    for method, url in write_endpoints(published.slug):
        response = await api.request(method, url, content=content, headers=headers)

        assert response.status_code == 400, (method, url, response.text)
        assert reason in response.json()["error"]
        assert response.json()["status"] == 400
    assert await stored(db) == (1, 0)


async def test_json_content_type_with_parameters_and_plus_json_is_accepted(api, callers):
    for content_type in ("application/json; charset=utf-8", "application/merge-patch+json"):
        response = await api.post(
            BASE,
            content=b'{"name": "Atelier v\xc3\xa9lo", "proposer_email": "a@example.org"}',
            headers={"content-type": content_type},
        )
        assert response.status_code == 201, response.text


async def test_body_over_the_limit_is_413_by_content_length(app, api, db, callers, published):
    limit = app.state.settings.max_body_bytes
    huge = {**REPAIR_CAFE, "description": "x" * (limit + 10), "proposer_email": "a@example.org"}
    for method, url in write_endpoints(published.slug):
        response = await api.request(method, url, json=huge, headers=callers["admin"].headers)

        assert response.status_code == 413, (method, url)
        assert str(limit) in response.json()["error"]
    assert await stored(db) == (1, 0)


async def test_streamed_body_over_the_limit_is_413_without_content_length(app, api, db):
    """A chunked upload (no Content-Length) is cut off once it passes the limit."""
    limit = app.state.settings.max_body_bytes
    sent = 0

    async def chunks():
        nonlocal sent
        yield b'{"name": "x", "description": "'
        for _ in range(limit // 65536 + 10):
            sent += 65536
            yield b"y" * 65536
        yield b'"}'

    response = await api.post(BASE, content=chunks(), headers={"content-type": "application/json"})

    assert "content-length" not in response.request.headers
    assert response.status_code == 413
    assert await stored(db) == (0, 0)


async def test_lying_content_length_is_caught_while_streaming(app, settings, db):
    """Content-Length says 10 bytes, the body is bigger than the limit: still 413."""
    limit = app.state.settings.max_body_bytes
    body = b'{"name": "' + b"z" * (limit + 100) + b'"}'
    messages = [
        {"type": "http.request", "body": body[i : i + 65536], "more_body": i + 65536 < len(body)}
        for i in range(0, len(body), 65536)
    ]
    sent: list[dict] = []

    async def receive():
        return messages.pop(0) if messages else {"type": "http.disconnect"}

    async def send(message):
        sent.append(message)

    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "https",
        "path": BASE,
        "raw_path": BASE.encode(),
        "query_string": b"",
        "root_path": "",
        "headers": [
            (b"host", b"maillage.test"),
            (b"content-type", b"application/json"),
            (b"content-length", b"10"),
        ],
        "client": ("127.0.0.1", 5000),
        "server": ("maillage.test", 443),
    }
    await app(scope, receive, send)

    assert sent[0]["status"] == 413
    assert await stored(db) == (0, 0)


@pytest.mark.parametrize("value", ["-1", "abc", "1e3"])
async def test_invalid_content_length_is_400(api, value):
    response = await api.post(
        BASE, content=b"{}", headers={"content-type": "application/json", "content-length": value}
    )

    assert response.status_code == 400


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ("page=0", "page"),
        ("page=abc", "page"),
        ("per_page=1000", "per_page"),
        ("bbox=1,2,3", "bbox"),
        ("bbox=a,b,c,d", "bbox"),
        ("near=47,-1,99999", "near"),
        ("sort=hasard", "sort"),
        ("sort=distance", "sort"),
        ("status=zombie", "status"),
        ("actor_kind=licorne", "actor_kind"),
        ("need=rien", "need"),
        ("origin=mars", "origin"),
        ("moderation_state=effacée", "moderation_state"),
    ],
)
async def test_bad_search_parameters_are_422(api, params, field):
    response = await api.get(f"{BASE}?{params}")

    assert response.status_code == 422
    assert field in response.json()["fields"]


@pytest.mark.parametrize(
    ("method", "url"),
    [
        ("DELETE", BASE),
        ("PUT", f"{BASE}/x"),
        ("GET", f"{BASE}/x/moderation"),
        ("POST", "/api/v1/themes"),
    ],
)
async def test_wrong_method_is_405_as_json(api, method, url):
    response = await api.request(method, url)

    assert response.status_code == 405
    assert response.json()["status"] == 405


async def test_unknown_api_path_is_404_as_json(api):
    response = await api.get("/api/v1/nothing-here")

    assert response.status_code == 404
    assert response.json()["status"] == 404


async def test_non_integer_correction_id_is_404(api, callers):
    response = await api.post(
        "/api/v1/corrections/abc/decision",
        json={"decision": "approve"},
        headers=callers["moderator"].headers,
    )

    assert response.status_code == 404


@pytest.mark.parametrize("header", ["Basic dXNlcjpwYXNz", "Bearer", "Bearer    ", "mlg_x"])
async def test_malformed_authorization_is_401(api, header):
    response = await api.get(f"{BASE}/x", headers={"Authorization": header})

    assert response.status_code == 401


async def test_unicode_and_control_characters_survive_or_are_refused_cleanly(api, db):
    response = await api.post(
        BASE,
        json={
            "name": "Épicerie solidaire \u0000 «Ô» 🍎",
            "description": "<script>alert(1)</script>\n\n**gras**",
            "proposer_email": "a@example.org",
        },
    )

    assert response.status_code == 201
    record = response.json()
    assert record["name"] == "Épicerie solidaire  «Ô» 🍎"
    assert "<script>" not in record["description_html"]
    assert "&lt;script&gt;" in record["description_html"]


@pytest.mark.parametrize("field", ["website", "image_url", "fediverse", "social_links"])
async def test_urls_that_do_not_parse_are_422_not_500(api, db, field):
    value = ["http://[abc"] if field == "social_links" else "http://[abc"
    response = await api.post(
        BASE, json={"name": "Atelier", "proposer_email": "a@example.org", field: value}
    )

    assert response.status_code == 422
    assert field in response.json()["fields"]


@pytest.mark.parametrize("value", ["2147483648", "51680325952313678102528", "0"])
async def test_ids_out_of_range_are_404_not_500(api, callers, value):
    decision = await api.post(
        f"/api/v1/corrections/{value}/decision",
        json={"decision": "reject"},
        headers=callers["moderator"].headers,
    )
    token = await api.delete(f"/api/v1/tokens/{value}", headers=callers["admin"].headers)

    assert (decision.status_code, token.status_code) == (404, 404)


@pytest.mark.parametrize(
    "content",
    [
        b'{"name": "a", "latitude": 1e400, "longitude": 1}',
        b'{"name": "a", "latitude": 123456789012345678901234567890, "longitude": 1}',
        b'{"name": "a", "themes": [1e308]}',
    ],
)
async def test_extreme_numbers_are_refused_cleanly(api, db, callers, content):
    response = await api.post(
        BASE,
        content=content,
        headers={**callers["contributor"].headers, "content-type": "application/json"},
    )

    assert response.status_code in (400, 422)
    assert await stored(db) == (0, 0)


async def test_405_lists_every_allowed_method(api):
    response = await api.put(f"{BASE}/x")

    assert response.status_code == 405
    assert set(response.headers["allow"].replace(" ", "").split(",")) == {"GET", "HEAD", "PATCH"}


async def test_reads_are_open_to_other_sites_writes_are_not(api, published):
    read = await api.get(f"{BASE}/{published.slug}", headers={"Origin": "https://mairie.example"})
    write = await api.post(BASE, json={"name": "x"}, headers={"Origin": "https://mairie.example"})
    preflight = await api.options(BASE, headers={"Origin": "https://evil.example"})

    assert read.headers["access-control-allow-origin"] == "*"
    assert "access-control-allow-credentials" not in read.headers
    assert "access-control-allow-origin" not in write.headers
    assert preflight.status_code == 405


async def test_a_write_that_loses_a_race_is_409_not_500(api, db, callers, monkeypatch):
    """Two proposals get the same free slug at the same instant: the second insert fails
    on the unique index; the client gets a 409 to retry and nothing is half stored."""
    from directory import initiatives

    async def same_slug(session, name):
        return "course"

    monkeypatch.setattr(initiatives, "unique_slug", same_slug)
    headers = callers["contributor"].headers
    first = await api.post(BASE, json={"name": "Course solidaire"}, headers=headers)
    second = await api.post(BASE, json={"name": "Course solidaire"}, headers=headers)

    assert (first.status_code, second.status_code) == (201, 409)
    assert await stored(db) == (1, 0)
