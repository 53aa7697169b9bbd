"""BMDX signatures: the normative vectors, the API, and interoperability with jwcrypto."""

from __future__ import annotations

import json
from typing import Any

import pytest
from jwcrypto import jwk as jwcrypto_jwk
from jwcrypto import jws as jwcrypto_jws

from bmdx.reference._internal.b64 import b64url_decode, b64url_encode
from bmdx.reference._internal.canonical import signing_payload
from bmdx.reference._internal.errors import CryptoError, SignatureError
from bmdx.reference._internal.jws import (
    parse_compact,
    sign_detached,
    sign_jws_object,
    verify_compact,
    verify_jws_object,
    verify_raw,
    verify_signature,
)
from bmdx.reference._internal.keys import KeySet, generate_key, import_private_jwk
from bmdx.reference._internal.profile import security_profile
from bmdx.reference._internal.schema import schema_set
from bmdx.reference._internal.signing import (
    sign_document,
    sign_document_known,
    verify_document,
)
from bmdx.reference._internal.xmlmap import json_to_xml, xml_to_json
from tests import vectors
from tools.vectors import gen_signatures

CASES: list[dict[str, Any]] = vectors.load("signatures", "cases.json")
KEYS = vectors.load("signatures", "keys.json")
TRUSTED = KeySet.from_jwks(KEYS["trusted"])
ED = import_private_jwk(KEYS["private"]["ed25519"])
P256 = import_private_jwk(KEYS["private"]["p256"])


def _outcome(case: dict[str, Any]) -> dict[str, Any]:
    return gen_signatures.check(case, TRUSTED)


@pytest.mark.requirement("BMDX-SEC-011")
@pytest.mark.parametrize("case", CASES, ids=[c["name"] for c in CASES])
def test_vector(case: dict[str, Any]) -> None:
    expected = {k: v for k, v in case["expected"].items() if k != "payload_hex"}
    assert _outcome(case) == expected
    assert case["name"].endswith("_fail") is (not expected["valid"])


def test_committed_vectors_are_what_the_generator_writes() -> None:
    vectors.assert_regenerates("signatures", gen_signatures.build)


def test_vectors_cover_every_signature_requirement() -> None:
    violated = {c["expected"]["violated"] for c in CASES if not c["expected"]["valid"]}
    assert {f"BMDX-SEC-0{n}" for n in (10, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23)} <= (
        violated
    )


@pytest.mark.requirement("BMDX-SEC-011")
def test_signed_vector_documents_are_schema_valid() -> None:
    valid_docs = [
        c["document"] for c in CASES if c["kind"] == "document" and c["expected"]["valid"]
    ]
    for doc in valid_docs:
        schema_set().validate(doc)


@pytest.mark.requirement("BMDX-SEC-011")
def test_signature_is_a_standard_detached_jws_that_jwcrypto_verifies() -> None:
    doc = next(c["document"] for c in CASES if c["name"] == "two-signers")
    payload = signing_payload(doc)
    for entry in doc["signatures"]:
        token = jwcrypto_jws.JWS()
        token.deserialize(json.dumps(entry))
        header = json.loads(b64url_decode(entry["protected"]))
        key = ED if header["kid"] == ED.kid else P256
        verifier = jwcrypto_jwk.JWK(**key.public.to_jwk())
        token.allowed_algs = ["ES256", "Ed25519", "EdDSA"]
        token.verify(verifier, detached_payload=payload)


@pytest.mark.requirement("BMDX-SEC-011")
def test_jwcrypto_signature_verifies_with_our_verifier() -> None:
    doc = {"objectType": "Participant", "id": "urn:bmdx:participant:x", "registered": 3}
    payload = signing_payload(doc)
    token = jwcrypto_jws.JWS(payload)
    token.add_signature(
        jwcrypto_jwk.JWK(**KEYS["private"]["p256"]),
        protected=json.dumps({"alg": "ES256", "kid": P256.kid}),
    )
    general = json.loads(token.serialize(compact=False))
    signed = dict(
        doc, signatures=[{"protected": general["protected"], "signature": general["signature"]}]
    )
    assert [v.kid for v in verify_document(signed, TRUSTED)] == [P256.kid]


def test_signing_is_deterministic_and_leaves_existing_signatures_valid() -> None:
    doc = {"objectType": "Participant", "id": "urn:bmdx:participant:x", "registered": 3}
    once = sign_document(doc, P256)
    assert sign_document(doc, P256) == once  # RFC 6979 nonces
    twice = sign_document(once, ED)
    assert twice["signatures"][0] == once["signatures"][0]
    assert [v.kid for v in verify_document(twice, TRUSTED)] == [P256.kid, ED.kid]
    assert "signatures" not in doc


@pytest.mark.requirement("BMDX-SEC-024")
def test_required_signer_must_be_among_the_signatures() -> None:
    doc = sign_document({"objectType": "Participant", "registered": 1}, ED)
    verify_document(doc, TRUSTED, signers=[ED.kid])
    with pytest.raises(SignatureError) as info:
        verify_document(doc, TRUSTED, signers=[P256.kid])
    assert (info.value.reason, info.value.violated) == ("missing-signer", "BMDX-SEC-024")


@pytest.mark.requirement("BMDX-SEC-021")
def test_declared_kid_that_is_not_the_thumbprint_fails_document_verification() -> None:
    jwk = dict(ED.public.to_jwk(), kid="hospital-key-1")
    keys = KeySet.from_jwks({"keys": [jwk]}, kid_policy="declared")
    forged = {"objectType": "Participant"}
    header = json.dumps({"alg": "Ed25519", "kid": "hospital-key-1"})
    # The vector builder's helper for hand-written headers.
    entry = gen_signatures._entry(header, signing_payload(forged), ED)
    with pytest.raises(SignatureError) as info:
        verify_document(dict(forged, signatures=[entry]), keys)
    assert (info.value.reason, info.value.violated) == ("kid-not-thumbprint", "BMDX-SEC-021")


def test_standalone_jws_round_trip_and_schema() -> None:
    jws = sign_jws_object(b"hello", [ED, P256])
    schema_set().validate(jws)
    payload, verified = verify_jws_object(jws, TRUSTED)
    assert payload == b"hello"
    assert [v.typ for v in verified] == ["bmdx+jws", "bmdx+jws"]
    with pytest.raises(SignatureError) as info:
        verify_jws_object(jws, TRUSTED, payload=b"hello")
    assert info.value.reason == "payload-ambiguous"
    detached = sign_jws_object(b"hello", [ED], detached=True)
    with pytest.raises(SignatureError) as info:
        verify_jws_object(detached, TRUSTED, payload=b"hellO")
    assert info.value.reason == "signature-mismatch"


def test_compact_round_trip() -> None:
    entry = sign_detached(b"abc", ED)
    token = f"{entry['protected']}.{b64url_encode(b'abc')}.{entry['signature']}"
    payload, verified = verify_compact(token, TRUSTED)
    assert (payload, verified.kid, verified.alg) == (b"abc", ED.kid, "Ed25519")
    detached = f"{entry['protected']}..{entry['signature']}"
    assert parse_compact(detached)[1] is None
    assert verify_compact(detached, TRUSTED, payload=b"abc")[0] == b"abc"
    for bad in ("a.b", "a.b.c.d", f".{b64url_encode(b'abc')}.{entry['signature']}", 5):
        with pytest.raises(SignatureError) as info:
            verify_compact(bad, TRUSTED)
        assert (info.value.reason, info.value.violated) == ("malformed", "BMDX-SEC-019")


def test_key_agreement_key_cannot_sign_or_verify() -> None:
    enc = generate_key("X25519")
    with pytest.raises(SignatureError) as info:
        sign_detached(b"x", enc)
    assert info.value.reason == "key-use"
    alg = security_profile().signatures.algorithms["Ed25519"]
    with pytest.raises(SignatureError) as info:
        verify_raw(alg, enc.public, b"x", bytes(64))
    assert (info.value.reason, info.value.violated) == ("key-use", "BMDX-SEC-032")


@pytest.mark.requirement("BMDX-SEC-010")
def test_every_failure_looks_the_same_from_outside() -> None:
    failures = [c for c in CASES if not c["expected"]["valid"]]
    seen: set[tuple[str, ...]] = set()
    reasons = set()
    for case in failures:
        with pytest.raises(SignatureError) as info:
            verify_document(case["document"], TRUSTED)
        error = info.value
        assert isinstance(error, CryptoError)
        reasons.add(error.reason)
        seen.add((str(error), error.message, error.requirement, json.dumps(error.problem())))
    assert len(seen) == 1, seen
    assert len(reasons) > 15  # the diagnostics differ; the outside does not
    (text, message, requirement, problem) = seen.pop()
    assert text == "BMDX-SEC-010: signature verification failed"
    assert message == "signature verification failed"
    assert requirement == "BMDX-SEC-010"
    assert json.loads(problem)["reason"] == "signature-invalid"
    assert json.loads(problem)["status"] == 422


def test_signature_entry_with_unexpected_types_is_malformed() -> None:
    for entry in (
        {"protected": 1, "signature": "x"},
        {"signature": "x"},
        [],
        "x",
        {"protected": ""},
    ):
        with pytest.raises(SignatureError) as info:
            verify_signature(entry, b"", TRUSTED)
        assert (info.value.reason, info.value.violated) == ("malformed", "BMDX-SEC-019")


@pytest.mark.requirement("BMDX-SEC-025", "BMDX-FMT-020")
def test_signed_objects_verify_after_json_to_xml_and_back() -> None:
    signed = [c for c in CASES if c["kind"] == "document" and c["expected"]["valid"]]
    for case in signed:
        xml = json_to_xml(case["document"])
        back = xml_to_json(xml)
        assert back == case["document"]
        assert [v.kid for v in verify_document(back, TRUSTED)] == case["expected"]["signers"]
    xml = json_to_xml(signed[0]["document"]).replace(
        b"<effectiveHeight>100</effectiveHeight>", b"<effectiveHeight>101</effectiveHeight>"
    )
    with pytest.raises(SignatureError) as info:
        verify_document(xml_to_json(xml), TRUSTED)
    assert info.value.reason == "signature-mismatch"


@pytest.mark.requirement("BMDX-SEC-010")
def test_signatures_made_here_are_known_good_for_their_own_key_only() -> None:
    doc = {"objectType": "AuditEvent", "eventId": "urn:uuid:1", "n": 1}
    typ = security_profile().signatures.typ
    signed, made = sign_document_known(doc, [ED, P256], typ=typ)
    assert {k: v for k, v in signed.items() if k != "signatures"} == doc
    assert len(signed["signatures"]) == 2
    verified = verify_document(signed, {k.public.kid: k.public for k in (ED, P256)})
    assert [v.kid for v in verified] == [ED.public.kid, P256.public.kid]
    assert {t[0] for t in made} == {ED.public.thumbprint, P256.public.thumbprint}
    algorithms = security_profile().signatures.algorithms
    for key, (thumb, message, signature) in zip(
        (ED, P256), sorted(made, key=lambda t: t[0] != ED.public.thumbprint), strict=True
    ):
        assert thumb == key.public.thumbprint
        verify_raw(algorithms[key.public.signing_alg or ""], key.public, message, signature)
    # A triple names its key: under any other key the arithmetic runs, and fails.
    other = generate_key("Ed25519")
    [(_, message, signature)] = [t for t in made if t[0] == ED.public.thumbprint]
    with pytest.raises(SignatureError) as caught:
        verify_raw(algorithms["EdDSA"], other.public, message, signature, known_good=made)
    assert caught.value.violated == "BMDX-SEC-010"
