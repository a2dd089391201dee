"""FEP-8b32 proofs made by Fedify (an independent implementation) verify with ours."""

from __future__ import annotations

import json

import pytest

from federation.proofs import ProofError, verify_with

pytestmark = pytest.mark.interop

PAGE = {
    "@context": "https://www.w3.org/ns/activitystreams",
    "id": "https://origin.example/initiatives/jardin",
    "type": "Page",
    "name": "Jardin partagé des Ponts",
    "content": "<p>Cultiver ensemble</p>",
    "attributedTo": "https://origin.example/actors/commune",
}


async def test_a_page_signed_by_fedify_verifies_and_a_tampered_one_does_not(peer):
    signed = await peer("sign-object", json.dumps(PAGE))
    assert signed["ok"], signed.get("error")
    document, multikey = signed["document"], signed["publicKeyMultibase"]
    assert document["proof"]["cryptosuite"] == "eddsa-jcs-2022"
    assert signed["keyId"] == "https://origin.example/actors/commune#ed25519-key"

    verify_with(document, multikey)

    with pytest.raises(ProofError, match="signature invalide"):
        verify_with({**document, "name": "Arnaque"}, multikey)
