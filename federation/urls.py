"""Every URL of the ActivityPub contract, derived from the instance's base URL.

One place knows the shapes (DESIGN.md section 4), so routes, rendering and parsing agree:
actors at `{base}/actors/{name}`, keys at `{actor}#main-key`, per-actor inbox, outbox,
followers, following and featured under the actor, the shared inbox at `{base}/inbox`,
initiatives at `{base}/initiatives/{slug}`, the Maillage JSON-LD context at `{base}/ns`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING
from urllib.parse import quote, urlencode, urlsplit

if TYPE_CHECKING:
    from directory.models import Initiative
    from web.settings import Settings

# The instance actor's name (FEP-d556 also finds it as acct:{host}@{host} and as the host URL).
INSTANCE_ACTOR = "instance"
PUBLIC = "https://www.w3.org/ns/activitystreams#Public"
AS_CONTEXT = "https://www.w3.org/ns/activitystreams"
SECURITY_CONTEXT = "https://w3id.org/security/v1"


class Urls:
    """The URLs of one instance."""

    def __init__(self, base_url: str) -> None:
        self.base = base_url.rstrip("/")
        parts = urlsplit(self.base)
        self.host = parts.netloc
        self.origin = f"{parts.scheme}://{parts.netloc}"

    @classmethod
    def of(cls, settings: Settings) -> Urls:
        return cls(settings.base_url)

    # Actors and what hangs off them.
    def actor(self, name: str) -> str:
        return f"{self.base}/actors/{quote(name, safe='')}"

    def key_id(self, name: str) -> str:
        return f"{self.actor(name)}#main-key"

    def inbox(self, name: str) -> str:
        return f"{self.actor(name)}/inbox"

    def outbox(self, name: str) -> str:
        return f"{self.actor(name)}/outbox"

    def followers(self, name: str) -> str:
        return f"{self.actor(name)}/followers"

    def following(self, name: str) -> str:
        return f"{self.actor(name)}/following"

    def featured(self, name: str) -> str:
        return f"{self.actor(name)}/featured"

    def initiatives_collection(self, name: str) -> str:
        """The territory actor's paged collection of all current initiatives (backfill)."""
        return f"{self.actor(name)}/initiatives"

    def initiatives_page(self, name: str, cursor: str = "") -> str:
        """A page of the initiatives collection; an empty cursor is the first page."""
        query = urlencode({"cursor": cursor}) if cursor else "page=true"
        return f"{self.initiatives_collection(name)}?{query}"

    def curated_collections(self, name: str) -> str:
        """The territory actor's curated collections, inline (followers backfill them)."""
        return f"{self.actor(name)}/collections"

    @property
    def shared_inbox(self) -> str:
        return f"{self.base}/inbox"

    @property
    def instance_actor(self) -> str:
        return self.actor(INSTANCE_ACTOR)

    # Objects.
    def initiative(self, slug: str) -> str:
        return f"{self.base}/initiatives/{quote(slug, safe='')}"

    def initiative_uri(self, initiative: Initiative) -> str:
        """The canonical id: its own for remote initiatives, derived from the slug for ours."""
        return (
            initiative.uri
            if initiative.origin and initiative.uri
            else self.initiative(initiative.slug)
        )

    def collection(self, slug: str) -> str:
        """A curated collection of initiatives (its page and its AS2 object)."""
        return f"{self.base}/collections/{quote(slug, safe='')}"

    def activity(self, token: str) -> str:
        return f"{self.base}/activities/{quote(token, safe='')}"

    def theme_page(self, slug: str) -> str:
        """The HTML page of a theme (public pages own it; actors link to it as `url`)."""
        return f"{self.base}/themes/{quote(slug, safe='')}"

    def tag(self, hashtag: str) -> str:
        return f"{self.base}/tags/{quote(hashtag, safe='')}"

    @property
    def context(self) -> str:
        return f"{self.base}/ns"

    @property
    def home(self) -> str:
        return f"{self.base}/"

    # Reverse lookups.
    def actor_name(self, uri: str) -> str | None:
        """The local actor name an actor URI designates, or None if not one of ours."""
        prefix = f"{self.base}/actors/"
        if not uri.startswith(prefix):
            return None
        rest = uri[len(prefix) :].split("#", 1)[0]
        return rest if rest and "/" not in rest else None

    def is_local(self, uri: str) -> bool:
        return (
            uri == self.base or uri.startswith(self.base + "/") or uri.startswith(self.base + "#")
        )

    def initiative_slug(self, uri: str) -> str | None:
        """The slug of one of our initiatives from its id, or None."""
        prefix = f"{self.base}/initiatives/"
        if not uri.startswith(prefix):
            return None
        rest = uri[len(prefix) :]
        return rest if rest and "/" not in rest and "?" not in rest and "#" not in rest else None


def host_of(uri: str) -> str:
    """The host (with port when present) of a URI, lowercased; '' when there is none."""
    return urlsplit(uri).netloc.lower()


def same_origin(a: str, b: str) -> bool:
    """Scheme and authority equal (the rule for who may speak for an object)."""
    pa, pb = urlsplit(a), urlsplit(b)
    return bool(pa.netloc) and (pa.scheme, pa.netloc.lower()) == (pb.scheme, pb.netloc.lower())
