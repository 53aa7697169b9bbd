"""Generate spec/vectors/http-signatures/: signed BMDX requests and the refusals.

Deterministic: the Ed25519 and P-256 keys derive from fixed labels, ``created`` and
``nonce`` are fixed, and Ed25519 signatures are deterministic (RFC 8032).  ECDSA
signatures are randomised, so the P-256 case is stored once and kept (verify-only):
regeneration reuses the stored signature when it still verifies.
Run ``python tools/vectors/gen_http_signatures.py [OUTDIR]``.
"""

from __future__ import annotations

import datetime
import hashlib
import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519
from http_message_signatures import HTTPMessageSigner, MappingKeyResolver, algorithms

from bmdx.reference._internal.errors import RequestAuthError
from bmdx.reference._internal.httpsig import RequestKey, RequestVerifier, sign_request

__all__ = ["build", "main", "render"]

DEFAULT_OUT = Path(__file__).resolve().parents[2] / "spec" / "vectors" / "http-signatures"
CREATED = 1767225600  # 2026-01-01T00:00:00Z
NOW = CREATED + 10
URL = "https://node.bmdx.example/v1/records"
BODY = b'{"objectType":"AccessRequest","purpose":"TREAT"}'


def _seed(label: str) -> bytes:
    return hashlib.sha256(b"BMDX test vector key " + label.encode()).digest()


ED_KEY = ed25519.Ed25519PrivateKey.from_private_bytes(_seed("http ed25519"))
EC_KEY = ec.derive_private_key(int.from_bytes(_seed("http p256"), "big"), ec.SECP256R1())
ED_KID = "hospital-request-key-ed25519"
EC_KID = "lab-request-key-p256"
REVOKED_KID = "retired-request-key"


def nonce(label: str) -> str:
    return hashlib.sha256(label.encode()).hexdigest()[:32]


def _public_pem(key: ed25519.Ed25519PrivateKey | ec.EllipticCurvePrivateKey) -> str:
    return (
        key.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode("ascii")
    )


def _private_pem(key: ed25519.Ed25519PrivateKey | ec.EllipticCurvePrivateKey) -> str:
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode("ascii")


def resolver(kid: str) -> RequestKey | None:
    if kid == ED_KID:
        return RequestKey(kid, ED_KEY.public_key())
    if kid == EC_KID:
        return RequestKey(kid, EC_KEY.public_key())
    if kid == REVOKED_KID:
        return RequestKey(kid, ED_KEY.public_key(), revoked=True)
    return None


def request(method: str, url: str, body: bytes, headers: dict[str, str]) -> dict[str, Any]:
    return {"method": method, "url": url, "headers": headers, "body": body.decode("utf-8")}


def ed_signed(
    *,
    method: str = "POST",
    url: str = URL,
    body: bytes = BODY,
    label: str = "ok",
    kid: str = ED_KID,
) -> dict[str, Any]:
    headers = sign_request(
        method,
        url,
        {"Content-Type": "application/json"},
        body,
        key=ED_KEY,
        kid=kid,
        created=CREATED,
        nonce=nonce(label),
    )
    return request(method, url, body, headers)


def _replace(req: dict[str, Any], **headers: str) -> dict[str, Any]:
    out = json.loads(json.dumps(req))
    out["headers"].update(headers)
    return out


def _signature_input(req: dict[str, Any], old: str, new: str) -> dict[str, Any]:
    return _replace(req, **{"Signature-Input": req["headers"]["Signature-Input"].replace(old, new)})


def _drop(req: dict[str, Any], *names: str) -> dict[str, Any]:
    out = json.loads(json.dumps(req))
    for name in names:
        out["headers"].pop(name)
    return out


def _resigned(
    transform: Callable[[dict[str, str]], dict[str, str]], label: str, **kwargs: Any
) -> dict[str, Any]:
    """A request signed correctly over headers the profile forbids."""

    class Message:
        def __init__(self, method: str, url: str, headers: dict[str, str]) -> None:
            self.method, self.url, self.headers = method, url, headers

    message = Message("POST", URL, {"Content-Type": "application/json"})
    signer = HTTPMessageSigner(
        signature_algorithm=algorithms.ED25519,
        key_resolver=MappingKeyResolver(public_keys={}, private_keys={ED_KID: ED_KEY}),
    )
    options: dict[str, Any] = {
        "key_id": ED_KID,
        "created": datetime.datetime.fromtimestamp(CREATED, tz=datetime.UTC),
        "nonce": nonce(label),
        "label": "bmdx",
        "covered_component_ids": ["@method", "@target-uri"],
        "body": BODY,
    }
    options.update(kwargs)
    signer.sign(message, **options)
    return request("POST", URL, BODY, transform(message.headers))


def valid_cases(previous: dict[str, Any] | None) -> list[dict[str, Any]]:
    ec_case = None
    if previous is not None:
        for case in previous.get("valid", []):
            if case["name"] == "p256-get-empty-body":
                ec_case = case["request"]
    if ec_case is None or not _verifies(ec_case):
        headers = sign_request(
            "GET",
            URL + "?subject=pseudonym-1",
            {},
            b"",
            key=EC_KEY,
            kid=EC_KID,
            created=CREATED,
            nonce=nonce("p256"),
        )
        ec_case = request("GET", URL + "?subject=pseudonym-1", b"", headers)
    return [
        {"name": "ed25519-post", "deterministic": True, "kid": ED_KID, "request": ed_signed()},
        {"name": "p256-get-empty-body", "deterministic": False, "kid": EC_KID, "request": ec_case},
    ]


def _verifies(req: dict[str, Any]) -> bool:
    try:
        RequestVerifier(resolver, now=lambda: NOW).verify(
            req["method"], req["url"], req["headers"], req["body"].encode("utf-8")
        )
    except RequestAuthError:
        return False
    return True


def invalid_cases() -> list[dict[str, Any]]:
    good = ed_signed(label="base")
    rows: list[tuple[str, str, str, dict[str, Any], str]] = [
        (
            "no-signature",
            "BMDX-SEC-200",
            "missing-signature",
            _drop(good, "Signature", "Signature-Input"),
            "unsigned request",
        ),
        (
            "two-signatures",
            "BMDX-SEC-200",
            "malformed-signature",
            _replace(
                good,
                **{
                    "Signature-Input": good["headers"]["Signature-Input"]
                    + ", other="
                    + good["headers"]["Signature-Input"].split("=", 1)[1],
                    "Signature": good["headers"]["Signature"]
                    + ", other="
                    + good["headers"]["Signature"].split("=", 1)[1],
                },
            ),
            "a second signature",
        ),
        (
            "garbled-signature-input",
            "BMDX-SEC-200",
            "malformed-signature",
            _replace(good, **{"Signature-Input": 'bmdx=("@method"'}),
            "not a structured field",
        ),
        (
            "missing-content-digest-component",
            "BMDX-SEC-201",
            "missing-component",
            _resigned(
                lambda h: h,
                "missing-component",
                body=None,
                covered_component_ids=["@method", "@target-uri"],
            ),
            "signature does not cover content-digest",
        ),
        (
            "extra-component",
            "BMDX-SEC-201",
            "extra-component",
            _resigned(
                lambda h: h,
                "extra-component",
                covered_component_ids=["@method", "@target-uri", "content-type"],
            ),
            "signature also covers content-type",
        ),
        (
            "missing-nonce",
            "BMDX-SEC-202",
            "missing-parameter",
            _resigned(
                lambda h: h,
                "missing-nonce",
                nonce=None,
                covered_component_ids=["@method", "@target-uri"],
            ),
            "no nonce parameter",
        ),
        (
            "extra-expires",
            "BMDX-SEC-202",
            "extra-parameter",
            _resigned(
                lambda h: h,
                "extra-expires",
                expires=datetime.datetime.fromtimestamp(CREATED + 60, tz=datetime.UTC),
            ),
            "an expires parameter",
        ),
        (
            "short-nonce",
            "BMDX-SEC-206",
            "bad-nonce",
            _resigned(lambda h: h, "short-nonce", nonce="abc"),
            "nonce of 3 characters",
        ),
        (
            "body-changed",
            "BMDX-SEC-203",
            "digest-mismatch",
            dict(good, body=good["body"].replace("TREAT", "HRESCH")),
            "body differs from Content-Digest",
        ),
        (
            "no-content-digest-field",
            "BMDX-SEC-203",
            "digest-mismatch",
            _drop(good, "Content-Digest"),
            "Content-Digest field removed",
        ),
        (
            "method-changed",
            "BMDX-SEC-209",
            "bad-signature",
            dict(good, method="PUT"),
            "method differs from the signed one",
        ),
        (
            "target-changed",
            "BMDX-SEC-209",
            "bad-signature",
            dict(good, url=URL + "/other"),
            "target URI differs from the signed one",
        ),
        (
            "signature-bit-flipped",
            "BMDX-SEC-209",
            "bad-signature",
            _replace(
                good,
                Signature=good["headers"]["Signature"].replace(
                    good["headers"]["Signature"][6],
                    "A" if good["headers"]["Signature"][6] != "A" else "B",
                    1,
                ),
            ),
            "signature bytes changed",
        ),
        (
            "unknown-key",
            "BMDX-SEC-207",
            "unknown-key",
            ed_signed(label="unknown", kid="nobody-knows-this-key"),
            "keyid not registered",
        ),
        (
            "revoked-key",
            "BMDX-SEC-207",
            "revoked-key",
            ed_signed(label="revoked", kid=REVOKED_KID),
            "keyid names a revoked key",
        ),
        (
            "alg-mismatch",
            "BMDX-SEC-208",
            "algorithm-mismatch",
            ed_signed(label="alg", kid=EC_KID),
            "ed25519 signature under a P-256 key id",
        ),
        (
            "alg-hmac",
            "BMDX-SEC-208",
            "algorithm-mismatch",
            _signature_input(good, 'alg="ed25519"', 'alg="hmac-sha256"'),
            "alg hmac-sha256",
        ),
    ]
    out = [
        {"name": n, "requirement": r, "reason": why, "now": NOW, "request": req, "description": d}
        for n, r, why, req, d in rows
    ]
    out.append(
        {
            "name": "created-in-future",
            "requirement": "BMDX-SEC-204",
            "reason": "created-in-future",
            "now": CREATED - 31,
            "request": good,
            "description": "verifier clock 31 s behind created (skew 30 s)",
        }
    )
    out.append(
        {
            "name": "expired",
            "requirement": "BMDX-SEC-205",
            "reason": "expired",
            "now": CREATED + 301,
            "request": good,
            "description": "verifier clock 301 s after created (window 300 s)",
        }
    )
    out.append(
        {
            "name": "replayed",
            "requirement": "BMDX-SEC-206",
            "reason": "replayed-nonce",
            "now": NOW,
            "request": good,
            "replay": True,
            "description": "the same request sent twice: the first is accepted, the second refused",
        }
    )
    return out


def build(previous: dict[str, Any] | None = None) -> dict[str, Any]:
    return {
        "keys.json": {
            ED_KID: {
                "alg": "ed25519",
                "private": _private_pem(ED_KEY),
                "public": _public_pem(ED_KEY),
            },
            EC_KID: {
                "alg": "ecdsa-p256-sha256",
                "private": _private_pem(EC_KEY),
                "public": _public_pem(EC_KEY),
            },
            REVOKED_KID: {"alg": "ed25519", "revoked": True, "public": _public_pem(ED_KEY)},
        },
        "valid.json": {"now": NOW, "valid": valid_cases(previous)},
        "invalid.json": {"invalid": invalid_cases()},
    }


def render(value: object) -> bytes:
    return (json.dumps(value, indent=2, ensure_ascii=False) + "\n").encode("utf-8")


def main(argv: list[str]) -> int:
    out = Path(argv[1]) if len(argv) > 1 else DEFAULT_OUT
    out.mkdir(parents=True, exist_ok=True)
    previous_path = DEFAULT_OUT / "valid.json"
    previous = json.loads(previous_path.read_bytes()) if previous_path.is_file() else None
    for name, value in build(previous).items():
        (out / name).write_bytes(render(value))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
