"""JOSE attacks on BMDX signatures, built independently with jwcrypto and by hand.

Each attack must fail with the one uniform SignatureError (BMDX-SEC-010), whose
diagnostic ``reason`` and ``violated`` requirement name the check that caught it.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from cryptography.hazmat.primitives import hashes, hmac
from cryptography.hazmat.primitives.asymmetric import ec
from jwcrypto import jwk as jwcrypto_jwk
from jwcrypto import jws as jwcrypto_jws

from bmdx.reference._internal.b64 import b64url_encode
from bmdx.reference._internal.canonical import signing_payload
from bmdx.reference._internal.errors import SignatureError
from bmdx.reference._internal.jws import sign_raw, signing_input
from bmdx.reference._internal.keys import KeySet, generate_key
from bmdx.reference._internal.signing import sign_document, verify_document

VICTIM = generate_key("ES256")
VICTIM_ED = generate_key("Ed25519")
ATTACKER = generate_key("Ed25519")
TRUSTED = KeySet([VICTIM.public, VICTIM_ED.public])
DOC: dict[str, Any] = {
    "objectType": "KeyRotation",
    "participant": "urn:bmdx:participant:victim",
    "oldKid": VICTIM.kid,
    "newKey": ATTACKER.public.to_public_key_object(),
    "effectiveHeight": 1,
}
PAYLOAD = signing_payload(DOC)
UNIFORM = ("BMDX-SEC-010", "signature verification failed")


def _rejected(entries: list[Any], reason: str, violated: str) -> None:
    with pytest.raises(SignatureError) as info:
        verify_document(dict(DOC, signatures=entries), TRUSTED)
    error = info.value
    assert (error.reason, error.violated) == (reason, violated)
    assert (error.requirement, error.message) == UNIFORM
    assert str(error) == "BMDX-SEC-010: signature verification failed"
    assert error.problem()["reason"] == "signature-invalid"


def _jwcrypto_entry(key: dict[str, Any], protected: dict[str, Any], alg: str) -> dict[str, str]:
    token = jwcrypto_jws.JWS(PAYLOAD)
    token.allowed_algs = [alg]
    token.add_signature(jwcrypto_jwk.JWK(**key), alg=alg, protected=json.dumps(protected))
    general = json.loads(token.serialize(compact=False))
    return {"protected": general["protected"], "signature": general["signature"]}


def _entry(
    header: str | dict[str, Any], key: Any = ATTACKER, payload: bytes = PAYLOAD
) -> dict[str, str]:
    text = header if isinstance(header, str) else json.dumps(header, separators=(",", ":"))
    protected = b64url_encode(text.encode())
    return {
        "protected": protected,
        "signature": b64url_encode(sign_raw(key, signing_input(protected, payload))),
    }


@pytest.mark.requirement("BMDX-SEC-012")
def test_alg_none() -> None:
    # An unsecured JWS (RFC 7515 appendix A.5): empty signature.
    protected = b64url_encode(json.dumps({"alg": "none", "kid": VICTIM.kid}).encode())
    _rejected([{"protected": protected, "signature": ""}], "alg-none", "BMDX-SEC-012")
    for spelling in ("None", "NONE", "nOnE"):
        _rejected([_entry({"alg": spelling, "kid": VICTIM.kid})], "alg-none", "BMDX-SEC-012")


@pytest.mark.requirement("BMDX-SEC-012")
def test_hs256_keyed_with_the_public_key() -> None:
    public_pem_like = json.dumps(VICTIM.public.to_jwk()).encode()
    for secret in (public_pem_like, VICTIM.public.jwk["x"].encode()):
        protected = b64url_encode(json.dumps({"alg": "HS256", "kid": VICTIM.kid}).encode())
        mac = hmac.HMAC(secret, hashes.SHA256())
        mac.update(signing_input(protected, PAYLOAD))
        _rejected(
            [{"protected": protected, "signature": b64url_encode(mac.finalize())}],
            "alg-forbidden",
            "BMDX-SEC-012",
        )
    oct_key = {"kty": "oct", "k": b64url_encode(public_pem_like)}
    _rejected(
        [_jwcrypto_entry(oct_key, {"alg": "HS256", "kid": VICTIM.kid}, "HS256")],
        "alg-forbidden",
        "BMDX-SEC-012",
    )


@pytest.mark.requirement("BMDX-SEC-013")
def test_algorithm_substitution_between_profile_algorithms() -> None:
    # An Ed25519 signature presented as ES256 under the victim's Ed25519 kid.
    _rejected(
        [_entry({"alg": "ES256", "kid": VICTIM_ED.kid}, VICTIM_ED)],
        "alg-key-mismatch",
        "BMDX-SEC-013",
    )
    _rejected(
        [_entry({"alg": "EdDSA", "kid": VICTIM.kid}, VICTIM)], "alg-key-mismatch", "BMDX-SEC-013"
    )


@pytest.mark.requirement("BMDX-SEC-016")
@pytest.mark.parametrize(
    "member",
    [
        {"jwk": ATTACKER.public.to_jwk()},
        {"jku": "https://attacker.invalid/jwks.json"},
        {"x5u": "https://attacker.invalid/cert.pem"},
        {"x5c": ["MIIBszCCAVmgAwIBAgIU"]},
        {"x5t": "dGh1bWI"},
        {"x5t#S256": "dGh1bWI"},
    ],
    ids=lambda m: next(iter(m)),
)
def test_embedded_keys_and_key_urls(member: dict[str, Any], network_blocked: list[Any]) -> None:
    _rejected(
        [_entry({"alg": "Ed25519", "kid": VICTIM_ED.kid, **member})], "embedded-key", "BMDX-SEC-016"
    )
    good = sign_document(DOC, VICTIM_ED)["signatures"][0]
    _rejected([dict(good, header=member)], "embedded-key", "BMDX-SEC-016")
    assert network_blocked == []


@pytest.mark.requirement("BMDX-SEC-016")
def test_embedded_jwk_signed_by_jwcrypto_with_the_attacker_key() -> None:
    attacker = jwcrypto_jwk.JWK.generate(kty="OKP", crv="Ed25519")
    protected = {"alg": "EdDSA", "kid": VICTIM_ED.kid, "jwk": json.loads(attacker.export_public())}
    _rejected(
        [_jwcrypto_entry(json.loads(attacker.export_private()), protected, "EdDSA")],
        "embedded-key",
        "BMDX-SEC-016",
    )


@pytest.mark.requirement("BMDX-SEC-017")
def test_unknown_crit() -> None:
    _rejected(
        [
            _entry(
                {"alg": "Ed25519", "kid": VICTIM_ED.kid, "crit": ["urn:x"], "urn:x": 1}, VICTIM_ED
            )
        ],
        "crit",
        "BMDX-SEC-017",
    )
    _rejected(
        [_entry({"alg": "Ed25519", "kid": VICTIM_ED.kid, "crit": []}, VICTIM_ED)],
        "crit",
        "BMDX-SEC-017",
    )


@pytest.mark.requirement("BMDX-SEC-018")
def test_b64_inconsistencies() -> None:
    for value in (False, True, "false", 0):
        header = {"alg": "Ed25519", "kid": VICTIM_ED.kid, "b64": value}
        protected = b64url_encode(json.dumps(header).encode())
        unencoded = protected.encode() + b"." + PAYLOAD
        entry = {"protected": protected, "signature": b64url_encode(sign_raw(VICTIM_ED, unencoded))}
        _rejected([entry], "b64", "BMDX-SEC-018")
        _rejected([_entry(header, VICTIM_ED)], "b64", "BMDX-SEC-018")


@pytest.mark.requirement("BMDX-SEC-019")
def test_duplicate_header_names() -> None:
    for text in (
        f'{{"alg":"Ed25519","kid":"{VICTIM_ED.kid}","kid":"{ATTACKER.kid}"}}',
        f'{{"alg":"HS256","alg":"Ed25519","kid":"{VICTIM_ED.kid}"}}',
        f'{{"alg":"Ed25519","kid":"{VICTIM_ED.kid}","al\\u0067":"none"}}',
    ):
        _rejected([_entry(text, VICTIM_ED)], "duplicate-header", "BMDX-SEC-019")


@pytest.mark.requirement("BMDX-SEC-019")
def test_headers_that_are_not_objects() -> None:
    for text in ("[]", '"alg"', "null", "{", '{"alg":"Ed25519"} x', "\ufeff{}"):
        _rejected([_entry(text, VICTIM_ED)], "malformed-header", "BMDX-SEC-019")


@pytest.mark.requirement("BMDX-SEC-020")
def test_bad_base64url() -> None:
    good = sign_document(DOC, VICTIM_ED)["signatures"][0]
    bad_signatures = [
        good["signature"] + "=",
        good["signature"][:10] + " " + good["signature"][10:],
        good["signature"][:10] + "\n" + good["signature"][10:],
        good["signature"].replace("-", "+").replace("_", "/") + "+/",
        good["signature"][:-1],
        good["signature"] + "A",
    ]
    for signature in bad_signatures:
        with pytest.raises(SignatureError) as info:
            verify_document(dict(DOC, signatures=[dict(good, signature=signature)]), TRUSTED)
        assert info.value.violated in {"BMDX-SEC-020", "BMDX-SEC-014"}
        assert info.value.reason in {"bad-base64url", "signature-length"}
    _rejected([dict(good, protected=good["protected"] + "=")], "bad-base64url", "BMDX-SEC-020")
    _rejected([dict(good, signature=good["signature"] + "=")], "bad-base64url", "BMDX-SEC-020")


@pytest.mark.requirement("BMDX-SEC-023")
def test_zip() -> None:
    _rejected(
        [_entry({"alg": "Ed25519", "kid": VICTIM_ED.kid, "zip": "DEF"}, VICTIM_ED)],
        "zip",
        "BMDX-SEC-023",
    )


@pytest.mark.requirement("BMDX-SEC-014")
def test_es256_der_and_wrong_lengths() -> None:
    protected = b64url_encode(json.dumps({"alg": "ES256", "kid": VICTIM.kid}).encode())
    der = VICTIM.key.sign(signing_input(protected, PAYLOAD), ec.ECDSA(hashes.SHA256()))  # type: ignore[call-arg, union-attr]
    _rejected(
        [{"protected": protected, "signature": b64url_encode(der)}],
        "signature-length",
        "BMDX-SEC-014",
    )
    raw = sign_raw(VICTIM, signing_input(protected, PAYLOAD))
    for sig in (raw[:63], raw + b"\x00", b"\x00" + raw):
        _rejected(
            [{"protected": protected, "signature": b64url_encode(sig)}],
            "signature-length",
            "BMDX-SEC-014",
        )


@pytest.mark.requirement("BMDX-SEC-010")
def test_high_s_and_zero_signatures_fail_like_any_other() -> None:
    protected = b64url_encode(json.dumps({"alg": "ES256", "kid": VICTIM.kid}).encode())
    n = 0xFFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551
    raw = sign_raw(VICTIM, signing_input(protected, PAYLOAD))
    r, s = int.from_bytes(raw[:32], "big"), int.from_bytes(raw[32:], "big")
    # (r, n - s) is the other valid ECDSA signature; BMDX does not require low-s,
    # but r || (s + n) does not fit 32 octets and r = 0 never verifies.
    assert verify_document(
        dict(
            DOC,
            signatures=[
                {
                    "protected": protected,
                    "signature": b64url_encode(r.to_bytes(32, "big") + (n - s).to_bytes(32, "big")),
                }
            ],
        ),
        TRUSTED,
    )
    _rejected(
        [{"protected": protected, "signature": b64url_encode(bytes(64))}],
        "signature-mismatch",
        "BMDX-SEC-010",
    )
