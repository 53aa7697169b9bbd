"""Signing and verifying BMDX objects: spec/vectors/signatures and JOSE attacks."""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from typing import Any

import pytest
import rfc8785
from cryptography.hazmat.primitives.asymmetric import ed25519
from jwcrypto import jwk, jws
from jwcrypto.common import base64url_decode, base64url_encode

from bmdx.conformance._internal.adapter_client import AdapterClient, Response
from bmdx.conformance.suite._spec import b64, unb64, vector_json

UNIFORM = ("BMDX-SEC-010", "signature-invalid")

# The requirement each negative vector breaks (its `violated`), pinned.
_VIOLATED = {
    "BMDX-SEC-010": pytest.mark.requirement("BMDX-SEC-010:c5d8b13cca510d8d"),
    "BMDX-SEC-012": pytest.mark.requirement(
        "BMDX-SEC-012:6cba93d519c7abf8", "BMDX-SEC-002:4b672568e4fbfd25"
    ),
    "BMDX-SEC-013": pytest.mark.requirement("BMDX-SEC-013:9f734e85f79ef6d7"),
    "BMDX-SEC-014": pytest.mark.requirement("BMDX-SEC-014:17af861b60fff509"),
    "BMDX-SEC-015": pytest.mark.requirement("BMDX-SEC-015:b2c533959cb024ad"),
    "BMDX-SEC-016": pytest.mark.requirement("BMDX-SEC-016:14739ce86cd7564f"),
    "BMDX-SEC-017": pytest.mark.requirement("BMDX-SEC-017:098f02320a9ce64c"),
    "BMDX-SEC-018": pytest.mark.requirement("BMDX-SEC-018:1c9bdb9b582e0428"),
    "BMDX-SEC-019": pytest.mark.requirement("BMDX-SEC-019:4851f2a56f26e978"),
    "BMDX-SEC-020": pytest.mark.requirement("BMDX-SEC-020:53670864cf08fe3e"),
    "BMDX-SEC-021": pytest.mark.requirement("BMDX-SEC-021:ac412c2244620390"),
    "BMDX-SEC-022": pytest.mark.requirement("BMDX-SEC-022:56b8c07d6eccd97c"),
    "BMDX-SEC-023": pytest.mark.requirement("BMDX-SEC-023:56d8670bbfaa6d99"),
}


def _keys() -> dict[str, Any]:
    return vector_json("signatures", "keys.json")  # type: ignore[no-any-return]


def _trusted() -> list[dict[str, Any]]:
    return list(_keys()["trusted"]["keys"])


def _vector_cases() -> list[Any]:
    out = []
    for case in vector_json("signatures", "cases.json"):
        if case["kind"] == "raw":
            continue  # bare RFC known answers: no BMDX object to send
        marks = [pytest.mark.requirement("BMDX-ADP-024:8afaf906bf5cdaf2")]
        if case["name"].endswith("_fail"):
            marks.append(_VIOLATED[case["expected"]["violated"]])
            marks.append(pytest.mark.requirement("BMDX-ADP-015:e31776740ff52c55"))
        else:
            marks.append(pytest.mark.requirement("BMDX-SEC-011:7cbd609f6f54e4bd"))
        out.append(pytest.param(case, id=case["name"], marks=marks))
    if not out:
        raise RuntimeError("no signature vectors in the spec: zero vectors would run")
    return out


def _verify(adapter: AdapterClient, document: Any, **extra: Any) -> Response:
    return adapter.call("verify", document=document, keys=_trusted(), **extra)


def _assert_uniform_refusal(response: Response) -> None:
    assert not response.ok, "a bad signature was accepted"
    assert (response.requirement, response.reason) == UNIFORM


@pytest.mark.parametrize("case", _vector_cases())
def test_signature_vectors(
    adapter: AdapterClient, supports: Callable[[str], None], case: dict[str, Any]
) -> None:
    """A verifier MUST accept a signature only if every check of the security profile
    passes and the signature verifies over the signing input, and MUST report every
    failed check with the same error, so that a failed verification reveals nothing about
    which check failed."""
    supports("verify")
    extra: dict[str, Any] = {}
    document = case["document"] if case["kind"] == "document" else case["jws"]
    if case["kind"] == "jws" and "payload" not in case["jws"]:
        extra["payload"] = b64(bytes.fromhex(case["payload_hex"]))
    response = _verify(adapter, document, **extra)
    if case["name"].endswith("_fail"):
        _assert_uniform_refusal(response)
        return
    assert response.ok, response.error
    assert response.result == {"kids": case["expected"]["signers"]}


# --- signing, checked by the suite's own JOSE library ------------------------------------

_UNSIGNED = {
    "objectType": "KeyRevocation",
    "participant": "urn:bmdx:participant:hopital-saint-eloi",
    "kid": "kPrK_qmxVWaYVA9wwBF6Iuo3vVzz7TxHCTwXBygrS4k",
    "reason": "superseded",
    "effectiveHeight": 1200,
}


def _payload(document: dict[str, Any]) -> bytes:
    return rfc8785.dumps({k: v for k, v in document.items() if k != "signatures"})


@pytest.mark.requirement(
    "BMDX-SEC-011:7cbd609f6f54e4bd",
    "BMDX-SEC-014:17af861b60fff509",
    "BMDX-SEC-021:ac412c2244620390",
    "BMDX-SEC-001:072d496bba515111",
    "BMDX-ADP-023:7ed12c4e1a62ce1f",
)
@pytest.mark.parametrize("key_name", ["ed25519", "p256"])
def test_sign_round_trip(
    adapter: AdapterClient, supports: Callable[[str], None], key_name: str
) -> None:
    """A signature over a BMDX object MUST be a JWS (RFC 7515) with a detached payload
    equal to the RFC 8785 canonical form of the object without its signatures member; the
    signing input MUST be ASCII(BASE64URL(protected header)) '.' BASE64URL(payload), and
    each signature MUST be one entry {protected, signature} of the object's signatures
    array."""
    supports("sign")
    private = _keys()["private"][key_name]
    response = adapter.call("sign", document=_UNSIGNED, key=private)
    assert response.ok, response.error
    signed = response.result["document"]
    assert {k: v for k, v in signed.items() if k != "signatures"} == _UNSIGNED
    [entry] = signed["signatures"]
    assert set(entry) == {"protected", "signature"}
    header = json.loads(base64url_decode(entry["protected"]))
    public = jwk.JWK(**{k: v for k, v in private.items() if k != "d"})
    assert header["kid"] == public.thumbprint()
    assert set(header) <= {"alg", "kid", "typ"}
    assert header["alg"] in ({"Ed25519", "EdDSA"} if key_name == "ed25519" else {"ES256"})
    assert len(base64url_decode(entry["signature"])) == 64
    # Third-party oracle: jwcrypto verifies the detached JWS over the canonical payload.
    token = jws.JWS()
    token.deserialize(
        json.dumps({"payload": base64url_encode(_payload(signed)), **entry}),
        key=public,
        alg=header["alg"],
    )
    assert token.payload == _payload(signed)
    if adapter.supports("verify"):
        trusted = [{k: v for k, v in private.items() if k != "d"}]
        verified = adapter.call("verify", document=signed, keys=trusted)
        assert verified.ok, verified.error
        assert verified.result == {"kids": [public.thumbprint()]}


@pytest.mark.requirement("BMDX-SEC-025:9987762099cce07a", "BMDX-FMT-020:719ccd724906c65c")
def test_signature_survives_xml(adapter: AdapterClient, supports: Callable[[str], None]) -> None:
    """A signed BMDX object MUST still verify after conversion from JSON to XML and back,
    because its signatures cover only the canonical JSON data model."""
    for cmd in ("sign", "verify", "convert"):
        supports(cmd)
    private = _keys()["private"]["ed25519"]
    signed = adapter.call("sign", document=_UNSIGNED, key=private).result["document"]
    xml = adapter.call("convert", input=b64(json.dumps(signed).encode()), to="xml")
    assert xml.ok, xml.error
    back = adapter.call("convert", input=xml.result["output"], to="json")
    assert back.ok, back.error
    returned = json.loads(unb64(back.result["output"]))
    verified = _verify(adapter, returned)
    assert verified.ok, verified.error


# --- JOSE attacks, forged by the suite --------------------------------------------------


def _signed_by_suite(header: dict[str, Any], key: jwk.JWK, alg: str) -> dict[str, Any]:
    """The fixed document with one signature forged by jwcrypto under ``header``."""
    token = jws.JWS(_payload(_UNSIGNED))
    token.allowed_algs = [alg]
    token.add_signature(key, alg=alg, protected=json.dumps(header))
    general = json.loads(token.serialize())
    entry = general["signatures"][0] if "signatures" in general else general
    return {
        **_UNSIGNED,
        "signatures": [{"protected": entry["protected"], "signature": entry["signature"]}],
    }


def _ed25519() -> tuple[jwk.JWK, str]:
    private = jwk.JWK(**_keys()["private"]["ed25519"])
    return private, private.thumbprint()


@pytest.mark.requirement("BMDX-SEC-012:6cba93d519c7abf8", "BMDX-SEC-002:4b672568e4fbfd25")
def test_alg_none(adapter: AdapterClient, supports: Callable[[str], None]) -> None:
    """A verifier MUST reject a JWS whose protected alg is none, is forbidden by the
    security profile, or is not one of the profile's signature algorithms (ES256, Ed25519,
    and EdDSA with an Ed25519 key)."""
    supports("verify")
    _, kid = _ed25519()
    for alg in ("none", "None", "NONE"):
        protected = base64url_encode(json.dumps({"alg": alg, "kid": kid}))
        forged = {**_UNSIGNED, "signatures": [{"protected": protected, "signature": ""}]}
        _assert_uniform_refusal(_verify(adapter, forged))


@pytest.mark.requirement("BMDX-SEC-012:6cba93d519c7abf8", "BMDX-SEC-002:4b672568e4fbfd25")
@pytest.mark.parametrize("alg", ["HS256", "HS384", "HS512"])
def test_hmac_keyed_with_the_public_key(
    adapter: AdapterClient, supports: Callable[[str], None], alg: str
) -> None:
    """A verifier MUST reject a JWS whose protected alg is forbidden by the security
    profile (algorithm confusion: an HMAC keyed with the signer's public key)."""
    supports("verify")
    private, kid = _ed25519()
    public_bytes = json.dumps(json.loads(private.export_public()), sort_keys=True).encode()
    secret = jwk.JWK(kty="oct", k=base64url_encode(public_bytes))
    forged = _signed_by_suite({"alg": alg, "kid": kid}, secret, alg)
    _assert_uniform_refusal(_verify(adapter, forged))


@pytest.mark.requirement("BMDX-SEC-016:14739ce86cd7564f")
@pytest.mark.parametrize("member", ["jwk", "jku", "x5u"])
def test_embedded_keys(
    adapter: AdapterClient, supports: Callable[[str], None], member: str
) -> None:
    """A verifier MUST reject a JWS whose protected or unprotected header carries a key or
    a key reference (jwk, jku, x5u, x5c, x5t, x5t#S256), and MUST take verification keys
    only from its registry of participant keys."""
    supports("verify")
    # The attacker signs with a key of their own and points at it from the header.
    attacker = jwk.JWK.generate(kty="OKP", crv="Ed25519")
    value: Any = (
        json.loads(attacker.export_public()) if member == "jwk" else "https://attacker.invalid/k"
    )
    header = {"alg": "EdDSA", "kid": attacker.thumbprint(), member: value}
    forged = _signed_by_suite(header, attacker, "EdDSA")
    _assert_uniform_refusal(_verify(adapter, forged))
    # Even naming a trusted kid, an embedded key is refused.
    _, kid = _ed25519()
    private, _ = _ed25519()
    header = {"alg": "EdDSA", "kid": kid, member: value}
    _assert_uniform_refusal(_verify(adapter, _signed_by_suite(header, private, "EdDSA")))


@pytest.mark.requirement("BMDX-SEC-017:098f02320a9ce64c", "BMDX-SEC-018:1c9bdb9b582e0428")
@pytest.mark.parametrize(
    "extra",
    [
        pytest.param({"crit": ["exp"], "exp": 1}, id="crit-unknown"),
        pytest.param({"b64": False, "crit": ["b64"]}, id="b64-false-crit"),
        pytest.param({"b64": True}, id="b64-true"),
    ],
)
def test_crit_and_b64(
    adapter: AdapterClient, supports: Callable[[str], None], extra: dict[str, Any]
) -> None:
    """A verifier MUST reject a JWS whose header carries crit, since the profile defines no
    header extension, and a JWS whose header carries b64, with any value."""
    supports("verify")
    _, kid = _ed25519()
    header = {"alg": "EdDSA", "kid": kid, **extra}
    protected = base64url_encode(json.dumps(header))
    # Signed over the standard signing input, so only the header is wrong.
    signing_input = f"{protected}.{base64url_encode(_payload(_UNSIGNED))}".encode()
    raw = ed25519.Ed25519PrivateKey.from_private_bytes(
        base64url_decode(_keys()["private"]["ed25519"]["d"])
    )
    signature = base64url_encode(raw.sign(signing_input))
    forged = {**_UNSIGNED, "signatures": [{"protected": protected, "signature": signature}]}
    _assert_uniform_refusal(_verify(adapter, forged))


@pytest.mark.requirement("BMDX-SEC-010:c5d8b13cca510d8d", "BMDX-ADP-015:e31776740ff52c55")
def test_failures_look_alike(adapter: AdapterClient, supports: Callable[[str], None]) -> None:
    """A verifier MUST report every failed check with the same error, so that a failed
    verification reveals nothing about which check failed."""
    supports("verify")
    answers = set()
    for case in vector_json("signatures", "cases.json"):
        if case["kind"] == "document" and case["name"].endswith("_fail"):
            response = _verify(adapter, copy.deepcopy(case["document"]))
            assert response.error is not None
            answers.add(json.dumps(dict(response.error.items()), sort_keys=True))
    assert len(answers) == 1, answers
