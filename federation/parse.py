"""Tolerant parsing of what peers send: actors, activities, and initiatives from `Page`s.

Real servers vary: `type`, `to` and `cc` come as strings or arrays, objects embedded or by
id, keys in a list. What is usable becomes a typed result; what is malformed raises
ParseError with a reason a 4xx can carry. Text from outside is sanitized (nh3) here.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

from directory.vocabulary import ACTOR_KINDS, NEEDS, RELATION_KINDS, STATUSES, slugs
from federation.content import html_to_markdown, plain_text, sanitize_html
from federation.urls import PUBLIC

ACTOR_TYPES = frozenset({"Person", "Service", "Application", "Group", "Organization"})
PUBLIC_ALIASES = frozenset({PUBLIC, "as:Public", "Public"})
NAME_LIMIT, SUMMARY_LIMIT = 200, 300


class ParseError(ValueError):
    """A document we cannot use, with the reason."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


# Small readers, each tolerant of the shapes seen in the wild.


def as_list(value: Any) -> list[Any]:
    """None -> [], a single value -> [value], a list stays a list."""
    if value is None:
        return []
    return list(value) if isinstance(value, list | tuple) else [value]


def types_of(document: Mapping[str, Any]) -> set[str]:
    """The `type` values, whether a string or an array (prefixes like `as:` dropped)."""
    return {
        t.split(":", 1)[-1] if t.startswith("as:") else t
        for t in as_list(document.get("type"))
        if isinstance(t, str)
    }


def has_type(document: Mapping[str, Any], *names: str) -> bool:
    return bool(types_of(document) & set(names))


def id_of(value: Any) -> str | None:
    """The id of a reference: a string, an object with `id`, or a Link with `href`."""
    if isinstance(value, str):
        return value or None
    if isinstance(value, Mapping):
        for key in ("id", "href"):
            if isinstance(value.get(key), str) and value[key]:
                return value[key]
    if isinstance(value, list) and value:
        return id_of(value[0])
    return None


def ids_of(value: Any) -> list[str]:
    return [i for i in (id_of(v) for v in as_list(value)) if i]


def is_http_uri(value: Any) -> bool:
    if not isinstance(value, str):
        return False
    parts = urlsplit(value)
    return parts.scheme in ("http", "https") and bool(parts.netloc)


def require_uri(document: Mapping[str, Any], key: str = "id") -> str:
    value = id_of(document.get(key))
    if not is_http_uri(value):
        raise ParseError(f"`{key}` must be an http(s) URI")
    assert value is not None
    return value


def text_of(value: Any) -> str:
    """A natural-language value: a string, or the first of a language map (`nameMap`)."""
    if isinstance(value, str):
        return value
    if isinstance(value, Mapping):
        for preferred in ("fr", "und", "en"):
            if isinstance(value.get(preferred), str):
                return value[preferred]
        for item in value.values():
            if isinstance(item, str):
                return item
    if isinstance(value, list):
        for item in value:
            text = text_of(item)
            if text:
                return text
    return ""


def _field_text(document: Mapping[str, Any], key: str) -> str:
    return text_of(document.get(key)) or text_of(document.get(f"{key}Map"))


def parse_datetime(value: Any) -> datetime | None:
    """An xsd:dateTime (Z or offset); None when absent or unreadable."""
    if not isinstance(value, str) or not value:
        return None
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _float(value: Any, bound: float) -> float | None:
    if isinstance(value, bool):
        return None
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if math.isfinite(number) and -bound <= number <= bound else None


# Actors.


@dataclass(frozen=True)
class ActorKey:
    key_id: str
    owner: str
    pem: str


@dataclass(frozen=True)
class ParsedActor:
    uri: str
    type: str
    inbox: str
    shared_inbox: str = ""
    outbox: str = ""
    followers: str = ""
    following: str = ""
    featured: str = ""
    initiatives: str = ""
    preferred_username: str = ""
    name: str = ""
    summary: str = ""
    url: str = ""
    icon: str = ""
    manually_approves_followers: bool = False
    keys: tuple[ActorKey, ...] = ()

    @property
    def host(self) -> str:
        return urlsplit(self.uri).netloc.lower()

    def key(self, key_id: str) -> ActorKey | None:
        return next((k for k in self.keys if k.key_id == key_id), None)


def parse_actor(document: Mapping[str, Any]) -> ParsedActor:
    """An actor document: id, inbox, keys and the fields we show."""
    uri = require_uri(document)
    kinds = types_of(document) & ACTOR_TYPES
    if not kinds:
        raise ParseError(f"not an actor (type {sorted(types_of(document))})")
    inbox = id_of(document.get("inbox"))
    if not is_http_uri(inbox):
        raise ParseError("an actor needs an http(s) `inbox`")
    endpoints = document.get("endpoints")
    shared = id_of(endpoints.get("sharedInbox")) if isinstance(endpoints, Mapping) else None
    keys = []
    for raw in as_list(document.get("publicKey")):
        if not isinstance(raw, Mapping):
            continue
        key_id, pem = id_of(raw.get("id")), raw.get("publicKeyPem")
        owner = id_of(raw.get("owner")) or id_of(raw.get("controller")) or uri
        if is_http_uri(key_id) and isinstance(pem, str) and "PUBLIC KEY" in pem:
            keys.append(ActorKey(key_id=key_id or "", owner=owner, pem=pem))
    icon = document.get("icon")
    return ParsedActor(
        uri=uri,
        type=sorted(kinds)[0],
        inbox=inbox or "",
        shared_inbox=shared if is_http_uri(shared) else "",
        outbox=_uri_or_empty(document.get("outbox")),
        followers=_uri_or_empty(document.get("followers")),
        following=_uri_or_empty(document.get("following")),
        featured=_uri_or_empty(document.get("featured")),
        initiatives=_uri_or_empty(document.get("initiatives")),
        preferred_username=plain_text(text_of(document.get("preferredUsername")))[:200],
        name=plain_text(_field_text(document, "name"))[:300],
        summary=sanitize_html(_field_text(document, "summary")),
        url=_uri_or_empty(document.get("url")),
        icon=_uri_or_empty(icon.get("url") if isinstance(icon, Mapping) else icon),
        manually_approves_followers=document.get("manuallyApprovesFollowers") is True,
        keys=tuple(keys),
    )


def _uri_or_empty(value: Any) -> str:
    found = id_of(value)
    return found if is_http_uri(found) else ""


# Activities.


@dataclass(frozen=True)
class ParsedActivity:
    id: str
    type: str
    actor: str
    object_id: str | None
    object: Mapping[str, Any] | None  # the embedded object, when there is one
    target: str | None = None
    to: tuple[str, ...] = ()
    cc: tuple[str, ...] = ()
    published: datetime | None = None

    @property
    def is_public(self) -> bool:
        return bool(PUBLIC_ALIASES & set(self.to + self.cc))

    @property
    def object_type(self) -> str | None:
        if self.object is None:
            return None
        kinds = sorted(types_of(self.object))
        return kinds[0] if kinds else None


ACTIVITY_TYPES = frozenset(
    {"Create", "Update", "Delete", "Announce", "Follow", "Accept", "Reject", "Undo", "Add",
     "Remove", "Like", "Block", "Flag", "Move", "EmojiReact", "Question"}
)  # fmt: skip


def parse_activity(document: Mapping[str, Any]) -> ParsedActivity:
    """An activity: id, type, actor, object (id and embedded form), addressing."""
    if not isinstance(document, Mapping):
        raise ParseError("an activity must be a JSON object")
    activity_id = require_uri(document)
    kinds = types_of(document)
    known = sorted(kinds & ACTIVITY_TYPES)
    if not kinds:
        raise ParseError("the activity has no `type`")
    actor = id_of(document.get("actor"))
    if not is_http_uri(actor):
        raise ParseError("the activity has no http(s) `actor`")
    raw_object = document.get("object")
    if isinstance(raw_object, list):
        raw_object = raw_object[0] if len(raw_object) == 1 else raw_object
    if isinstance(raw_object, list):
        raise ParseError("activities with several objects are not supported")
    object_id = id_of(raw_object)
    if raw_object is not None and object_id is None:
        raise ParseError("the activity's `object` has no id")
    return ParsedActivity(
        id=activity_id,
        type=known[0] if known else sorted(kinds)[0],
        actor=actor or "",
        object_id=object_id,
        object=raw_object if isinstance(raw_object, Mapping) else None,
        target=id_of(document.get("target")),
        to=tuple(ids_of(document.get("to"))),
        cc=tuple(ids_of(document.get("cc"))),
        published=parse_datetime(document.get("published")),
    )


# Initiatives.


@dataclass
class ParsedInitiative:
    """A remote `Page` (or Mastodon-like object) as the domain's initiative fields."""

    uri: str
    attributed_to: str | None
    values: dict[str, Any]
    relations: list[tuple[str, str]] = field(default_factory=list)
    # The référent's note on a link, by (kind, target).
    relation_notes: dict[tuple[str, str], str] = field(default_factory=dict)
    published: datetime | None = None
    updated: datetime | None = None
    url: str = ""
    content_html: str = ""
    notes: list[str] = field(default_factory=list)
    structured: bool = False  # carried Maillage fields (else fell back to generic ones)


def _location_values(location: Any, values: dict[str, Any]) -> None:
    place = next((p for p in as_list(location) if isinstance(p, Mapping)), None)
    if place is None:
        return
    lat, lon = _float(place.get("latitude"), 90), _float(place.get("longitude"), 180)
    if lat is not None and lon is not None:
        values["latitude"], values["longitude"] = lat, lon
    address = place.get("address")
    if isinstance(address, Mapping):
        values["street"] = plain_text(text_of(address.get("streetAddress")))[:300]
        values["postal_code"] = plain_text(text_of(address.get("postalCode")))[:10]
        values["city"] = plain_text(text_of(address.get("addressLocality")))[:200]
    elif isinstance(address, str):
        values["street"] = plain_text(address)[:300]
    if not values.get("city") and not values.get("street"):
        name = plain_text(_field_text(place, "name"))
        if name:
            values["city"] = name[:200]


def _vocabulary(value: Any, allowed: frozenset[str], label: str, notes: list[str]) -> list[str]:
    kept: list[str] = []
    for item in as_list(value):
        if isinstance(item, str) and item in allowed:
            if item not in kept:
                kept.append(item)
        else:
            notes.append(f"unknown {label} {item!r} dropped")
    return kept


def _themes(value: Any, theme_slugs_by_iri: Mapping[str, str], notes: list[str]) -> list[str]:
    kept: list[str] = []
    for iri in ids_of(value):
        slug = theme_slugs_by_iri.get(iri)
        if slug is None:
            notes.append(f"unknown theme {iri} dropped")
        elif slug not in kept:
            kept.append(slug)
    return kept


def _image(value: Any) -> str:
    for item in as_list(value):
        if isinstance(item, str) and is_http_uri(item):
            return item
        if isinstance(item, Mapping):
            url = id_of(item.get("url")) or id_of(item)
            if is_http_uri(url):
                return url or ""
    return ""


def _urls(value: Any) -> list[str]:
    return [u for u in ids_of(value) if is_http_uri(u)]


def parse_initiative(
    document: Mapping[str, Any], *, theme_slugs_by_iri: Mapping[str, str]
) -> ParsedInitiative:
    """A remote initiative: Maillage fields when present, else name/summary/content/location.

    `theme_slugs_by_iri` maps the theme IRIs we know (core and local) to our slugs;
    unknown themes are dropped with a note.
    """
    if not isinstance(document, Mapping):
        raise ParseError("an object must be a JSON object")
    uri = require_uri(document)
    if has_type(document, "Tombstone"):
        raise ParseError("the object is a Tombstone")
    notes: list[str] = []
    structured = any(k in document for k in ("themes", "actorKinds", "needs", "contacts"))
    content_html = sanitize_html(_field_text(document, "content"))
    source = document.get("source")
    markdown = (
        source.get("content")
        if isinstance(source, Mapping)
        and source.get("mediaType") == "text/markdown"
        and isinstance(source.get("content"), str)
        else None
    )
    name = plain_text(_field_text(document, "name"))
    summary = plain_text(text_of(document.get("abstract"))) if structured else ""
    if not structured:
        # Other software: its summary is a one-line lead or a content warning.
        summary = plain_text(_field_text(document, "summary"))
    if not name:
        # A Note has no name: its first words stand in for one.
        name = plain_text(content_html)[:80].rsplit(" ", 1)[0] if content_html else ""
    if not name:
        raise ParseError("the object has neither a name nor content")
    if len(name) > NAME_LIMIT:
        notes.append("name shortened")
        name = name[: NAME_LIMIT - 1].rstrip() + "…"
    if len(summary) > SUMMARY_LIMIT:
        notes.append("summary shortened")
        summary = summary[: SUMMARY_LIMIT - 1].rstrip() + "…"

    values: dict[str, Any] = {
        "name": name,
        "summary": summary,
        "description": markdown if markdown is not None else html_to_markdown(content_html),
    }
    _location_values(document.get("location"), values)
    image = _image(document.get("image"))
    if image:
        values["image_url"] = image

    relations: list[tuple[str, str]] = []
    relation_notes: dict[tuple[str, str], str] = {}
    if structured:
        values["themes"] = _themes(document.get("themes"), theme_slugs_by_iri, notes)
        values["actor_kinds"] = _vocabulary(
            document.get("actorKinds"), slugs(ACTOR_KINDS), "actor kind", notes
        )
        values["needs"] = _vocabulary(document.get("needs"), slugs(NEEDS), "need", notes)
        status = document.get("status")
        if status in slugs(STATUSES):
            values["status"] = status
        elif status is not None:
            notes.append(f"unknown status {status!r} ignored")
        contacts = document.get("contacts")
        if isinstance(contacts, Mapping):
            website = id_of(contacts.get("website"))
            if is_http_uri(website):
                values["website"] = website
            for key, column, limit in (
                ("email", "email", 254),
                ("telephone", "phone", 40),
                ("fediverse", "fediverse", 300),
            ):
                text = plain_text(text_of(contacts.get(key)))
                if text:
                    values[column] = text[:limit]
            values["social_links"] = _urls(contacts.get("socialLinks"))
        hours = plain_text(text_of(document.get("openingHours")))
        if hours:
            values["opening_hours"] = hours[:500]
        insee = text_of(document.get("inseeCode"))
        if len(insee) == 5 and insee.isalnum():
            values["insee_code"] = insee
        values["same_as"] = _urls(document.get("sameAs"))
        for item in as_list(document.get("relations")):
            if not isinstance(item, Mapping):
                continue
            kind, target = item.get("relationKind"), id_of(item.get("relatedTo"))
            if kind in slugs(RELATION_KINDS) and is_http_uri(target):
                relations.append((kind, target or ""))
                note = plain_text(text_of(item.get("relationNote")))[:1000]
                if note:
                    relation_notes[(kind, target or "")] = note
            else:
                notes.append("malformed relation dropped")
    else:
        tags = [
            plain_text(text_of(t.get("name"))).lstrip("#")
            for t in as_list(document.get("tag"))
            if isinstance(t, Mapping) and has_type(t, "Hashtag")
        ]
        if tags:
            notes.append("no Maillage fields; hashtags " + ", ".join(tags))
        url = _uri_or_empty(document.get("url"))
        if url and url != uri:
            values["website"] = url

    attributed = ids_of(document.get("attributedTo"))
    return ParsedInitiative(
        uri=uri,
        attributed_to=attributed[0] if attributed else None,
        values=values,
        relations=relations,
        relation_notes=relation_notes,
        published=parse_datetime(document.get("published")),
        updated=parse_datetime(document.get("updated")),
        url=_uri_or_empty(document.get("url")),
        content_html=content_html,
        notes=notes,
        structured=structured,
    )


# Curated collections.

COLLECTION_ITEMS_LIMIT = 500


@dataclass(frozen=True)
class ParsedCollection:
    """A remote curated collection: an `OrderedCollection` with a name and inline items."""

    uri: str
    attributed_to: str | None
    name: str
    summary: str
    items: tuple[str, ...]


def parse_collection(document: Mapping[str, Any]) -> ParsedCollection:
    """A curated collection; ParseError unless it is a named OrderedCollection of ids."""
    if not isinstance(document, Mapping):
        raise ParseError("an object must be a JSON object")
    uri = require_uri(document)
    if not has_type(document, "OrderedCollection", "Collection"):
        raise ParseError(f"not a collection (type {sorted(types_of(document))})")
    name = plain_text(_field_text(document, "name"))
    if not name:
        raise ParseError("a curated collection needs a `name`")
    source = document.get("source")
    summary = (
        source["content"]
        if isinstance(source, Mapping) and isinstance(source.get("content"), str)
        else plain_text(sanitize_html(_field_text(document, "summary")))
    )
    raw = document.get("orderedItems", document.get("items"))
    items = [i for i in ids_of(raw) if is_http_uri(i)]
    if len(items) > COLLECTION_ITEMS_LIMIT:
        raise ParseError(f"more than {COLLECTION_ITEMS_LIMIT} items")
    attributed = ids_of(document.get("attributedTo"))
    return ParsedCollection(
        uri=uri,
        attributed_to=attributed[0] if attributed else None,
        name=name[:NAME_LIMIT],
        summary=plain_text(summary)[:1000] if summary else "",
        items=tuple(items),
    )
