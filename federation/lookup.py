"""Remote link targets: fetched and validated before a référent links to them.

A référent may link an initiative (or fill a collection) with an initiative of another
instance given by its URL. Before the domain accepts it, we fetch that URL (signed GET,
under the SSRF and id rules of federation/fetch.py), check that it is a Maillage initiative
(a `Page` with our structured fields, attributed on its own origin), and store our copy of
it; the domain then finds it like any remote initiative. Anything else is a clear error
on the `target` field.

The référent vouches for the link, not for the instance: the copy is stored as the
instance's trust policy says, as if it had come through the inbox (published for "publish",
awaiting moderation for "hold", refused for "block"). The link itself is kept either way;
pages show the target once a moderator approved it. When the link is a moderator's (or an
admin's), it is that approval: the target is published at once, the revision naming them
(directory/moderation.approve_linked_target). The worker validates the items of remote
collections the same way, vouched for by no one (federation/collection_items.py).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from sqlalchemy.ext.asyncio import AsyncSession

from directory import initiatives as directory
from directory import moderation
from directory.errors import ValidationError
from directory.models import Initiative, Person
from federation import instances
from federation.fetch import Fetcher, FetchError
from federation.http import NetworkError
from federation.inbox import InboxProcessor, Refused, first_type, ref
from federation.parse import ParseError, is_http_uri, parse_initiative
from federation.urls import Urls, host_of

if TYPE_CHECKING:
    from directory.db import Database
    from web.settings import Settings


class Unreachable(ValidationError):
    """The target could not be fetched for now (network, 429, 5xx): worth another try."""


def _refuse(reason: str) -> ValidationError:
    return ValidationError({"target": reason})


def _transient(exc: FetchError) -> bool:
    return isinstance(exc.__cause__, NetworkError) or (exc.status or 0) in (429, *range(500, 600))


async def ensure_remote_initiative(
    session: AsyncSession,
    fetcher: Fetcher,
    settings: Settings,
    db: Database,
    target: str,
    *,
    vouched_by: Person | None = None,
) -> Initiative | None:
    """Hold the remote initiative `target` names (fetched and stored if new); None when
    `target` is not a remote URL (a slug, or one of ours: the domain resolves those).
    `vouched_by`: the person linking to it (a moderator's link approves it)."""
    found = await _ensure(session, fetcher, settings, db, target)
    if found is not None:
        await moderation.approve_linked_target(session, found, vouched_by)
    return found


async def _ensure(
    session: AsyncSession, fetcher: Fetcher, settings: Settings, db: Database, target: str
) -> Initiative | None:
    target = target.strip()
    urls = Urls.of(settings)
    if not is_http_uri(target) or urls.is_local(target):
        return None
    host = host_of(target)
    if await instances.is_blocked(session, host):
        raise _refuse(f"le domaine {host} est bloqué par cette instance")
    known = await directory.get_by_uri(session, target)
    if known is not None:
        return await _unblocked(session, known)
    try:
        document = await fetcher.document(target)
    except FetchError as exc:
        if exc.status in (404, 410):
            raise _refuse(f"rien à cette adresse ({exc.status}) : vérifiez le lien") from exc
        reason = f"adresse injoignable ou refusée : {exc.reason}"
        raise (Unreachable({"target": reason}) if _transient(exc) else _refuse(reason)) from exc
    kind = first_type(document.get("type"))
    if kind == "Tombstone":
        raise _refuse("cette initiative a été supprimée par son instance")
    if kind != "Page":
        raise _refuse(f"cette adresse ne désigne pas une initiative (type {kind or 'inconnu'})")
    uri = ref(document.get("id"))
    origin = host_of(uri)
    author = ref(document.get("attributedTo"))
    if author and host_of(author) != origin:
        raise _refuse("cette initiative est attribuée à une autre instance que la sienne")
    if await instances.is_blocked(session, origin):  # its domain, or its policy "block"
        raise _refuse(f"l'instance {origin} est bloquée par cette instance")
    if uri != target:
        known = await directory.get_by_uri(session, uri)
        if known is not None:
            return await _unblocked(session, known)
    try:
        parsed = parse_initiative(document, theme_slugs_by_iri={})
    except ParseError as exc:
        raise _refuse(f"initiative illisible : {exc.reason}") from exc
    if not parsed.structured:
        raise _refuse("cette page n'est pas une initiative d'un annuaire Maillage")
    # Stored like one that reached us by federation, under its instance's trust policy.
    trust = (await instances.get_or_create_instance(session, origin)).trust
    state = "published" if trust == "publish" else "proposed"
    processor = InboxProcessor(settings, db, fetcher)
    try:
        initiative, _created = await processor.store_remote(
            session, document, origin, [origin], state
        )
    except ValidationError as exc:
        reasons = "; ".join(f"{k} : {v}" for k, v in exc.errors.items())
        raise _refuse(f"initiative refusée ({reasons})") from exc
    except Refused as exc:
        raise _refuse(str(exc)) from exc
    return initiative


async def _unblocked(session: AsyncSession, known: Initiative) -> Initiative:
    """A copy we already hold, unless its instance has been blocked since."""
    if known.origin and await instances.is_blocked(session, known.origin):
        raise _refuse(f"l'instance {known.origin} est bloquée par cette instance")
    return known
