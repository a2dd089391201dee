"""The OpenAPI document describes every /api/v1 route and is a valid OpenAPI 3.1 schema."""

from __future__ import annotations

import re

import httpx
import pytest
from jsonschema import Draft202012Validator
from starlette.routing import Route

from tests.web.api.conftest import check_against_document
from web import api_openapi
from web.api_common import PREFIX


def api_routes(app) -> list[tuple[str, str]]:
    """(METHOD, path template) of every route under /api/v1, converters stripped."""
    out = []
    for route in app.routes:
        if isinstance(route, Route) and route.path.startswith(PREFIX + "/"):
            path = re.sub(r"\{(\w+):\w+\}", r"{\1}", route.path.removeprefix(PREFIX))
            out.extend((method, path) for method in route.methods - {"HEAD"})
    return out


async def test_every_api_route_is_in_the_document(app, api):
    document = (await api.get(f"{PREFIX}/openapi.json")).json()

    routes = api_routes(app)
    assert len(routes) >= 16
    missing = [(m, p) for m, p in routes if m.lower() not in document["paths"].get(p, {})]
    assert not missing
    described = {
        (m.upper(), p) for p, item in document["paths"].items() for m in item if m != "parameters"
    }
    assert described == set(routes)  # and nothing described that does not exist


async def test_document_is_openapi_3_1_with_this_server(api, settings):
    document = (await api.get(f"{PREFIX}/openapi.json")).json()

    assert document["openapi"] == "3.1.0"
    assert document["servers"] == [{"url": f"{settings.base_url}{PREFIX}"}]
    for path, item in document["paths"].items():
        for method, operation in item.items():
            if method == "parameters":
                continue
            assert operation["summary"], (method, path)
            assert operation["responses"], (method, path)


def test_every_schema_is_valid_json_schema_and_every_ref_resolves():
    document = api_openapi.document("https://x.test")
    text = repr(document)
    for name in set(re.findall(r"#/components/schemas/(\w+)", text)):
        assert name in document["components"]["schemas"], name
    for name in set(re.findall(r"#/components/parameters/(\w+)", text)):
        assert name in document["components"]["parameters"], name
    for schema in document["components"]["schemas"].values():
        Draft202012Validator.check_schema(schema)


def test_the_checker_catches_undocumented_statuses_and_shapes():
    """The `api` fixture's validation is real: a wrong body or status fails."""
    document = api_openapi.document("https://x.test")
    request = httpx.Request("GET", f"https://x.test{PREFIX}/vocabulary")

    with pytest.raises(AssertionError, match="not in the document"):
        check_against_document(document, httpx.Response(418, json={}, request=request))
    with pytest.raises(AssertionError, match="required"):
        check_against_document(document, httpx.Response(200, json={"needs": []}, request=request))
    leaky = httpx.Request("GET", f"https://x.test{PREFIX}/initiatives/x")
    record = {"proposer_email": "a@b.fr"}
    with pytest.raises(AssertionError):
        check_against_document(document, httpx.Response(200, json=record, request=leaky))
