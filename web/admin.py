"""Sign in, moderation and administration pages (routes gathered from web/admin_*.py)."""

from __future__ import annotations

from starlette.routing import BaseRoute

from web import admin_auth, admin_federation, admin_moderation, admin_people


def routes() -> list[BaseRoute]:
    return [
        *admin_auth.routes(),
        *admin_moderation.routes(),
        *admin_people.routes(),
        *admin_federation.routes(),
    ]
