"""Contribution pages: propose an initiative, propose a correction, follow one's proposals.

URLs (French, stable): /proposer, /proposer/communes (JSON address search),
/initiatives/{slug}/correction, /suivi/{token} (anonymous proposer's private link),
/mes-propositions (signed-in contributor).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from directory import antispam, contributions, initiatives, instance, places, privacy, themes
from directory.errors import NotEditable, NotFound, ValidationError
from directory.initiatives import field_values
from directory.models import Correction, Initiative
from directory.validation import clean_initiative
from directory.vocabulary import ACTOR_KINDS, NEEDS, STATUSES
from web import forms, i18n
from web.i18n import N_
from web.i18n import gettext as _
from web.ui import Page, flash, page, refusal, render, see_other

REQUIRED = {"summary": N_("obligatoire : une phrase qui dit ce que fait l'initiative")}


def client_ip(request: Request) -> str:
    """The visitor's address (uvicorn's --proxy-headers puts the real one here)."""
    return request.client.host if request.client else "inconnu"


async def form_context(page_: Page, values: dict[str, Any], errors: dict[str, str]) -> dict:
    """What the initiative form needs: vocabularies, the person's values, errors."""
    lang = i18n.current_language()
    options = {
        "themes": [(t.slug, t.label(lang)) for t in await themes.all_themes(page_.session)],
        "actor_kinds": [(t.slug, t.label(lang)) for t in ACTOR_KINDS],
        "needs": [(t.slug, t.label(lang)) for t in NEEDS],
        "statuses": [(t.slug, t.label(lang)) for t in STATUSES],
    }
    return {
        "options": options,
        "values": values,
        "errors": errors,
        "has_communes": await places.has_communes(page_.session),
        "map_center": await map_center(page_, values),
    }


async def map_center(page_: Page, values: dict[str, Any]) -> tuple[float, float, int]:
    """Where the pin map opens: the given position, else the territory, else France."""
    try:
        lat, lon = float(values["latitude"]), float(values["longitude"])
    except (KeyError, TypeError, ValueError):
        lat = lon = math.nan
    if math.isfinite(lat) and math.isfinite(lon) and abs(lat) <= 90 and abs(lon) <= 180:
        return lat, lon, 16
    bounds = await places.communes_bounds(page_.session)
    if bounds is not None:
        return (bounds[0] + bounds[2]) / 2, (bounds[1] + bounds[3]) / 2, 9
    return 46.6, 2.4, 5


async def check_antispam(page_: Page, form) -> dict[str, str]:
    """Honeypot and fill time: a form-level error, so a person can simply send again."""
    started = forms.read_stamp(page_.request, form)
    if forms.honeypot_filled(form):
        return {"_": N_("Envoi refusé : un champ caché destiné aux robots a été rempli.")}
    if started is None or antispam.form_expired(started):
        return {
            "_": N_("Ce formulaire a expiré. Vérifiez vos informations et envoyez-le à nouveau.")
        }
    # An instance may tune the minimum (settings.extra["min_fill_seconds"]; tests use 0).
    configured = page_.request.app.state.settings.extra.get("min_fill_seconds")
    if antispam.filled_too_fast(started, minimum=float(configured) if configured else None):
        return {
            "_": "Formulaire envoyé trop vite pour avoir été rempli par une personne. "
            "Vérifiez vos informations et envoyez-le à nouveau."
        }
    return {}


async def place_commune(
    page_: Page, data: dict[str, Any], errors: dict[str, str], *, fill: bool = True
) -> list:
    """Match the typed commune with the territory's; fill INSEE code, and (with `fill`) the
    postal code and position the person left empty."""
    if not await places.has_communes(page_.session):
        return []
    name, code = data.get("city", ""), data.get("insee_code", "")
    if not name.strip() and not code.strip():
        errors.setdefault("city", N_("obligatoire : dans quelle commune ?"))
        return []
    commune, candidates = await places.resolve_commune(page_.session, name=name, insee_code=code)
    if commune is None:
        data["insee_code"] = ""
        if candidates:
            errors.setdefault("city", N_("plusieurs communes correspondent : choisissez la vôtre"))
        else:
            errors.setdefault("city", N_("commune inconnue sur ce territoire"))
        return candidates
    data["city"], data["insee_code"] = commune.name, commune.insee_code
    if not fill:
        return []
    if not data.get("postal_code"):
        data["postal_code"] = commune.postal_code
    if not data.get("latitude") and not data.get("longitude") and commune.latitude is not None:
        data["latitude"], data["longitude"] = str(commune.latitude), str(commune.longitude)
    return []


async def check_initiative(
    page_: Page, data: dict[str, Any], *, partial: bool = False
) -> dict[str, str]:
    errors: dict[str, str] = {}
    try:
        clean_initiative(data, theme_slugs=await themes.all_slugs(page_.session), partial=partial)
    except ValidationError as exc:
        errors.update(exc.errors)
    for name, reason in REQUIRED.items():
        if not str(data.get(name) or "").strip():
            errors.setdefault(name, reason)
    if not data.get("themes"):
        errors.setdefault("themes", N_("choisissez au moins un thème"))
    return errors


async def rate_limited(page_: Page, action: str, limit: antispam.Limit) -> antispam.Verdict:
    """Count this submission in its own transaction, so a refused one is still counted."""
    async with page_.request.app.state.db.session() as counting:
        return await antispam.hit(counting, f"{action}:ip:{client_ip(page_.request)}", limit)


def too_many(verdict: antispam.Verdict) -> str:
    minutes = max(1, round(verdict.retry_after / 60))
    if minutes == 1:
        return N_(
            "Trop d'envois depuis votre connexion : réessayez dans 1 minute. "
            "Vos informations sont conservées ci-dessous."
        )
    return N_(
        "Trop d'envois depuis votre connexion : réessayez dans %(num)s minutes. "
        "Vos informations sont conservées ci-dessous.",
        num=minutes,
    )


@dataclass
class Submission:
    """A posted initiative form, checked: what to store, what to show again, what is wrong."""

    data: dict[str, Any]
    values: dict[str, Any]
    email: str = ""
    message: str = ""
    errors: dict[str, str] = field(default_factory=dict)
    candidates: list = field(default_factory=list)
    status: int = 422


async def read_submission(
    page_: Page, action: str, limit: antispam.Limit, *, fill: Callable[[dict], bool]
) -> Submission:
    """Read and check a proposal or correction form: CSRF, anti-spam, commune, fields,
    proposer, then (only when all is well) count it against the per-IP rate limit."""
    form = await forms.read_form(page_.request)
    data = forms.initiative_data(form)
    email, message = forms.text(form, "proposer_email"), forms.text(form, "message")
    values = {**forms.initiative_values(data), "proposer_email": email, "message": message}
    sub = Submission(data, values, email, message, await check_antispam(page_, form))
    if not sub.errors:
        sub.candidates = await place_commune(page_, data, sub.errors, fill=fill(data))
        sub.errors = {**await check_initiative(page_, data), **sub.errors}
        try:
            sub.email, sub.message = contributions.clean_proposer(
                email, message, signed_in=page_.person is not None
            )
        except ValidationError as exc:
            sub.errors.update(exc.errors)
    if not sub.errors:
        verdict = await rate_limited(page_, action, limit)
        if not verdict.allowed:
            sub.errors, sub.status = {"_": too_many(verdict)}, 429
    # Show the commune as recognised (its canonical name, its code).
    values.update({k: data[k] for k in ("city", "insee_code") if k in data})
    return sub


def submitted_redirect(page_: Page, submitted: contributions.Submitted, thanks: str) -> Response:
    """Anonymous: the private status link; signed in: their proposals, with thanks."""
    if submitted.token:
        return see_other(f"/suivi/{submitted.token}?nouveau=1")
    flash(page_.request, thanks)
    return see_other("/mes-propositions")


@page()
async def propose(page_: Page) -> Response:
    if page_.request.method == "GET":
        context = await form_context(page_, {"status": "active"}, {})
        return await render(page_, "contribute/propose.html", context)
    sub = await read_submission(
        page_, "propose", antispam.PROPOSALS_PER_IP, fill=lambda _data: True
    )
    if not sub.errors:
        try:
            submitted = await contributions.propose_initiative(
                page_.session, sub.data, author=page_.author, proposer_email=sub.email
            )
        except ValidationError as exc:
            await page_.rollback()
            sub.errors = exc.errors
        else:
            return submitted_redirect(
                page_, submitted, _("Merci ! Votre proposition est enregistrée ; elle sera relue.")
            )
    context = await form_context(page_, sub.values, sub.errors)
    context["candidates"] = sub.candidates
    return await render(page_, "contribute/propose.html", context, status_code=sub.status)


async def commune_search(request: Request) -> Response:
    """Communes of the territory matching `q`, for the address field's suggestions."""
    query = request.query_params.get("q", "")
    async with request.app.state.db.session() as session:
        found = await places.search_communes(session, query, limit=10)
    return JSONResponse(
        [
            {
                "insee_code": c.insee_code,
                "name": c.name,
                "postal_code": c.postal_code,
                "latitude": c.latitude,
                "longitude": c.longitude,
            }
            for c in found
        ],
        headers={"Cache-Control": "public, max-age=300"},
    )


async def _correctable(page_: Page) -> Initiative | Response:
    initiative = await initiatives.get_initiative(page_.session, page_.request.path_params["slug"])
    if initiative.moderation_state != "published":
        raise NotFound("initiative introuvable")
    if not initiative.is_local:
        return await refusal(
            page_,
            409,
            "Initiative d'un autre annuaire",
            f"« {initiative.name} » vient de {initiative.origin} : proposez votre correction "
            "sur l'annuaire d'origine, elle nous parviendra ensuite.",
        )
    return initiative


def _current_values(initiative: Initiative) -> dict[str, Any]:
    values = field_values(initiative)
    values["social_links"] = "\n".join(values.get("social_links") or [])
    for name in ("latitude", "longitude"):
        values[name] = "" if values[name] is None else repr(values[name])
    return values


@page()
async def correction(page_: Page) -> Response:
    request = page_.request
    found = await _correctable(page_)
    if isinstance(found, Response):
        return found
    initiative = found
    base = {"initiative": initiative}
    if request.method == "GET":
        context = await form_context(page_, _current_values(initiative), {})
        return await render(page_, "contribute/correction.html", {**context, **base})
    # Fill postal code and position only when the commune itself is corrected.
    sub = await read_submission(
        page_,
        "correct",
        antispam.CORRECTIONS_PER_IP,
        fill=lambda data: (
            (data.get("insee_code"), data.get("city")) != (initiative.insee_code, initiative.city)
        ),
    )
    if not sub.errors:
        try:
            submitted = await contributions.propose_correction(
                page_.session,
                initiative,
                sub.data,
                author=page_.author,
                proposer_email=sub.email,
                message=sub.message,
            )
        except ValidationError as exc:
            await page_.rollback(initiative)
            sub.errors = dict(exc.errors)
            if "ne change rien" in sub.errors.get("_", ""):
                sub.errors["_"] = N_(
                    "Votre correction ne change rien : modifiez au moins un champ."
                )
        except NotEditable as exc:
            await page_.rollback(initiative)
            sub.errors = {"_": str(exc)}
        else:
            return submitted_redirect(
                page_, submitted, _("Merci ! Votre correction est enregistrée ; elle sera relue.")
            )
    context = await form_context(page_, sub.values, sub.errors)
    context.update(base, candidates=sub.candidates)
    return await render(page_, "contribute/correction.html", context, status_code=sub.status)


@page()
async def status(page_: Page) -> Response:
    """An anonymous proposer's private page: the state of their proposal."""
    found = await contributions.by_status_token(page_.session, page_.request.path_params["token"])
    context: dict[str, Any] = {
        "new": page_.request.query_params.get("nouveau") == "1",
        "link": f"{page_.request.app.state.settings.base_url}/suivi/"
        f"{page_.request.path_params['token']}",
    }
    if isinstance(found, Correction):
        context["correction"] = found
        context["initiative"] = await initiatives.get_initiative(page_.session, found.initiative_id)
    else:
        context["initiative"] = found
        context["correction"] = None
    response = await render(page_, "contribute/status.html", context)
    response.headers["Referrer-Policy"] = "no-referrer"  # the URL is the secret
    response.headers["X-Robots-Tag"] = "noindex"
    return response


@page(role="contributor")
async def mine(page_: Page) -> Response:
    assert page_.person is not None
    proposed, corrections = await contributions.proposals_of(page_.session, page_.person.id)
    return await render(
        page_,
        "contribute/mine.html",
        {"proposed": proposed, "corrections": corrections},
    )


@page()
async def privacy_page(page_: Page) -> Response:
    """What personal data the directory keeps, why, for how long, and how to have it erased."""
    stored = await instance.load(page_.session)
    return await render(
        page_,
        "contribute/privacy.html",
        {"retention_days": privacy.RETENTION.days, "contact": stored.get("contact_email", "")},
    )


def routes() -> list[BaseRoute]:
    return [
        Route("/proposer", propose, methods=["GET", "POST"], name="propose"),
        Route("/proposer/communes", commune_search, name="commune_search"),
        Route("/initiatives/{slug}/correction", correction, methods=["GET", "POST"]),
        Route("/suivi/{token}", status, name="proposal_status"),
        Route("/mes-propositions", mine, name="my_proposals"),
        Route("/confidentialite", privacy_page, name="privacy"),
    ]
