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
from directory.models_collections import Collection
from directory.records import public_record
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
    # Mastodon's (and so Fedify's) IRIs for profile fields use "http://schema.org#".
    "PropertyValue": "http://schema.org#PropertyValue",
    "value": "http://schema.org#value",
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
    "relationNote": "maillage:relationNote",
    "initiatives": {"@id": "maillage:initiatives", "@type": "@id"},
    "curatedCollections": {"@id": "maillage:curatedCollections", "@type": "@id"},
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


def hashtags(themes: Iterable[Theme], urls: Urls) -> list[dict[str, str]]:
    """One `Hashtag` per theme (a sub-theme without its own tag uses its core theme's)."""
    return _hashtag_objects((t.hashtag or _core_theme(t).hashtag for t in themes), urls)


def _hashtag_objects(tags: Iterable[str], urls: Urls) -> list[dict[str, str]]:
    found: list[dict[str, str]] = []
    seen: set[str] = set()
    for tag in tags:
        if tag and tag.lower() not in seen:
            seen.add(tag.lower())
            found.append({"type": "Hashtag", "href": urls.tag(tag), "name": f"#{tag}"})
    return found


def _theme_iris(themes: Sequence[dict[str, Any]]) -> list[str]:
    """Each theme's IRI, and the core theme's IRI of each local sub-theme (deduplicated)."""
    iris: list[str] = []
    for theme in themes:
        for iri in (theme["iri"], THEME_IRI_PREFIX + theme["core"]):
            if iri not in iris:
                iris.append(iri)
    return iris


def summary_line(record: dict[str, Any], lang: str = "fr") -> str:
    """The one line Mastodon shows: themes · commune."""
    labels = ", ".join(
        dict.fromkeys(t["labels"].get(lang) or t["labels"]["fr"] for t in record["themes"])
    )
    return " · ".join(part for part in (labels, record["address"]["city"]) if part)


def _location(record: dict[str, Any]) -> dict[str, Any] | None:
    address = record["address"]
    if record["latitude"] is None and not (address["city"] or address["street"]):
        return None
    postal = {
        "type": "PostalAddress",
        "streetAddress": address["street"] or None,
        "postalCode": address["postal_code"] or None,
        "addressLocality": address["city"] or None,
        "addressCountry": "FR",
    }
    place: dict[str, Any] = {
        "type": "Place",
        "name": ", ".join(p for p in (address["street"], address["city"]) if p) or record["name"],
        "address": {k: v for k, v in postal.items() if v is not None},
    }
    if record["latitude"] is not None and record["longitude"] is not None:
        place["latitude"] = record["latitude"]
        place["longitude"] = record["longitude"]
    return place


def _contacts(record: dict[str, Any]) -> dict[str, Any]:
    contacts = record["contacts"]
    found = {
        "website": contacts["website"],
        "email": contacts["email"],  # the initiative's public address, not the proposer's
        "telephone": contacts["phone"],
        "fediverse": contacts["fediverse"],
        "socialLinks": list(contacts["social_links"]),
    }
    return {k: v for k, v in found.items() if v}


def render_initiative(
    initiative: Initiative,
    urls: Urls,
    settings: Settings,
    *,
    relations: Sequence[Relation] = (),
    with_context: bool = True,
) -> dict[str, Any]:
    """One of our published initiatives as a `Page` (DESIGN.md section 4).

    Built from directory.records.public_record, the one public shape of an initiative,
    so nothing private (proposer, moderation notes) can reach it. Load the initiative with
    collections.RENDER_OPTIONS (themes and their core themes).
    """
    record = public_record(initiative, base_url=settings.base_url)
    territory = urls.actor(settings.territory_username)
    uri = urls.initiative_uri(initiative)
    content = "\n".join(
        part for part in (markdown_to_html(record["summary"]), record["description_html"]) if part
    )
    page: dict[str, Any] = {
        "id": uri,
        "type": "Page",
        "name": record["name"],
        "summary": summary_line(record, settings.default_language),
        "content": content,
        "mediaType": "text/html",
        "source": {"content": record["description"], "mediaType": "text/markdown"},
        "abstract": record["summary"],
        "url": uri,
        "attributedTo": territory,
        "audience": territory,
        "to": [PUBLIC],
        "cc": [urls.followers(settings.territory_username)],
        "published": record["published"] or record["created"],
        "updated": record["updated"],
        "tag": _hashtag_objects((t["hashtag"] for t in record["themes"]), urls),
        "themes": _theme_iris(record["themes"]),
        "actorKinds": sorted(record["actor_kinds"]),
        "needs": sorted(record["needs"]),
        "status": record["status"],
        "contacts": _contacts(record),
        "sameAs": list(record["same_as"]),
        "relations": [_relation(r) for r in relations],
        "license": settings.licence_url,
    }
    if record["opening_hours"]:
        page["openingHours"] = record["opening_hours"]
    if record["address"]["insee_code"]:
        page["inseeCode"] = record["address"]["insee_code"]
    location = _location(record)
    if location is not None:
        page["location"] = location
    if record["image"]:
        page["image"] = {"type": "Image", "url": record["image"]}
    if with_context:
        page = {"@context": CONTEXT, **page}
    return page


def _relation(relation: Relation) -> dict[str, str]:
    found = {"relationKind": relation.kind, "relatedTo": relation.target_uri}
    if relation.note:
        found["relationNote"] = relation.note
    return found


def render_collection(
    collection: Collection,
    items: Sequence[str],
    urls: Urls,
    settings: Settings,
    *,
    with_context: bool = True,
) -> dict[str, Any]:
    """One of our curated collections: an `OrderedCollection` of its initiatives' ids."""
    territory = urls.actor(settings.territory_username)
    uri = urls.collection(collection.slug)
    body: dict[str, Any] = {
        "id": uri,
        "type": "OrderedCollection",
        "name": collection.name,
        "summary": markdown_to_html(collection.summary) if collection.summary else "",
        "source": {"content": collection.summary, "mediaType": "text/plain"},
        "url": uri,
        "attributedTo": territory,
        "audience": territory,
        "to": [PUBLIC],
        "cc": [urls.followers(settings.territory_username)],
        "published": iso(collection.created_at),
        "updated": iso(collection.updated_at),
        "totalItems": len(items),
        "orderedItems": list(items),
    }
    if with_context:
        body = {"@context": CONTEXT, **body}
    return body


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


def _about_page(
    kind: str, activity_id: str, actor: str, page: dict[str, Any], *, stamp: str
) -> dict[str, Any]:
    """An activity on a Page, addressed like it and dated by its `stamp` field."""
    return _activity(
        kind,
        activity_id,
        actor,
        page,
        to=page.get("to", ()),
        cc=page.get("cc", ()),
        published=page.get(stamp),
    )


def create(activity_id: str, actor: str, page: dict[str, Any]) -> dict[str, Any]:
    """Create{Page}, addressed like the object."""
    return _about_page("Create", activity_id, actor, page, stamp="published")


def update(activity_id: str, actor: str, page: dict[str, Any]) -> dict[str, Any]:
    """Update{Page}, addressed like the object."""
    return _about_page("Update", activity_id, actor, page, stamp="updated")


def delete(
    activity_id: str,
    actor: str,
    uri: str,
    *,
    followers: str,
    deleted: datetime | None = None,
    former_type: str = "Page",
) -> dict[str, Any]:
    """Delete{Tombstone} to the public and the actor's followers."""
    return _activity(
        "Delete",
        activity_id,
        actor,
        tombstone(uri, deleted=deleted, former_type=former_type),
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
        document["curatedCollections"] = urls.curated_collections(actor.name)
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
