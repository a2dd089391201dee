"""/api/v1/initiatives: search, read, propose, edit or correct, moderate, history."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute

from directory import initiatives, people, search
from directory.errors import Conflict, NotEditable, ValidationError
from directory.records import revision_record
from directory.validation import EMAIL
from directory.vocabulary import MODERATION_STATE_SLUGS
from web.api_common import (
    JSON,
    PREFIX,
    db_of,
    is_moderator,
    is_proposer,
    json_body,
    raise_if,
    record_for,
    refuse_unknown,
    require_moderator,
    resource,
    settings_of,
    take_choice,
    take_text,
    visible_initiative,
)
from web.auth import author_of, current_person
from web.i18n import N_

MESSAGE_LIMIT = 1000
MODERATION_TARGETS = ("published", "rejected", "withdrawn")


def _page_url(request: Request, page: int) -> str:
    return str(request.url.include_query_params(page=page))


def _moderation_states(request: Request) -> tuple[str, ...]:
    states = tuple(
        dict.fromkeys(
            s.strip()
            for raw in request.query_params.getlist("moderation_state")
            for s in raw.split(",")
            if s.strip()
        )
    )
    if bad := [s for s in states if s not in MODERATION_STATE_SLUGS]:
        raise ValidationError({"moderation_state": N_("inconnu : %(names)s", names=", ".join(bad))})
    return states


async def list_initiatives(request: Request) -> Response:
    """Search with filters, facets and pagination (published ones; moderators may ask more)."""
    query = search.query_from_params(request.query_params)
    states = _moderation_states(request)
    base_url = settings_of(request).base_url
    async with db_of(request).session() as session:
        person = await current_person(request, session)
        if states and states != ("published",):
            require_moderator(person)
            query = replace(query, moderation_states=states)
        result = await search.search_initiatives(session, query)
        items = [record_for(i, person if states else None, base_url) for i in result.items]
    for item in items:
        if (km := result.distances_km.get(item["id"])) is not None:
            item["distance_km"] = round(km, 3)
    last_page = max(1, -(-result.total // query.per_page))
    return JSON(
        {
            "total": result.total,
            "page": query.page,
            "per_page": query.per_page,
            "pages": last_page,
            "next": _page_url(request, query.page + 1) if query.page < last_page else None,
            "previous": _page_url(request, query.page - 1) if query.page > 1 else None,
            "items": items,
            "facets": result.facets,
        }
    )


async def get_initiative(request: Request) -> Response:
    """One initiative, local or remote, if the caller may see it."""
    async with db_of(request).session() as session:
        person = await current_person(request, session)
        initiative = await visible_initiative(session, request.path_params["slug"], person)
        record = record_for(initiative, person, settings_of(request).base_url)
    return JSON(record)


def _proposer_email(data: dict[str, Any], errors: dict[str, str], *, required: bool) -> str:
    email = take_text(data, "proposer_email", errors, limit=254).lower()
    if "proposer_email" in errors:
        return ""
    if not email and required:
        errors["proposer_email"] = N_(
            "obligatoire sans compte : une adresse e-mail pour vous répondre"
        )
    elif email and not EMAIL.match(email):
        errors["proposer_email"] = N_("adresse e-mail invalide")
    return email


async def create_initiative(request: Request) -> Response:
    """A proposal: it always lands in moderation as "proposed"."""
    data = await json_body(request)
    settings = settings_of(request)
    async with db_of(request).session() as session:
        person = await current_person(request, session)
        errors: dict[str, str] = {}
        email = _proposer_email(data, errors, required=person is None)
        if person is not None:
            email = ""  # the account is the contact; no second copy of an address
        try:
            initiative = await initiatives.create_initiative(
                session,
                data,
                author=author_of(person),
                moderation_state="proposed",
                proposer_email=email,
            )
        except ValidationError as exc:
            raise ValidationError({**errors, **exc.errors}) from None
        raise_if(errors)
        record = record_for(initiative, person, settings.base_url)
        record["moderation_state"] = initiative.moderation_state
    location = f"{settings.base_url}{PREFIX}/initiatives/{initiative.slug}"
    return JSON(record, status_code=201, headers={"Location": location})


async def update_initiative(request: Request) -> Response:
    """Moderators edit directly; others propose a correction that waits for moderation."""
    data = await json_body(request)
    settings = settings_of(request)
    async with db_of(request).session() as session:
        person = await current_person(request, session)
        initiative = await visible_initiative(session, request.path_params["slug"], person)
        if not initiative.is_local:
            raise NotEditable(
                f"cette initiative appartient à {initiative.origin} et ne se modifie que là-bas"
            )
        errors: dict[str, str] = {}
        message = take_text(data, "message", errors, limit=MESSAGE_LIMIT)
        email = _proposer_email(data, errors, required=person is None)
        own_proposal = is_proposer(person, initiative) and initiative.moderation_state == "proposed"
        if is_moderator(person) or own_proposal:
            raise_if(errors)
            changes = await initiatives.update_initiative(
                session, initiative, data, author=author_of(person), message=message
            )
            record = record_for(initiative, person, settings.base_url)
            return JSON({"initiative": record, "changes": changes})
        if initiative.moderation_state != "published":
            raise Conflict(N_("cette proposition n'est plus modifiable"), field="moderation_state")
        try:
            correction = await initiatives.propose_correction(
                session,
                initiative,
                data,
                author=author_of(person),
                proposer_email="" if person is not None else email,
                message=message,
            )
        except ValidationError as exc:
            raise ValidationError({**errors, **exc.errors}) from None
        raise_if(errors)
        body = {"correction": correction.id, "state": correction.state}
        body["changes"] = correction.changes
    return JSON(body, status_code=202)


async def moderate_initiative(request: Request) -> Response:
    """Publish, reject or withdraw an initiative (moderators)."""
    async with db_of(request).session() as session:
        person = require_moderator(await current_person(request, session))
        data = await json_body(request)
        errors: dict[str, str] = {}
        state = take_choice(data, "state", MODERATION_TARGETS, errors)
        message = take_text(data, "message", errors, limit=MESSAGE_LIMIT)
        refuse_unknown(data, (), errors)
        raise_if(errors)
        initiative = await initiatives.get_initiative(session, request.path_params["slug"])
        await initiatives.moderate(
            session, initiative, state, author=author_of(person), message=message
        )
        record = record_for(initiative, person, settings_of(request).base_url)
    return JSON(record)


async def initiative_history(request: Request) -> Response:
    """Every edit, oldest first; the public sees authors' names, never their e-mails."""
    async with db_of(request).session() as session:
        person = await current_person(request, session)
        initiative = await visible_initiative(session, request.path_params["slug"], person)
        history = await initiatives.revisions(session, initiative.id)
        authors = await people.people_by_ids(
            session, {r.person_id for r in history if r.person_id is not None}
        )
        private = is_moderator(person)
        items = [
            revision_record(r, authors.get(r.person_id) if r.person_id else None, private=private)
            for r in history
        ]
    return JSON({"initiative": initiative.slug, "total": len(items), "items": items})


def routes() -> list[BaseRoute]:
    base = f"{PREFIX}/initiatives"
    return [
        resource(base, GET=list_initiatives, POST=create_initiative),
        resource(base + "/{slug}", GET=get_initiative, PATCH=update_initiative),
        resource(base + "/{slug}/moderation", POST=moderate_initiative),
        resource(base + "/{slug}/history", GET=initiative_history),
    ]
