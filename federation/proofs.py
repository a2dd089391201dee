"""FEP-8b32 Object Integrity Proofs (`DataIntegrityProof`, cryptosuite `eddsa-jcs-2022`).

An Announce may embed the announced object with a proof made by its origin actor's
Ed25519 key (a `Multikey` listed in the actor's `assertionMethod`, FEP-521a). When that
proof verifies, the object can be stored without asking its origin; when it does not,
the caller falls back to fetching the object from its origin. Nothing here trusts the
embedded object on any other ground.

Verification follows the eddsa-jcs-2022 suite (W3C vc-di-eddsa): the proof options (the
proof without `proofValue`) and the document without `proof` are each canonicalised with
JCS (RFC 8785) and hashed with SHA-256; the signature is Ed25519 over the two hashes,
proof options first. bovine 0.5.19 decodes the Multikey; its own `verify_document` is not
used because it re-serialises the proof through a pydantic model, which rewrites
`created` (Fedify writes nanoseconds) and refuses extra members, so valid proofs from
other software fail there.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from typing import Any

import jcs
from bovine.crypto.multibase import decode_multibase_public_key, multibase_decode
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric import ed25519
from sqlalchemy.ext.asyncio import AsyncSession

from federation.fetch import Fetcher, FetchError
from federation.parse import as_list, has_type, id_of
from federation.remote import fetch_actor, get_remote_actor
from federation.urls import host_of, same_origin

PROOF_TYPE = "DataIntegrityProof"
CRYPTOSUITE = "eddsa-jcs-2022"
PURPOSE = "assertionMethod"


class ProofError(Exception):
    """A proof we cannot accept, with the reason (the object is then fetched instead)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def has_proof(document: Any) -> bool:
    """True when `document` is an object carrying a `proof` member."""
    return isinstance(document, Mapping) and isinstance(document.get("proof"), Mapping)


def _hash(value: Any) -> bytes:
    return hashlib.sha256(jcs.canonicalize(value)).digest()


def signing_input(document: Mapping[str, Any]) -> tuple[bytes, bytes, str]:
    """(data to verify, signature, verificationMethod) of a document with its proof.

    Raises ProofError when the proof is not an eddsa-jcs-2022 DataIntegrityProof made
    for assertion, or is malformed.
    """
    proof = document.get("proof")
    if not isinstance(proof, Mapping):
        raise ProofError("pas de preuve (proof)")
    if proof.get("type") != PROOF_TYPE:
        raise ProofError(f"type de preuve non pris en charge : {proof.get('type')!r}")
    if proof.get("cryptosuite") != CRYPTOSUITE:
        raise ProofError(f"suite non prise en charge : {proof.get('cryptosuite')!r}")
    if proof.get("proofPurpose") != PURPOSE:
        raise ProofError(f"la preuve n'est pas faite pour {PURPOSE}")
    method = proof.get("verificationMethod")
    value = proof.get("proofValue")
    if not isinstance(method, str) or not method or not isinstance(value, str) or not value:
        raise ProofError("preuve sans verificationMethod ou proofValue")
    try:
        signature = multibase_decode(value)
    except (ValueError, IndexError) as exc:
        raise ProofError("proofValue illisible (multibase base58btc attendu)") from exc
    options = {k: v for k, v in proof.items() if k != "proofValue"}
    unsecured = {k: v for k, v in document.items() if k != "proof"}
    if "@context" in options:
        # The document's context must start with the proof's (vc-di-eddsa, verify step 3).
        declared, found = as_list(options["@context"]), as_list(unsecured.get("@context"))
        if found[: len(declared)] != declared:
            raise ProofError("le @context de la preuve ne correspond pas au document")
        unsecured["@context"] = options["@context"]
    try:
        data = _hash(options) + _hash(unsecured)
    except (TypeError, ValueError) as exc:  # not JSON-canonicalisable (e.g. non-finite)
        raise ProofError(f"document non canonisable : {exc}") from exc
    return data, signature, method


def assertion_keys(actor_uri: str, document: Mapping[str, Any]) -> dict[str, str]:
    """The Multikeys an actor document lists for assertion: key id -> publicKeyMultibase.

    Only keys embedded in `assertionMethod`, controlled by the actor itself, count.
    """
    found: dict[str, str] = {}
    for entry in as_list(document.get("assertionMethod")):
        if not isinstance(entry, Mapping) or not has_type(entry, "Multikey"):
            continue
        key_id, multibase = id_of(entry.get("id")), entry.get("publicKeyMultibase")
        controller = id_of(entry.get("controller"))
        if key_id and isinstance(multibase, str) and controller == actor_uri:
            found[key_id] = multibase
    return found


def verify_with(document: Mapping[str, Any], multibase: str) -> None:
    """Check the document's proof with one Ed25519 Multikey (raises ProofError)."""
    data, signature, _ = signing_input(document)
    try:
        key = decode_multibase_public_key(multibase)
    except (ValueError, IndexError) as exc:
        raise ProofError("clé Multikey illisible") from exc
    if not isinstance(key, ed25519.Ed25519PublicKey):
        raise ProofError("la clé de la preuve n'est pas une clé Ed25519")
    try:
        key.verify(signature, data)
    except InvalidSignature as exc:
        raise ProofError("la preuve ne correspond pas au document (signature invalide)") from exc


async def verify_object_proof(
    session: AsyncSession, fetcher: Fetcher, document: Mapping[str, Any]
) -> str:
    """Verify an embedded object's proof against its origin actor; the actor's URI.

    The key must be an assertion Multikey of the actor the object is attributed to, on the
    object's own origin. The actor's cached document is used when it lists the key (so a
    proof verifies while the origin is down); otherwise the actor is fetched once more.
    Raises ProofError with the reason.
    """
    object_id = id_of(document.get("id")) or ""
    author = id_of(document.get("attributedTo")) or ""
    _, _, method = signing_input(document)
    if not object_id or not author:
        raise ProofError("objet sans id ou sans attributedTo")
    if not same_origin(author, object_id):
        raise ProofError(f"l'objet est attribué à un autre hôte ({host_of(author)})")
    if not same_origin(method, object_id):
        raise ProofError(f"preuve signée par une clé d'un autre hôte ({host_of(method)})")
    actor = await get_remote_actor(session, author)
    keys = assertion_keys(author, actor.document | {"id": author}) if actor is not None else {}
    if method not in keys:
        try:
            actor = await fetch_actor(session, fetcher, author, refresh=True)
        except FetchError as exc:
            raise ProofError(f"clé de la preuve introuvable : {exc.reason}") from exc
        keys = assertion_keys(author, actor.document | {"id": author})
    if method not in keys:
        raise ProofError(f"{method} n'est pas une clé d'assertion de {author}")
    verify_with(document, keys[method])
    return author
