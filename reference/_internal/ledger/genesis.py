"""The genesis block: the founding participants, the first validator set, self-signed.

Block 0 carries two transactions, both sent by the platform participant:

1. ``participant.register`` of the platform and the validators, signed by every one of
   them with its own signing key (the genesis self-registration of :mod:`.state`);
2. ``validator-set.change`` installing set version 1 at effective height 0, signed by
   the platform and the validators.

The block's tail is signed by at least the threshold of that set.  Nothing here
depends on the founders' keys living in one process: each founder signs the two
transactions and the header with its own key (see :class:`Founder`), which a real
consortium does in a signing ceremony and a :class:`~.devnet.DevNetwork` does in one
process.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from bmdx.reference._internal.keys import PrivateKey
from bmdx.reference._internal.ledger.blocks import SealedBlock, Validator, build_block
from bmdx.reference._internal.ledger.state import format_timestamp, parse_timestamp
from bmdx.reference._internal.ledger.views import MemoryChain
from bmdx.reference._internal.profile import security_profile
from bmdx.reference._internal.signing import sign_document

__all__ = [
    "Founder",
    "genesis_block",
    "genesis_transactions",
    "participant_document",
    "sign_by",
]


@dataclass(slots=True)
class Founder:
    """A participant with its private keys: a founder of the network, or any member."""

    id: str
    name: str
    roles: list[str]
    signing: PrivateKey
    encryption: PrivateKey | None = None
    jurisdiction: str | None = None
    next_sequence: int = field(default=1)

    @property
    def kid(self) -> str:
        return self.signing.kid

    @property
    def validator(self) -> Validator:
        return Validator(self.id, self.signing)

    def document(self, registered: int) -> dict[str, Any]:
        return participant_document(self, registered)

    def take_sequence(self) -> int:
        sequence = self.next_sequence
        self.next_sequence += 1
        return sequence

    def sign(self, document: dict[str, Any]) -> dict[str, Any]:
        return sign_document(document, self.signing, typ=security_profile().signatures.typ)


def participant_document(member: Founder, registered: int) -> dict[str, Any]:
    """The ``Participant`` document registering ``member`` at height ``registered``."""
    doc: dict[str, Any] = {
        "objectType": "Participant",
        "id": member.id,
        "name": member.name,
        "roles": list(member.roles),
    }
    if member.jurisdiction:
        doc["jurisdiction"] = member.jurisdiction
    keys = [member.signing.public.to_public_key_object()]
    if member.encryption is not None:
        keys.append(member.encryption.public.to_public_key_object())
    doc["keys"] = keys
    doc["registered"] = registered
    return doc


def sign_by(document: dict[str, Any], signers: Sequence[Founder]) -> dict[str, Any]:
    """``document`` signed by each of ``signers`` in turn."""
    for signer in signers:
        document = signer.sign(document)
    return document


def genesis_transactions(
    platform: Founder, validators: Sequence[Founder], *, threshold: int, timestamp: str
) -> list[dict[str, Any]]:
    """The two transactions of block 0 (see the module docstring)."""
    founders = [platform, *[v for v in validators if v.id != platform.id]]
    register = {
        "objectType": "Transaction",
        "type": "participant.register",
        "sender": platform.id,
        "sequence": platform.take_sequence(),
        "timestamp": timestamp,
        "inputs": [],
        "outputs": [f.document(0) for f in founders],
    }
    vset = {
        "objectType": "ValidatorSet",
        "version": 1,
        "threshold": threshold,
        "validators": [{"participant": v.id, "kid": v.kid} for v in validators],
        "effectiveHeight": 0,
    }
    change = {
        "objectType": "Transaction",
        "type": "validator-set.change",
        "sender": platform.id,
        "sequence": platform.take_sequence(),
        "timestamp": timestamp,
        "inputs": [],
        "outputs": [vset],
    }
    return [sign_by(register, founders), sign_by(change, founders)]


def genesis_block(
    platform: Founder,
    validators: Sequence[Founder],
    *,
    threshold: int,
    now: datetime | str,
) -> SealedBlock:
    """Block 0, signed by ``threshold`` of the validators (the first is the proposer)."""
    timestamp = now if isinstance(now, str) else format_timestamp(now)
    parse_timestamp(timestamp)
    txs = genesis_transactions(platform, validators, threshold=threshold, timestamp=timestamp)
    signers = [v.validator for v in validators[:threshold]]
    return build_block(
        MemoryChain(), txs, proposer=validators[0].id, signers=signers, now=timestamp
    )
