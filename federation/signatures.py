"""HTTP Signatures (draft-cavage, rsa-sha256) on bovine's primitives, with reasons on failure.

Outgoing: POST signs `(request-target) host date digest`, GET `(request-target) host date`;
the request target keeps the query string (paged collections are fetched with ?cursor=).
Inbound: bovine's own checker logs and returns None, raises on RFC 9421 headers and drops
the query string from `(request-target)`; so verification is assembled here from its
pieces (header parsing, message building, key verification, digest) and every failure is
a SignatureError whose reason a 401 can carry.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime, parsedate_to_datetime
from functools import lru_cache
from urllib.parse import urlsplit

from bovine.crypto.digest import validate_digest
from bovine.crypto.helper import content_digest_sha256
from bovine.crypto.http_signature import HttpSignature
from bovine.crypto.signature import Signature
from bovine.crypto.types import CryptographicIdentifier, CryptographicSecret

# Mastodon accepts a Date up to 12 hours old, and allows for a little clock skew ahead.
MAX_AGE = timedelta(hours=12)
MAX_SKEW = timedelta(hours=1)
POST_HEADERS = ("(request-target)", "host", "date", "digest")
GET_HEADERS = ("(request-target)", "host", "date")


class SignatureError(Exception):
    """A request whose signature cannot be accepted (answer 401 with the reason)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class PublicKey:
    """A resolved public key: its id, the actor that owns it, and the PEM."""

    key_id: str
    owner: str
    pem: str

    def identifier(self) -> CryptographicIdentifier:
        return _identifier(self.pem, self.owner)


@lru_cache(maxsize=4096)
def _identifier(pem: str, owner: str) -> CryptographicIdentifier:
    """A PEM parsed once per process (loading it costs as much as verifying a signature)."""
    return CryptographicIdentifier.from_pem(pem, owner)


# Resolves a keyId to its key; `refresh=True` asks to bypass any cache (key rotation).
KeyResolver = Callable[[str, bool], Awaitable[PublicKey | None]]


@dataclass(frozen=True)
class Verified:
    """A valid signature: the key that made it and the actor who owns that key."""

    key_id: str
    owner: str


def http_date(moment: datetime | None = None) -> str:
    """An HTTP Date header value (RFC 9110 IMF-fixdate)."""
    return format_datetime((moment or datetime.now(UTC)).astimezone(UTC), usegmt=True)


def digest_header(body: bytes) -> str:
    """The `Digest` header of a body (SHA-256, as Mastodon expects it)."""
    return content_digest_sha256(body, prefix="SHA-256")


def request_target(method: str, url: str) -> str:
    """`(request-target)` value: lowercase method, path and query string."""
    parts = urlsplit(url)
    path = parts.path or "/"
    return f"{method.lower()} {path}?{parts.query}" if parts.query else f"{method.lower()} {path}"


def sign_request(
    method: str,
    url: str,
    key: CryptographicSecret,
    *,
    body: bytes | None = None,
    digest: str | None = None,
    date: str | None = None,
) -> dict[str, str]:
    """The headers (Host, Date, Digest for POST, Signature) that sign one request.

    Pass `digest` when the same body goes to many inboxes: digest once, sign per request.
    """
    method = method.upper()
    headers = {"host": urlsplit(url).netloc, "date": date or http_date()}
    names = GET_HEADERS
    if method != "GET":
        headers["digest"] = digest or digest_header(body or b"")
        names = POST_HEADERS
    message = HttpSignature().with_field("(request-target)", request_target(method, url))
    for name in names[1:]:
        message.with_field(name, headers[name])
    return {
        "Host": headers["host"],
        "Date": headers["date"],
        **({"Digest": headers["digest"]} if "digest" in headers else {}),
        "Signature": message.sign_for_http_draft(key),
    }


def signature_key_id(headers: Mapping[str, str]) -> str | None:
    """The keyId a draft-cavage Signature header names (to refuse blocked hosts early)."""
    value = {k.lower(): v for k, v in headers.items()}.get("signature")
    if not value or "signature-input" in {k.lower() for k in headers}:
        return None
    try:
        return _parse_signature(value).key_id
    except SignatureError:
        return None


def _parse_date(value: str) -> datetime:
    try:
        moment = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError) as exc:
        raise SignatureError(f"unreadable Date header {value!r}") from exc
    if moment is None:
        raise SignatureError(f"unreadable Date header {value!r}")
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _parse_signature(value: str) -> Signature:
    try:
        return Signature.from_signature_header(value)
    except (KeyError, IndexError) as exc:
        raise SignatureError(
            "malformed Signature header (needs keyId, headers, signature)"
        ) from exc
    except ValueError as exc:
        raise SignatureError(f"unsupported signature algorithm: {exc.args[-1]}") from exc


def _message(
    fields: list[str], target: str, headers: Mapping[str, str], parsed: Signature
) -> HttpSignature:
    message = HttpSignature()
    for name in fields:
        if name == "(request-target)":
            message.with_field(name, target)
        elif name == "(created)":
            message.with_field(name, parsed.created)
        elif name == "(expires)":
            message.with_field(name, parsed.expires)
        elif name in headers:
            message.with_field(name, headers[name])
        else:
            raise SignatureError(f"signed header {name!r} is missing from the request")
    return message


async def verify_request(
    method: str,
    url: str,
    headers: Mapping[str, str],
    body: bytes,
    resolve_key: KeyResolver,
    *,
    now: datetime | None = None,
) -> Verified:
    """Check a request's signature; return the key owner (the caller compares it to `actor`).

    `url` is the URL as requested (path and query); `headers` are looked up lowercase.
    """
    headers = {k.lower(): v for k, v in headers.items()}
    if "signature-input" in headers:
        raise SignatureError("RFC 9421 signatures are not accepted here; sign with draft-cavage")
    if "signature" not in headers:
        raise SignatureError("the request is not signed (no Signature header)")
    parsed = _parse_signature(headers["signature"])
    fields = [f.lower() for f in parsed.fields if f]
    is_post = method.upper() != "GET" and method.upper() != "HEAD"
    required = ("(request-target)", "host", "date", "digest") if is_post else GET_HEADERS
    for name in required:
        if name == "date" and name not in fields and "(created)" in fields:
            continue
        if name == "digest" and "content-digest" in fields:
            continue
        if name not in fields:
            raise SignatureError(f"the signature does not cover {name!r}")

    moment = (
        datetime.fromtimestamp(parsed.created, UTC)
        if "date" not in fields and parsed.created
        else _parse_date(headers.get("date", ""))
    )
    current = now or datetime.now(UTC)
    if moment < current - MAX_AGE:
        raise SignatureError("the Date is more than 12 hours old")
    if moment > current + MAX_SKEW:
        raise SignatureError("the Date is in the future")
    if parsed.expires and datetime.fromtimestamp(parsed.expires, UTC) < current:
        raise SignatureError("the signature has expired")

    if is_post and not validate_digest(headers, body):
        raise SignatureError("the Digest does not match the body")

    # The query string belongs in (request-target) (draft-cavage); some implementations
    # (bovine itself) sign the path alone, which is harmless to accept for reading.
    targets = [request_target(method, url)]
    if not is_post and urlsplit(url).query:
        targets.append(request_target(method, urlsplit(url).path))
    messages = [_message(fields, target, headers, parsed) for target in targets]

    for refresh in (False, True):
        try:
            key = await resolve_key(parsed.key_id, refresh)
        except SignatureError:
            raise
        except Exception as exc:  # the resolver's network or parse failure, as a reason
            raise SignatureError(f"cannot resolve key {parsed.key_id}: {exc}") from exc
        if key is None:
            raise SignatureError(f"unknown key {parsed.key_id}")
        try:
            identifier = key.identifier()
        except ValueError as exc:
            raise SignatureError(f"unusable public key {parsed.key_id}") from exc
        for message in messages:
            try:
                owner = message.verify_with_identity(identifier, parsed.signature)
            except (ValueError, TypeError) as exc:  # bad base64 and the like
                raise SignatureError("the signature is not valid base64") from exc
            if owner:
                return Verified(key_id=parsed.key_id, owner=owner)
    raise SignatureError(f"the signature does not verify with key {parsed.key_id}")
