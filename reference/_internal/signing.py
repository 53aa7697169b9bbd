"""Signing and verifying BMDX objects: one signature, valid in every syntax.

A signed object carries ``signatures: [{protected, signature}, ...]``; each is a
detached JWS over :func:`canonical.signing_payload` of the object, so the
signature survives any re-serialisation that preserves the JSON data model,
including JSON -> XML -> JSON (BMDX-FMT-020).  Co-signing appends an entry; the
payload excludes ``signatures``, so earlier signatures stay valid.

Keys come from the verifier's key set (the participant registry), looked up by the
``kid`` of the protected header, which must be the key's RFC 7638 thumbprint.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from typing import Any

from bmdx.reference._internal.canonical import SIGNATURES_MEMBER, signing_payload
from bmdx.reference._internal.errors import SignatureError
from bmdx.reference._internal.jws import (
    VerifiedSignature,
    sign_detached,
    sign_detached_known,
    verify_signatures,
)
from bmdx.reference._internal.keys import PrivateKey, PublicKey

__all__ = ["sign_document", "sign_document_known", "verify_document"]

REQ_KID = "BMDX-SEC-021"
REQ_REQUIRED_SIGNERS = "BMDX-SEC-024"


def sign_document(
    document: Mapping[str, Any], key: PrivateKey, *, typ: str | None = None
) -> dict[str, Any]:
    """A copy of ``document`` with one more signature, by ``key``, appended."""
    entry = sign_detached(signing_payload(document), key, typ=typ)
    existing = document.get(SIGNATURES_MEMBER, [])
    if not isinstance(existing, list):
        raise SignatureError(reason="malformed", violated="BMDX-SEC-019")
    signed = dict(document)
    signed[SIGNATURES_MEMBER] = [*existing, entry]
    return signed


def sign_document_known(
    document: Mapping[str, Any], keys: Sequence[PrivateKey], *, typ: str | None = None
) -> tuple[dict[str, Any], set[tuple[str, bytes, bytes]]]:
    """``document`` signed by each of ``keys`` in turn, and those signatures as
    ``known_good`` triples (:data:`jws.KnownGood`) for the ledger's state machine.

    The payload excludes ``signatures``, so it is canonicalised once for all signers.
    """
    existing = document.get(SIGNATURES_MEMBER, [])
    if not isinstance(existing, list):
        raise SignatureError(reason="malformed", violated="BMDX-SEC-019")
    payload = signing_payload(document)
    entries, made = [], set()
    for key in keys:
        entry, triple = sign_detached_known(payload, key, typ=typ)
        entries.append(entry)
        made.add(triple)
    signed = dict(document)
    signed[SIGNATURES_MEMBER] = [*existing, *entries]
    return signed, made


def verify_document(
    document: Mapping[str, Any],
    keys: Mapping[str, PublicKey],
    *,
    signers: Collection[str] = (),
) -> list[VerifiedSignature]:
    """Verify every signature of ``document``; return who signed, in order.

    ``signers`` are key ids whose signatures the caller's rules require (the author,
    the old key of a rotation); a document missing one fails like any bad signature.
    """
    payload = signing_payload(document)
    verified = verify_signatures(document.get(SIGNATURES_MEMBER), payload, keys)
    for v in verified:
        if v.key.thumbprint != v.kid:
            raise SignatureError(reason="kid-not-thumbprint", violated=REQ_KID)
    if not set(signers) <= {v.kid for v in verified}:
        raise SignatureError(reason="missing-signer", violated=REQ_REQUIRED_SIGNERS)
    return verified
