"""Our objects as ActivityStreams 2 JSON: initiatives as `Page`, actors, activities.

DESIGN.md section 4 is the contract. Only published initiatives and their public fields
leave the instance: the proposer's e-mail and the moderation note are never read here.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from directory.models import Initiative, Relation, Theme
from directory.vocabulary import THEME_IRI_PREFIX
from federation.content import markdown_to_html
from federation.models import INSTANCE, TERRITORY, THEME, LocalActor
from federation.urls import AS_CONTEXT, PUBLIC, SECURITY_CONTEXT, Urls

if TYPE_CHECKING:
    from web.settings import Settings

# Terms of the structured fields. Inlined in every document (no fetch needed by peers,
# like Mastodon's own extensions) and served as a document at {base}/ns. The vocabulary
# IRIs are host-independent, like the theme IRIs, so every instance means the same thing.
MAILLAGE_NS = "urn:maillage:ns:"
MAILLAGE_TERMS: dict[str, Any] = {
    "maillage": MAILLAGE_NS,
    "schema": "http://schema.org/",
    "toot": "http://joinmastodon.org/ns#",
    "manuallyApprovesFollowers": "as:manuallyApprovesFollowers",
    "Hashtag": "as:Hashtag",
    "featured": {"@id": "toot:featured", "@type": "@id"},
    "discoverable": "toot:discoverable",
    "PropertyValue": "schema:PropertyValue",
    "value": "schema:value",
    "PostalAddress": "schema:PostalAddress",
    "address": "schema:address",
    "streetAddress": "schema:streetAddress",
    "postalCode": "schema:postalCode",
    "addressLocality": "schema:addressLocality",
    "addressCountry": "schema:addressCountry",
    "abstract": "schema:abstract",
    "openingHours": "schema:openingHours",
    "license": {"@id": "schema:license", "@type": "@id"},
    "sameAs": {"@id": "schema:sameAs", "@type": "@id", "@container": "@set"},
    "email": "schema:email",
    "telephone": "schema:telephone",
    "inseeCode": "maillage:inseeCode",
    "themes": {"@id": "maillage:themes", "@type": "@id", "@container": "@set"},
    "actorKinds": {"@id": "maillage:actorKinds", "@container": "@set"},
    "needs": {"@id": "maillage:needs", "@container": "@set"},
    "status": "maillage:status",
    "contacts": "maillage:contacts",
    "website": {"@id": "maillage:website", "@type": "@id"},
    "fediverse": "maillage:fediverse",
    "socialLinks": {"@id": "maillage:socialLinks", "@type": "@id", "@container": "@set"},
    "relations": {"@id": "maillage:relations", "@container": "@set"},
    "relationKind": "maillage:relationKind",
    "relatedTo": {"@id": "maillage:relatedTo", "@type": "@id"},
    "initiatives": {"@id": "maillage:initiatives", "@type": "@id"},
}
CONTEXT: list[Any] = [AS_CONTEXT, SECURITY_CONTEXT, MAILLAGE_TERMS]
AS_MEDIA_TYPE = "application/activity+json"


def context_document() -> dict[str, Any]:
    """The JSON-LD context served at {base}/ns (the terms our documents inline)."""
    return {"@context": MAILLAGE_TERMS}


def iso(moment: datetime | None) -> str | None:
    """An xsd:dateTime in UTC with a Z, as Mastodon writes them."""
    if moment is None:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def new_activity_id(urls: Urls) -> str:
    """A fresh activity id under {base}/activities/."""
    return urls.activity(uuid.uuid4().hex)


def _core_theme(theme: Theme) -> Theme:
    return theme if theme.is_core or theme.parent is None else theme.parent


def theme_iris(themes: Iterable[Theme]) -> list[str]:
    """Each theme's IRI, and the core theme's IRI of each local sub-theme (deduplicated)."""
    iris: list[str] = []
    for theme in themes:
        for iri in (theme.iri, _core_theme(theme).iri):
            if iri not in iris:
                iris.append(iri)
    return iris


def hashtags(themes: Iterable[Theme], urls: Urls) -> list[dict[str, str]]:
    """One `Hashtag` per theme (a sub-theme without its own tag uses its core theme's)."""
    tags: list[dict[str, str]] = []
    seen: set[str] = set()
    for theme in themes:
        tag = theme.hashtag or _core_theme(theme).hashtag
        if tag and tag.lower() not in seen:
            seen.add(tag.lower())
            tags.append({"type": "Hashtag", "href": urls.tag(tag), "name": f"#{tag}"})
    return tags


def summary_line(initiative: Initiative, lang: str = "fr") -> str:
    """The one line Mastodon shows: themes · commune."""
    labels = ", ".join(dict.fromkeys(t.label(lang) for t in initiative.themes))
    return " · ".join(part for part in (labels, initiative.city) if part)


def _location(initiative: Initiative) -> dict[str, Any] | None:
    if initiative.latitude is None and not (initiative.city or initiative.street):
        return None
    address = {
        "type": "PostalAddress",
        "streetAddress": initiative.street or None,
        "postalCode": initiative.postal_code or None,
        "addressLocality": initiative.city or None,
        "addressCountry": "FR",
    }
    place: dict[str, Any] = {
        "type": "Place",
        "name": ", ".join(p for p in (initiative.street, initiative.city) if p) or initiative.name,
        "address": {k: v for k, v in address.items() if v is not None},
    }
    if initiative.latitude is not None and initiative.longitude is not None:
        place["latitude"] = initiative.latitude
        place["longitude"] = initiative.longitude
    return place


def _contacts(initiative: Initiative) -> dict[str, Any]:
    contacts = {
        "website": initiative.website,
        "email": initiative.email,  # the initiative's public address, not the proposer's
        "telephone": initiative.phone,
        "fediverse": initiative.fediverse,
        "socialLinks": list(initiative.social_links or []),
    }
    return {k: v for k, v in contacts.items() if v}


def _content(initiative: Initiative) -> str:
    parts = []
    if initiative.summary:
        parts.append(markdown_to_html(initiative.summary))
    if initiative.description:
        parts.append(markdown_to_html(initiative.description))
    return "\n".join(p for p in parts if p)


def render_initiative(
    initiative: Initiative,
    urls: Urls,
    settings: Settings,
    *,
    relations: Sequence[Relation] = (),
    with_context: bool = True,
) -> dict[str, Any]:
    """One of our published initiatives as a `Page` (DESIGN.md section 4)."""
    territory = urls.actor(settings.territory_username)
    uri = urls.initiative_uri(initiative)
    page: dict[str, Any] = {
        "id": uri,
        "type": "Page",
        "name": initiative.name,
        "summary": summary_line(initiative, settings.default_language),
        "content": _content(initiative),
        "mediaType": "text/html",
        "source": {"content": initiative.description, "mediaType": "text/markdown"},
        "abstract": initiative.summary,
        "url": uri,
        "attributedTo": territory,
        "audience": territory,
        "to": [PUBLIC],
        "cc": [urls.followers(settings.territory_username)],
        "published": iso(initiative.published_at or initiative.created_at),
        "updated": iso(initiative.updated_at),
        "tag": hashtags(initiative.themes, urls),
        "themes": theme_iris(initiative.themes),
        "actorKinds": sorted(initiative.actor_kinds),
        "needs": sorted(initiative.needs),
        "status": initiative.status,
        "contacts": _contacts(initiative),
        "sameAs": list(initiative.same_as or []),
        "relations": [{"relationKind": r.kind, "relatedTo": r.target_uri} for r in relations],
        "license": settings.licence_url,
    }
    if initiative.opening_hours:
        page["openingHours"] = initiative.opening_hours
    if initiative.insee_code:
        page["inseeCode"] = initiative.insee_code
    location = _location(initiative)
    if location is not None:
        page["location"] = location
    if initiative.image_url:
        page["image"] = {"type": "Image", "url": initiative.image_url}
    if with_context:
        page = {"@context": CONTEXT, **page}
    return page


def tombstone(
    uri: str, *, deleted: datetime | None = None, former_type: str = "Page"
) -> dict[str, Any]:
    """What stays at a withdrawn object's id (served with 410 Gone)."""
    body: dict[str, Any] = {"id": uri, "type": "Tombstone", "formerType": former_type}
    if deleted is not None:
        body["deleted"] = iso(deleted)
    return body


# Activities. The caller gives the id (new_activity_id) so it can store and re-serve it.


def _activity(
    kind: str,
    activity_id: str,
    actor: str,
    obj: Any,
    *,
    to: Sequence[str] = (),
    cc: Sequence[str] = (),
    published: datetime | str | None = None,
) -> dict[str, Any]:
    if isinstance(obj, dict):
        obj = {k: v for k, v in obj.items() if k != "@context"}
    body: dict[str, Any] = {
        "@context": CONTEXT,
        "id": activity_id,
        "type": kind,
        "actor": actor,
        "object": obj,
    }
    if to:
        body["to"] = list(to)
    if cc:
        body["cc"] = list(cc)
    if published is not None:
        body["published"] = published if isinstance(published, str) else iso(published)
    return body


def create(activity_id: str, actor: str, page: dict[str, Any]) -> dict[str, Any]:
    """Create{Page}, addressed like the object."""
    return _activity(
        "Create",
        activity_id,
        actor,
        page,
        to=page.get("to", ()),
        cc=page.get("cc", ()),
        published=page.get("published"),
    )


def update(activity_id: str, actor: str, page: dict[str, Any]) -> dict[str, Any]:
    """Update{Page}, addressed like the object."""
    return _activity(
        "Update",
        activity_id,
        actor,
        page,
        to=page.get("to", ()),
        cc=page.get("cc", ()),
        published=page.get("updated"),
    )


def delete(
    activity_id: str, actor: str, uri: str, *, followers: str, deleted: datetime | None = None
) -> dict[str, Any]:
    """Delete{Tombstone} to the public and the actor's followers."""
    return _activity(
        "Delete",
        activity_id,
        actor,
        tombstone(uri, deleted=deleted),
        to=[PUBLIC],
        cc=[followers],
        published=deleted,
    )


def announce(
    activity_id: str,
    actor: str,
    object_id: str,
    *,
    followers: str,
    published: datetime | None = None,
) -> dict[str, Any]:
    """Announce{object id} by a theme actor or the territory actor, to its followers."""
    return _activity(
        "Announce", activity_id, actor, object_id, to=[PUBLIC], cc=[followers], published=published
    )


def follow(activity_id: str, actor: str, target: str) -> dict[str, Any]:
    """Follow{target actor}."""
    return _activity("Follow", activity_id, actor, target, to=[target])


def accept(activity_id: str, actor: str, follow_activity: dict[str, Any] | str) -> dict[str, Any]:
    """Accept{Follow}: the Follow is embedded (Mastodon matches it by id and actor)."""
    return _respond("Accept", activity_id, actor, follow_activity)


def reject(activity_id: str, actor: str, follow_activity: dict[str, Any] | str) -> dict[str, Any]:
    """Reject{Follow}."""
    return _respond("Reject", activity_id, actor, follow_activity)


def _respond(
    kind: str, activity_id: str, actor: str, follow_activity: dict[str, Any] | str
) -> dict[str, Any]:
    to = []
    if isinstance(follow_activity, dict):
        follower = follow_activity.get("actor")
        if isinstance(follower, dict):
            follower = follower.get("id")
        if isinstance(follower, str):
            to = [follower]
    return _activity(kind, activity_id, actor, follow_activity, to=to)


def undo(activity_id: str, actor: str, activity: dict[str, Any]) -> dict[str, Any]:
    """Undo{activity} (the activity embedded, as Mastodon expects for Undo{Follow})."""
    to = activity.get("to", [])
    return _activity("Undo", activity_id, actor, activity, to=[to] if isinstance(to, str) else to)


# Actors.


def _property(name: str, value: str) -> dict[str, str]:
    return {"type": "PropertyValue", "name": name, "value": value}


def _link(url: str) -> str:
    shown = url.split("://", 1)[-1].rstrip("/")
    return f'<a href="{url}" rel="me nofollow noopener noreferrer" target="_blank">{shown}</a>'


def actor_display(
    actor: LocalActor, settings: Settings, theme: Theme | None = None
) -> tuple[str, str]:
    """(name, summary) of one of our actors, in the instance's language."""
    lang = settings.default_language
    territory = settings.territory_name
    if actor.kind == INSTANCE:
        return (
            f"{territory} · Maillage",
            f"Acteur de l'instance Maillage de {territory} : il signe les requêtes du serveur.",
        )
    if actor.kind == THEME and theme is not None:
        label = theme.label(lang)
        return (
            f"{label} · {territory}",
            f"Les initiatives « {label} » de {territory} et des territoires suivis. "
            f"Suivez ce compte pour les recevoir.",
        )
    return (
        territory,
        f"Annuaire des initiatives territoriales de {territory}. "
        "Suivez ce compte pour recevoir chaque initiative publiée.",
    )


def render_actor(
    actor: LocalActor,
    urls: Urls,
    settings: Settings,
    *,
    theme: Theme | None = None,
    icon_url: str | None = None,
    published: datetime | None = None,
) -> dict[str, Any]:
    """An actor document with every field Mastodon reads (DESIGN.md section 4)."""
    name, summary = actor_display(actor, settings, theme)
    actor_id = urls.actor(actor.name)
    if actor.kind == THEME and theme is not None:
        page_url = urls.theme_page(theme.slug)
    else:
        page_url = urls.home
    territory_label = settings.territory_name + (
        f" ({settings.territory_kind} {settings.territory_code})"
        if settings.territory_code
        else f" ({settings.territory_kind})"
    )
    document: dict[str, Any] = {
        "@context": CONTEXT,
        "id": actor_id,
        "type": actor.ap_type,
        "preferredUsername": actor.name,
        "name": name,
        "summary": f"<p>{summary}</p>",
        "url": page_url,
        "icon": {
            "type": "Image",
            "mediaType": "image/png",
            "url": icon_url or f"{actor_id}/icon.png",
        },
        "inbox": urls.inbox(actor.name),
        "outbox": urls.outbox(actor.name),
        "followers": urls.followers(actor.name),
        "following": urls.following(actor.name),
        "featured": urls.featured(actor.name),
        "endpoints": {"sharedInbox": urls.shared_inbox},
        "publicKey": {
            "id": urls.key_id(actor.name),
            "owner": actor_id,
            "publicKeyPem": actor.public_key_pem,
        },
        "manuallyApprovesFollowers": actor.kind == INSTANCE or actor.locked,
        "discoverable": actor.kind != INSTANCE,
        "indexable": actor.kind != INSTANCE,
        "published": iso(published or actor.created_at),
        "attachment": [
            _property("Site web", _link(urls.home)),
            _property("Territoire", territory_label),
        ],
    }
    if actor.kind == TERRITORY:
        document["initiatives"] = urls.initiatives_collection(actor.name)
    if actor.kind == THEME and theme is not None:
        document["tag"] = hashtags([theme], urls)
        document["themes"] = [theme.iri]
    if actor.kind == INSTANCE:
        document["summary"] = f"<p>{summary}</p>"
    return document


def is_core_theme_iri(iri: str) -> bool:
    return iri.startswith(THEME_IRI_PREFIX)


# Collections.


def ordered_collection(
    collection_id: str,
    *,
    total: int,
    first: str | None = None,
    items: Sequence[Any] | None = None,
) -> dict[str, Any]:
    """An OrderedCollection: either inline items, or a link to its first page."""
    body: dict[str, Any] = {
        "@context": CONTEXT,
        "id": collection_id,
        "type": "OrderedCollection",
        "totalItems": total,
    }
    if items is not None:
        body["orderedItems"] = list(items)
    if first is not None:
        body["first"] = first
    return body


def collection_page(
    page_id: str,
    *,
    part_of: str,
    items: Sequence[Any],
    next_page: str | None = None,
    total: int | None = None,
) -> dict[str, Any]:
    """One OrderedCollectionPage of a cursor-paged collection."""
    body: dict[str, Any] = {
        "@context": CONTEXT,
        "id": page_id,
        "type": "OrderedCollectionPage",
        "partOf": part_of,
        "orderedItems": list(items),
    }
    if next_page:
        body["next"] = next_page
    if total is not None:
        body["totalItems"] = total
    return body
