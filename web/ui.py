"""What the contribution and administration pages share: rendering, access, refusals.

`@page(role=...)` wraps an endpoint: it opens the unit of work, finds who is signed in,
sends anonymous visitors to the sign-in page, refuses insufficient roles, and turns a
refused form (CSRF, size) or a missing object into a clear HTML page instead of JSON.
"""

from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from sqlalchemy.ext.asyncio import AsyncSession
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from directory import instance, moderation, themes
from directory.errors import NotFound
from directory.models import Person
from directory.vocabulary import MODERATION_STATES, ROLES, by_slug, role_at_least
from web import forms, i18n, templating
from web.auth import author_of, session_person
from web.i18n import N_

# Labels of the initiative fields (French msgids; templates translate them).
FIELD_LABELS = {
    "_": N_("Formulaire"),
    "name": N_("Nom de l'initiative"),
    "summary": N_("En une phrase"),
    "description": N_("Description"),
    "themes": N_("Thèmes"),
    "actor_kinds": N_("Qui porte l'initiative"),
    "needs": N_("Besoins auxquels elle répond"),
    "status": N_("État de l'initiative"),
    "street": N_("Adresse (numéro et voie)"),
    "postal_code": N_("Code postal"),
    "city": N_("Commune"),
    "insee_code": N_("Code INSEE"),
    "latitude": N_("Latitude"),
    "longitude": N_("Longitude"),
    "website": N_("Site web"),
    "email": N_("E-mail de contact public"),
    "phone": N_("Téléphone"),
    "fediverse": N_("Compte du fédivers"),
    "social_links": N_("Réseaux sociaux"),
    "opening_hours": N_("Horaires d'ouverture"),
    "image_url": N_("Image"),
    "same_as": N_("Même initiative ailleurs"),
    "slug": N_("Identifiant dans l'adresse"),
    "moderation_state": N_("Modération"),
    "proposer_email": N_("Votre adresse e-mail"),
    "message": N_("Message"),
    "email_account": N_("Adresse e-mail"),
    "password": N_("Mot de passe"),
    "current_password": N_("Mot de passe actuel"),
    "password_confirm": N_("Confirmation du mot de passe"),
    "display_name": N_("Nom affiché"),
    "role": N_("Rôle"),
}


@dataclass
class Page:
    """One request to one page: its unit of work and who asks."""

    request: Request
    session: AsyncSession
    person: Person | None

    @property
    def author(self):
        return author_of(self.person)

    async def rollback(self, *objects: Any) -> None:
        """Undo the unit of work, then reload the signed-in person and `objects` (a rollback
        expires every loaded object, and templates read them after)."""
        await self.session.rollback()
        for obj in (self.person, *objects):
            if obj is not None:
                await self.session.refresh(obj)

    def can(self, role: str) -> bool:
        return self.person is not None and role_at_least(self.person.role, role)


async def _person(request: Request, session: AsyncSession) -> Person | None:
    # Pages only trust the session cookie; bearer tokens are for the JSON API.
    return await session_person(request, session)


async def render(
    page: Page, name: str, context: dict[str, Any] | None = None, *, status_code: int = 200
) -> Response:
    """Render a template in the site's layout with what contribution and admin pages need."""
    request = page.request
    lang = i18n.current_language()
    common: dict[str, Any] = {
        "person": page.person,
        "csrf_field": lambda: forms.csrf_field(request),
        "stamp_field": lambda: forms.stamp_field(request),
        "honeypot_name": forms.HONEYPOT_FIELD,
        "field_labels": FIELD_LABELS,
        "role_labels": {slug: term.label(lang) for slug, term in by_slug(ROLES).items()},
        "state_labels": {
            slug: term.label(lang) for slug, term in by_slug(MODERATION_STATES).items()
        },
        "theme_labels": {t.slug: t.label(lang) for t in await themes.all_themes(page.session)},
        "is_moderator": page.can("moderator"),
        "is_admin": page.can("admin"),
        "pending": await moderation.pending_count(page.session) if page.can("moderator") else 0,
        "flashes": take_flashes(request),
        # The admin's settings override the environment's (licence, tiles) on these pages.
        "settings": request.app.state.settings.with_(
            **instance.overrides(await instance.load(page.session))
        ),
    }
    common.update(context or {})
    response = await templating.render(request, name, common, status_code=status_code)
    response.headers.setdefault("Cache-Control", "no-store")  # forms carry the CSRF token
    return response


async def refusal(page: Page, status: int, title: str, message: str) -> Response:
    return await render(
        page,
        "contribute/refused.html",
        {"title": title, "message": message, "status_code": status},
        status_code=status,
    )


def login_redirect(request: Request) -> RedirectResponse:
    target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    return RedirectResponse(f"/connexion?suite={quote(target)}", status_code=303)


def page(role: str | None = None) -> Callable:
    """Wrap `endpoint(page) -> Response` as a Starlette endpoint (see the module docstring)."""

    def wrap(endpoint: Callable[[Page], Awaitable[Response]]) -> Callable:
        @functools.wraps(endpoint)
        async def handle(request: Request) -> Response:
            try:
                return await _handle(request)
            finally:
                await request.close()  # uploaded files' temporary copies

        async def _handle(request: Request) -> Response:
            i18n.lazy_language(request)  # labels built before rendering are translated too
            async with request.app.state.db.session() as session:
                current = Page(request, session, await _person(request, session))
                if role is not None and current.person is None:
                    return login_redirect(request)
                if role is not None and not current.can(role):
                    return await refusal(
                        current,
                        403,
                        N_("Accès réservé"),
                        N_("Votre compte n'a pas le rôle nécessaire pour cette page."),
                    )
                try:
                    return await endpoint(current)
                except forms.FormRefused as refused:
                    await current.rollback()
                    return await refusal(
                        current, refused.status, N_("Envoi refusé"), refused.message
                    )
                except NotFound as missing:
                    await current.rollback()
                    return await refusal(current, 404, N_("Page introuvable"), str(missing))

        return handle

    return wrap


def see_other(url: str) -> RedirectResponse:
    return RedirectResponse(url, status_code=303)


def flash(request: Request, message: str) -> None:
    """A message shown once on the next page (after a redirect)."""
    request.session.setdefault("flash", [])
    request.session["flash"] = [*request.session["flash"], message][-5:]


def take_flashes(request: Request) -> list[str]:
    return request.session.pop("flash", None) or []
