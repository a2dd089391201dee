"""HTML forms: CSRF tokens, signed fill-time stamps, honeypot, and initiative fields.

Every form of every area posts `csrf_token` (`{{ csrf_field() }}` in templates) and its
route reads the body with `await read_form(request)`, which refuses a post whose token does
not match the session's. API clients use bearer tokens and JSON, never these forms.
"""

from __future__ import annotations

import hmac
import secrets
import time
from typing import Any
from urllib.parse import urlsplit

from itsdangerous import BadSignature, Signer
from markupsafe import Markup, escape
from starlette.datastructures import FormData, Headers
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import PlainTextResponse
from starlette.types import ASGIApp, Receive, Scope, Send

from directory.messages import N_
from directory.validation import FIELDS

CSRF_FIELD = "csrf_token"
CSRF_HEADER = "x-csrf-token"
STAMP_FIELD = "form_stamp"
HONEYPOT_FIELD = "site_web_bis"
MAX_FORM_BYTES = 2_000_000

# The fields of the initiative form (the API's FIELDS without slug and same_as).
INITIATIVE_FIELDS = tuple(f for f in FIELDS if f not in ("slug", "same_as"))
LIST_FIELDS = ("themes", "actor_kinds", "needs")


class FormRefused(Exception):
    """A post refused before reading its fields (no CSRF token, too large, unreadable)."""

    def __init__(self, message: str, status: int = 403) -> None:
        super().__init__(message)
        self.message = message
        self.status = status


def csrf_token(request: Request) -> str:
    """The session's CSRF token, created on first use."""
    token = request.session.get("csrf")
    if not token:
        token = secrets.token_urlsafe(32)
        request.session["csrf"] = token
    return token


def csrf_field(request: Request) -> Markup:
    """The hidden input every form carries."""
    return Markup('<input type="hidden" name="{}" value="{}">').format(
        CSRF_FIELD, escape(csrf_token(request))
    )


async def read_form(request: Request) -> FormData:
    """The posted form, once its CSRF token matches the session's; FormRefused otherwise."""
    length = request.headers.get("content-length", "")
    if length.isdigit() and int(length) > MAX_FORM_BYTES:
        raise FormRefused(N_("Le formulaire envoyé est trop volumineux (2 Mo au plus)."), 413)
    try:
        form = await request.form(max_files=5, max_fields=400)
    except HTTPException as exc:
        raise FormRefused(N_("Formulaire illisible : %(reason)s", reason=exc.detail), 400) from exc
    expected = request.session.get("csrf", "")
    sent = form.get(CSRF_FIELD) or request.headers.get(CSRF_HEADER, "")
    if not expected or not isinstance(sent, str) or not hmac.compare_digest(sent, expected):
        raise FormRefused(
            N_(
                "Ce formulaire a expiré ou ne vient pas de ce site (jeton de sécurité absent ou "
                "invalide). Rechargez la page et envoyez-le à nouveau."
            )
        )
    return form


def rotate_session(request: Request) -> None:
    """A fresh session (new CSRF token) on sign-in and sign-out: no fixation."""
    request.session.clear()
    request.session["csrf"] = secrets.token_urlsafe(32)


# Minimum fill time: the form carries the time it was shown, signed so it cannot be forged.


def _signer(request: Request) -> Signer:
    return Signer(request.app.state.settings.secret_key, salt="maillage.form-stamp")


def make_stamp(request: Request, *, at: float | None = None) -> str:
    return _signer(request).sign(str(int(time.time() if at is None else at))).decode()


def stamp_field(request: Request) -> Markup:
    return Markup('<input type="hidden" name="{}" value="{}">').format(
        STAMP_FIELD, make_stamp(request)
    )


def read_stamp(request: Request, form: FormData) -> float | None:
    """When the form was shown, or None if the stamp is missing or forged."""
    value = form.get(STAMP_FIELD)
    if not isinstance(value, str):
        return None
    try:
        return float(_signer(request).unsign(value).decode())
    except (BadSignature, ValueError):
        return None


def honeypot_filled(form: FormData) -> bool:
    value = form.get(HONEYPOT_FIELD)
    return bool(value and str(value).strip())


def text(form: FormData, name: str) -> str:
    """One text field (a file posted instead counts as empty)."""
    value = form.get(name)
    return value if isinstance(value, str) else ""


def initiative_data(form: FormData) -> dict[str, Any]:
    """The initiative fields of a posted form, as clean_initiative expects them."""
    data: dict[str, Any] = {}
    for field in INITIATIVE_FIELDS:
        if field in LIST_FIELDS:
            data[field] = [v for v in form.getlist(field) if isinstance(v, str) and v]
        elif field == "social_links":
            data[field] = [line.strip() for line in text(form, field).splitlines() if line.strip()]
        elif field in ("latitude", "longitude"):
            data[field] = text(form, field).strip().replace(",", ".")
        else:
            data[field] = text(form, field)
    return data


def initiative_values(data: dict[str, Any]) -> dict[str, Any]:
    """What the form shows again after an error: the person's input, as typed."""
    values = dict(data)
    values["social_links"] = "\n".join(data.get("social_links") or [])
    return values


FORM_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data", "text/plain")


class SameOriginForms:
    """Refuse, on every route, a form post that the browser says comes from another site.

    Browsers send `Origin` (and `Sec-Fetch-Site`) with every POST; a form posted from
    another site is refused before any route runs. This backs up the per-session token that
    `read_form` checks (OWASP: verify the origin with standard headers). JSON bodies (the
    API, ActivityPub inboxes) are not forms and pass through.
    """

    def __init__(self, app: ASGIApp, *, base_url: str) -> None:
        self.app = app
        parts = urlsplit(base_url)
        self.origin = f"{parts.scheme}://{parts.netloc}".lower()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["method"] not in ("GET", "HEAD", "OPTIONS"):
            headers = Headers(scope=scope)
            is_form = headers.get("content-type", "").lower().startswith(FORM_TYPES)
            origin = headers.get("origin", "").lower()
            foreign = (origin and origin != "null" and origin != self.origin) or (
                headers.get("sec-fetch-site") == "cross-site"
            )
            if is_form and foreign:
                response = PlainTextResponse(
                    "Envoi refusé : ce formulaire a été envoyé depuis un autre site.",
                    status_code=403,
                )
                await response(scope, receive, send)
                return
        await self.app(scope, receive, send)
