"""Generate spec/vectors/signatures/: BMDX signatures and the JOSE attacks on them.

Fixed, published test keys (``keys.json``): the Ed25519 key of RFC 8032 section 7.1
TEST 1 and the P-256 key of RFC 6979 appendix A.2.5.  Ed25519 signing is
deterministic by definition and ES256 signing uses RFC 6979 nonces, so every byte
here is reproducible; the raw cases reproduce the signatures printed in both RFCs.

``cases.json`` lists each case with what a verifier must conclude: ``valid`` (and the
signers), or rejected with the requirement and the diagnostic reason of the check
that fails (the reason is never shown to the sender; see BMDX-SEC-010).  Cases whose
name ends in ``_fail`` are negative.  The generator re-verifies every case with the
reference verifier and stops if it disagrees with the declared outcome.

Run ``python tools/vectors/gen_signatures.py [OUTDIR]``.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives import hashes, hmac
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature

from bmdx.reference._internal import ijson
from bmdx.reference._internal.b64 import b64url_encode
from bmdx.reference._internal.canonical import canonical_bytes, signing_payload
from bmdx.reference._internal.errors import SignatureError
from bmdx.reference._internal.jws import (
    sign_jws_object,
    sign_raw,
    signing_input,
    verify_jws_object,
    verify_raw,
)
from bmdx.reference._internal.keys import KeySet, PrivateKey, import_private_jwk
from bmdx.reference._internal.profile import security_profile
from bmdx.reference._internal.signing import sign_document, verify_document

DEFAULT_OUT = Path(__file__).resolve().parents[2] / "spec" / "vectors" / "signatures"


def _b64(hexstr: str) -> str:
    return b64url_encode(bytes.fromhex(hexstr))


# RFC 8032 section 7.1, TEST 1.
ED25519_JWK = {
    "kty": "OKP",
    "crv": "Ed25519",
    "d": _b64("9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60"),
    "x": _b64("d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a"),
}
RFC8032_TEST1_SIGNATURE = (
    "e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555"
    "fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b"
)
# RFC 6979 appendix A.2.5 (P-256), and its SHA-256 signature of "sample".
P256_JWK = {
    "kty": "EC",
    "crv": "P-256",
    "d": _b64("c9afa9d845ba75166b5c215767b1d6934e50c3db36e89b127b8a622b120f6721"),
    "x": _b64("60fed4ba255a9d31c961eb74c6356d68c049b8923b61fa6ce669622e60f29fb6"),
    "y": _b64("7903fe1008b8bc99a41ae9e95628bc64f2f1b20c2d7e9f5177a3c294d4462299"),
}
RFC6979_SAMPLE_SIGNATURE = (
    "efd48b2aacb6a8fd1140dd9cd45e81d69d2c877b56aaf991c34d0ea84eaf3716"
    "f7cb1c942d657c41d436c7a1b6e29f65f3e900dbb9aff4064dc4ab2f843acda8"
)
# A key the verifier does not trust (RFC 8032 section 7.1, TEST 2).
OTHER_ED25519_JWK = {
    "kty": "OKP",
    "crv": "Ed25519",
    "d": _b64("4ccd089b28ff96da9db6c346ec114e0f5b8a319f35aba624da8cf6ed4fb8a6fb"),
    "x": _b64("3d4017c3e843895a92b70aa74d1b7ebc9c982ccf2ec4968cc0cd55f12af4660c"),
}

PARTICIPANT = "urn:bmdx:participant:hopital-saint-eloi"


class _Keys:
    def __init__(self) -> None:
        self.ed = import_private_jwk(ED25519_JWK)
        self.p256 = import_private_jwk(P256_JWK)
        self.other = import_private_jwk(OTHER_ED25519_JWK)
        self.trusted = KeySet([self.ed.public, self.p256.public])


def _document(keys: _Keys) -> dict[str, Any]:
    """A schema-valid signed object: a KeyRotation from the Ed25519 key to the TEST 2 key."""
    return {
        "objectType": "KeyRotation",
        "participant": PARTICIPANT,
        "oldKid": keys.ed.kid,
        "newKey": keys.other.public.to_public_key_object(),
        "effectiveHeight": 100,
    }


def _entry(header_text: str, payload: bytes, key: PrivateKey) -> dict[str, str]:
    """A signature entry over a hand-written protected header (to build hostile cases)."""
    protected = b64url_encode(header_text.encode("utf-8"))
    return {
        "protected": protected,
        "signature": b64url_encode(sign_raw(key, signing_input(protected, payload))),
    }


def _with(doc: dict[str, Any], entries: list[dict[str, Any]]) -> dict[str, Any]:
    out = dict(doc)
    out["signatures"] = entries
    return out


def _header(**members: Any) -> str:
    return json.dumps(members, separators=(",", ":"))


def _document_cases(keys: _Keys) -> list[dict[str, Any]]:  # noqa: PLR0915 - one case per line
    doc = _document(keys)
    payload = signing_payload(doc)
    ed_kid, p_kid = keys.ed.kid, keys.p256.kid
    cases: list[dict[str, Any]] = []

    def ok(name: str, description: str, document: dict[str, Any], signers: list[str]) -> None:
        cases.append(
            {
                "name": name,
                "kind": "document",
                "description": description,
                "document": document,
                "expected": {"valid": True, "signers": signers},
            }
        )

    def bad(name: str, description: str, document: Any, reason: str, violated: str) -> None:
        cases.append(
            {
                "name": f"{name}_fail",
                "kind": "document",
                "description": description,
                "document": document,
                "expected": {"valid": False, "reason": reason, "violated": violated},
            }
        )

    signed_ed = sign_document(doc, keys.ed)
    signed_p = sign_document(doc, keys.p256)
    ok("ed25519", "A KeyRotation signed with Ed25519.", signed_ed, [ed_kid])
    ok("es256", "A KeyRotation signed with ES256 (RFC 6979 nonce).", signed_p, [p_kid])
    ok(
        "two-signers",
        "Co-signed: ES256 then Ed25519; the second signer leaves the first valid.",
        sign_document(signed_p, keys.ed),
        [p_kid, ed_kid],
    )
    ok(
        "typ",
        "The optional typ bmdx+jws in the protected header.",
        sign_document(doc, keys.ed, typ="bmdx+jws"),
        [ed_kid],
    )
    ok(
        "eddsa-alias",
        "alg EdDSA (RFC 8037 name) with an Ed25519 key is accepted on verification.",
        _with(doc, [_entry(_header(alg="EdDSA", kid=ed_kid), payload, keys.ed)]),
        [ed_kid],
    )
    ok(
        "member-order-irrelevant",
        "The same signed object with members in another order still verifies.",
        dict(reversed(list(signed_ed.items()))),
        [ed_kid],
    )

    tampered = dict(signed_ed)
    tampered["effectiveHeight"] = 99
    bad(
        "modified-payload",
        "A member changed after signing.",
        tampered,
        "signature-mismatch",
        "BMDX-SEC-010",
    )
    bad(
        "alg-none",
        "alg none with an empty signature.",
        _with(
            doc,
            [
                {
                    "protected": b64url_encode(_header(alg="none", kid=ed_kid).encode()),
                    "signature": "",
                }
            ],
        ),
        "alg-none",
        "BMDX-SEC-012",
    )
    hs_header = b64url_encode(_header(alg="HS256", kid=p_kid).encode())
    mac = hmac.HMAC(canonical_bytes(keys.p256.public.to_jwk()), hashes.SHA256())
    mac.update(signing_input(hs_header, payload))
    bad(
        "hs256-public-key",
        "HS256 keyed with the bytes of the signer's public JWK (algorithm confusion).",
        _with(doc, [{"protected": hs_header, "signature": b64url_encode(mac.finalize())}]),
        "alg-forbidden",
        "BMDX-SEC-012",
    )
    bad(
        "alg-unknown",
        "An algorithm outside the profile (ES384).",
        _with(doc, [_entry(_header(alg="ES384", kid=p_kid), payload, keys.p256)]),
        "alg-not-allowed",
        "BMDX-SEC-012",
    )
    bad(
        "alg-key-mismatch",
        "alg ES256 naming the Ed25519 key.",
        _with(doc, [_entry(_header(alg="ES256", kid=ed_kid), payload, keys.ed)]),
        "alg-key-mismatch",
        "BMDX-SEC-013",
    )
    der = sign_raw(
        keys.p256, signing_input(b64url_encode(_header(alg="ES256", kid=p_kid).encode()), payload)
    )
    der_sig = encode_dss_signature(int.from_bytes(der[:32], "big"), int.from_bytes(der[32:], "big"))
    bad(
        "es256-der",
        "An ES256 signature in ASN.1 DER instead of r||s.",
        _with(
            doc,
            [
                {
                    "protected": b64url_encode(_header(alg="ES256", kid=p_kid).encode()),
                    "signature": b64url_encode(der_sig),
                }
            ],
        ),
        "signature-length",
        "BMDX-SEC-014",
    )
    other_jwk = keys.other.public.to_jwk()
    bad(
        "embedded-jwk",
        "The attacker's key embedded as jwk, signed by the attacker, naming the victim's kid.",
        _with(
            doc,
            [
                _entry(
                    json.dumps(
                        {"alg": "Ed25519", "kid": ed_kid, "jwk": other_jwk}, separators=(",", ":")
                    ),
                    payload,
                    keys.other,
                )
            ],
        ),
        "embedded-key",
        "BMDX-SEC-016",
    )
    bad(
        "jku",
        "A key URL in the protected header.",
        _with(
            doc,
            [
                _entry(
                    _header(alg="Ed25519", kid=ed_kid, jku="https://attacker.example/k"),
                    payload,
                    keys.ed,
                )
            ],
        ),
        "embedded-key",
        "BMDX-SEC-016",
    )
    bad(
        "x5c",
        "A certificate chain in the protected header.",
        _with(doc, [_entry(_header(alg="Ed25519", kid=ed_kid, x5c=["MIIB"]), payload, keys.ed)]),
        "embedded-key",
        "BMDX-SEC-016",
    )
    unprotected_jwk = dict(signed_ed["signatures"][0])
    unprotected_jwk["header"] = {"jwk": other_jwk}
    bad(
        "unprotected-jwk",
        "A key in the unprotected header.",
        _with(doc, [unprotected_jwk]),
        "embedded-key",
        "BMDX-SEC-016",
    )
    bad(
        "crit-unknown",
        "crit naming an extension the profile does not define.",
        _with(
            doc, [_entry(_header(alg="Ed25519", kid=ed_kid, crit=["exp"], exp=1), payload, keys.ed)]
        ),
        "crit",
        "BMDX-SEC-017",
    )
    b64_header = _header(alg="Ed25519", kid=ed_kid, b64=False, crit=["b64"])
    b64_protected = b64url_encode(b64_header.encode())
    unencoded = b64_protected.encode("ascii") + b"." + payload
    bad(
        "b64-false-crit",
        "RFC 7797 unencoded payload (b64 false, crit b64).",
        _with(
            doc,
            [
                {
                    "protected": b64_protected,
                    "signature": b64url_encode(sign_raw(keys.ed, unencoded)),
                }
            ],
        ),
        "crit",
        "BMDX-SEC-017",
    )
    b64_protected = b64url_encode(_header(alg="Ed25519", kid=ed_kid, b64=False).encode())
    unencoded = b64_protected.encode("ascii") + b"." + payload
    bad(
        "b64-false",
        "b64 false without crit, signed over the unencoded payload.",
        _with(
            doc,
            [
                {
                    "protected": b64_protected,
                    "signature": b64url_encode(sign_raw(keys.ed, unencoded)),
                }
            ],
        ),
        "b64",
        "BMDX-SEC-018",
    )
    bad(
        "b64-true",
        "b64 true is the default, but the member is still refused.",
        _with(doc, [_entry(_header(alg="Ed25519", kid=ed_kid, b64=True), payload, keys.ed)]),
        "b64",
        "BMDX-SEC-018",
    )
    bad(
        "zip",
        "zip in a JWS header.",
        _with(doc, [_entry(_header(alg="Ed25519", kid=ed_kid, zip="DEF"), payload, keys.ed)]),
        "zip",
        "BMDX-SEC-023",
    )
    bad(
        "duplicate-header",
        "alg twice in the protected header; parsers disagree on which one wins.",
        _with(
            doc, [_entry(f'{{"alg":"HS256","kid":"{ed_kid}","alg":"Ed25519"}}', payload, keys.ed)]
        ),
        "duplicate-header",
        "BMDX-SEC-019",
    )
    bad(
        "header-not-json",
        "A protected header that is not JSON.",
        _with(doc, [_entry("alg=Ed25519", payload, keys.ed)]),
        "malformed-header",
        "BMDX-SEC-019",
    )
    entry_extra = dict(signed_ed["signatures"][0])
    entry_extra["payload"] = b64url_encode(payload)
    bad(
        "entry-member",
        "A signature entry with a payload member.",
        _with(doc, [entry_extra]),
        "malformed",
        "BMDX-SEC-019",
    )
    bad(
        "extra-header-member",
        "A protected header member outside alg, kid, typ.",
        _with(doc, [_entry(_header(alg="Ed25519", kid=ed_kid, iat=1), payload, keys.ed)]),
        "header-not-allowed",
        "BMDX-SEC-015",
    )
    bad(
        "missing-kid",
        "A protected header without kid.",
        _with(doc, [_entry(_header(alg="Ed25519"), payload, keys.ed)]),
        "header-missing",
        "BMDX-SEC-015",
    )
    bad(
        "typ-wrong",
        "typ other than bmdx+jws.",
        _with(doc, [_entry(_header(alg="Ed25519", kid=ed_kid, typ="JWT"), payload, keys.ed)]),
        "typ",
        "BMDX-SEC-015",
    )
    unprotected_kid = dict(signed_ed["signatures"][0])
    unprotected_kid["header"] = {"kid": ed_kid}
    bad(
        "unprotected-kid",
        "kid repeated in the unprotected header (RFC 7515 section 7.2.1).",
        _with(doc, [unprotected_kid]),
        "header-collision",
        "BMDX-SEC-015",
    )
    good = signed_ed["signatures"][0]
    padded = dict(good, signature=good["signature"] + "==")
    bad(
        "signature-padding",
        "Base64 padding on the signature.",
        _with(doc, [padded]),
        "bad-base64url",
        "BMDX-SEC-020",
    )
    sig = good["signature"]
    flipped = sig[:-1] + {"A": "B", "Q": "R", "g": "h", "w": "x"}.get(sig[-1], sig[-1])
    bad(
        "signature-unused-bits",
        "Non-zero unused bits in the last signature character (same bytes to a lax decoder).",
        _with(doc, [dict(good, signature=flipped)]),
        "bad-base64url",
        "BMDX-SEC-020",
    )
    bad(
        "protected-standard-base64",
        "The protected header in base64 with '+' and '/'.",
        _with(
            doc, [dict(good, protected=good["protected"].replace("-", "+").replace("_", "/") + "+")]
        ),
        "bad-base64url",
        "BMDX-SEC-020",
    )
    bad(
        "unknown-kid",
        "Signed by a key the verifier does not trust.",
        sign_document(doc, keys.other),
        "unknown-kid",
        "BMDX-SEC-021",
    )
    bad(
        "duplicate-signer",
        "The same signature twice.",
        _with(doc, [good, good]),
        "duplicate-signer",
        "BMDX-SEC-022",
    )
    bad(
        "no-signatures",
        "An empty signatures array.",
        _with(doc, []),
        "no-signatures",
        "BMDX-SEC-022",
    )
    limit = security_profile().signatures.max_signatures
    bad(
        "too-many-signatures",
        f"{limit + 1} signatures, one more than max_signatures.",
        _with(doc, [good] * (limit + 1)),
        "too-many-signatures",
        "BMDX-SEC-022",
    )
    mixed = sign_document(signed_p, keys.other)
    bad(
        "one-bad-of-two",
        "Two signatures, the second by an untrusted key.",
        mixed,
        "unknown-kid",
        "BMDX-SEC-021",
    )
    return cases


def _other_cases(keys: _Keys) -> list[dict[str, Any]]:
    message = b"BMDX detached payload"
    jws = sign_jws_object(message, [keys.ed, keys.p256])
    detached = sign_jws_object(message, [keys.ed], detached=True)
    return [
        {
            "name": "jws-attached",
            "kind": "jws",
            "description": "A standalone Jws object with its payload, signed by both keys.",
            "jws": jws,
            "expected": {
                "valid": True,
                "signers": [keys.ed.kid, keys.p256.kid],
                "payload_hex": message.hex(),
            },
        },
        {
            "name": "jws-detached",
            "kind": "jws",
            "description": "A standalone Jws object whose payload is given separately.",
            "jws": detached,
            "payload_hex": message.hex(),
            "expected": {"valid": True, "signers": [keys.ed.kid], "payload_hex": message.hex()},
        },
        {
            "name": "raw-ed25519-rfc8032",
            "kind": "raw",
            "description": "RFC 8032 section 7.1 TEST 1: the empty message.",
            "alg": "Ed25519",
            "kid": keys.ed.kid,
            "message_hex": "",
            "signature_hex": RFC8032_TEST1_SIGNATURE,
            "expected": {"valid": True},
        },
        {
            "name": "raw-es256-rfc6979",
            "kind": "raw",
            "description": "RFC 6979 A.2.5, SHA-256, message 'sample', as r||s.",
            "alg": "ES256",
            "kid": keys.p256.kid,
            "message_hex": b"sample".hex(),
            "signature_hex": RFC6979_SAMPLE_SIGNATURE,
            "expected": {"valid": True},
        },
    ]


def check(case: dict[str, Any], trusted: KeySet) -> dict[str, Any]:
    """Run one case through the reference verifier; return the observed outcome."""
    run: Callable[[], list[str]]
    if case["kind"] == "document":

        def run() -> list[str]:
            return [v.kid for v in verify_document(case["document"], trusted)]
    elif case["kind"] == "jws":
        detached = bytes.fromhex(case["payload_hex"]) if "payload_hex" in case else None

        def run() -> list[str]:
            _, verified = verify_jws_object(case["jws"], trusted, payload=detached)
            return [v.kid for v in verified]
    else:
        algorithm = security_profile().signatures.algorithms[case["alg"]]

        def run() -> list[str]:
            verify_raw(
                algorithm,
                trusted[case["kid"]],
                bytes.fromhex(case["message_hex"]),
                bytes.fromhex(case["signature_hex"]),
            )
            return []

    try:
        signers = run()
    except SignatureError as e:
        return {"valid": False, "reason": e.reason, "violated": e.violated}
    return {"valid": True, "signers": signers} if case["kind"] != "raw" else {"valid": True}


def build() -> dict[str, bytes]:
    keys = _Keys()
    for name, signer, message, expected in (
        ("RFC 8032", keys.ed, b"", RFC8032_TEST1_SIGNATURE),
        ("RFC 6979", keys.p256, b"sample", RFC6979_SAMPLE_SIGNATURE),
    ):
        if sign_raw(signer, message).hex() != expected:
            raise SystemExit(f"signing does not reproduce the {name} signature")
    cases = _document_cases(keys) + _other_cases(keys)
    for case in cases:
        observed = check(case, keys.trusted)
        wanted = {k: v for k, v in case["expected"].items() if k != "payload_hex"}
        if observed != wanted:
            raise SystemExit(f"case {case['name']}: expected {wanted}, verifier says {observed}")
    key_file = {
        "description": "Fixed test keys: RFC 8032 7.1 TEST 1 (Ed25519), RFC 6979 A.2.5 (P-256), "
        "and RFC 8032 7.1 TEST 2 as a key the verifier does not trust.",
        "trusted": trusted_jwks(keys),
        "private": {"ed25519": ED25519_JWK, "p256": P256_JWK, "untrusted": OTHER_ED25519_JWK},
    }
    return {"keys.json": ijson.dumps(key_file), "cases.json": ijson.dumps(cases)}


def trusted_jwks(keys: _Keys) -> dict[str, Any]:
    return keys.trusted.to_jwks()


def main(argv: list[str]) -> None:
    out = Path(argv[1]) if len(argv) > 1 else DEFAULT_OUT
    out.mkdir(parents=True, exist_ok=True)
    for rel, data in build().items():
        (out / rel).write_bytes(data)


if __name__ == "__main__":
    main(sys.argv)
