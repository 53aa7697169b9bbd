"""JWS (RFC 7515) under the BMDX profile: detached signatures over canonical bytes.

A BMDX signature is one entry of a general JSON serialisation,
``{"protected": ..., "signature": ...}``, whose payload is detached: it is the RFC
8785 canonical form of the signed object without its ``signatures`` member
(:mod:`canonical`).  The payload is base64url-encoded in the signing input as RFC 7515
specifies (``b64`` is never used), so any JOSE library verifies a BMDX signature.

The profile is enforced here, *before* any cryptography runs: the protected header is
parsed as I-JSON (duplicate names refused), may hold only ``alg``, ``kid`` and
``typ``, never a key or a key URL, ``crit``, ``b64`` or ``zip``; ``alg`` must be one
of the profile's and must fit the key found under ``kid`` in the verifier's key set
(never in the message).  ES256 signatures are the 64-byte ``r || s`` of RFC 7518; DER
is refused.  pyca/cryptography does the signature arithmetic.

Every failure raises the one uniform :class:`SignatureError`; see its docstring.
"""

from __future__ import annotations

import functools
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass
from typing import Any, NamedTuple

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, ed25519
from cryptography.hazmat.primitives.asymmetric.utils import (
    decode_dss_signature,
    encode_dss_signature,
)

from bmdx.reference._internal import ijson
from bmdx.reference._internal.b64 import B64Error, b64url_decode, b64url_encode
from bmdx.reference._internal.canonical import canonical_bytes
from bmdx.reference._internal.errors import IJsonError, SignatureError
from bmdx.reference._internal.keys import PrivateKey, PublicKey
from bmdx.reference._internal.profile import SignatureAlgorithm, security_profile

__all__ = [
    "JWS_OBJECT_TYPE",
    "KnownGood",
    "ProtectedHeader",
    "VerifiedSignature",
    "parse_compact",
    "sign_detached",
    "sign_detached_known",
    "sign_jws_object",
    "sign_raw",
    "signature_job",
    "signing_input",
    "verify_compact",
    "verify_jws_object",
    "verify_raw",
    "verify_signature",
    "verify_signatures",
]

JWS_OBJECT_TYPE = "Jws"

REQ_VERIFY = "BMDX-SEC-010"
REQ_ALG = "BMDX-SEC-012"
REQ_ALG_KEY = "BMDX-SEC-013"
REQ_SIG_FORMAT = "BMDX-SEC-014"
REQ_HEADER_MEMBERS = "BMDX-SEC-015"
REQ_NO_EMBEDDED_KEYS = "BMDX-SEC-016"
REQ_CRIT = "BMDX-SEC-017"
REQ_B64 = "BMDX-SEC-018"
REQ_STRUCTURE = "BMDX-SEC-019"
REQ_BASE64URL = "BMDX-SEC-020"
REQ_KID = "BMDX-SEC-021"
REQ_MULTI = "BMDX-SEC-022"
REQ_ZIP = "BMDX-SEC-023"
REQ_KEY_PURPOSE = "BMDX-SEC-032"

# A protected header is a handful of short members; anything longer is hostile.
_MAX_HEADER_BYTES = 1024
_ENTRY_MEMBERS = frozenset({"protected", "header", "signature"})
_ECDSA_SHA256 = ec.ECDSA(hashes.SHA256())
_EMBEDDED_KEY_PARAMS = frozenset({"jwk", "jku", "x5u", "x5c", "x5t", "x5t#S256"})


def _fail(reason: str, violated: str) -> SignatureError:
    return SignatureError(reason=reason, violated=violated)


def _b64(text: Any) -> bytes:
    if not isinstance(text, str):
        raise _fail("malformed", REQ_STRUCTURE)
    try:
        return b64url_decode(text)
    except B64Error:
        raise _fail("bad-base64url", REQ_BASE64URL) from None


@dataclass(frozen=True, slots=True)
class ProtectedHeader:
    """A protected header that passed every profile check."""

    alg: SignatureAlgorithm
    kid: str
    typ: str | None


def _check_forbidden(header: Mapping[str, Any]) -> None:
    """Refuse parameters the profile forbids, naming the specific rule."""
    if "crit" in header:
        raise _fail("crit", REQ_CRIT)
    if "b64" in header:
        raise _fail("b64", REQ_B64)
    if "zip" in header:
        raise _fail("zip", REQ_ZIP)
    if _EMBEDDED_KEY_PARAMS & header.keys():
        raise _fail("embedded-key", REQ_NO_EMBEDDED_KEYS)
    if header.keys() & security_profile().forbidden.header_parameters.keys():
        raise _fail("forbidden-header", REQ_HEADER_MEMBERS)


@functools.lru_cache(maxsize=4096)
def _parse_protected(protected: str) -> ProtectedHeader:
    raw = _b64(protected)
    try:
        header = ijson.loads(raw, max_bytes=_MAX_HEADER_BYTES)
    except IJsonError as e:
        reason = "duplicate-header" if e.reason == "duplicate-key" else "malformed-header"
        raise _fail(reason, REQ_STRUCTURE) from None
    if not isinstance(header, dict):
        raise _fail("malformed-header", REQ_STRUCTURE)
    _check_forbidden(header)
    profile = security_profile()
    alg_name = header.get("alg")
    if not isinstance(alg_name, str):
        raise _fail("header-missing", REQ_HEADER_MEMBERS)
    if alg_name.lower() == "none":
        raise _fail("alg-none", REQ_ALG)
    if alg_name in profile.forbidden.algorithms:
        raise _fail("alg-forbidden", REQ_ALG)
    algorithm = profile.signatures.algorithms.get(alg_name)
    if algorithm is None:
        raise _fail("alg-not-allowed", REQ_ALG)
    sig = profile.signatures
    if not header.keys() <= sig.protected_allowed:
        raise _fail("header-not-allowed", REQ_HEADER_MEMBERS)
    if not sig.protected_required <= header.keys():
        raise _fail("header-missing", REQ_HEADER_MEMBERS)
    kid, typ = header.get("kid"), header.get("typ")
    if not isinstance(kid, str) or not kid:
        raise _fail("header-missing", REQ_HEADER_MEMBERS)
    if typ is not None and typ != sig.typ:
        raise _fail("typ", REQ_HEADER_MEMBERS)
    return ProtectedHeader(alg=algorithm, kid=kid, typ=typ)


def _check_unprotected(header: Any, protected: ProtectedHeader) -> None:
    if header is None:
        return
    if not isinstance(header, dict):
        raise _fail("malformed-header", REQ_STRUCTURE)
    _check_forbidden(header)
    if "alg" in header or "kid" in header or "typ" in header:
        # RFC 7515 section 7.2.1: protected and unprotected names are disjoint.
        raise _fail("header-collision", REQ_HEADER_MEMBERS)
    if not header.keys() <= security_profile().signatures.unprotected_allowed:
        raise _fail("header-not-allowed", REQ_HEADER_MEMBERS)


def signing_input(protected: str, payload: bytes) -> bytes:
    """ASCII(BASE64URL(protected)) '.' BASE64URL(payload) (RFC 7515 section 5.1)."""
    return f"{protected}.{b64url_encode(payload)}".encode("ascii")


KnownGood = Collection[tuple[str, bytes, bytes]]
"""Signatures known to verify: ``(key thumbprint, message, signature)`` triples.

Verification is a pure function of the key, the message and the signature, so a triple
verified once (in a worker process, ahead of the state machine) need not be verified
again; nor need one this process has just made with the private half of the key
(:func:`sign_detached_known`): a signature scheme's correctness is that such a
signature verifies.  Every other check still runs.  The RFC 7638 thumbprint names the
key material, so a triple only ever matches the key that made or verified it.
"""


def verify_raw(
    alg: SignatureAlgorithm,
    key: PublicKey,
    message: bytes,
    signature: bytes,
    *,
    known_good: KnownGood = (),
) -> None:
    """Check one raw signature (ES256 ``r || s`` or Ed25519) over ``message``.

    The key must be a signing key of exactly the algorithm's curve; no other
    encoding of the signature is accepted.  A triple in ``known_good`` skips only the
    arithmetic.
    """
    if key.use != "sig":
        raise _fail("key-use", REQ_KEY_PURPOSE)
    if (key.key_type.kty, key.key_type.crv) != (alg.kty, alg.crv):
        raise _fail("alg-key-mismatch", REQ_ALG_KEY)
    if len(signature) != alg.signature_bytes:
        raise _fail("signature-length", REQ_SIG_FORMAT)
    if known_good and (key.thumbprint, message, signature) in known_good:
        return
    try:
        if isinstance(key.key, ec.EllipticCurvePublicKey):
            half = alg.signature_bytes // 2
            der = encode_dss_signature(
                int.from_bytes(signature[:half], "big"), int.from_bytes(signature[half:], "big")
            )
            key.key.verify(der, message, _ECDSA_SHA256)
        elif isinstance(key.key, ed25519.Ed25519PublicKey):
            key.key.verify(signature, message)
        else:
            raise _fail("alg-key-mismatch", REQ_ALG_KEY)
    except InvalidSignature:
        raise _fail("signature-mismatch", REQ_VERIFY) from None


class VerifiedSignature(NamedTuple):
    """A signature that verified: who signed (``kid``), with what, under which header."""

    kid: str
    alg: str
    key: PublicKey
    typ: str | None = None


def verify_signature(
    entry: Any,
    payload: bytes,
    keys: Mapping[str, PublicKey],
    *,
    encoded_payload: str | None = None,
    known_good: KnownGood = (),
) -> VerifiedSignature:
    """Verify one ``{"protected", "header"?, "signature"}`` entry over ``payload``.

    ``keys`` maps key ids to the verifier's trusted keys; the message never supplies
    a key.  ``encoded_payload`` lets a caller verifying several signatures encode the
    payload once.
    """
    if not isinstance(entry, Mapping) or not entry.keys() <= _ENTRY_MEMBERS:
        raise _fail("malformed", REQ_STRUCTURE)
    protected = entry.get("protected")
    if not isinstance(protected, str) or not protected:
        raise _fail("malformed", REQ_STRUCTURE)
    header = _parse_protected(protected)
    _check_unprotected(entry.get("header"), header)
    signature = _b64(entry.get("signature"))
    key = keys.get(header.kid)
    if key is None:
        raise _fail("unknown-kid", REQ_KID)
    encoded = encoded_payload if encoded_payload is not None else b64url_encode(payload)
    message = (protected + "." + encoded).encode("ascii")
    verify_raw(header.alg, key, message, signature, known_good=known_good)
    return VerifiedSignature(kid=header.kid, alg=header.alg.alg, key=key, typ=header.typ)


def verify_signatures(
    entries: Any, payload: bytes, keys: Mapping[str, PublicKey], *, known_good: KnownGood = ()
) -> list[VerifiedSignature]:
    """Verify a ``signatures`` array: every entry must verify, each by a distinct key."""
    if not isinstance(entries, list) or not entries:
        raise _fail("no-signatures", REQ_MULTI)
    if len(entries) > security_profile().signatures.max_signatures:
        raise _fail("too-many-signatures", REQ_MULTI)
    encoded = b64url_encode(payload)
    verified = [
        verify_signature(e, payload, keys, encoded_payload=encoded, known_good=known_good)
        for e in entries
    ]
    if len(verified) > 1 and len({v.key.thumbprint for v in verified}) != len(verified):
        raise _fail("duplicate-signer", REQ_MULTI)
    return verified


def signature_job(
    entry: Any, encoded_payload: str, keys: Mapping[str, PublicKey]
) -> tuple[SignatureAlgorithm, PublicKey, bytes, bytes] | None:
    """What verifying ``entry`` needs, when it is well formed and its key is known; else None.

    For checking signatures ahead (:mod:`bmdx.reference._internal.ledger.ahead`); a
    ``None`` entry is simply verified later, in full, where its failure is reported.
    """
    try:
        if not isinstance(entry, Mapping):
            return None
        protected, signature = entry.get("protected"), entry.get("signature")
        if not isinstance(protected, str) or not isinstance(signature, str):
            return None
        header = _parse_protected(protected)
        key = keys.get(header.kid)
        if key is None:
            return None
        message = (protected + "." + encoded_payload).encode("ascii")
        return header.alg, key, message, _b64(signature)
    except SignatureError:
        return None


def sign_raw(key: PrivateKey, message: bytes) -> bytes:
    """A raw signature (ES256 ``r || s``, or Ed25519) over ``message``.

    ES256 nonces are derived as in RFC 6979, so a weak random number generator can
    never leak the key through a repeated nonce, and vectors are reproducible.
    """
    if isinstance(key.key, ec.EllipticCurvePrivateKey):
        der = key.key.sign(message, ec.ECDSA(hashes.SHA256(), deterministic_signing=True))
        r, s = decode_dss_signature(der)
        return r.to_bytes(32, "big") + s.to_bytes(32, "big")
    if isinstance(key.key, ed25519.Ed25519PrivateKey):
        return key.key.sign(message)
    raise SignatureError(reason="key-use", violated=REQ_KEY_PURPOSE)


def sign_detached(payload: bytes, key: PrivateKey, *, typ: str | None = None) -> dict[str, str]:
    """One detached signature entry ``{"protected", "signature"}`` over ``payload``."""
    alg = key.public.signing_alg
    if alg is None:
        raise SignatureError(reason="key-use", violated=REQ_KEY_PURPOSE)
    header: dict[str, str] = {"alg": alg, "kid": key.public.thumbprint}
    if typ is not None:
        header["typ"] = typ
    protected = b64url_encode(canonical_bytes(header))
    signature = sign_raw(key, signing_input(protected, payload))
    return {"protected": protected, "signature": b64url_encode(signature)}


def sign_detached_known(
    payload: bytes, key: PrivateKey, *, typ: str | None = None
) -> tuple[dict[str, str], tuple[str, bytes, bytes]]:
    """:func:`sign_detached`, and the signature as a :data:`KnownGood` triple."""
    entry = sign_detached(payload, key, typ=typ)
    message = signing_input(entry["protected"], payload)
    return entry, (key.public.thumbprint, message, b64url_decode(entry["signature"]))


def sign_jws_object(
    payload: bytes, keys: Iterable[PrivateKey], *, detached: bool = False
) -> dict[str, Any]:
    """A standalone ``Jws`` object (general JSON serialisation) signed by ``keys``."""
    typ = security_profile().signatures.typ
    entries = [sign_detached(payload, k, typ=typ) for k in keys]
    out: dict[str, Any] = {"objectType": JWS_OBJECT_TYPE}
    if not detached:
        out["payload"] = b64url_encode(payload)
    out["signatures"] = entries
    return out


def verify_jws_object(
    jws: Any, keys: Mapping[str, PublicKey], *, payload: bytes | None = None
) -> tuple[bytes, list[VerifiedSignature]]:
    """Verify a standalone ``Jws`` object; give ``payload`` when it is detached."""
    if not isinstance(jws, Mapping) or not jws.keys() <= {"objectType", "payload", "signatures"}:
        raise _fail("malformed", REQ_STRUCTURE)
    if jws.get("objectType", JWS_OBJECT_TYPE) != JWS_OBJECT_TYPE:
        raise _fail("malformed", REQ_STRUCTURE)
    attached = jws.get("payload")
    if (attached is None) == (payload is None):
        raise _fail("payload-ambiguous", REQ_STRUCTURE)
    body = _b64(attached) if attached is not None else payload
    assert body is not None  # one of the two, checked above
    return body, verify_signatures(jws.get("signatures"), body, keys)


def parse_compact(token: Any) -> tuple[dict[str, str], bytes | None]:
    """Split a compact JWS into a signature entry and its payload (``None`` if detached)."""
    if not isinstance(token, str):
        raise _fail("malformed", REQ_STRUCTURE)
    parts = token.split(".")
    if len(parts) != 3 or not parts[0] or not parts[2]:
        raise _fail("malformed", REQ_STRUCTURE)
    payload = _b64(parts[1]) if parts[1] else None
    return {"protected": parts[0], "signature": parts[2]}, payload


def verify_compact(
    token: Any, keys: Mapping[str, PublicKey], *, payload: bytes | None = None
) -> tuple[bytes, VerifiedSignature]:
    """Verify a compact JWS (attached, or detached with ``payload`` given)."""
    entry, attached = parse_compact(token)
    if attached is not None and payload is not None:
        raise _fail("payload-ambiguous", REQ_STRUCTURE)
    body = attached if attached is not None else payload
    if body is None:
        body = b""
    return body, verify_signature(entry, body, keys)
