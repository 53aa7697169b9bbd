"""Synthetic, realistic, signed traffic for a development ledger (``bmdx ledger populate``).

A :class:`~.ledger.DevNetwork` (every key derived from a seed, so a run is
reproducible) registers the kinds of participants the seed describes -- hospitals, a
laboratory, an imaging centre, a pharmacy, an insurer, a regulator and patients --
then writes what they would: anchored record headers, consents granted by patients,
audit events and insurance claims, each instantiated from the shapes of the spec's own
examples with fresh identifiers and signed by its author.  Governance happens along the
way: a hospital rotates its signing key and the consortium admits a fifth validator
(a ``validator-set.change``).  Every transaction goes through the node's full state
machine, so a populated ledger is one a verifier must accept.
"""

from __future__ import annotations

import base64
import copy
import hashlib
import random
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bmdx.reference._internal import ijson
from bmdx.reference._internal.keyhistory import make_key_rotation
from bmdx.reference._internal.keys import PrivateKey
from bmdx.reference._internal.ledger import DevNetwork, Founder, Ledger
from bmdx.reference._internal.ledger.state import VALIDATOR_SET_OBJECT_ID
from bmdx.reference._internal.specdata import spec_dir
from bmdx.reference._internal.storage import open_store

__all__ = ["PopulateResult", "populate"]

STEP_SECONDS = 60
PATIENTS_MAX = 40
#: (example folder, transaction type, the member that names the sender, sender kinds)
TEMPLATES: tuple[tuple[str, str, str, tuple[str, ...]], ...] = (
    ("record-header", "record.anchor", "author", ("hospital", "laboratory", "imaging")),
    ("consent", "consent.grant", "grantor", ("patient",)),
    ("audit-event", "audit.append", "actor", ("hospital", "laboratory", "pharmacy")),
    ("insurance-claim", "claim.submit", "provider", ("hospital", "laboratory")),
)
ID_MEMBER = {
    "RecordHeader": "recordId",
    "Consent": "consentId",
    "AuditEvent": "eventId",
    "InsuranceClaim": "claimId",
}
KIND_BY_KEYWORD = (
    ("pharmacy", "pharmacy"),
    ("insur", "insurer"),
    ("lab", "laboratory"),
    ("imaging", "imaging"),
    ("patient", "patient"),
    ("regulator", "regulator"),
)
PREFIX = "urn:bmdx:participant:"

#: ``progress(done, total)`` in transactions.
Progress = Callable[[int, int], None]


@dataclass(frozen=True, slots=True)
class PopulateResult:
    """What a run wrote: transactions (besides genesis), blocks, and the head height."""

    transactions: int
    blocks: int
    height: int
    validator_keys: tuple[PrivateKey, ...]


def _templates() -> dict[str, list[dict[str, Any]]]:
    out: dict[str, list[dict[str, Any]]] = {}
    for folder, *_ in TEMPLATES:
        paths = sorted((spec_dir() / "examples" / "valid" / folder).glob("*.json"))
        out[folder] = [ijson.loads(p.read_bytes()) for p in paths]
    return out


class _Traffic:
    """The network's members and the transactions they send, in a reproducible order."""

    def __init__(self, net: DevNetwork, rng: random.Random, patients: int) -> None:
        self.net = net
        self.rng = rng
        self.kinds: dict[str, list[Founder]] = {
            "hospital": [
                net.member("st-mary-hospital", ["hospital"]),
                net.member("northside-hospital", ["hospital"]),
            ],
            "laboratory": [net.member("clearwater-lab", ["laboratory"])],
            "imaging": [net.member("northside-imaging", ["imaging-centre"])],
            "pharmacy": [net.member("harbour-pharmacy", ["pharmacy"])],
            "insurer": [net.member("mutual-health-insurer", ["insurer"])],
            "regulator": [net.member("health-regulator", ["regulator"])],
            "patient": [
                net.member(f"patient-{i:04d}", ["patient"], encryption=False)
                for i in range(1, patients + 1)
            ],
        }
        self.templates = _templates()

    def members(self) -> list[Founder]:
        return [m for group in self.kinds.values() for m in group]

    def pick(self, kind: str) -> Founder:
        return self.rng.choice(self.kinds[kind])

    def _pseudonym(self, patient: Founder) -> str:
        digest = hashlib.sha256(f"{self.net.seed}/pseudonym/{patient.id}".encode()).digest()
        return "pseud:" + base64.urlsafe_b64encode(digest).decode()[:43]

    def _map_ids(
        self, value: Any, sender: Founder, patient: Founder, mapping: dict[str, str]
    ) -> Any:
        if isinstance(value, dict):
            return {k: self._map_ids(v, sender, patient, mapping) for k, v in value.items()}
        if isinstance(value, list):
            return [self._map_ids(v, sender, patient, mapping) for v in value]
        if isinstance(value, str) and value.startswith("pseud:"):
            return self._pseudonym(patient)
        if isinstance(value, str) and value.startswith(PREFIX):
            if value not in mapping:
                slug = value[len(PREFIX) :]
                kind = next((k for word, k in KIND_BY_KEYWORD if word in slug), "hospital")
                mapping[value] = (patient if kind == "patient" else self.pick(kind)).id
            return mapping[value]
        return value

    def object_transaction(self, when: str) -> dict[str, Any]:
        folder, tx_type, sender_member, kinds = self.rng.choice(TEMPLATES)
        template = self.rng.choice(self.templates[folder])
        sender = self.pick(self.rng.choice(kinds))
        patient = sender if sender in self.kinds["patient"] else self.pick("patient")
        mapping: dict[str, str] = {}
        original = template.get(sender_member)
        if isinstance(original, str):
            mapping[original] = sender.id
        output = self._map_ids(copy.deepcopy(template), sender, patient, mapping)
        output[sender_member] = sender.id
        output[ID_MEMBER[output["objectType"]]] = self.net.object_id()
        if "signatures" in output:
            del output["signatures"]
            output = sender.sign(output)
        return self.net.transaction(sender, tx_type, [output], timestamp=when)


def _live(ledger: Ledger, object_id: str) -> list[dict[str, str]]:
    """The input consuming ``object_id``'s live version (every new version supersedes it)."""
    version = ledger.view.live_version(object_id)
    return [] if version is None else [{"objectId": object_id, "version": version}]


def _rotation(
    net: DevNetwork, ledger: Ledger, member: Founder, height: int, when: str
) -> dict[str, Any]:
    slug = member.id[len(PREFIX) :]
    new = net.new_key(slug, 2)
    rotation = make_key_rotation(member.id, member.signing, new.public, height)
    tx = net.transaction(
        member, "key.rotate", [rotation], inputs=_live(ledger, member.id), timestamp=when
    )
    member.signing = new
    return tx


def _validator_change(
    net: DevNetwork, ledger: Ledger, newcomer: Founder, height: int, when: str
) -> dict[str, Any]:
    current = ledger.validator_set_at(height)
    assert current is not None  # genesis installs set 1
    members = [*current["validators"], {"participant": newcomer.id, "kid": newcomer.kid}]
    vset = {
        "objectType": "ValidatorSet",
        "version": current["version"] + 1,
        "threshold": current["threshold"],
        "validators": members,
        "effectiveHeight": height + 1,
    }
    return net.transaction(
        net.platform,
        "validator-set.change",
        [vset],
        inputs=_live(ledger, VALIDATOR_SET_OBJECT_ID),
        timestamp=when,
        signers=net.governance,
    )


def _plan(
    net: DevNetwork, traffic: _Traffic, ledger: Ledger, newcomer: Founder
) -> Iterator[Callable[[int, str], Any]]:
    """Transaction factories ``(height, timestamp) -> tx``; ``None`` closes the block."""
    yield lambda h, t: net.registration([*traffic.members(), newcomer], height=h, timestamp=t)
    yield lambda h, t: None
    yield lambda h, t: _validator_change(net, ledger, newcomer, h, t)
    yield lambda h, t: _rotation(net, ledger, traffic.kinds["hospital"][0], h + 1, t)
    yield lambda h, t: None
    while True:
        yield lambda h, t: traffic.object_transaction(t)


def populate(
    url: str,
    transactions: int,
    *,
    seed: str = "1",
    block_size: int = 100,
    progress: Progress | None = None,
) -> PopulateResult:
    """Commit ``transactions`` signed transactions (after genesis) to a new ledger at ``url``."""
    net = DevNetwork(seed=f"populate/{seed}")
    rng = random.Random(f"bmdx-populate/{seed}")  # noqa: S311 (traffic shape, not secrets)
    patients = max(3, min(PATIENTS_MAX, transactions // 50))
    traffic = _Traffic(net, rng, patients)
    with open_store(url) as store:
        if store.head() is not None:
            from bmdx.reference._internal.errors import UsageError  # noqa: PLC0415

            raise UsageError(
                f"{url} already holds a ledger; populate writes a new one",
                reason="not-empty",
                remedy="Give the URL of a new, empty database.",
            )
        ledger = net.ledger(store)
        done = blocks = 0
        step = 1
        in_block = 0
        newcomer = net.member(f"validator-{len(net.validator_members) + 1}", ["validator"])
        plan = _plan(net, traffic, ledger, newcomer)
        while done < transactions:
            head = ledger.head()
            assert head is not None
            height, when = head.height + 1, net.time(step * STEP_SECONDS)
            tx = next(plan)(height, when)
            if tx is not None:
                ledger.submit(tx, now=when)
                done += 1
                in_block += 1
            if in_block and (tx is None or in_block >= block_size or done == transactions):
                ledger.commit_pending(now=when)
                blocks += 1
                step += 1
                in_block = 0
                if progress is not None:
                    progress(done, transactions)
        head = ledger.head()
        assert head is not None
        keys = (*(v.signing for v in net.validator_members), newcomer.signing)
        return PopulateResult(done, blocks, head.height, keys)


def write_validator_keys(keys: tuple[PrivateKey, ...], directory: Path) -> list[Path]:
    """Write development validator keys as unencrypted PKCS#8 PEM files."""
    from bmdx.reference._internal.keys import private_key_to_pem  # noqa: PLC0415

    directory.mkdir(parents=True, exist_ok=True)
    written = []
    for i, key in enumerate(keys, 1):
        path = directory / f"validator-{i}.pem"
        path.write_bytes(private_key_to_pem(key))
        path.chmod(0o600)
        written.append(path)
    return written
