"""Processing what arrived on our inboxes (the route only verified and stored it).

One item at a time, each in its own transaction, so one bad activity never blocks the
others. Every item ends in a state an admin can see: done, ignored (with the reason),
refused (a rule of DESIGN.md section 4 was broken: the reason says which) or, after a few
failed tries (a peer that does not answer), failed.

Rules enforced here: the object of a Create/Update/Delete must live on the actor's host;
only the origin may update or delete an object; an Announce of a foreign object is
re-fetched from its origin before anything is stored, unless it comes embedded with a
FEP-8b32 proof by its origin actor that verifies (federation/proofs.py); duplicates (same activity id) are
ignored; blocked domains are refused.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import orjson
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from directory import initiatives as directory
from directory.db import Database
from directory.errors import ValidationError
from directory.initiatives import Author
from directory.models import Initiative, Theme, utcnow
from federation import follows, inbox_store, instances, keys, render
from federation.delivery_store import enqueue_activity
from federation.fetch import Fetcher, FetchError
from federation.http import NetworkError
from federation.parse import ParseError, parse_datetime, parse_initiative
from federation.proofs import ProofError, has_proof, verify_object_proof
from federation.remote import fetch_actor
from federation.retry import backoff
from federation.urls import Urls, host_of

if TYPE_CHECKING:
    from web.settings import Settings

log = logging.getLogger("maillage.inbox")

INITIATIVE_TYPES = ("Page",)


class Refused(Exception):
    """The activity breaks a rule; it is not applied (state "refused" with the reason)."""


class Ignored(Exception):
    """The activity is fine but means nothing to us (state "ignored" with the reason)."""


def first_type(value: Any) -> str:
    """`type` may be a string or a list (JSON-LD); the first string wins."""
    if isinstance(value, list):
        value = next((v for v in value if isinstance(v, str)), "")
    return value if isinstance(value, str) else ""


def ref(value: Any) -> str:
    """The id of an embedded object or link, or the string itself."""
    if isinstance(value, dict):
        value = value.get("id") or value.get("href")
    if isinstance(value, list) and value:
        return ref(value[0])
    return value if isinstance(value, str) else ""


def via_path(origin: str, announced_via: Any, announcer: str) -> list[str]:
    """Hosts an object travelled through, origin first, announcer last (at most 10)."""
    path = [origin]
    for host in announced_via if isinstance(announced_via, list) else []:
        if isinstance(host, str) and host and host not in path and len(host) <= 253:
            path.append(host.lower())
    if announcer not in path:
        path.append(announcer)
    return path[:10]


async def theme_slugs_by_iri(session: AsyncSession) -> dict[str, str]:
    """Our themes (core and local) by IRI, to read remote initiatives' themes."""
    return {iri: slug for iri, slug in await session.execute(select(Theme.iri, Theme.slug))}


class InboxProcessor:
    """Claims pending inbox items and applies them."""

    def __init__(
        self,
        settings: Settings,
        db: Database,
        fetcher: Fetcher,
        *,
        batch: int = 50,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self.settings = settings
        self.db = db
        self.fetcher = fetcher
        self.urls = Urls.of(settings)
        self.batch = batch
        self.clock = clock

    async def run_once(self) -> int:
        """Process one batch; the number of items handled."""
        async with self.db.session() as session:
            items = await inbox_store.claim_items(session, limit=self.batch, now=self.clock())
        for item in items:
            await self._handle(item.id, item.body or "", item.attempts, item.recipient)
        return len(items)

    async def _handle(self, item_id: int, body: str, attempts: int, recipient: str) -> None:
        try:
            activity = orjson.loads(body)
            async with self.db.session() as session:
                state, reason = await self.apply(session, activity, recipient)
                await inbox_store.finish_item(session, item_id, state, reason, now=self.clock())
            return
        except (Refused, ValidationError, ParseError) as exc:
            state, reason = "refused", _reason(exc)
        except Ignored as exc:
            state, reason = "ignored", str(exc)
        except FetchError as exc:
            if not isinstance(exc.__cause__, NetworkError) and exc.status is None:
                # The peer answered, but against the rules (id, type, size): no retry.
                state, reason = "refused", _reason(exc)
            else:
                await self._retry(item_id, _reason(exc), attempts)
                return
        except NetworkError as exc:
            await self._retry(item_id, _reason(exc), attempts)
            return
        except Exception as exc:  # a bug must not lose the item: recorded, retried, logged
            log.exception("inbox item %s failed", item_id)
            await self._retry(item_id, f"{type(exc).__name__}: {exc}", attempts)
            return
        async with self.db.session() as session:
            await inbox_store.finish_item(session, item_id, state, reason, now=self.clock())

    async def _retry(self, item_id: int, error: str, attempts: int) -> None:
        async with self.db.session() as session:
            await inbox_store.retry_item(
                session,
                item_id,
                error,
                attempts=attempts + 1,
                when=self.clock() + backoff(attempts + 1),
            )

    async def apply(
        self, session: AsyncSession, activity: dict[str, Any], recipient: str = ""
    ) -> tuple[str, str]:
        """Apply one activity; (state, reason). Raises Refused or Ignored."""
        kind = first_type(activity.get("type"))
        actor = ref(activity.get("actor"))
        host = host_of(actor)
        if await instances.is_blocked(session, host):
            raise Refused(f"le domaine {host} est bloqué")
        if not await inbox_store.first_time(session, ref(activity.get("id"))):
            raise Ignored("activité déjà reçue (doublon)")
        handler = getattr(self, f"_on_{kind.lower()}", None)
        if handler is None or kind not in HANDLED:
            raise Ignored(f"type d'activité non pris en charge : {kind or '(aucun)'}")
        reason = await handler(session, activity, actor, host)
        return "done", reason or ""

    # Follows of our actors.

    async def _on_follow(self, session: AsyncSession, activity: dict, actor: str, host: str) -> str:
        target = ref(activity.get("object"))
        name = self.urls.actor_name(target) if self.urls.is_local(target) else None
        local = await keys.get_local_actor(session, name) if name else None
        if local is None:
            raise Ignored(f"suivi d'un acteur inconnu ici : {target}")
        remote = await fetch_actor(session, self.fetcher, actor)
        state = "pending" if local.locked else "accepted"
        await follows.add_follower(
            session,
            actor_name=local.name,
            remote_actor_uri=actor,
            remote_host=host,
            inbox=remote.inbox,
            shared_inbox=remote.shared_inbox,
            state=state,
            follow_activity_id=ref(activity.get("id")),
        )
        await instances.get_or_create_instance(session, host)
        if local.locked:
            return "en attente de validation (compte verrouillé)"
        follow = {k: v for k, v in activity.items() if k != "@context"}
        accept = render.accept(
            render.new_activity_id(self.urls), self.urls.actor(local.name), follow
        )
        await enqueue_activity(
            session, accept, actor_name=local.name, inboxes=[remote.inbox], now=self.clock()
        )
        return f"abonnement accepté pour {local.name}"

    async def _on_undo(self, session: AsyncSession, activity: dict, actor: str, host: str) -> str:
        inner = activity.get("object")
        inner_type = first_type(inner.get("type")) if isinstance(inner, dict) else ""
        if inner_type == "Follow" or (isinstance(inner, str) and not inner_type):
            if isinstance(inner, dict) and ref(inner.get("actor")) not in ("", actor):
                raise Refused("on ne peut annuler que son propre abonnement")
            target = ref(inner.get("object")) if isinstance(inner, dict) else ""
            removed = 0
            for follower in await follows.follows_by(session, actor):
                if (target and self.urls.actor(follower.actor_name) == target) or (
                    ref(inner) and follower.follow_activity_id == ref(inner)
                ):
                    await follows.remove_follower(
                        session, actor_name=follower.actor_name, remote_actor_uri=actor
                    )
                    removed += 1
            if not removed:
                raise Ignored("annulation d'un abonnement inconnu")
            return "abonnement retiré"
        if inner_type == "Announce":
            return await self._refresh(session, ref(inner.get("object")), actor, host, [])
        raise Ignored(f"annulation non prise en charge : {inner_type or '(inconnue)'}")

    # Answers to our own Follow.

    async def _answer(self, session: AsyncSession, activity: dict, actor: str, state: str) -> str:
        inner = activity.get("object")
        following = await follows.following_by_follow_id(session, ref(inner))
        if following is None:
            following = await follows.get_following(session, actor)
        if following is None:
            raise Ignored("réponse à un abonnement que nous n'avons pas demandé")
        if following.remote_actor_uri != actor:
            raise Refused("seul l'acteur suivi peut accepter ou refuser l'abonnement")
        if following.state != state:
            await follows.mark_following(session, following, state)
        return f"abonnement à {actor} : {state}"

    async def _on_accept(self, session: AsyncSession, activity: dict, actor: str, host: str) -> str:
        return await self._answer(session, activity, actor, "accepted")

    async def _on_reject(self, session: AsyncSession, activity: dict, actor: str, host: str) -> str:
        return await self._answer(session, activity, actor, "rejected")

    # Initiatives.

    async def trust_state(self, session: AsyncSession, host: str) -> str:
        trust = await instances.trust_of(session, host)
        if trust == "block":
            raise Refused(f"l'instance {host} est bloquée (politique de confiance)")
        return "published" if trust == "publish" else "proposed"

    async def store_remote(
        self,
        session: AsyncSession,
        page: dict[str, Any],
        origin: str,
        via: list[str],
        state: str,
        *,
        themes: dict[str, str] | None = None,
        known: dict[str, Initiative] | None = None,
    ) -> tuple[Initiative, bool]:
        """Create or update the local copy of a remote initiative; (initiative, created).

        A batch (backfill) passes the theme map and the rows it already looked up by uri.
        """
        uri = ref(page.get("id"))
        themes = themes if themes is not None else await theme_slugs_by_iri(session)
        data = parse_initiative(page, theme_slugs_by_iri=themes).values
        author = Author(None, f"federation:{origin}")
        if known is None:
            existing = await directory.get_by_uri(session, uri)
        else:
            existing = known.get(uri)
        if existing is not None:
            if existing.origin != origin:
                raise Refused(f"{uri} appartient à {existing.origin or 'cette instance'}")
            await directory.update_initiative(
                session, existing, data, author=author, allow_remote=True
            )
            if existing.moderation_state == "withdrawn":
                await directory.moderate(session, existing, state, author=author)
            return existing, False
        initiative = await directory.create_initiative(
            session,
            data,
            author=author,
            moderation_state=state,
            origin=origin,
            uri=uri,
            via=via,
        )
        return initiative, True

    async def _object(self, session: AsyncSession, value: Any, host: str) -> dict[str, Any]:
        obj = value if isinstance(value, dict) else None
        uri = ref(value)
        if not uri:
            raise Refused("objet sans id")
        if host_of(uri) != host:
            raise Refused(f"l'objet {uri} n'est pas sur l'hôte de l'acteur ({host})")
        if obj is None:
            obj = await self.fetcher.document(uri)
        kind = first_type(obj.get("type"))
        if kind not in INITIATIVE_TYPES:
            raise Ignored(f"objet de type {kind or '(aucun)'} : pas une initiative")
        return obj

    async def _on_create(self, session: AsyncSession, activity: dict, actor: str, host: str) -> str:
        page = await self._object(session, activity.get("object"), host)
        state = await self.trust_state(session, host)
        initiative, created = await self.store_remote(session, page, host, [host], state)
        return f"{'créée' if created else 'mise à jour'} : {initiative.slug}"

    async def _on_update(self, session: AsyncSession, activity: dict, actor: str, host: str) -> str:
        page = await self._object(session, activity.get("object"), host)
        existing = await directory.get_by_uri(session, ref(page.get("id")))
        if existing is not None and existing.origin != host:
            raise Refused("seule l'instance d'origine peut modifier cette initiative")
        state = await self.trust_state(session, host)
        initiative, created = await self.store_remote(session, page, host, [host], state)
        return f"{'créée' if created else 'mise à jour'} : {initiative.slug}"

    async def _on_delete(self, session: AsyncSession, activity: dict, actor: str, host: str) -> str:
        uri = ref(activity.get("object"))
        if uri == actor:
            removed = 0
            for follower in await follows.follows_by(session, actor):
                await follows.remove_follower(
                    session, actor_name=follower.actor_name, remote_actor_uri=actor
                )
                removed += 1
            return f"acteur supprimé ({removed} abonnements retirés)"
        if host_of(uri) != host:
            raise Refused(f"l'objet {uri} n'est pas sur l'hôte de l'acteur ({host})")
        existing = await directory.get_by_uri(session, uri)
        if existing is None:
            raise Ignored(f"suppression d'un objet inconnu ici : {uri}")
        if existing.origin != host:
            raise Refused("seule l'instance d'origine peut supprimer cette initiative")
        await self._withdraw(session, existing, host)
        return f"retirée : {existing.slug}"

    async def _withdraw(self, session: AsyncSession, initiative: Initiative, origin: str) -> None:
        if initiative.moderation_state != "withdrawn":
            await directory.moderate(
                session,
                initiative,
                "withdrawn",
                author=Author(None, f"federation:{origin}"),
                message="supprimée par son instance d'origine",
            )

    async def _on_announce(
        self, session: AsyncSession, activity: dict, actor: str, host: str
    ) -> str:
        embedded = activity.get("object")
        uri = ref(embedded)
        return await self._refresh(
            session, uri, actor, host, activity.get("via"), embedded=embedded
        )

    async def _proven(
        self, session: AsyncSession, embedded: Any, existing: Initiative | None
    ) -> tuple[dict | None, str]:
        """The embedded object when its FEP-8b32 proof verifies (else None), and a note.

        A signed copy stays valid forever: one not newer than ours could be a replay of an
        old version, so the origin is asked instead.
        """
        if not has_proof(embedded):
            return None, ""
        try:
            await verify_object_proof(session, self.fetcher, embedded)
        except ProofError as exc:
            return None, f" (preuve refusée : {exc.reason} ; objet relu à son origine)"
        if existing is not None:
            stamp = parse_datetime(embedded.get("updated")) or parse_datetime(
                embedded.get("published")
            )
            ours = existing.updated_at
            ours = ours if ours is None or ours.tzinfo else ours.replace(tzinfo=UTC)
            if stamp is None or (ours is not None and stamp <= ours):
                return (
                    None,
                    " (copie signée pas plus récente que la nôtre ; objet relu à son origine)",
                )
        return {k: v for k, v in embedded.items() if k != "proof"}, " (preuve FEP-8b32 vérifiée)"

    async def _refresh(
        self,
        session: AsyncSession,
        uri: str,
        actor: str,
        announcer: str,
        via: Any,
        *,
        embedded: Any = None,
    ) -> str:
        """Store what the origin says of an announced object: the embedded copy when its
        origin's proof verifies, else the object fetched from its origin."""
        if not uri:
            raise Refused("Announce sans objet")
        if self.urls.is_local(uri):
            raise Ignored("annonce d'une de nos propres initiatives")
        origin = host_of(uri)
        if await instances.is_blocked(session, origin):
            raise Refused(f"le domaine d'origine {origin} est bloqué")
        existing = await directory.get_by_uri(session, uri)
        page, note = await self._proven(session, embedded, existing)
        try:
            if page is None:
                page = await self.fetcher.document(uri)
        except FetchError as exc:
            if exc.status in (404, 410) and existing is not None and existing.origin == origin:
                await self._withdraw(session, existing, origin)
                return f"retirée (disparue de son origine) : {existing.slug}"
            if exc.status is not None and 400 <= exc.status < 500:
                raise Refused(
                    f"objet annoncé introuvable à son origine : {exc.reason}{note}"
                ) from exc
            raise
        kind = first_type(page.get("type"))
        if kind == "Tombstone":
            if existing is not None and existing.origin == origin:
                await self._withdraw(session, existing, origin)
                return f"retirée : {existing.slug}"
            raise Ignored("objet annoncé supprimé à son origine")
        if kind not in INITIATIVE_TYPES:
            raise Ignored(f"objet annoncé de type {kind or '(aucun)'} : pas une initiative")
        author = ref(page.get("attributedTo"))
        if author and host_of(author) != origin:
            raise Refused(f"l'objet {uri} est attribué à un autre hôte ({host_of(author)})")
        await self.trust_state(session, origin)
        state = await self.trust_state(session, announcer)
        initiative, created = await self.store_remote(
            session, page, origin, via_path(origin, via, announcer), state
        )
        verb = "créée" if created else "mise à jour"
        return f"{verb} via {announcer} : {initiative.slug}{note}"


HANDLED = ("Follow", "Undo", "Accept", "Reject", "Create", "Update", "Delete", "Announce")


def _reason(exc: Exception) -> str:
    if isinstance(exc, ValidationError):
        return "données invalides : " + "; ".join(f"{k} : {v}" for k, v in exc.errors.items())
    return getattr(exc, "reason", None) or str(exc)
