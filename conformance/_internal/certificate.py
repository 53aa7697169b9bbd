"""certificate.jws: a signed statement of one run's outcome, verifiable offline.

A compact JWS (RFC 7515), ``alg`` Ed25519 (RFC 9864), explicitly typed (RFC 8725
section 3.11), whose payload is the RFC 8785 canonical JSON of the digest of
report.json's bytes, the suite and spec versions, the implementation identity, the
claim and the verdict.  The certifier's public key travels in the header: verifying
with it proves integrity only; verifying with a key the reader already trusts
(``--key``) proves who issued it.  JOSE is jwcrypto's; nothing here signs by hand.
"""

from __future__ import annotations

import base64
import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import rfc8785
from jwcrypto import jwk, jws
from jwcrypto.common import JWException

from bmdx.conformance._internal.errors import CertificateError, InputFileError
from bmdx.conformance._internal.files import strict_json_loads
from bmdx.conformance._internal.specdata import schema_violations

__all__ = [
    "CERTIFICATE_TYPE",
    "VerifiedCertificate",
    "generate_certifier_key",
    "issue_certificate",
    "load_certifier_key",
    "load_public_key",
    "report_digest",
    "verify_certificate",
]

CERTIFICATE_TYPE = "bmdx-conformance-certificate+jws"
ALGORITHM = "Ed25519"


def report_digest(report_bytes: bytes) -> str:
    return "sha256:" + hashlib.sha256(report_bytes).hexdigest()


def _is_ed25519(key: jwk.JWK) -> bool:
    return bool(key.get("kty") == "OKP" and key.get("crv") == "Ed25519")


def generate_certifier_key() -> jwk.JWK:
    """An ephemeral certifier key: the certificate it signs is self-signed."""
    return jwk.JWK.generate(kty="OKP", crv="Ed25519")


def _read_jwk(path: Path) -> jwk.JWK:
    try:
        data = strict_json_loads(path.read_bytes())
        return jwk.JWK(**data)
    except OSError as e:
        raise InputFileError(f"cannot read {path}: {e.strerror}", reason="unreadable") from e
    except (JWException, TypeError, ValueError) as e:
        raise InputFileError(f"{path} is not a JWK: {e}", reason="syntax") from e


def load_certifier_key(path: Path) -> jwk.JWK:
    """A private Ed25519 JWK to sign certificates with."""
    key = _read_jwk(path)
    if not _is_ed25519(key) or not key.has_private:
        raise InputFileError(
            f"{path} is not a private Ed25519 JWK",
            reason="key",
            remedy="Use an OKP key with crv Ed25519 and its d.",
        )
    return key


def load_public_key(path: Path) -> jwk.JWK:
    """The certifier's public Ed25519 JWK a reader trusts."""
    key = _read_jwk(path)
    if not _is_ed25519(key):
        raise InputFileError(f"{path} is not an Ed25519 JWK", reason="key")
    return jwk.JWK(**key.export_public(as_dict=True))


def _public(key: jwk.JWK) -> dict[str, str]:
    exported = key.export_public(as_dict=True)
    return {"kty": exported["kty"], "crv": exported["crv"], "x": exported["x"]}


def issue_certificate(
    report_bytes: bytes,
    report: Mapping[str, Any],
    key: jwk.JWK,
    *,
    issued: str,
) -> str:
    """The compact JWS certifying ``report`` (whose exact bytes are ``report_bytes``)."""
    impl = {k: v for k, v in report["implementation"].items() if k != "source"}
    payload = {
        "certificateVersion": 1,
        "reportDigest": report_digest(report_bytes),
        "suite": dict(report["suite"]),
        "specVersion": report["specVersion"],
        "implementation": impl,
        "claim": dict(report["claim"]),
        "verdict": {
            "result": report["summary"]["result"],
            "claimed": dict(report["summary"]["claimed"]),
        },
        "seed": report["seed"],
        "targetKind": report["target"]["kind"],
        "issued": issued,
    }
    header = {
        "alg": ALGORITHM,
        "typ": CERTIFICATE_TYPE,
        "kid": key.thumbprint(),
        "jwk": _public(key),
    }
    violations = schema_violations("certificate", {"protected": header, "payload": payload})
    if violations:
        raise CertificateError(
            "certificate does not match its schema: " + "; ".join(violations), reason="schema"
        )
    token = jws.JWS(rfc8785.dumps(payload))
    token.add_signature(key, alg=ALGORITHM, protected=json.dumps(header, separators=(",", ":")))
    serialized: str = token.serialize(compact=True)
    return serialized


@dataclass(frozen=True)
class VerifiedCertificate:
    header: dict[str, Any]
    payload: dict[str, Any]
    key_source: Literal["embedded", "given"]
    thumbprint: str
    report_checked: bool


def _b64decode(segment: str) -> bytes:
    data = base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4))
    if base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii") != segment:
        raise ValueError("not canonical base64url")
    return data


def verify_certificate(
    text: str, *, key: jwk.JWK | None = None, report_bytes: bytes | None = None
) -> VerifiedCertificate:
    """Check a certificate offline; :class:`CertificateError` on any failure."""
    token = text[:-1] if text.endswith("\n") else text
    segments = token.split(".")
    try:
        if len(segments) != 3 or not all(segments):
            raise ValueError("not a compact JWS")
        header = strict_json_loads(_b64decode(segments[0]))
        payload = strict_json_loads(_b64decode(segments[1]))
        _b64decode(segments[2])
    except (ValueError, InputFileError) as e:
        raise CertificateError("the certificate is malformed", reason="malformed") from e
    if not isinstance(header, dict) or not isinstance(payload, dict):
        raise CertificateError("the certificate is malformed", reason="malformed")
    if schema_violations("certificate", {"protected": header, "payload": payload}):
        raise CertificateError("the certificate does not match its schema", reason="schema")
    embedded = jwk.JWK(**header["jwk"])
    if embedded.thumbprint() != header["kid"]:
        raise CertificateError("the certificate's kid is not its key's thumbprint", reason="key")
    verifier = key if key is not None else embedded
    try:
        parsed = jws.JWS()
        parsed.deserialize(token)
        parsed.verify(verifier, alg=ALGORITHM)
    except (JWException, ValueError) as e:
        raise CertificateError(
            "the certificate's signature does not verify", reason="signature"
        ) from e
    if rfc8785.dumps(payload) != _b64decode(segments[1]):
        raise CertificateError("the certificate's payload is not canonical", reason="malformed")
    if report_bytes is not None and report_digest(report_bytes) != payload["reportDigest"]:
        raise CertificateError("report.json does not match the certified digest", reason="digest")
    return VerifiedCertificate(
        header=header,
        payload=payload,
        key_source="given" if key is not None else "embedded",
        thumbprint=verifier.thumbprint(),
        report_checked=report_bytes is not None,
    )
