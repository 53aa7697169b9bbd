"""The key lifecycle: registration, rotation signed by the old key, revocation at a height.

This is the one module that decides whether a participant key is valid at a block
height; the ledger feeds it the key events it commits and asks it back.

A key is valid from the height it was registered (or rotated in) up to, not
including, the first height at which it was rotated out or revoked.  A ``KeyRotation``
is accepted only when the old key is valid at the rotation's effective height and has
signed it; a ``KeyRevocation`` only when signed by a key of the same participant that
is valid at the revocation's effective height (the revoked key included, so that a
holder who lost control can still revoke with another key, and a retiring key can
revoke itself).  Key ids are never reused: a kid seen once stays bound to its key and
its participant for ever.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any, Literal

from bmdx.reference._internal.errors import KeyHistoryError
from bmdx.reference._internal.keys import KeySet, PrivateKey, PublicKey, import_public_jwk
from bmdx.reference._internal.schema import schema_set
from bmdx.reference._internal.signing import sign_document, verify_document

__all__ = [
    "KeyHistory",
    "KeyInterval",
    "key_valid_at",
    "make_key_revocation",
    "make_key_rotation",
]

REQ_ROTATION = "BMDX-SEC-040"
REQ_ROTATION_EFFECT = "BMDX-SEC-041"
REQ_REVOCATION = "BMDX-SEC-042"
REQ_NO_REUSE = "BMDX-SEC-044"
REQ_NOT_RETROACTIVE = "BMDX-SEC-045"

RevocationReason = Literal["compromised", "superseded", "retired"]


@dataclass(frozen=True, slots=True)
class KeyInterval:
    """Where a key is valid: heights ``valid_from <= h < valid_until`` (``None``: open)."""

    participant: str
    key: PublicKey
    valid_from: int
    valid_until: int | None = None
    ended_by: str | None = None  # "rotation" or "revocation"

    def valid_at(self, height: int) -> bool:
        return self.valid_from <= height and (self.valid_until is None or height < self.valid_until)

    def ended(self, height: int, by: str) -> KeyInterval:
        until = height if self.valid_until is None else min(self.valid_until, height)
        return KeyInterval(self.participant, self.key, self.valid_from, until, by)


def _error(message: str, requirement: str, reason: str) -> KeyHistoryError:
    return KeyHistoryError(message, requirement=requirement, reason=reason)


class KeyHistory(Mapping[str, KeyInterval]):
    """Every key a ledger has seen, by kid, with the heights where it is valid."""

    def __init__(self) -> None:
        self._by_kid: dict[str, KeyInterval] = {}

    def __getitem__(self, kid: str) -> KeyInterval:
        return self._by_kid[kid]

    def __iter__(self) -> Iterator[str]:
        return iter(self._by_kid)

    def __len__(self) -> int:
        return len(self._by_kid)

    def valid_at(self, kid: str, height: int) -> bool:
        interval = self._by_kid.get(kid)
        return interval is not None and interval.valid_at(height)

    def keys_at(self, height: int, participant: str | None = None) -> KeySet:
        """The keys valid at ``height`` (of one participant, or all): a verifier's key set."""
        return KeySet(
            i.key
            for i in self._by_kid.values()
            if i.valid_at(height) and participant in (None, i.participant)
        )

    def _add(self, interval: KeyInterval) -> None:
        if interval.key.kid in self._by_kid:
            raise _error(
                f"kid {interval.key.kid} was registered before; key ids are never reused",
                REQ_NO_REUSE,
                "kid-reused",
            )
        self._by_kid[interval.key.kid] = interval

    def register(self, participant: str, key: PublicKey, height: int) -> KeyInterval:
        """Record a key registered with its participant at ``height``."""
        interval = KeyInterval(participant, key, height)
        self._add(interval)
        return interval

    def _owned(self, participant: str, kid: str, requirement: str) -> KeyInterval:
        interval = self._by_kid.get(kid)
        if interval is None or interval.participant != participant:
            raise _error(f"{participant} has no registered key {kid}", requirement, "unknown-key")
        return interval

    def _signing_keys(self, participant: str, height: int) -> dict[str, PublicKey]:
        return {
            k: i.key
            for k, i in self._by_kid.items()
            if i.participant == participant and i.key.use == "sig" and i.valid_at(height)
        }

    @staticmethod
    def _check_height(effective: int, included_at: int | None) -> None:
        if included_at is not None and effective < included_at:
            raise _error(
                f"effective height {effective} lies before the including block {included_at}",
                REQ_NOT_RETROACTIVE,
                "retroactive",
            )

    def apply_rotation(
        self, rotation: Mapping[str, Any], *, included_at: int | None = None
    ) -> KeyInterval:
        """Check a ``KeyRotation`` and record it; return the new key's interval."""
        schema_set().validate(rotation, "KeyRotation")
        participant, old_kid = rotation["participant"], rotation["oldKid"]
        effective = rotation["effectiveHeight"]
        self._check_height(effective, included_at)
        old = self._owned(participant, old_kid, REQ_ROTATION)
        if not old.valid_at(effective):
            raise _error(
                f"key {old_kid} is not valid at height {effective}", REQ_ROTATION, "key-not-valid"
            )
        new_key = import_public_jwk(rotation["newKey"], use=old.key.use)  # type: ignore[arg-type]
        if new_key.kid in self._by_kid:
            raise _error(f"kid {new_key.kid} was registered before", REQ_NO_REUSE, "kid-reused")
        if old.key.use == "sig":
            verify_document(rotation, KeySet([old.key]), signers=[old_kid])
        else:
            # A key-agreement key cannot sign: a signing key of the same participant,
            # valid at the effective height, vouches for its rotation instead.
            verify_document(rotation, self._signing_keys(participant, effective))
        self._by_kid[old_kid] = old.ended(effective, "rotation")
        interval = KeyInterval(participant, new_key, effective)
        self._by_kid[new_key.kid] = interval
        return interval

    def apply_revocation(
        self, revocation: Mapping[str, Any], *, included_at: int | None = None
    ) -> KeyInterval:
        """Check a ``KeyRevocation`` and record it; return the revoked key's interval."""
        schema_set().validate(revocation, "KeyRevocation")
        participant, kid = revocation["participant"], revocation["kid"]
        effective = revocation["effectiveHeight"]
        self._check_height(effective, included_at)
        target = self._owned(participant, kid, REQ_REVOCATION)
        if target.ended_by == "revocation":
            raise _error(f"key {kid} is already revoked", REQ_REVOCATION, "already-revoked")
        if effective < target.valid_from:
            raise _error(
                f"revocation at {effective} precedes the key's registration at {target.valid_from}",
                REQ_REVOCATION,
                "before-registration",
            )
        signers = self._signing_keys(participant, effective)
        if target.key.use == "sig":
            signers[kid] = target.key
        verify_document(revocation, signers)
        self._by_kid[kid] = target.ended(effective, "revocation")
        return self._by_kid[kid]


def key_valid_at(kid: str, height: int, history: KeyHistory) -> bool:
    """Whether signatures by ``kid`` are accepted in a block at ``height``."""
    return history.valid_at(kid, height)


def make_key_rotation(
    participant: str, old: PrivateKey, new: PublicKey, effective_height: int
) -> dict[str, Any]:
    """A ``KeyRotation`` of ``old`` to ``new`` from ``effective_height``, signed by ``old``."""
    rotation = {
        "objectType": "KeyRotation",
        "participant": participant,
        "oldKid": old.kid,
        "newKey": new.to_public_key_object(),
        "effectiveHeight": effective_height,
    }
    return sign_document(rotation, old)


def make_key_revocation(
    participant: str,
    kid: str,
    effective_height: int,
    reason: RevocationReason,
    signer: PrivateKey,
) -> dict[str, Any]:
    """A ``KeyRevocation`` of ``kid`` from ``effective_height``, signed by ``signer``."""
    revocation = {
        "objectType": "KeyRevocation",
        "participant": participant,
        "kid": kid,
        "effectiveHeight": effective_height,
        "reason": reason,
    }
    return sign_document(revocation, signer)
