"""JSON API under /api/v1: each resource lives in its own web/api_*.py module."""

from __future__ import annotations

from starlette.routing import BaseRoute

from web import api_corrections, api_initiatives, api_openapi, api_reference, api_tokens

MODULES = (api_initiatives, api_corrections, api_reference, api_tokens, api_openapi)


def routes() -> list[BaseRoute]:
    return [route for module in MODULES for route in module.routes()]
