"""Moderation: the queue, each proposal or correction with its diff, decisions, history."""

from __future__ import annotations

import importlib
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from directory import initiatives, moderation
from directory.errors import Conflict, NotEditable, NotFound, ValidationError
from directory.initiatives import field_values
from directory.models import Initiative
from web import forms
from web.contribute import _current_values, form_context, place_commune
from web.i18n import N_
from web.i18n import gettext as _
from web.ui import Page, flash, page, render, see_other


async def duplicate_candidates(page_: Page, initiative: Initiative) -> list[tuple] | None:
    """The duplicates slot, filled by directory/imports/duplicates.py (imports branch).

    Returns (other initiative, candidate) pairs, or None while that module is absent, so
    the page says duplicates are not checked rather than pretending there are none.
    """
    try:
        module = importlib.import_module("directory.imports.duplicates")
    except ModuleNotFoundError:
        return None
    found = await module.candidates_for(page_.session, [initiative.id])
    pairs = []
    for candidate in found:
        other_id = (
            candidate.second_id if candidate.first_id == initiative.id else candidate.first_id
        )
        other = await page_.session.get(Initiative, other_id)
        if other is not None:
            pairs.append((other, candidate))
    return pairs


QUEUE_PAGE = 50


@page(role="moderator")
async def queue(page_: Page) -> Response:
    raw = page_.request.query_params.get("page", "1")
    number = int(raw) if raw.isdigit() and 0 < int(raw) < 100_000 else 1
    total = await moderation.pending_count(page_.session)
    items = await moderation.queue(
        page_.session, limit=QUEUE_PAGE, offset=(number - 1) * QUEUE_PAGE
    )
    pages = max(1, -(-total // QUEUE_PAGE))
    return await render(
        page_,
        "admin/queue.html",
        {"items": items, "total": total, "number": number, "pages": pages},
    )


def _edit_values(page_: Page, initiative: Initiative, proposed: dict[str, Any]) -> dict:
    values = _current_values(initiative)
    for field, value in proposed.items():
        if field == "social_links":
            value = "\n".join(value or [])
        elif field in ("latitude", "longitude"):
            value = "" if value is None else repr(value)
        values[field] = value
    return values


async def _decide(page_: Page, decide, *loaded: Any) -> dict[str, str]:
    """Run a decision; on refusal roll back (reloading `loaded`) and return the errors."""
    try:
        await decide()
    except ValidationError as exc:
        await page_.rollback(*loaded)
        return dict(exc.errors)
    except (Conflict, NotEditable) as exc:
        await page_.rollback(*loaded)
        return {"_": str(exc)}
    return {}


def _decided(request: Request, done: str, initiative: Initiative) -> Response:
    """Back to the queue, with the decision said in a flash message."""
    flash(request, done % {"name": initiative.name})
    return see_other("/moderation")


def _refusal_status(errors: dict[str, str]) -> int:
    """409 when the decision itself was refused (only "_"), 422 for field errors."""
    return 409 if "_" in errors and len(errors) == 1 else 422


@page(role="moderator")
async def proposal(page_: Page) -> Response:
    request = page_.request
    initiative_id = int(request.path_params["id"])
    initiative = await initiatives.get_initiative(page_.session, initiative_id)
    editing = request.query_params.get("modifier") == "1"
    errors: dict[str, str] = {}
    values: dict[str, Any] = {}
    decision: dict[str, str] = {}
    status = 200
    if request.method == "POST":
        form = await forms.read_form(request)
        action = forms.text(form, "action")
        message = forms.text(form, "message")
        decision = {"action": action, "message": message}
        if action == "approve":
            errors = await _decide(
                page_,
                lambda: moderation.approve_proposal(
                    page_.session, initiative, author=page_.author, message=message
                ),
            )
        elif action == "reject":
            errors = await _decide(
                page_,
                lambda: moderation.reject_proposal(
                    page_.session, initiative, author=page_.author, message=message
                ),
            )
        elif action == "edit":
            editing = True
            data = forms.initiative_data(form)
            values = forms.initiative_values(data)
            await place_commune(page_, data, errors)
            if not errors:
                errors = await _decide(
                    page_,
                    lambda: moderation.approve_proposal(
                        page_.session, initiative, author=page_.author, edits=data, message=message
                    ),
                )
            values.update({k: data[k] for k in ("city", "insee_code") if k in data})
        else:
            errors = {"_": N_("Action inconnue : choisissez publier, refuser ou modifier.")}
        if not errors:
            done = (
                _("« %(name)s » : proposition refusée.")
                if action == "reject"
                else _("« %(name)s » : proposition publiée.")
            )
            return _decided(request, done, initiative)
        status = _refusal_status(errors)
        initiative = await initiatives.get_initiative(page_.session, initiative_id)
    context: dict[str, Any] = {
        "initiative": initiative,
        "rows": moderation.proposal_diff(initiative),
        "duplicates": await duplicate_candidates(page_, initiative),
        "editing": editing,
        "decision": decision,
        "decision_errors": errors if not editing else {},
    }
    if editing:
        context.update(
            await form_context(
                page_, values or _current_values(initiative), errors if editing else {}
            )
        )
    context["errors"] = errors
    return await render(page_, "admin/proposal.html", context, status_code=status)


@page(role="moderator")
async def correction(page_: Page) -> Response:
    request = page_.request
    correction_id = int(request.path_params["id"])
    correction_ = await initiatives.get_correction(page_.session, correction_id)
    initiative = await initiatives.get_initiative(page_.session, correction_.initiative_id)
    editing = request.query_params.get("modifier") == "1"
    proposed = {field: new for field, (_old, new) in correction_.changes.items()}
    values: dict[str, Any] = {}
    errors: dict[str, str] = {}
    decision: dict[str, str] = {}
    status = 200
    if request.method == "POST":
        form = await forms.read_form(request)
        action = forms.text(form, "action")
        message = forms.text(form, "message")
        decision = {"action": action, "message": message}
        edits = None
        if action == "edit":
            editing = True
            edits = forms.initiative_data(form)
            values = forms.initiative_values(edits)
            await place_commune(page_, edits, errors)
            values.update({k: edits[k] for k in ("city", "insee_code") if k in edits})
        elif action not in ("approve", "reject"):
            errors = {"_": N_("Action inconnue : choisissez appliquer, refuser ou modifier.")}
        if not errors:
            errors = await _decide(
                page_,
                lambda: moderation.decide_correction(
                    page_.session,
                    correction_,
                    approve=action != "reject",
                    author=page_.author,
                    message=message,
                    edits=edits,
                ),
            )
        if not errors:
            done = (
                _("« %(name)s » : correction refusée.")
                if action == "reject"
                else _("« %(name)s » : correction appliquée.")
            )
            return _decided(request, done, initiative)
        status = _refusal_status(errors)
        correction_ = await initiatives.get_correction(page_.session, correction_id)
        initiative = await initiatives.get_initiative(page_.session, correction_.initiative_id)
    context: dict[str, Any] = {
        "initiative": initiative,
        "correction": correction_,
        "rows": moderation.correction_diff(correction_, initiative),
        "editing": editing,
        "decision": decision,
        "decision_errors": errors if not editing else {},
    }
    if editing:
        context.update(
            await form_context(page_, values or _edit_values(page_, initiative, proposed), errors)
        )
    context["errors"] = errors
    return await render(page_, "admin/correction.html", context, status_code=status)


@page(role="moderator")
async def history(page_: Page) -> Response:
    slug = page_.request.path_params["slug"]
    try:
        initiative = await initiatives.get_initiative(page_.session, slug)
    except NotFound:
        if not slug.isdigit():
            raise
        initiative = await initiatives.get_initiative(page_.session, int(slug))
    return await render(
        page_,
        "admin/history.html",
        {
            "initiative": initiative,
            "revisions": await moderation.history(page_.session, initiative.id),
            "corrections": await moderation.corrections_of(page_.session, initiative.id),
            "current": field_values(initiative),
        },
    )


def routes() -> list[BaseRoute]:
    return [
        Route("/moderation", queue, name="moderation_queue"),
        Route(
            "/moderation/propositions/{id:int}",
            proposal,
            methods=["GET", "POST"],
            name="moderation_proposal",
        ),
        Route(
            "/moderation/corrections/{id:int}",
            correction,
            methods=["GET", "POST"],
            name="moderation_correction",
        ),
        Route("/moderation/historique/{slug}", history, name="moderation_history"),
    ]
