"""Plain-data records of initiatives, revisions and corrections, public or for moderators.

`public_record` is the only shape in which an initiative leaves the instance (JSON API,
exports, federation build on it): it never carries the proposer's e-mail or account, nor
moderation notes. Moderators get `moderation_record`, which adds them.
"""

from __future__ import annotations

from datetime import UTC, datetime
from functools import cache
from typing import Any
from urllib.parse import urlsplit

import nh3
from markdown_it import MarkdownIt

from directory.models import Correction, Initiative, Person, Revision, Theme

# What a description may contain once rendered: text structure and links, no images,
# scripts, styles or embedded frames (remote content is sanitized the same way).
ALLOWED_TAGS = {
    "p",
    "br",
    "hr",
    "strong",
    "em",
    "b",
    "i",
    "a",
    "ul",
    "ol",
    "li",
    "blockquote",
    "code",
    "pre",
    "h2",
    "h3",
    "h4",
    "h5",
    "h6",
}
ALLOWED_ATTRIBUTES = {"a": {"href", "title"}, "ol": {"start"}}
URL_SCHEMES = {"http", "https", "mailto"}
# Public revision messages: edit summaries. Moderation and correction messages are
# moderators' notes and stay private.
PUBLIC_MESSAGE_ACTIONS = ("create", "update")


@cache
def _markdown() -> MarkdownIt:
    # commonmark with raw HTML disabled: `<script>` in a description stays text.
    return MarkdownIt("commonmark", {"html": False, "linkify": False, "typographer": False})


def sanitize_html(html: str) -> str:
    """Keep only harmless tags and attributes (nh3/Ammonia); links get rel=noopener etc."""
    return nh3.clean(
        html,
        tags=ALLOWED_TAGS,
        attributes=ALLOWED_ATTRIBUTES,
        url_schemes=URL_SCHEMES,
        link_rel="noopener noreferrer nofollow ugc",
    )


def render_description(markdown: str) -> str:
    """A Markdown description as sanitized HTML (raw HTML disabled, then nh3)."""
    if not markdown.strip():
        return ""
    return sanitize_html(_markdown().render(markdown)).strip()


def timestamp(value: datetime | None) -> str | None:
    """ISO 8601 in UTC; SQLite hands back naive datetimes that were stored as UTC."""
    if value is None:
        return None
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(UTC).isoformat().replace("+00:00", "Z")


def local_uri(base_url: str, slug: str) -> str:
    return f"{base_url.rstrip('/')}/initiatives/{slug}"


def theme_record(theme: Theme) -> dict[str, Any]:
    return {
        "slug": theme.slug,
        "iri": theme.iri,
        "labels": {"fr": theme.label_fr, "en": theme.label_en},
        "core": theme.core_slug,
        "hashtag": theme.hashtag or (theme.parent.hashtag if theme.parent else ""),
    }


def public_record(initiative: Initiative, *, base_url: str, html: bool = True) -> dict[str, Any]:
    """Every public field of an initiative; nothing about who proposed it or moderation.

    Without `html`, no `description_html` (the Markdown source only: exports, where
    rendering took three quarters of the time)."""
    uri = initiative.uri or local_uri(base_url, initiative.slug)
    return {
        "id": initiative.id,
        "slug": initiative.slug,
        "uri": uri,
        "local": initiative.is_local,
        "origin": initiative.origin or urlsplit(base_url).netloc,
        "via": list(initiative.via or []),
        "name": initiative.name,
        "summary": initiative.summary,
        "description": initiative.description,
        **({"description_html": render_description(initiative.description)} if html else {}),
        "themes": [theme_record(t) for t in initiative.themes],
        "actor_kinds": initiative.actor_kinds,
        "needs": initiative.needs,
        "status": initiative.status,
        "address": {
            "street": initiative.street,
            "postal_code": initiative.postal_code,
            "city": initiative.city,
            "insee_code": initiative.insee_code,
        },
        "latitude": initiative.latitude,
        "longitude": initiative.longitude,
        "contacts": {
            "website": initiative.website,
            "email": initiative.email,
            "phone": initiative.phone,
            "fediverse": initiative.fediverse,
            "social_links": list(initiative.social_links or []),
        },
        "opening_hours": initiative.opening_hours,
        "image": initiative.image_url or None,
        "same_as": list(initiative.same_as or []),
        "source": (
            {"name": initiative.source, "id": initiative.source_id} if initiative.source else None
        ),
        "created": timestamp(initiative.created_at),
        "updated": timestamp(initiative.updated_at),
        "published": timestamp(initiative.published_at),
    }


def moderation_record(initiative: Initiative, *, base_url: str) -> dict[str, Any]:
    """The public record plus what moderators need: state, proposer and private note."""
    return {
        **public_record(initiative, base_url=base_url),
        "moderation_state": initiative.moderation_state,
        "proposer_email": initiative.proposer_email,
        "proposer_id": initiative.proposer_id,
        "moderation_note": initiative.moderation_note,
    }


def public_author_name(person: Person | None, label: str) -> str:
    """How an edit's author is shown to everyone: never an e-mail address."""
    if person is not None:
        return person.display_name or f"compte n°{person.id}"
    if not label or "@" in label:
        return "anonyme"
    return label


def revision_record(
    revision: Revision, person: Person | None, *, private: bool = False
) -> dict[str, Any]:
    """One edit; `private` (moderators) adds the author's account, e-mail and notes."""
    record: dict[str, Any] = {
        "id": revision.id,
        "action": revision.action,
        "created": timestamp(revision.created_at),
        "author": {"name": public_author_name(person, revision.author)},
        "changes": revision.changes,
        "message": (
            revision.message if private or revision.action in PUBLIC_MESSAGE_ACTIONS else ""
        ),
    }
    if private:
        record["author"] |= {
            "person_id": revision.person_id,
            "email": person.email if person is not None else "",
            "label": revision.author,
        }
    return record


def correction_record(correction: Correction, initiative: Initiative | None) -> dict[str, Any]:
    """A proposed correction, for moderators (it carries the proposer's e-mail)."""
    return {
        "id": correction.id,
        "initiative": initiative.slug if initiative is not None else None,
        "initiative_name": initiative.name if initiative is not None else None,
        "state": correction.state,
        "changes": correction.changes,
        "message": correction.message,
        "proposer_email": correction.proposer_email,
        "proposer_id": correction.proposer_id,
        "moderation_note": correction.moderation_note,
        "created": timestamp(correction.created_at),
        "decided": timestamp(correction.decided_at),
    }
