"""BMDX signature entries (detached JWS over RFC 8785 bytes), checked with jwcrypto.

A signature entry is ``{"protected", "signature"}``: a JWS whose payload is detached
and is the canonical form of the object without its ``signatures`` member.  The
protected header holds ``alg`` and ``kid`` and perhaps ``typ`` (``bmdx+jws``), nothing
else (spec/security/profile.yaml, spec/vectors/signatures/README.md).  The checks of
the profile are this module's; the cryptography is jwcrypto's.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Mapping
from typing import Any

from jwcrypto import jwk, jws
from jwcrypto.common import JWException

__all__ = ["BadSignatureError", "b64url_decode", "b64url_encode", "verify_entry"]

# alg -> (kty, crv) of the key it needs (spec/security/profile.yaml, signatures).
ALGORITHMS = {
    "ES256": ("EC", "P-256"),
    "Ed25519": ("OKP", "Ed25519"),
    "EdDSA": ("OKP", "Ed25519"),
}
TYP = "bmdx+jws"
SIGNATURE_BYTES = 64


class BadSignatureError(Exception):
    """A signature entry that is not a valid BMDX signature by the key it names."""


def _b64url(text: Any) -> bytes:
    if not isinstance(text, str) or "=" in text:
        raise BadSignatureError("not unpadded base64url")
    try:
        raw = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except (binascii.Error, ValueError) as e:
        raise BadSignatureError("not base64url") from e
    if base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii") != text:
        raise BadSignatureError("not canonical base64url")
    return raw


def b64url_decode(text: str) -> bytes:
    """Canonical unpadded base64url (a JWK member, a JWS part) as bytes."""
    return _b64url(text)


def b64url_encode(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    if len({k for k, _ in pairs}) != len(pairs):
        raise BadSignatureError("a header member appears twice")
    return dict(pairs)


def _header(entry: Any) -> dict[str, Any]:
    if not isinstance(entry, dict) or set(entry) != {"protected", "signature"}:
        raise BadSignatureError("an entry holds exactly protected and signature")
    try:
        header = json.loads(_b64url(entry["protected"]), object_pairs_hook=_no_duplicates)
    except ValueError as e:
        raise BadSignatureError("the protected header is not JSON") from e
    if not isinstance(header, dict) or not {"alg", "kid"} <= set(header) <= {"alg", "kid", "typ"}:
        raise BadSignatureError("the protected header holds alg, kid and perhaps typ only")
    if "typ" in header and header["typ"] != TYP:
        raise BadSignatureError("typ is not bmdx+jws")
    if header["alg"] not in ALGORITHMS or not isinstance(header["kid"], str):
        raise BadSignatureError("the algorithm is not in the profile")
    return header


def verify_entry(entry: Any, payload: bytes, keys: Mapping[str, Mapping[str, Any]]) -> str:
    """The kid of the public JWK in ``keys`` whose signature ``entry`` is over ``payload``."""
    header = _header(entry)
    public = keys.get(header["kid"])
    if public is None:
        raise BadSignatureError("the signing key is not known")
    alg = header["alg"]
    if (public.get("kty"), public.get("crv")) != ALGORITHMS[alg] or public.get(
        "use", "sig"
    ) != "sig":
        raise BadSignatureError("the key does not fit the algorithm")
    if len(_b64url(entry["signature"])) != SIGNATURE_BYTES:
        raise BadSignatureError("the signature has the wrong length")
    members = ("kty", "crv", "x", "y")
    key = jwk.JWK(**{k: public[k] for k in members if k in public})
    token = jws.JWS()
    token.allowed_algs = [alg]
    try:
        token.deserialize(json.dumps(entry))
        token.verify(key, alg=alg, detached_payload=payload)
    except (JWException, ValueError, TypeError) as e:
        raise BadSignatureError("the signature does not verify") from e
    return str(header["kid"])
