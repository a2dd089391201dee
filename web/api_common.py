"""What every JSON API route shares: responses, the caller, body parsing, visibility."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable, Sequence
from typing import Any

import orjson
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from directory import initiatives
from directory.db import Database
from directory.errors import Conflict, NotFound, ValidationError
from directory.models import Initiative, Person
from directory.records import moderation_record, public_record
from directory.vocabulary import role_at_least
from web.bodies import read_json
from web.i18n import N_
from web.settings import Settings

PREFIX = "/api/v1"
Endpoint = Callable[[Request], Awaitable[Response]]


class JSON(Response):
    """A JSON response rendered by orjson (datetimes and non-ASCII text as is)."""

    media_type = "application/json"

    def render(self, content: Any) -> bytes:
        return orjson.dumps(content)


def settings_of(request: Request) -> Settings:
    return request.app.state.settings


def db_of(request: Request) -> Database:
    return request.app.state.db


async def json_body(request: Request) -> dict[str, Any]:
    """The request's JSON object, capped at settings.max_body_bytes."""
    return await read_json(request, settings_of(request).max_body_bytes)


def is_moderator(person: Person | None) -> bool:
    return person is not None and role_at_least(person.role, "moderator")


def is_proposer(person: Person | None, initiative: Initiative) -> bool:
    return person is not None and initiative.proposer_id == person.id


def take_text(
    data: dict[str, Any], field: str, errors: dict[str, str], *, limit: int, default: str = ""
) -> str:
    """Pop an optional text field that is not an initiative field (message, e-mail...)."""
    value = data.pop(field, default)
    if value is None:
        return default
    if not isinstance(value, str):
        errors[field] = N_("doit être un texte")
        return default
    value = value.strip()
    if len(value) > limit:
        errors[field] = N_(
            "trop long (%(n)s caractères, maximum %(limit)s)", n=len(value), limit=limit
        )
    return value


def take_choice(
    data: dict[str, Any], field: str, choices: Sequence[str], errors: dict[str, str]
) -> Any:
    """Pop a required field that must be one of `choices`."""
    value = data.pop(field, None)
    if value not in choices:
        errors[field] = N_("obligatoire, un de : %(choices)s", choices=", ".join(choices))
    return value


def refuse_unknown(data: dict[str, Any], allowed: Iterable[str], errors: dict[str, str]) -> None:
    for field in data:
        if field not in allowed:
            errors[field] = N_("champ inconnu")


def raise_if(errors: dict[str, str]) -> None:
    if errors:
        raise ValidationError(errors)


async def visible_initiative(session: AsyncSession, slug: str, person: Person | None) -> Initiative:
    """The initiative if the caller may see it: published to all, the rest to moderators
    and to its own proposer; otherwise 404 (whether it exists is not revealed)."""
    initiative = await initiatives.get_initiative(session, slug)
    if initiative.moderation_state == "published" or is_moderator(person):
        return initiative
    if is_proposer(person, initiative):
        return initiative
    raise NotFound(N_("initiative %(slug)r introuvable", slug=slug))


def record_for(initiative: Initiative, person: Person | None, base_url: str) -> dict[str, Any]:
    """What this caller sees of an initiative: moderators everything, its proposer its state."""
    if is_moderator(person):
        return moderation_record(initiative, base_url=base_url)
    record = public_record(initiative, base_url=base_url)
    if is_proposer(person, initiative):
        record["moderation_state"] = initiative.moderation_state
    return record


def require_person(person: Person | None) -> Person:
    if person is None:
        raise HTTPException(
            401, N_("authentification requise"), headers={"WWW-Authenticate": "Bearer"}
        )
    return person


def require_moderator(person: Person | None) -> Person:
    person = require_person(person)
    if not is_moderator(person):
        raise HTTPException(403, N_("rôle %(role)r ou supérieur requis", role="moderator"))
    return person


def resource(path: str, **handlers: Endpoint) -> Route:
    """One route per path with a handler per method, so that 405 answers list every
    allowed method in `Allow` (two routes on one path would each claim only theirs).
    GET answers may be read by scripts of any site (CORS)."""

    async def dispatch(request: Request) -> Response:
        method = "GET" if request.method == "HEAD" else request.method
        try:
            response = await handlers[method](request)
        except IntegrityError:
            # Two writes raced past the domain's checks (same slug at the same instant);
            # the unit of work was rolled back, so the client may simply try again.
            raise Conflict(N_("écriture concurrente sur la même donnée ; réessayez")) from None
        if method == "GET":
            # Open data: any site's scripts may read. With "*" browsers never send cookies
            # nor expose credentialed answers, and without a preflight handler no script
            # elsewhere can send a token or write: nothing private is reachable this way.
            response.headers["Access-Control-Allow-Origin"] = "*"
        return response

    dispatch.__doc__ = " / ".join(f"{m}: {h.__doc__ or ''}" for m, h in handlers.items())
    return Route(path, dispatch, methods=list(handlers))


MAX_ID = 2**31 - 1  # ids are 32-bit integers in both databases


def path_id(request: Request, name: str = "id") -> int:
    """An integer id from the path; out of the column's range means it cannot exist (404)."""
    value = request.path_params[name]
    if not 1 <= value <= MAX_ID:
        raise NotFound(N_("%(value)s introuvable", value=value))
    return value
