"""/api/v1/corrections: the corrections queue and moderators' decisions."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute

from directory import initiatives
from directory.models import Initiative
from directory.records import correction_record
from web.api_common import (
    JSON,
    PREFIX,
    db_of,
    json_body,
    path_id,
    raise_if,
    record_for,
    refuse_unknown,
    require_moderator,
    resource,
    settings_of,
    take_choice,
    take_text,
)
from web.auth import author_of, current_person
from web.i18n import N_

DECISIONS = ("approve", "reject")


async def list_corrections(request: Request) -> Response:
    """Corrections waiting for a decision, oldest first (moderators)."""
    async with db_of(request).session() as session:
        require_moderator(await current_person(request, session))
        pending = await initiatives.pending_corrections(session)
        items = [
            correction_record(c, await session.get(Initiative, c.initiative_id)) for c in pending
        ]
    return JSON({"total": len(items), "items": items})


async def decide_correction(request: Request) -> Response:
    """Approve (optionally with edits) or reject a correction (moderators)."""
    async with db_of(request).session() as session:
        person = require_moderator(await current_person(request, session))
        data = await json_body(request)
        errors: dict[str, str] = {}
        decision = take_choice(data, "decision", DECISIONS, errors)
        message = take_text(data, "message", errors, limit=1000)
        edits = data.pop("edits", None)
        if edits is not None and not isinstance(edits, dict):
            errors["edits"] = N_("doit être un objet (champs de l'initiative)")
        refuse_unknown(data, (), errors)
        raise_if(errors)
        correction = await initiatives.get_correction(session, path_id(request))
        changes = await initiatives.decide_correction(
            session,
            correction,
            approve=decision == "approve",
            author=author_of(person),
            message=message,
            edits=edits,
        )
        initiative = await initiatives.get_initiative(session, correction.initiative_id)
        body = {
            "correction": correction_record(correction, initiative),
            "changes": changes,
            "initiative": record_for(initiative, person, settings_of(request).base_url),
        }
    return JSON(body)


def routes() -> list[BaseRoute]:
    return [
        resource(f"{PREFIX}/corrections", GET=list_corrections),
        resource(f"{PREFIX}/corrections/{{id:int}}/decision", POST=decide_correction),
    ]
