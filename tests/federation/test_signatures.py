"""HTTP signatures: round trips, and each way a signature must be refused (with a reason)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from bovine.crypto.http_signature import HttpSignature
from bovine.crypto.types import CryptographicSecret

from federation.signatures import (
    PublicKey,
    SignatureError,
    digest_header,
    http_date,
    sign_request,
    verify_request,
)

INBOX = "https://maillage.test/inbox"
KEY_ID = "https://peer.test/users/alice#main-key"
OWNER = "https://peer.test/users/alice"
BODY = b'{"type": "Create", "actor": "https://peer.test/users/alice"}'


@pytest.fixture
def secret(key_pairs) -> CryptographicSecret:
    return CryptographicSecret.from_pem(KEY_ID, key_pairs[0][1])


@pytest.fixture
def resolver(key_pairs):
    """Resolves KEY_ID to the first key pair's public key; counts calls by refresh flag."""
    calls: list[bool] = []

    async def resolve(key_id: str, refresh: bool) -> PublicKey | None:
        calls.append(refresh)
        return PublicKey(key_id, OWNER, key_pairs[0][0]) if key_id == KEY_ID else None

    resolve.calls = calls  # type: ignore[attr-defined]
    return resolve


def as_received(headers: dict[str, str]) -> dict[str, str]:
    return {k.lower(): v for k, v in headers.items()}


async def test_signed_post_verifies_and_names_the_key_owner(secret, resolver):
    headers = sign_request("POST", INBOX, secret, body=BODY)
    assert headers["Digest"] == digest_header(BODY)
    assert 'headers="(request-target) host date digest"' in headers["Signature"]

    verified = await verify_request("POST", "/inbox", as_received(headers), BODY, resolver)

    assert (verified.owner, verified.key_id) == (OWNER, KEY_ID)


async def test_signed_get_with_query_string_verifies(secret, resolver):
    url = "https://maillage.test/actors/t/initiatives?cursor=50"
    headers = sign_request("GET", url, secret)
    assert 'headers="(request-target) host date"' in headers["Signature"]

    verified = await verify_request(
        "GET", "/actors/t/initiatives?cursor=50", as_received(headers), b"", resolver
    )
    assert verified.owner == OWNER


async def test_signed_get_of_another_page_is_refused(secret, resolver):
    headers = sign_request("GET", "https://maillage.test/actors/t/initiatives?cursor=50", secret)
    with pytest.raises(SignatureError, match="does not verify"):
        await verify_request(
            "GET", "/actors/t/initiatives?cursor=100", as_received(headers), b"", resolver
        )


async def test_get_signed_over_the_path_alone_verifies(secret, resolver):
    """bovine signs `(request-target)` without the query string; such peers still read us."""
    date = http_date()
    signature = (
        HttpSignature()
        .with_field("(request-target)", "get /actors/t/initiatives")
        .with_field("host", "maillage.test")
        .with_field("date", date)
        .sign_for_http_draft(secret)
    )
    headers = {"host": "maillage.test", "date": date, "signature": signature}
    verified = await verify_request(
        "GET", "/actors/t/initiatives?cursor=50", headers, b"", resolver
    )
    assert verified.owner == OWNER


async def test_tampered_body_is_refused(secret, resolver):
    headers = as_received(sign_request("POST", INBOX, secret, body=BODY))
    with pytest.raises(SignatureError, match="Digest does not match"):
        await verify_request("POST", "/inbox", headers, BODY + b" ", resolver)


async def test_digest_swapped_with_the_body_is_refused(secret, resolver):
    """An attacker recomputing the Digest breaks the signature instead."""
    other = b'{"type": "Delete"}'
    headers = as_received(sign_request("POST", INBOX, secret, body=BODY))
    headers["digest"] = digest_header(other)
    with pytest.raises(SignatureError, match="does not verify"):
        await verify_request("POST", "/inbox", headers, other, resolver)


async def test_wrong_key_is_refused_after_one_refresh(key_pairs, resolver):
    impostor = CryptographicSecret.from_pem(KEY_ID, key_pairs[1][1])
    headers = as_received(sign_request("POST", INBOX, impostor, body=BODY))
    with pytest.raises(SignatureError, match="does not verify"):
        await verify_request("POST", "/inbox", headers, BODY, resolver)
    assert resolver.calls == [False, True]  # the cached key, then a refetch (rotation)


async def test_unknown_key_is_refused(key_pairs, resolver):
    stranger = CryptographicSecret.from_pem("https://peer.test/users/bob#main-key", key_pairs[1][1])
    headers = as_received(sign_request("POST", INBOX, stranger, body=BODY))
    with pytest.raises(SignatureError, match="unknown key"):
        await verify_request("POST", "/inbox", headers, BODY, resolver)


@pytest.mark.parametrize(
    ("offset", "reason"),
    [(timedelta(hours=-13), "more than 12 hours old"), (timedelta(hours=2), "in the future")],
)
async def test_date_outside_the_window_is_refused(secret, resolver, offset, reason):
    date = http_date(datetime.now(UTC) + offset)
    headers = as_received(sign_request("POST", INBOX, secret, body=BODY, date=date))
    with pytest.raises(SignatureError, match=reason):
        await verify_request("POST", "/inbox", headers, BODY, resolver)


async def test_date_eleven_hours_old_is_accepted(secret, resolver):
    date = http_date(datetime.now(UTC) - timedelta(hours=11))
    headers = as_received(sign_request("POST", INBOX, secret, body=BODY, date=date))
    assert (await verify_request("POST", "/inbox", headers, BODY, resolver)).owner == OWNER


async def test_rfc9421_signature_is_a_clean_refusal(resolver):
    headers = {
        "host": "maillage.test",
        "date": http_date(),
        "content-digest": "sha-256=:X48E9qOokqqrvdts8nOJRJN3OWDUoyWxBf7kbu9DBPE=:",
        "signature-input": 'sig1=("@method" "@authority" "@path");created=1618884473;keyid="k"',
        "signature": "sig1=:aGVsbG8=:",
    }
    with pytest.raises(SignatureError, match="RFC 9421"):
        await verify_request("POST", "/inbox", headers, BODY, resolver)


async def test_unsigned_request_is_refused(resolver):
    with pytest.raises(SignatureError, match="not signed"):
        await verify_request("POST", "/inbox", {"date": http_date()}, BODY, resolver)


@pytest.mark.parametrize(
    ("signature", "reason"),
    [
        ('keyId="k",headers="date"', "malformed"),
        ('keyId="k",algorithm="hmac-sha256",headers="date",signature="x"', "unsupported"),
    ],
)
async def test_malformed_signature_header_is_refused(resolver, signature, reason):
    headers = {"date": http_date(), "signature": signature}
    with pytest.raises(SignatureError, match=reason):
        await verify_request("POST", "/inbox", headers, BODY, resolver)


async def test_post_signature_must_cover_the_digest(secret, resolver):
    date = http_date()
    signature = (
        HttpSignature()
        .with_field("(request-target)", "post /inbox")
        .with_field("host", "maillage.test")
        .with_field("date", date)
        .sign_for_http_draft(secret)
    )
    headers = {
        "host": "maillage.test",
        "date": date,
        "digest": digest_header(BODY),
        "signature": signature,
    }
    with pytest.raises(SignatureError, match="does not cover 'digest'"):
        await verify_request("POST", "/inbox", headers, BODY, resolver)


async def test_resolver_failure_becomes_a_reason(secret):
    async def broken(key_id: str, refresh: bool) -> PublicKey | None:
        raise OSError("connection refused")

    headers = as_received(sign_request("POST", INBOX, secret, body=BODY))
    with pytest.raises(SignatureError, match=r"cannot resolve key .*connection refused"):
        await verify_request("POST", "/inbox", headers, BODY, broken)


async def test_mastodon_style_headers_with_content_type_verify(secret, resolver):
    """Mastodon also signs content-type; extra covered headers are fine."""
    date, digest = http_date(), digest_header(BODY)
    signature = (
        HttpSignature()
        .with_field("(request-target)", "post /inbox")
        .with_field("host", "maillage.test")
        .with_field("date", date)
        .with_field("digest", digest)
        .with_field("content-type", "application/activity+json")
        .sign_for_http_draft(secret)
    )
    headers = {
        "host": "maillage.test",
        "date": date,
        "digest": digest,
        "content-type": "application/activity+json",
        "signature": signature,
    }
    assert (await verify_request("POST", "/inbox", headers, BODY, resolver)).owner == OWNER
