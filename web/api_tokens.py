"""/api/v1/tokens: exchange e-mail and password for an API token; list and revoke tokens."""

from __future__ import annotations

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute

from directory import people
from directory.models import ApiToken
from directory.records import timestamp
from web.api_common import (
    JSON,
    PREFIX,
    db_of,
    json_body,
    path_id,
    raise_if,
    refuse_unknown,
    require_person,
    resource,
    take_text,
)
from web.auth import current_person
from web.i18n import N_
from web.ratelimit import FailureLimiter

# Failed attempts allowed per 15 minutes: per account (guessing one password) and per
# address (spraying many accounts). Successes do not reset the address's count.
ACCOUNT_FAILURES = 5
ADDRESS_FAILURES = 20
WINDOW_SECONDS = 15 * 60


def limiters(request: Request) -> tuple[FailureLimiter, FailureLimiter]:
    """This app's (account, address) limiters, created on first use (see web/ratelimit.py)."""
    state = request.app.state
    if not hasattr(state, "token_limiters"):
        state.token_limiters = (
            FailureLimiter(ACCOUNT_FAILURES, WINDOW_SECONDS),
            FailureLimiter(ADDRESS_FAILURES, WINDOW_SECONDS),
        )
    return state.token_limiters


def _token_record(row: ApiToken) -> dict:
    return {
        "id": row.id,
        "label": row.label,
        "created": timestamp(row.created_at),
        "last_used": timestamp(row.last_used_at),
    }


async def create_token(request: Request) -> Response:
    """A new token for the account whose e-mail and password are given (shown once)."""
    data = await json_body(request)
    errors: dict[str, str] = {}
    email = take_text(data, "email", errors, limit=254).lower()
    password = data.pop("password", None)
    label = take_text(data, "label", errors, limit=120)
    if not email and "email" not in errors:
        errors["email"] = N_("obligatoire")
    if not isinstance(password, str) or not password:
        errors["password"] = N_("obligatoire (texte)")
    refuse_unknown(data, (), errors)
    raise_if(errors)
    by_account, by_address = limiters(request)
    address = request.client.host if request.client else "inconnue"
    wait = max(by_account.retry_after(email), by_address.retry_after(address))
    if wait:
        raise HTTPException(
            429,
            N_("trop d'essais infructueux ; réessayez dans %(wait)s secondes", wait=wait),
            headers={"Retry-After": str(wait)},
        )
    async with db_of(request).session() as session:
        person = await people.authenticate(session, email, password)
        if person is None:
            by_account.fail(email)
            by_address.fail(address)
            raise HTTPException(401, N_("e-mail ou mot de passe incorrect"))
        by_account.reset(email)
        token = await people.issue_token(session, person, label or "API")
        row = await people.token_row(session, token)
        body = {
            "token": token,
            **_token_record(row),
            "person": {
                "id": person.id,
                "email": person.email,
                "display_name": person.display_name,
                "role": person.role,
            },
        }
    return JSON(body, status_code=201)


async def list_tokens(request: Request) -> Response:
    """The caller's tokens (never their values)."""
    async with db_of(request).session() as session:
        person = require_person(await current_person(request, session))
        items = [_token_record(t) for t in await people.tokens_of(session, person.id)]
    return JSON({"total": len(items), "items": items})


async def revoke_current_token(request: Request) -> Response:
    """Revoke the bearer token this request is made with."""
    async with db_of(request).session() as session:
        require_person(await current_person(request, session))
        scheme, _, token = request.headers.get("authorization", "").partition(" ")
        if scheme.lower() != "bearer":
            raise HTTPException(400, N_("cette requête n'est pas faite avec un jeton (Bearer)"))
        await people.revoke_token(session, token.strip())
    return Response(status_code=204)


async def revoke_token(request: Request) -> Response:
    """Revoke one of the caller's tokens by id (admins: anyone's)."""
    async with db_of(request).session() as session:
        person = require_person(await current_person(request, session))
        token_id = path_id(request)
        row = await people.get_token(session, token_id)
        if row is None or (row.person_id != person.id and person.role != "admin"):
            raise HTTPException(404, N_("jeton %(id)s introuvable", id=token_id))
        await people.delete_token(session, row)
    return Response(status_code=204)


def routes() -> list[BaseRoute]:
    return [
        resource(
            f"{PREFIX}/tokens", POST=create_token, GET=list_tokens, DELETE=revoke_current_token
        ),
        resource(f"{PREFIX}/tokens/{{id:int}}", DELETE=revoke_token),
    ]
