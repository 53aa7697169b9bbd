"""The suite's own offline ledger verifier, written from spec/conventions/ledger.md.

A second implementation of the ledger rules (N-version principle): it never imports
the reference implementation, and its only oracles are the spec text, its schemas
(``objects.py``), RFC 8785 (``rfc8785``), JOSE (``jose.py`` over jwcrypto), RFC 9162
(``merkle.py``) and C2SP signed notes (``checkpoint.py``).

:class:`Ledger` replays blocks from genesis and raises :class:`LedgerFaultError` at the
first rule a block or transaction breaks, naming the requirement, in the order the
spec fixes so that two verifiers name the same fault:

- a block: schema, height and link (BMDX-LED-020, a different block at a known height
  being a fork, BMDX-LED-023), time (BMDX-LED-018), ``txCount`` (BMDX-LED-020), proposer
  and ``threshold`` distinct validator signatures (BMDX-LED-021; for the genesis block
  after its body), every transaction, ``treeSize`` (BMDX-LED-020) and ``treeRoot``
  (BMDX-LED-003);
- a transaction, the state machine's steps 3 to 9: sender (012), signatures (013), key
  validity (014), sequence (015), inputs and object versions (016), type rules (017,
  the effective height of a validator-set change 022), time (018).

:func:`verify_export` checks an export directory outside-in: the manifest and layout
(BMDX-LED-040, BMDX-LED-045), every file's length and digest (045), every object
against its schema (040), the replay with each block's checkpoint document (044) and
C2SP note (030, 042, 043) checked against the validators in force, then the manifest's
head (045) and ``validator-sets.json`` (040).
"""

from __future__ import annotations

import datetime as dt
import functools
import hashlib
import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import rfc8785
from jwcrypto import jwk

from bmdx.conformance._internal.specdata import load_yaml, spec_dir
from bmdx.conformance._internal.verifiers import checkpoint as notes
from bmdx.conformance._internal.verifiers import ijson, jose, merkle, objects

__all__ = [
    "GENESIS_PREVIOUS",
    "ExportSummary",
    "Ledger",
    "LedgerFaultError",
    "block_hash",
    "canonical",
    "digest",
    "leaf_hash",
    "txid",
    "verify_export",
    "verify_exports",
]

REQ_OUTPUT_TYPE = "BMDX-DM-053"
REQ_TREE = "BMDX-LED-003"
REQ_SENDER = "BMDX-LED-012"
REQ_SIGNATURE = "BMDX-LED-013"
REQ_KEY_VALID = "BMDX-LED-014"
REQ_SEQUENCE = "BMDX-LED-015"
REQ_INPUTS = "BMDX-LED-016"
REQ_TYPE = "BMDX-LED-017"
REQ_OUTPUT_TYPE = "BMDX-DM-053"
REQ_TIME = "BMDX-LED-018"
REQ_BLOCK = "BMDX-LED-020"
REQ_SIGNERS = "BMDX-LED-021"
REQ_VALIDATOR_SET = "BMDX-LED-022"
REQ_FORK = "BMDX-LED-023"
REQ_NOTE_SIGNERS = "BMDX-LED-042"
REQ_CHECKPOINT = "BMDX-LED-044"
REQ_LAYOUT = "BMDX-LED-040"
REQ_MANIFEST = "BMDX-LED-045"

GENESIS_PREVIOUS = "sha-256:" + "0" * 64
VALIDATOR_SET_ID = "urn:bmdx:validator-set"
MAX_SIGNATURES = 16

# The member naming the ledger object an output is a version of (ledger.md, "Ledger
# objects and versions"); any other type is its own object.
IDENTIFIER_MEMBER = {
    "Participant": "id",
    "KeyRotation": "participant",
    "KeyRevocation": "participant",
    "RecordHeader": "recordId",
    "ErasureReceipt": "recordId",
    "Consent": "consentId",
    "AuditEvent": "eventId",
    "AnomalyAlert": "alertId",
    "InsuranceClaim": "claimId",
    "ClaimAdjudication": "claimId",
    "ResearchExport": "exportId",
    "QualityReport": "reportId",
}

# The output types each transaction type allows (ledger.md, "Type rules").
OUTPUT_TYPES = {
    "participant.register": "Participant",
    "participant.update": "Participant",
    "key.rotate": "KeyRotation",
    "key.revoke": "KeyRevocation",
    "validator-set.change": "ValidatorSet",
    "consent.grant": "Consent",
    "consent.revoke": "Consent",
    "record.anchor": "RecordHeader",
    "record.erase": "ErasureReceipt",
    "audit.append": "AuditEvent",
    "alert.raise": "AnomalyAlert",
    "supply-chain.event": "SupplyChainEvent",
    "claim.submit": "InsuranceClaim",
    "claim.adjudicate": "ClaimAdjudication",
    "research.export": "ResearchExport",
    "quality.report": "QualityReport",
}

# Keys a participant may register (spec/security/profile.yaml, keys.types).
KEY_TYPES = {
    ("EC", "P-256", "sig"),
    ("OKP", "Ed25519", "sig"),
    ("EC", "P-256", "enc"),
    ("OKP", "X25519", "enc"),
}


class LedgerFaultError(Exception):
    """The first rule a ledger breaks: its requirement, a reason, and where."""

    def __init__(
        self,
        message: str,
        *,
        requirement: str,
        reason: str,
        height: int | None = None,
        txid: str | None = None,
        path: str | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.requirement = requirement
        self.reason = reason
        self.height = height
        self.txid = txid
        self.path = path

    def __str__(self) -> str:
        where = []
        if self.path is not None:
            where.append(self.path)
        if self.height is not None:
            where.append(f"block {self.height}")
        if self.txid is not None:
            where.append(f"transaction {self.txid}")
        prefix = f"{', '.join(where)}: " if where else ""
        return f"{prefix}{self.requirement} [{self.reason}] {self.message}"


def canonical(value: Any) -> bytes:
    """RFC 8785 canonical bytes."""
    return rfc8785.dumps(value)


def digest(data: bytes) -> str:
    return "sha-256:" + hashlib.sha256(data).hexdigest()


def txid(tx: Mapping[str, Any]) -> str:
    """``sha-256:`` and the hex SHA-256 of the canonical transaction, signatures included."""
    return digest(canonical(tx))


def leaf_hash(tx: Mapping[str, Any]) -> bytes:
    """SHA-256(0x00 || canonical(transaction)) (BMDX-LED-001)."""
    return merkle.leaf_hash(canonical(tx))


def block_hash(header: Mapping[str, Any]) -> str:
    return digest(canonical(header))


def _time(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text.replace("Z", "+00:00"))


@functools.cache
def _clock_skew(root: Path) -> dt.timedelta:
    section = load_yaml(root / "security" / "profile.yaml")["limits"]
    return dt.timedelta(seconds=int(section["clock_skew_seconds"]))


def _root(hashes: Sequence[bytes]) -> bytes:
    """RFC 9162 MTH over leaf hashes (the recursion of ``merkle.mth``, one level up)."""
    n = len(hashes)
    if n == 0:
        return hashlib.sha256(b"").digest()
    if n == 1:
        return hashes[0]
    k = 1
    while k * 2 < n:
        k *= 2
    return merkle.node_hash(_root(hashes[:k]), _root(hashes[k:]))


@dataclass
class _Key:
    kid: str
    participant: str
    jwk: dict[str, Any]
    valid_from: int
    valid_until: int | None = None

    @property
    def use(self) -> str:
        return str(self.jwk.get("use"))

    def valid_at(self, height: int) -> bool:
        return self.valid_from <= height and (self.valid_until is None or height < self.valid_until)


@dataclass(frozen=True)
class ValidatorSet:
    version: int
    threshold: int
    members: tuple[tuple[str, str], ...]  # (participant, kid)
    effective_height: int
    document: dict[str, Any]

    @classmethod
    def of(cls, doc: Mapping[str, Any]) -> ValidatorSet:
        return cls(
            version=doc["version"],
            threshold=doc["threshold"],
            members=tuple((v["participant"], v["kid"]) for v in doc["validators"]),
            effective_height=doc["effectiveHeight"],
            document=dict(doc),
        )

    def signing(self, kids: Iterable[str]) -> set[str]:
        """The distinct validators among the signers ``kids``."""
        by_kid = {kid: participant for participant, kid in self.members}
        return {by_kid[k] for k in kids if k in by_kid}


@dataclass
class _Head:
    height: int
    hash: str
    timestamp: dt.datetime
    tree_size: int


@dataclass
class _Tx:
    """One transaction being checked at ``height``: its document and what it proved."""

    doc: Mapping[str, Any]
    height: int
    bootstrap: bool
    signers: list[tuple[str, str]] = field(default_factory=list)  # (participant, kid)

    @property
    def kids(self) -> list[str]:
        return [kid for _, kid in self.signers]


def _unsigned(doc: Mapping[str, Any]) -> bytes:
    return canonical({k: v for k, v in doc.items() if k != "signatures"})


class Ledger:
    """The state a verifier derives by replaying blocks from genesis."""

    def __init__(self, *, root: Path | None = None) -> None:
        self.spec = root or spec_dir()
        self.head: _Head | None = None
        self.hashes: list[str] = []  # block hash by height
        self.headers: list[dict[str, Any]] = []
        self.tree_sizes: list[int] = []
        self.leaves: list[bytes] = []
        self.tx_index: dict[str, int] = {}
        self.participants: dict[str, dict[str, Any]] = {}
        self.keys: dict[str, _Key] = {}
        self.sequences: dict[str, int] = {}
        self.versions: dict[str, tuple[str, bool]] = {}  # version -> (object id, live)
        self.live: dict[str, str] = {}  # object id -> live version
        self.validator_sets: list[ValidatorSet] = []
        self.sets_in_force: list[ValidatorSet] = []  # by block, consecutive repeats dropped

    # -- queries -----------------------------------------------------------------------

    def validator_set_at(self, height: int) -> ValidatorSet | None:
        """The set with the largest effective height at or below ``height`` (LED-022)."""
        found = None
        for vset in self.validator_sets:
            if vset.effective_height <= height and (
                found is None or vset.effective_height > found.effective_height
            ):
                found = vset
        return found

    def validator_keys(self, vset: ValidatorSet, height: int) -> dict[str, dict[str, Any]]:
        """The public JWKs of the set's members valid at ``height``, by kid."""
        out = {}
        for participant, kid in vset.members:
            key = self.keys.get(kid)
            if key is not None and key.participant == participant and key.valid_at(height):
                out[kid] = key.jwk
        return out

    def root(self, size: int) -> bytes:
        return _root(self.leaves[:size])

    # -- blocks ------------------------------------------------------------------------

    def add_block(self, block: Any) -> None:
        """Check ``block`` as the next block (or a known one) and apply it."""
        shell = block.get("header") if isinstance(block, dict) else None
        height = shell.get("height") if isinstance(shell, dict) else None
        problems = objects.violations(block, "Block", self.spec)
        if problems:
            raise LedgerFaultError(
                f"not a valid Block: {problems[0]}",
                requirement=REQ_BLOCK,
                reason="schema",
                height=height if isinstance(height, int) else None,
            )
        header, tail = block["header"], block["tail"]
        transactions = block["body"]["transactions"]
        height = header["height"]
        this_hash = block_hash(header)

        def fault(requirement: str, reason: str, message: str) -> LedgerFaultError:
            return LedgerFaultError(message, requirement=requirement, reason=reason, height=height)

        if not self._links(header, this_hash):
            return  # the same block again
        when = _time(header["timestamp"])
        if header["txCount"] != len(transactions):
            raise fault(REQ_BLOCK, "bad-count", "txCount is not the number of transactions")
        if height > 0:
            self._check_tail(header, tail, self.validator_set_at(height))
        for tx in transactions:
            self._apply_transaction(tx, height, when)
        if height == 0:
            self._check_tail(header, tail, self.validator_set_at(0))
        previous_size = 0 if self.head is None else self.head.tree_size
        if header["treeSize"] != previous_size + len(transactions):
            raise fault(REQ_BLOCK, "bad-tree-size", "treeSize is not the log's size")
        if header["treeRoot"] != "sha-256:" + self.root(header["treeSize"]).hex():
            raise fault(REQ_TREE, "bad-tree-root", "treeRoot is not the RFC 9162 root of the log")
        self.head = _Head(height, this_hash, when, header["treeSize"])
        self.hashes.append(this_hash)
        self.headers.append(dict(header))
        self.tree_sizes.append(header["treeSize"])
        vset = self.validator_set_at(height)
        assert vset is not None  # the tail check needed one
        if not self.sets_in_force or self.sets_in_force[-1] is not vset:
            self.sets_in_force.append(vset)

    def _links(self, header: Mapping[str, Any], this_hash: str) -> bool:
        """Height, link and time (rules 2 and 3); ``False`` for a block already known."""
        height = header["height"]

        def fault(requirement: str, reason: str, message: str) -> LedgerFaultError:
            return LedgerFaultError(message, requirement=requirement, reason=reason, height=height)

        expected = 0 if self.head is None else self.head.height + 1
        if height < expected:
            if self.hashes[height] != this_hash:
                raise fault(
                    REQ_FORK, "fork", f"a different block {self.hashes[height]} has this height"
                )
            return False
        if height != expected:
            raise fault(REQ_BLOCK, "bad-height", f"the next block has height {expected}")
        previous = GENESIS_PREVIOUS if self.head is None else self.head.hash
        if header["previous"] != previous:
            raise fault(REQ_BLOCK, "bad-previous", f"previous is not {previous}")
        if self.head is not None and _time(header["timestamp"]) < self.head.timestamp:
            raise fault(REQ_TIME, "timestamp", "the block is earlier than its predecessor")
        return True

    def _check_tail(
        self, header: Mapping[str, Any], tail: Mapping[str, Any], vset: ValidatorSet | None
    ) -> None:
        height = header["height"]

        def fault(reason: str, message: str) -> LedgerFaultError:
            return LedgerFaultError(message, requirement=REQ_SIGNERS, reason=reason, height=height)

        if vset is None:
            raise fault("no-validator-set", "no validator set is in force")
        if header["proposer"] not in {p for p, _ in vset.members}:
            raise fault("bad-proposer", "the proposer is not a validator in force")
        keys = self.validator_keys(vset, height)
        payload = canonical(header)
        kids = []
        for i, entry in enumerate(tail["signatures"]):
            try:
                kids.append(jose.verify_entry(entry, payload, keys))
            except jose.BadSignatureError as e:
                raise fault(
                    "bad-block-signature", f"tail signature {i} is not a validator's: {e}"
                ) from e
        signed = vset.signing(kids)
        if len(signed) < vset.threshold:
            raise fault(
                "insufficient-signatures",
                f"{len(signed)} distinct validators signed; the threshold is {vset.threshold}",
            )

    # -- transactions ------------------------------------------------------------------

    def _apply_transaction(self, doc: Any, height: int, block_time: dt.datetime) -> None:
        ident = txid(doc) if isinstance(doc, dict) else None
        try:
            self._transaction(doc, height, block_time)
        except LedgerFaultError as e:
            e.height, e.txid = height, ident
            raise
        assert ident is not None
        self.tx_index[ident] = len(self.leaves)
        self.leaves.append(leaf_hash(doc))

    def _transaction(self, doc: Any, height: int, block_time: dt.datetime) -> None:
        problems = objects.violations(doc, "Transaction", self.spec)
        if problems:
            raise LedgerFaultError(
                f"not a valid Transaction: {problems[0]}", requirement=REQ_BLOCK, reason="schema"
            )
        allowed = OUTPUT_TYPES[doc["type"]]
        for output in doc["outputs"]:
            if output["objectType"] != allowed:
                # A data-model rule of a valid Transaction (step 2), before the ledger's.
                raise _fault(REQ_OUTPUT_TYPE, "schema", f"a {doc['type']} outputs {allowed} only")
        tx = _Tx(doc, height, bootstrap=self.validator_set_at(height) is None)
        self._check_sender(tx)
        bootstrap_keys = self._check_signatures(tx)
        self._check_key_validity(tx, bootstrap_keys)
        self._check_sequence(tx)
        self._check_inputs(tx)
        created = self._check_outputs(tx)
        rule = getattr(self, "_rule_" + doc["type"].replace(".", "_").replace("-", "_"))
        effects = rule(tx)
        skew = _clock_skew(self.spec)
        if _time(doc["timestamp"]) > block_time + skew:
            raise _fault(REQ_TIME, "timestamp", "later than the block's time plus the clock skew")
        # Committed: apply every effect.
        self.sequences[doc["sender"]] = doc["sequence"]
        for ref in doc["inputs"]:
            object_id, _ = self.versions[ref["version"]]
            self.versions[ref["version"]] = (object_id, False)
            if self.live.get(object_id) == ref["version"]:
                del self.live[object_id]
        for object_id, version in created:
            self.versions[version] = (object_id, True)
            self.live[object_id] = version
        effects()

    def _check_sender(self, tx: _Tx) -> None:
        sender = tx.doc["sender"]
        if sender in self.participants:
            return
        if (
            tx.bootstrap
            and tx.doc["type"] == "participant.register"
            and any(o.get("id") == sender for o in tx.doc["outputs"])
        ):
            return
        raise _fault(REQ_SENDER, "unknown-sender", f"{sender} is not a registered participant")

    def _bootstrap_keys(self, tx: _Tx) -> dict[str, _Key]:
        """Genesis: the signing keys a self-registration registers, valid at once."""
        if not tx.bootstrap or tx.doc["type"] != "participant.register":
            return {}
        found = {}
        for output in tx.doc["outputs"]:
            for key in output.get("keys", []):
                if key.get("use") == "sig" and isinstance(key.get("kid"), str):
                    found[key["kid"]] = _Key(key["kid"], output["id"], key, tx.height)
        return found

    def _check_signatures(self, tx: _Tx) -> dict[str, _Key]:
        extra = self._bootstrap_keys(tx)
        known = {kid: k.jwk for kid, k in self.keys.items()}
        known.update({kid: k.jwk for kid, k in extra.items()})
        payload = _unsigned(tx.doc)
        signatures = tx.doc["signatures"]
        if len(signatures) > MAX_SIGNATURES:
            raise _fault(REQ_SIGNATURE, "bad-signature", "more signatures than the profile allows")
        for i, entry in enumerate(signatures):
            try:
                kid = jose.verify_entry(entry, payload, known)
            except jose.BadSignatureError as e:
                raise _fault(REQ_SIGNATURE, "bad-signature", f"signature {i}: {e}") from e
            owner = (extra.get(kid) or self.keys[kid]).participant
            tx.signers.append((owner, kid))
        if not any(owner == tx.doc["sender"] for owner, _ in tx.signers):
            raise _fault(REQ_SIGNATURE, "bad-signature", "no signature is by a key of the sender")
        return extra

    def _check_key_validity(self, tx: _Tx, extra: Mapping[str, _Key]) -> None:
        for _, kid in tx.signers:
            key = extra.get(kid) or self.keys[kid]
            if not key.valid_at(tx.height):
                raise _fault(
                    REQ_KEY_VALID, "key-not-valid", f"key {kid} is not valid at {tx.height}"
                )

    def _check_sequence(self, tx: _Tx) -> None:
        last = self.sequences.get(tx.doc["sender"], 0)
        sequence = tx.doc["sequence"]
        if sequence <= last:
            raise _fault(REQ_SEQUENCE, "replay", f"sequence {sequence} is not above {last}")
        if sequence > last + 1:
            raise _fault(REQ_SEQUENCE, "sequence-gap", f"sequence {sequence} skips {last + 1}")

    def _check_inputs(self, tx: _Tx) -> None:
        for ref in tx.doc["inputs"]:
            state = self.versions.get(ref["version"])
            if state is None or state[0] != ref["objectId"]:
                raise _fault(REQ_INPUTS, "unknown-input", f"{ref['version']} is not on the ledger")
            if not state[1]:
                raise _fault(REQ_INPUTS, "spent-input", f"{ref['version']} is already consumed")

    def _check_outputs(self, tx: _Tx) -> list[tuple[str, str]]:
        allowed = OUTPUT_TYPES[tx.doc["type"]]
        consumed = {ref["objectId"] for ref in tx.doc["inputs"]}
        created: list[tuple[str, str]] = []
        for i, output in enumerate(tx.doc["outputs"]):
            if output["objectType"] != allowed:
                # A data-model rule: the reference and the spec report it at step 2.
                raise _fault(REQ_OUTPUT_TYPE, "schema", f"output {i} is not a {allowed}")
            version = digest(canonical(output))
            if output["objectType"] == "ValidatorSet":
                object_id = VALIDATOR_SET_ID
            else:
                member = IDENTIFIER_MEMBER.get(output["objectType"])
                object_id = version if member is None else str(output[member])
            if any(object_id == o for o, _ in created):
                raise _fault(REQ_TYPE, "type-rule", f"two outputs are versions of {object_id}")
            if version in self.versions:
                raise _fault(REQ_TYPE, "type-rule", f"version {version} already exists")
            if object_id in self.live and object_id not in consumed:
                raise _fault(
                    REQ_TYPE,
                    "type-rule",
                    f"{object_id} has a live version the transaction does not consume",
                )
            created.append((object_id, version))
        return created

    # -- type rules: each returns the effects to apply once every step passed ----------

    def _governance(self, tx: _Tx, vset: ValidatorSet | None = None) -> None:
        vset = vset or self.validator_set_at(tx.height)
        if vset is None:
            raise _fault(REQ_TYPE, "type-rule", "governance needs a validator set in force")
        if len(vset.signing(tx.kids)) < vset.threshold:
            raise _fault(REQ_TYPE, "type-rule", "fewer than the threshold of validators signed")

    def _new_key(self, key: Mapping[str, Any], seen: set[str]) -> None:
        if (key.get("kty"), key.get("crv"), key.get("use")) not in KEY_TYPES:
            raise _fault(REQ_TYPE, "type-rule", f"key {key.get('kid')} is outside the profile")
        members = ("kty", "crv", "x", "y")
        thumbprint = jwk.JWK(**{m: key[m] for m in members if m in key}).thumbprint()
        if key["kid"] != thumbprint:
            raise _fault(REQ_TYPE, "type-rule", f"kid {key['kid']} is not the key's thumbprint")
        if key["kid"] in self.keys or key["kid"] in seen:
            raise _fault(REQ_TYPE, "type-rule", f"key id {key['kid']} is already registered")
        seen.add(key["kid"])

    def _rule_participant_register(self, tx: _Tx) -> Any:
        outputs = tx.doc["outputs"]
        if tx.bootstrap:
            signed_by = {owner for owner, _ in tx.signers}
            for output in outputs:
                has_signing_key = any(k.get("use") == "sig" for k in output["keys"])
                if has_signing_key and output["id"] not in signed_by:
                    raise _fault(
                        REQ_TYPE, "type-rule", f"{output['id']} did not sign its registration"
                    )
        else:
            self._governance(tx)
        seen: set[str] = set()
        for output in outputs:
            if output["id"] in self.participants:
                raise _fault(REQ_TYPE, "type-rule", f"{output['id']} is already registered")
            if output["registered"] != tx.height:
                raise _fault(REQ_TYPE, "type-rule", "registered is not the block's height")
            for key in output["keys"]:
                self._new_key(key, seen)

        def effects() -> None:
            for output in outputs:
                self.participants[output["id"]] = dict(output)
                for key in output["keys"]:
                    self.keys[key["kid"]] = _Key(key["kid"], output["id"], dict(key), tx.height)

        return effects

    def _rule_participant_update(self, tx: _Tx) -> Any:
        for output in tx.doc["outputs"]:
            current = self.participants.get(output["id"])
            if current is None or output["id"] != tx.doc["sender"]:
                raise _fault(REQ_TYPE, "type-rule", "a participant updates only its own entry")
            if output["keys"] != current["keys"] or output["registered"] != current["registered"]:
                raise _fault(REQ_TYPE, "type-rule", "an update keeps keys and registration")

        def effects() -> None:
            for output in tx.doc["outputs"]:
                self.participants[output["id"]] = dict(output)

        return effects

    def _owned(self, participant: str, kid: str) -> _Key:
        key = self.keys.get(kid)
        if key is None or key.participant != participant:
            raise _fault(REQ_TYPE, "type-rule", f"{participant} has no registered key {kid}")
        if key.valid_until is not None:
            raise _fault(REQ_TYPE, "type-rule", f"key {kid} is already rotated out or revoked")
        return key

    def _signed_output(self, output: Mapping[str, Any], keys: Mapping[str, Any]) -> list[str]:
        payload = _unsigned(output)
        kids = []
        for entry in output["signatures"]:
            try:
                kids.append(jose.verify_entry(entry, payload, keys))
            except jose.BadSignatureError as e:
                raise _fault(REQ_TYPE, "type-rule", f"an output signature: {e}") from e
        return kids

    def _participant_signing_keys(self, participant: str, height: int) -> dict[str, Any]:
        return {
            kid: k.jwk
            for kid, k in self.keys.items()
            if k.participant == participant and k.use == "sig" and k.valid_at(height)
        }

    def _rule_key_rotate(self, tx: _Tx) -> Any:
        changes: list[tuple[str, int, dict[str, Any], str]] = []
        seen: set[str] = set()
        for rotation in tx.doc["outputs"]:
            participant, old_kid = rotation["participant"], rotation["oldKid"]
            effective = rotation["effectiveHeight"]
            if participant != tx.doc["sender"]:
                raise _fault(REQ_TYPE, "type-rule", "a participant rotates only its own keys")
            if effective < tx.height:
                raise _fault(REQ_TYPE, "type-rule", "effectiveHeight is below the block's height")
            old = self._owned(participant, old_kid)
            new = rotation["newKey"]
            self._new_key(new, seen)
            if new.get("use") != old.use:
                raise _fault(REQ_TYPE, "type-rule", "the new key's use is not the old key's")
            if old.use == "sig":
                signers = self._signed_output(rotation, {old_kid: old.jwk})
                if old_kid not in signers or old_kid not in tx.kids:
                    raise _fault(REQ_TYPE, "type-rule", "the rotation is not signed by the old key")
            else:
                self._signed_output(
                    rotation, self._participant_signing_keys(participant, tx.height)
                )
            changes.append((old_kid, effective, dict(new), participant))

        def effects() -> None:
            for old_kid, effective, new, participant in changes:
                self.keys[old_kid].valid_until = effective
                self.keys[new["kid"]] = _Key(new["kid"], participant, new, effective)

        return effects

    def _rule_key_revoke(self, tx: _Tx) -> Any:
        changes: list[tuple[str, int]] = []
        for revocation in tx.doc["outputs"]:
            participant, kid = revocation["participant"], revocation["kid"]
            effective = revocation["effectiveHeight"]
            if effective < tx.height:
                raise _fault(REQ_TYPE, "type-rule", "effectiveHeight is below the block's height")
            target = self._owned(participant, kid)
            if participant == tx.doc["sender"]:
                keys = self._participant_signing_keys(participant, tx.height)
                if target.use == "sig":
                    keys[kid] = target.jwk
                self._signed_output(revocation, keys)
            else:
                self._governance(tx)
                vset = self.validator_set_at(tx.height)
                assert vset is not None
                all_keys = {k: v.jwk for k, v in self.keys.items()}
                kids = self._signed_output(revocation, all_keys)
                if len(vset.signing(kids)) < vset.threshold:
                    raise _fault(
                        REQ_TYPE, "type-rule", "a governance revocation needs the threshold"
                    )
            changes.append((kid, effective))

        def effects() -> None:
            for kid, effective in changes:
                self.keys[kid].valid_until = effective

        return effects

    def _rule_validator_set_change(self, tx: _Tx) -> Any:
        outputs = tx.doc["outputs"]
        if len(outputs) != 1:
            raise _fault(REQ_TYPE, "type-rule", "a validator-set.change has one output")
        proposed = ValidatorSet.of(outputs[0])
        latest = max(self.validator_sets, key=lambda v: v.effective_height, default=None)
        if latest is None:
            if not tx.bootstrap or proposed.effective_height != 0 or proposed.version != 1:
                raise _fault(REQ_TYPE, "type-rule", "the first set has version 1 and height 0")
        else:
            if proposed.effective_height <= tx.height:
                raise _fault(
                    REQ_VALIDATOR_SET,
                    "type-rule",
                    f"a set changed at {tx.height} takes effect at {tx.height + 1} at the earliest",
                )
            if proposed.effective_height <= latest.effective_height:
                raise _fault(REQ_TYPE, "type-rule", "the set does not follow the latest set")
            if proposed.version != latest.version + 1:
                raise _fault(REQ_TYPE, "type-rule", "the set's version does not follow")
        self._check_members(proposed)
        self._governance(tx, proposed if latest is None else None)

        def effects() -> None:
            self.validator_sets.append(proposed)

        return effects

    def _check_members(self, proposed: ValidatorSet) -> None:
        """Every validator a registered validator naming a signing key of its own."""
        if proposed.threshold > len(proposed.members):
            raise _fault(REQ_TYPE, "type-rule", "the threshold exceeds the validators")
        if len({p for p, _ in proposed.members}) != len(proposed.members):
            raise _fault(REQ_TYPE, "type-rule", "a validator is named twice")
        for participant, kid in proposed.members:
            record = self.participants.get(participant)
            key = self.keys.get(kid)
            if record is None or "validator" not in record["roles"]:
                raise _fault(REQ_TYPE, "type-rule", f"{participant} is not a registered validator")
            if key is None or key.participant != participant or key.use != "sig":
                raise _fault(REQ_TYPE, "type-rule", f"{kid} is not a signing key of {participant}")
            if key.valid_until is not None and key.valid_until <= proposed.effective_height:
                raise _fault(REQ_TYPE, "type-rule", f"{kid} is not valid when the set starts")

    def _by_grantor(self, tx: _Tx) -> Any:
        for output in tx.doc["outputs"]:
            if output["grantor"] != tx.doc["sender"]:
                raise _fault(REQ_TYPE, "type-rule", "a consent is sent by its grantor")
        return lambda: None

    _rule_consent_grant = _by_grantor
    _rule_consent_revoke = _by_grantor

    def _by_sender(self, tx: _Tx) -> Any:
        # "signed by the sender": step 4 already required a signature by the sender.
        return lambda: None

    _rule_record_anchor = _by_sender
    _rule_record_erase = _by_sender
    _rule_audit_append = _by_sender
    _rule_alert_raise = _by_sender
    _rule_supply_chain_event = _by_sender
    _rule_claim_submit = _by_sender
    _rule_claim_adjudicate = _by_sender
    _rule_research_export = _by_sender
    _rule_quality_report = _by_sender

    # -- checkpoints ---------------------------------------------------------------------

    def check_checkpoint(self, document: Any, *, origin: str, height: int) -> None:
        """A Checkpoint document of block ``height`` (BMDX-LED-044; another head: LED-023)."""
        problems = objects.violations(document, "Checkpoint", self.spec)
        if problems:
            raise LedgerFaultError(
                f"not a valid Checkpoint: {problems[0]}",
                requirement=REQ_CHECKPOINT,
                reason="schema",
                height=height,
            )
        vset = self.validator_set_at(height)
        assert vset is not None
        keys = self.validator_keys(vset, height)
        payload = _unsigned(document)
        kids = []
        for i, entry in enumerate(document["signatures"]):
            try:
                kids.append(jose.verify_entry(entry, payload, keys))
            except jose.BadSignatureError as e:
                raise LedgerFaultError(
                    f"checkpoint signature {i} is not a validator's: {e}",
                    requirement=REQ_CHECKPOINT,
                    reason="bad-signature",
                    height=height,
                ) from e
        if len(vset.signing(kids)) < vset.threshold:
            raise LedgerFaultError(
                "fewer than the threshold of validators signed the checkpoint",
                requirement=REQ_CHECKPOINT,
                reason="below-threshold",
                height=height,
            )
        if document["origin"] != origin or document["height"] != height:
            raise LedgerFaultError(
                "the checkpoint names another log or block",
                requirement=REQ_CHECKPOINT,
                reason="wrong-block",
                height=height,
            )
        header = self.headers[height]
        stated = (document["treeSize"], document["rootHash"], document["timestamp"])
        if stated != (header["treeSize"], header["treeRoot"], header["timestamp"]):
            raise LedgerFaultError(
                "validators signed a checkpoint of another tree head at this height",
                requirement=REQ_FORK,
                reason="fork",
                height=height,
            )

    def note_keys(self, height: int, origin: str) -> tuple[list[notes.NoteKey], int]:
        """The note verifier keys of the validators in force at ``height``, and the threshold."""
        vset = self.validator_set_at(height)
        assert vset is not None
        found = []
        for key in self.validator_keys(vset, height).values():
            if (key.get("kty"), key.get("crv")) == ("OKP", "Ed25519"):
                raw = jose.b64url_decode(key["x"])
                found.append(notes.NoteKey.ed25519(origin, raw))
        return found, vset.threshold

    def check_note(self, note: bytes, *, origin: str, height: int) -> notes.Checkpoint:
        """A C2SP checkpoint note of block ``height`` (BMDX-LED-030, 042, 043; LED-023)."""
        trusted, threshold = self.note_keys(height, origin)
        try:
            opened = notes.open_note(note, trusted, origin=origin, threshold=threshold)
        except notes.NoteError as e:
            raise LedgerFaultError(
                str(e), requirement=e.requirement, reason=e.reason, height=height
            ) from e
        known = {(k.name, k.key_id) for k in trusted}
        for name, key_id in notes.signature_keys(note):
            if name == origin and (name, key_id) not in known:
                raise LedgerFaultError(
                    f"a signature line under the origin is by key {key_id.hex()}, not a "
                    "validator key in force",
                    requirement=REQ_NOTE_SIGNERS,
                    reason="not-a-validator",
                    height=height,
                )
        if opened.height != height:
            raise LedgerFaultError(
                f"the note is of block {opened.height}",
                requirement=REQ_LAYOUT,
                reason="wrong-block",
                height=height,
            )
        header = self.headers[height]
        if (opened.tree_size, "sha-256:" + opened.root_hash.hex()) != (
            header["treeSize"],
            header["treeRoot"],
        ):
            raise LedgerFaultError(
                "validators signed a note of another tree head at this height",
                requirement=REQ_FORK,
                reason="fork",
                height=height,
            )
        return opened


def _fault(requirement: str, reason: str, message: str) -> LedgerFaultError:
    return LedgerFaultError(message, requirement=requirement, reason=reason)


# -- exports -------------------------------------------------------------------------


@dataclass(frozen=True)
class ExportSummary:
    """An export that verified: its origin and head, and what was checked."""

    path: Path
    origin: str
    height: int
    block_count: int
    tree_size: int
    tree_root: str
    head_hash: str
    transactions: int
    checkpoints: int
    ledger: Ledger = field(repr=False, compare=False)


def _export_fault(
    requirement: str, reason: str, message: str, path: str | None = None
) -> LedgerFaultError:
    return LedgerFaultError(message, requirement=requirement, reason=reason, path=path)


def _load_json(root: Path, rel: str) -> Any:
    data = (root / rel).read_bytes()
    finding = ijson.check(data)
    if finding is not None:
        raise _export_fault(
            REQ_LAYOUT, "malformed", f"not I-JSON ({finding.requirement} {finding.reason})", rel
        )
    return json.loads(data)


def _block_name(height: int) -> str:
    return f"blocks/{height:010d}.json"


def _checkpoint_names(height: int) -> tuple[str, str]:
    return f"checkpoints/{height:010d}.json", f"checkpoints/{height:010d}.note"


def _check_files(root: Path, manifest: Mapping[str, Any]) -> None:
    listed = {f["path"]: f for f in manifest["files"]}
    if len(listed) != len(manifest["files"]):
        raise _export_fault(REQ_MANIFEST, "manifest", "the manifest lists a file twice")
    if manifest["blockCount"] != manifest["height"] + 1:
        raise _export_fault(REQ_MANIFEST, "manifest", "blockCount is not height plus one")
    present = {
        p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file() or p.is_symlink()
    } - {"manifest.json"}
    for rel in sorted(listed):
        if rel not in present:
            raise _export_fault(REQ_MANIFEST, "missing-file", "a listed file is missing", rel)
    for rel in sorted(present - set(listed)):
        raise _export_fault(REQ_MANIFEST, "unlisted-file", "the manifest does not list it", rel)
    for rel, entry in sorted(listed.items()):
        data = (root / rel).read_bytes()
        if len(data) != entry["size"]:
            raise _export_fault(
                REQ_MANIFEST, "size-mismatch", "the length is not the manifest's", rel
            )
        if digest(data) != entry["sha256"]:
            raise _export_fault(
                REQ_MANIFEST, "digest-mismatch", "the SHA-256 is not the manifest's", rel
            )
    expected = {"validator-sets.json"}
    for height in range(manifest["blockCount"]):
        expected |= {_block_name(height), *_checkpoint_names(height)}
    for rel in sorted(expected - set(listed)):
        raise _export_fault(REQ_LAYOUT, "layout", "the layout needs this file", rel)
    for rel in sorted(set(listed) - expected):
        raise _export_fault(REQ_LAYOUT, "layout", "the layout has no place for this file", rel)


def _check_schemas(root: Path, manifest: Mapping[str, Any]) -> None:
    for rel in sorted(f["path"] for f in manifest["files"]):
        if rel.endswith(".note"):
            continue
        document = _load_json(root, rel)
        if rel == "validator-sets.json":
            if not isinstance(document, list) or not document:
                raise _export_fault(REQ_LAYOUT, "schema", "not a list of ValidatorSets", rel)
            problems = [p for d in document for p in objects.violations(d, "ValidatorSet")]
        else:
            kind = "Block" if rel.startswith("blocks/") else "Checkpoint"
            problems = objects.violations(document, kind)
        if problems:
            raise _export_fault(REQ_LAYOUT, "schema", f"not schema-valid: {problems[0]}", rel)


def verify_export(path: Path) -> ExportSummary:
    """Verify one export directory; raise :class:`LedgerFaultError` at its first fault."""
    root = Path(path)
    if not (root / "manifest.json").is_file():
        raise _export_fault(REQ_LAYOUT, "not-an-export", "no manifest.json", str(root))
    manifest = _load_json(root, "manifest.json")
    problems = objects.violations(manifest, "LedgerExport")
    if problems:
        raise _export_fault(
            REQ_LAYOUT, "schema", f"not a LedgerExport: {problems[0]}", "manifest.json"
        )
    _check_files(root, manifest)
    _check_schemas(root, manifest)
    origin = manifest["origin"]
    ledger = Ledger()
    for height in range(manifest["blockCount"]):
        block = _load_json(root, _block_name(height))
        if block["header"]["height"] != height:
            raise LedgerFaultError(
                f"the file of block {height} holds block {block['header']['height']}",
                requirement=REQ_BLOCK,
                reason="bad-height",
                height=height,
                path=_block_name(height),
            )
        ledger.add_block(block)
        doc_name, note_name = _checkpoint_names(height)
        ledger.check_checkpoint(_load_json(root, doc_name), origin=origin, height=height)
        ledger.check_note((root / note_name).read_bytes(), origin=origin, height=height)
    assert ledger.head is not None
    derived = {
        "height": ledger.head.height,
        "blockCount": ledger.head.height + 1,
        "treeSize": ledger.head.tree_size,
        "treeRoot": ledger.headers[-1]["treeRoot"],
        "headHash": ledger.head.hash,
    }
    for name, value in derived.items():
        if manifest[name] != value:
            raise _export_fault(
                REQ_MANIFEST,
                "manifest",
                f"{name} is not the exported blocks' {value!r}",
                "manifest.json",
            )
    sets = [v.document for v in ledger.sets_in_force]
    if _load_json(root, "validator-sets.json") != sets:
        raise _export_fault(
            REQ_LAYOUT,
            "validator-sets",
            "not the sequence of validator sets in force over the blocks",
            "validator-sets.json",
        )
    return ExportSummary(
        path=root,
        origin=origin,
        height=ledger.head.height,
        block_count=ledger.head.height + 1,
        tree_size=ledger.head.tree_size,
        tree_root=ledger.headers[-1]["treeRoot"],
        head_hash=ledger.head.hash,
        transactions=len(ledger.leaves),
        checkpoints=ledger.head.height + 1,
        ledger=ledger,
    )


def verify_exports(paths: Sequence[Path]) -> list[ExportSummary]:
    """Verify several exports; two of one origin that disagree at a height are a fork."""
    summaries = [verify_export(p) for p in paths]
    by_origin: dict[str, ExportSummary] = {}
    for summary in summaries:
        other = by_origin.setdefault(summary.origin, summary)
        if other is summary:
            continue
        common = min(len(other.ledger.hashes), len(summary.ledger.hashes))
        for height in range(common):
            if other.ledger.hashes[height] != summary.ledger.hashes[height]:
                raise LedgerFaultError(
                    f"{other.path} and {summary.path} hold different blocks at this height",
                    requirement=REQ_FORK,
                    reason="fork",
                    height=height,
                    path=str(summary.path),
                )
    return summaries
