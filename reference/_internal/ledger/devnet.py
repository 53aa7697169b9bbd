"""A development network: every validator's key in one process, keys derived from a seed.

For tests, ``bmdx ledger populate`` and local nodes.  The protocol never assumes this
arrangement: a :class:`DevNetwork` only *holds* several validators' keys and signs
with each separately, as the validators of a real consortium would on their own
machines.  Keys are derived from ``seed`` and a label, so a network is reproducible;
they are for development only and must never protect real data.
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, x25519

from bmdx.reference._internal.keys import PrivateKey, load_private_pem
from bmdx.reference._internal.ledger.blocks import SealedBlock, Validator
from bmdx.reference._internal.ledger.genesis import (
    Founder,
    genesis_block,
    sign_by,
)
from bmdx.reference._internal.ledger.node import Ledger
from bmdx.reference._internal.ledger.state import format_timestamp, parse_timestamp
from bmdx.reference._internal.storage import Store, open_store

__all__ = ["DevNetwork", "derive_key"]

_P256_ORDER = 0xFFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551
DEFAULT_START = "2025-01-01T00:00:00Z"


def derive_key(seed: str, label: str, kind: str) -> PrivateKey:
    """A private key of profile type ``kind`` (ES256, Ed25519, P-256, X25519) from a label."""
    raw = hashlib.sha256(f"bmdx-devnet/{seed}/{label}/{kind}".encode()).digest()
    key: ec.EllipticCurvePrivateKey | ed25519.Ed25519PrivateKey | x25519.X25519PrivateKey
    if kind in ("ES256", "P-256"):
        key = ec.derive_private_key(
            int.from_bytes(raw, "big") % (_P256_ORDER - 1) + 1, ec.SECP256R1()
        )
    elif kind == "Ed25519":
        key = ed25519.Ed25519PrivateKey.from_private_bytes(raw)
    elif kind == "X25519":
        key = x25519.X25519PrivateKey.from_private_bytes(raw)
    else:
        raise ValueError(f"unknown key type {kind!r}")
    pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    return load_private_pem(pem, use="enc" if kind in ("P-256", "X25519") else "sig")


class DevNetwork:
    """A platform, ``validators`` validators (``threshold`` of them sign a block), members.

    Typical use::

        net = DevNetwork()
        ledger = net.ledger("sqlite:///dev.db")       # genesis committed if the store is empty
        lab = net.member("clearwater-lab", ["laboratory"])
        ledger.submit(net.registration([lab], height=ledger.head().height + 1))
        ledger.commit_pending()
    """

    def __init__(
        self,
        *,
        validators: int = 4,
        threshold: int = 3,
        alg: str = "Ed25519",
        seed: str = "devnet",
        start: datetime | str = DEFAULT_START,
    ) -> None:
        if not 1 <= threshold <= validators <= 15:
            raise ValueError("need 1 <= threshold <= validators <= 15")
        self.seed = seed
        self.alg = alg
        self.threshold = threshold
        self.start = parse_timestamp(start) if isinstance(start, str) else start.astimezone(UTC)
        self.members: dict[str, Founder] = {}
        self.platform = self.member("platform", ["platform"])
        self.validator_members = [
            self.member(f"validator-{i}", ["validator"]) for i in range(1, validators + 1)
        ]
        self._uuid_counter = 0

    # -- participants and keys -------------------------------------------------------------

    def member(
        self,
        slug: str,
        roles: Sequence[str],
        *,
        alg: str | None = None,
        encryption: bool = True,
        generation: int = 1,
    ) -> Founder:
        """A participant of this network with derived keys; :meth:`registration` puts it on."""
        kind = alg or self.alg
        founder = Founder(
            id=f"urn:bmdx:participant:{slug}",
            name=slug.replace("-", " ").title(),
            roles=list(roles),
            signing=derive_key(self.seed, f"{slug}/sig/{generation}", kind),
            encryption=derive_key(self.seed, f"{slug}/enc/{generation}", "X25519")
            if encryption
            else None,
        )
        self.members[slug] = founder
        return founder

    def new_key(self, slug: str, generation: int, kind: str | None = None) -> PrivateKey:
        """Another derived key of a member (for rotations)."""
        return derive_key(self.seed, f"{slug}/sig/{generation}", kind or self.alg)

    @property
    def validators(self) -> list[Validator]:
        """The block-signing identities of the genesis validators."""
        return [v.validator for v in self.validator_members]

    @property
    def governance(self) -> list[Founder]:
        """The signers of a governance transaction: the platform and ``threshold`` validators."""
        return [self.platform, *self.validator_members[: self.threshold]]

    def time(self, seconds: float) -> str:
        """``start`` plus ``seconds``, as a timestamp (tests step their clock explicitly)."""
        return format_timestamp(self.start + timedelta(seconds=seconds))

    def object_id(self) -> str:
        """A fresh, reproducible ``urn:uuid:`` identifier."""
        self._uuid_counter += 1
        return f"urn:uuid:{uuid.uuid5(uuid.NAMESPACE_URL, f'bmdx-devnet/{self.seed}/{self._uuid_counter}')}"

    # -- blocks and transactions ------------------------------------------------------------

    def genesis(self, now: datetime | str | None = None) -> SealedBlock:
        """Block 0 of this network (see :mod:`.genesis`)."""
        return genesis_block(
            self.platform,
            self.validator_members,
            threshold=self.threshold,
            now=self.time(0) if now is None else now,
        )

    def ledger(self, store: Store | str, *, clock: Any = None) -> Ledger:
        """A :class:`Ledger` holding all validator keys; commits genesis into an empty store."""
        opened = open_store(store) if isinstance(store, str) else store
        kwargs = {} if clock is None else {"clock": clock}
        ledger = Ledger(opened, validators=self.validators, **kwargs)
        if opened.head() is None:
            ledger.apply_block(self.genesis().block)
        return ledger

    def transaction(
        self,
        sender: Founder,
        tx_type: str,
        outputs: Iterable[Mapping[str, Any]],
        *,
        inputs: Iterable[Mapping[str, str]] = (),
        timestamp: str | None = None,
        sequence: int | None = None,
        signers: Sequence[Founder] | None = None,
    ) -> dict[str, Any]:
        """A signed transaction of ``sender`` (next sequence unless ``sequence`` is given)."""
        doc = {
            "objectType": "Transaction",
            "type": tx_type,
            "sender": sender.id,
            "sequence": sender.take_sequence() if sequence is None else sequence,
            "timestamp": timestamp or self.time(0),
            "inputs": [dict(i) for i in inputs],
            "outputs": [dict(o) for o in outputs],
        }
        return sign_by(doc, [sender] if signers is None else signers)

    def registration(
        self, members: Sequence[Founder], *, height: int, timestamp: str | None = None
    ) -> dict[str, Any]:
        """``participant.register`` of ``members`` at ``height``, signed by governance."""
        return self.transaction(
            self.platform,
            "participant.register",
            [m.document(height) for m in members],
            timestamp=timestamp,
            signers=self.governance,
        )

    def audit_event(
        self, actor: Founder, *, event_id: str | None = None, action: str = "read"
    ) -> dict[str, Any]:
        """A minimal ``AuditEvent`` by ``actor`` (an ordinary, non-governance output)."""
        return {
            "objectType": "AuditEvent",
            "eventId": event_id or self.object_id(),
            "recorded": self.time(0),
            "actor": actor.id,
            "actorRole": actor.roles[0],
            "action": action,
            "outcome": "success",
            "policyHash": "sha-256:" + hashlib.sha256(b"policy").hexdigest(),
            "requestDigest": "sha-256:"
            + hashlib.sha256(f"{actor.id}/{self._uuid_counter}".encode()).hexdigest(),
        }
