"""The transaction state machine of ``spec/conventions/ledger.md``: one place, one order.

:func:`validate_transaction` runs the checks of the spec's table in its order and stops
at the first failure, raising a :class:`LedgerError` with the table's reason and
requirement id:

====  =================================================  ==========================  ============
step  check                                              reason                      requirement
====  =================================================  ==========================  ============
1     I-JSON within the profile's limits                 ``malformed``               BMDX-FMT-0xx
2     valid ``Transaction`` (JSON Schema)                ``schema``                  BMDX-DM-0xx
3     the sender is a registered participant             ``unknown-sender``          BMDX-LED-012
4     every signature verifies, one is by the sender     ``bad-signature``           BMDX-LED-013
5     every signing key is valid at the block's height   ``key-not-valid``           BMDX-LED-014
6     sequence = sender's last + 1                       ``replay``/``sequence-gap`` BMDX-LED-015
7     every input is a live object version               ``unknown-input``/          BMDX-LED-016
                                                         ``spent-input``
8     the rules of the transaction type                  ``type-rule``               BMDX-LED-017
9     timestamp <= block timestamp + clock skew          ``timestamp``               BMDX-LED-018
====  =================================================  ==========================  ============

Validation reads the ledger through a :class:`LedgerView` and changes nothing: it
returns the transaction's :class:`Effects`.  The caller applies them to a
:class:`PendingView` (the block being built or checked), so that the next transaction
of the same block sees this one's sequence, consumed inputs, new keys and
participants; a rejected transaction is never applied, so it leaves the pending state
exactly as it was (BMDX-LED-011).

State the ledger keeps, and how transactions change it:

* every output is a new *version* of a ledger object; its version is ``sha-256:`` and
  the hex SHA-256 of the output's canonical bytes.  The object is named by the output's
  identifier member (:data:`OBJECT_ID_MEMBER`): a participant id for ``Participant``,
  ``KeyRotation`` and ``KeyRevocation`` (they supersede the participant's entry), the
  fixed ``urn:bmdx:validator-set`` for ``ValidatorSet``, the ``urn:uuid:`` id of
  records, consents and events.  An output without an identifier member is named by its
  own version digest (an append-only fact, never consumed).
* inputs are consumed.  An object has at most one live version: an output of an object
  that already has a live version must consume it in the same transaction.
* ``participant.register`` (governance) adds participants and their keys, valid from the
  block's height; ``key.rotate`` ends the old key and starts the new one at the
  rotation's effective height; ``key.revoke`` ends a key at its effective height;
  ``validator-set.change`` (governance) adds a set in force from its effective height.

The genesis block bootstraps the network before any validator set exists.  At height
0, while no set is in force, a ``participant.register`` is valid when its sender is one
of the participants it registers and every participant it registers signed it with one
of its own signing keys (proof of possession); a ``validator-set.change`` is valid when
its set has effective height 0 and version 1 and at least its own threshold of its own
validators signed it.  From then on the normal rules apply, within the genesis block
too.  The block itself must be signed by the set it installs.

Type rules live in :data:`TYPE_RULES`, one entry per transaction type: the object types
its outputs may have and an optional check.  Later features (consent evaluation, audit
append) extend the table; the steps above do not change.
"""

from __future__ import annotations

import functools
import hashlib
import re
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

from bmdx.reference._internal import canonical as _jcs
from bmdx.reference._internal import ijson
from bmdx.reference._internal.b64 import b64url_encode
from bmdx.reference._internal.canonical import SIGNATURES_MEMBER, canonical_bytes, signing_payload
from bmdx.reference._internal.errors import (
    BmdxError,
    IJsonError,
    KeyImportError,
    LedgerError,
    SignatureError,
)
from bmdx.reference._internal.jws import KnownGood, signature_job, verify_signatures
from bmdx.reference._internal.keys import PublicKey, import_public_jwk
from bmdx.reference._internal.limits import limits
from bmdx.reference._internal.schema import schema_set
from bmdx.reference._internal.storage.base import (
    KeyRecord,
    KeyRetirement,
    NewTransaction,
    ObjectState,
    ParticipantRecord,
    ValidatorSetRecord,
)

__all__ = [
    "OBJECT_ID_MEMBER",
    "REQUIREMENT_BY_REASON",
    "TYPE_RULES",
    "VALIDATOR_SET_OBJECT_ID",
    "Effects",
    "LedgerView",
    "PendingView",
    "Prepared",
    "TypeRule",
    "ValidatorSet",
    "format_timestamp",
    "object_id_of",
    "parse_timestamp",
    "prepare_transaction",
    "validate_transaction",
    "version_of",
]

VALIDATOR_SET_OBJECT_ID = "urn:bmdx:validator-set"
MAX_HEIGHT = 9007199254740991

REQ_PARSE = "BMDX-FMT-001"
REQ_ATOMIC = "BMDX-LED-011"
REQ_SENDER = "BMDX-LED-012"
REQ_SIGNATURE = "BMDX-LED-013"
REQ_KEY_VALID = "BMDX-LED-014"
REQ_SEQUENCE = "BMDX-LED-015"
REQ_INPUTS = "BMDX-LED-016"
REQ_TYPE = "BMDX-LED-017"
REQ_TIME = "BMDX-LED-018"
REQ_VALIDATOR_SET = "BMDX-LED-022"

#: The requirement each transaction rejection reason names (spec/conventions/ledger.md).
#: ``malformed`` and ``schema`` name the precise format or data-model requirement instead.
REQUIREMENT_BY_REASON: Mapping[str, str] = {
    "unknown-sender": REQ_SENDER,
    "bad-signature": REQ_SIGNATURE,
    "key-not-valid": REQ_KEY_VALID,
    "replay": REQ_SEQUENCE,
    "sequence-gap": REQ_SEQUENCE,
    "unknown-input": REQ_INPUTS,
    "spent-input": REQ_INPUTS,
    "type-rule": REQ_TYPE,
    "timestamp": REQ_TIME,
}

#: The member of an output that names the ledger object it is a version of.
OBJECT_ID_MEMBER: Mapping[str, str] = {
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

_TIMESTAMP = re.compile(
    r"(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,6}))?Z\Z", re.ASCII
)


def parse_timestamp(text: str) -> datetime:
    """An RFC 3339 ``Z`` timestamp of the schemas as an aware datetime (``:60`` = next second)."""
    match = _TIMESTAMP.match(text)
    if match is None:
        raise ValueError(f"not an RFC 3339 UTC timestamp: {text!r}")
    year, month, day, hour, minute, second = (int(g) for g in match.groups()[:6])
    micro = int((match.group(7) or "0").ljust(6, "0"))
    leap = second == 60
    value = datetime(year, month, day, hour, minute, 59 if leap else second, micro, tzinfo=UTC)
    return value + timedelta(seconds=1) if leap else value


def format_timestamp(value: datetime) -> str:
    """The schemas' timestamp form: UTC, ``Z``, microseconds only when non-zero."""
    value = value.astimezone(UTC)
    text = value.strftime("%Y-%m-%dT%H:%M:%S")
    if value.microsecond:
        text += f".{value.microsecond:06d}".rstrip("0")
    return text + "Z"


def version_of(output: Mapping[str, Any]) -> str:
    """The version digest of an output: SHA-256 of its canonical bytes, signatures included."""
    return "sha-256:" + hashlib.sha256(canonical_bytes(output)).hexdigest()


def object_id_of(output: Mapping[str, Any], version: str) -> str:
    """The ledger object an output is a version of."""
    object_type = output["objectType"]
    if object_type == "ValidatorSet":
        return VALIDATOR_SET_OBJECT_ID
    member = OBJECT_ID_MEMBER.get(object_type)
    return version if member is None else str(output[member])


@dataclass(frozen=True, slots=True)
class ValidatorSet:
    """A parsed ``ValidatorSet``: ``threshold`` of the ``members`` (participant, kid) sign."""

    version: int
    threshold: int
    members: tuple[tuple[str, str], ...]
    effective_height: int
    document: bytes

    @classmethod
    def from_record(cls, record: ValidatorSetRecord) -> ValidatorSet:
        doc = ijson.loads(record.document)
        return cls.from_document(doc, record.document)

    @classmethod
    def from_document(cls, doc: Mapping[str, Any], canonical: bytes) -> ValidatorSet:
        members = tuple((v["participant"], v["kid"]) for v in doc["validators"])
        return cls(doc["version"], doc["threshold"], members, doc["effectiveHeight"], canonical)

    @property
    def participants(self) -> frozenset[str]:
        return frozenset(p for p, _ in self.members)

    def kid_of(self, participant: str) -> str | None:
        return next((k for p, k in self.members if p == participant), None)

    def validators_signing(self, kids: Sequence[str]) -> set[str]:
        """The distinct validators whose set key is among ``kids``."""
        by_kid = {k: p for p, k in self.members}
        return {by_kid[k] for k in kids if k in by_kid}


class LedgerView(Protocol):
    """The ledger state a transaction is judged against: committed, plus pending effects."""

    def last_sequence(self, sender: str) -> int | None: ...

    def participant(self, participant_id: str) -> ParticipantRecord | None: ...

    def key(self, kid: str) -> KeyRecord | None:
        """The key record with its current validity interval (pending retirements applied)."""
        ...

    def public_key(self, kid: str) -> PublicKey | None:
        """The parsed key of ``key(kid)``; views cache these (parsing is not free)."""
        ...

    def object_state(self, object_id: str, version: str) -> ObjectState | None: ...

    def live_version(self, object_id: str) -> str | None: ...

    def validator_set_at(self, height: int) -> ValidatorSet | None:
        """The set with the largest effective height at or below ``height``."""
        ...


@dataclass(frozen=True, slots=True)
class Effects:
    """What one valid transaction changes; applied by :meth:`PendingView.apply`."""

    document: Mapping[str, Any] = field(repr=False)
    canonical: bytes = field(repr=False)
    txid: str
    sender: str
    sequence: int
    type: str
    timestamp: str
    created: tuple[tuple[str, str], ...] = ()
    consumed: tuple[tuple[str, str], ...] = ()
    keys_added: tuple[KeyRecord, ...] = ()
    keys_retired: tuple[KeyRetirement, ...] = ()
    participants: tuple[ParticipantRecord, ...] = ()
    validator_sets: tuple[ValidatorSetRecord, ...] = ()

    def new_transaction(self) -> NewTransaction:
        return NewTransaction(self.canonical, self.sender, self.sequence, self.type)


class PendingView:
    """A :class:`LedgerView` over ``base`` plus the effects of transactions applied so far.

    Nothing reaches ``base``: the block's effects are written by one store commit, or
    dropped.  :meth:`apply` is the only mutation, and only valid effects are applied.
    """

    def __init__(self, base: LedgerView) -> None:
        self.base = base
        self.effects: list[Effects] = []
        self._sequences: dict[str, int] = {}
        self._participants: dict[str, ParticipantRecord] = {}
        self._keys: dict[str, KeyRecord] = {}
        self._public: dict[str, PublicKey] = {}
        self._objects: dict[tuple[str, str], ObjectState] = {}
        self._live: dict[str, str | None] = {}
        self._sets: list[ValidatorSet] = []

    def __iter__(self) -> Iterator[Effects]:
        return iter(self.effects)

    def __len__(self) -> int:
        return len(self.effects)

    def apply(self, effects: Effects) -> None:
        self.effects.append(effects)
        self._sequences[effects.sender] = effects.sequence
        for record in effects.participants:
            self._participants[record.participant_id] = record
        for key in effects.keys_added:
            self._keys[key.kid] = key
        for retired in effects.keys_retired:
            current = self.key(retired.kid)
            if current is not None:
                self._keys[retired.kid] = KeyRecord(
                    current.kid,
                    current.participant,
                    current.jwk,
                    current.valid_from,
                    retired.valid_until,
                )
        for object_id, version in effects.consumed:
            self._objects[object_id, version] = "consumed"
            if self.live_version(object_id) == version:
                self._live[object_id] = None
        for object_id, version in effects.created:
            self._objects[object_id, version] = "live"
            self._live[object_id] = version
        for vset in effects.validator_sets:
            self._sets.append(ValidatorSet.from_document(ijson.loads(vset.document), vset.document))

    # -- LedgerView -----------------------------------------------------------------------

    def last_sequence(self, sender: str) -> int | None:
        if sender in self._sequences:
            return self._sequences[sender]
        return self.base.last_sequence(sender)

    def participant(self, participant_id: str) -> ParticipantRecord | None:
        record = self._participants.get(participant_id)
        return record if record is not None else self.base.participant(participant_id)

    def key(self, kid: str) -> KeyRecord | None:
        record = self._keys.get(kid)
        return record if record is not None else self.base.key(kid)

    def public_key(self, kid: str) -> PublicKey | None:
        if kid in self._keys:
            cached = self._public.get(kid)
            if cached is None:
                cached = import_public_jwk(ijson.loads(self._keys[kid].jwk))
                self._public[kid] = cached
            return cached
        return self.base.public_key(kid)

    def object_state(self, object_id: str, version: str) -> ObjectState | None:
        state = self._objects.get((object_id, version))
        return state if state is not None else self.base.object_state(object_id, version)

    def live_version(self, object_id: str) -> str | None:
        if object_id in self._live:
            return self._live[object_id]
        return self.base.live_version(object_id)

    def validator_set_at(self, height: int) -> ValidatorSet | None:
        pending = [s for s in self._sets if s.effective_height <= height]
        if pending:
            return max(pending, key=lambda s: s.effective_height)
        return self.base.validator_set_at(height)

    def latest_validator_set(self) -> ValidatorSet | None:
        return self.validator_set_at(MAX_HEIGHT)


# -- the state machine ------------------------------------------------------------------


def _reject(reason: str, message: str, *, pointer: str | None = None) -> LedgerError:
    return LedgerError(
        message, reason=reason, requirement=REQUIREMENT_BY_REASON[reason], pointer=pointer
    )


@dataclass(slots=True)
class _Tx:
    """One transaction under validation and the effects collected for it."""

    doc: Mapping[str, Any]
    view: LedgerView
    height: int
    bootstrap: bool
    output_bytes: tuple[bytes, ...]
    known_good: KnownGood = ()
    signers: list[tuple[str, str]] = field(default_factory=list)  # (participant, kid)
    output_versions: list[str] = field(default_factory=list)
    keys_added: list[KeyRecord] = field(default_factory=list)
    keys_retired: list[KeyRetirement] = field(default_factory=list)
    participants: list[ParticipantRecord] = field(default_factory=list)
    validator_sets: list[ValidatorSetRecord] = field(default_factory=list)

    @property
    def sender(self) -> str:
        return str(self.doc["sender"])

    @property
    def outputs(self) -> list[Mapping[str, Any]]:
        return list(self.doc["outputs"])

    @property
    def signer_kids(self) -> list[str]:
        return [kid for _, kid in self.signers]


@dataclass(frozen=True, slots=True)
class TypeRule:
    """The rules of one transaction type: output object types, and a check (step 8)."""

    outputs: frozenset[str]
    check: Callable[[_Tx], None] | None = None
    governance: bool = False


@dataclass(frozen=True, slots=True)
class _Canonical:
    """The canonical forms validation needs, from one RFC 8785 pass over the transaction.

    RFC 8785 (section 3.2.3) writes an object as its members sorted by the UTF-16 code
    units of their names, each as ``name:value`` with the value in its own canonical
    form, and an array as its elements' canonical forms in order.  So the library's
    output for each top-level member (and for each output) composes into the canonical
    transaction, the signing payload (the same without ``signatures``) and each
    output's version bytes; ``tests/ledger`` checks the composition against
    ``rfc8785.dumps`` of the whole.
    """

    full: bytes
    payload: bytes
    outputs: tuple[bytes, ...] | None


def check_signed_shape(value: Any) -> None:
    """What rfc8785 does not check in a signed object: nesting depth, non-integer numbers."""
    _jcs._check_shape(value, integers_only=True)


def canonical_member(value: Any) -> bytes:
    """RFC 8785 bytes of a value already shape-checked as part of its transaction."""
    return _jcs._dumps(value)


@functools.lru_cache(maxsize=256)
def _member_name(name: str) -> bytes:
    return canonical_member(name)


def _canonical_forms(doc: Mapping[str, Any]) -> _Canonical:
    check_signed_shape(doc)
    members = {k: canonical_member(v) for k, v in doc.items() if k != "outputs"}
    outputs = doc.get("outputs")
    parts: tuple[bytes, ...] | None = None
    if isinstance(outputs, list):
        parts = tuple(canonical_member(o) for o in outputs)
        members["outputs"] = b"[" + b",".join(parts) + b"]"
    elif "outputs" in doc:
        members["outputs"] = canonical_member(outputs)
    names = sorted(members, key=lambda name: name.encode("utf-16-be"))
    encoded = {name: _member_name(name) + b":" + members[name] for name in names}
    full = b"{" + b",".join(encoded[n] for n in names) + b"}"
    payload = b"{" + b",".join(encoded[n] for n in names if n != SIGNATURES_MEMBER) + b"}"
    return _Canonical(full, payload, parts)


def _parse(tx: Any) -> tuple[Mapping[str, Any], _Canonical]:
    """Step 1: the transaction as I-JSON (integers only: it is signed), canonicalised."""
    try:
        doc = (
            ijson.loads(bytes(tx) if isinstance(tx, bytearray) else tx)
            if isinstance(tx, bytes | bytearray | str)
            else tx
        )
        if not isinstance(doc, Mapping):
            raise LedgerError(
                "a transaction is a JSON object", reason="malformed", requirement=REQ_PARSE
            )
        return doc, _canonical_forms(doc)
    except IJsonError as exc:
        raise LedgerError(
            f"transaction is not I-JSON: {exc.message}",
            reason="malformed",
            requirement=exc.requirement,
            pointer=exc.pointer,
        ) from exc


def _check_schema(doc: Mapping[str, Any]) -> None:
    """Step 2."""
    violations = schema_set().document_violations(doc, "Transaction")
    if not violations:
        return
    first = violations[0]
    error = LedgerError(
        f"not a valid Transaction: {first.message} ({len(violations)} violation(s))",
        reason="schema",
        requirement=first.requirement,
        pointer=first.pointer,
    )
    error.violations = violations  # type: ignore[attr-defined]
    raise error


def _bootstrap_keys(tx: _Tx) -> dict[str, tuple[str, PublicKey]]:
    """Genesis: the signing keys of the participants a self-registration registers."""
    out: dict[str, tuple[str, PublicKey]] = {}
    if not tx.bootstrap or tx.doc["type"] != "participant.register":
        return out
    for output in tx.outputs:
        if output.get("objectType") != "Participant":
            continue
        for jwk in output["keys"]:
            if jwk.get("use") != "sig":
                continue
            try:
                out[jwk["kid"]] = (output["id"], import_public_jwk(jwk, use="sig"))
            except KeyImportError as exc:
                raise _reject("type-rule", f"registered key {jwk['kid']}: {exc.message}") from exc
    return out


class _KeyLookup(Mapping[str, PublicKey]):
    """Keys found by kid on demand; a verifier only looks keys up, it never lists them."""

    def get(self, kid: str, default: Any = None) -> Any:
        try:
            return self[kid]
        except KeyError:
            return default

    def __iter__(self) -> Iterator[str]:
        raise TypeError("a key lookup is not enumerable")

    def __len__(self) -> int:
        raise TypeError("a key lookup is not enumerable")


class _SignerKeys(_KeyLookup):
    """The verifier's key set: registered keys by kid, looked up lazily in the view."""

    def __init__(self, view: LedgerView, extra: Mapping[str, tuple[str, PublicKey]]) -> None:
        self._view = view
        self._extra = extra

    def __getitem__(self, kid: str) -> PublicKey:
        if kid in self._extra:
            return self._extra[kid][1]
        key = self._view.public_key(kid)
        if key is None:
            raise KeyError(kid)
        return key


def _check_sender(tx: _Tx) -> None:
    """Step 3."""
    sender = tx.sender
    if tx.view.participant(sender) is not None:
        return
    if (
        tx.bootstrap
        and tx.doc["type"] == "participant.register"
        and any(o.get("objectType") == "Participant" and o["id"] == sender for o in tx.outputs)
    ):
        return
    raise _reject(
        "unknown-sender", f"sender {sender} is not a registered participant", pointer="/sender"
    )


def _check_signatures(tx: _Tx, payload: bytes) -> dict[str, tuple[str, PublicKey]]:
    """Step 4: every signature verifies with a registered key; one is the sender's."""
    extra = _bootstrap_keys(tx)
    try:
        verified = verify_signatures(
            tx.doc["signatures"],
            payload,
            _SignerKeys(tx.view, extra),
            known_good=tx.known_good,
        )
    except SignatureError as exc:
        raise _reject(
            "bad-signature", f"a signature does not verify ({exc.reason})", pointer="/signatures"
        ) from exc
    for v in verified:
        if v.key.thumbprint != v.kid:
            raise _reject(
                "bad-signature", "a signature names a kid that is not its key's thumbprint"
            )
        if v.kid in extra:
            owner = extra[v.kid][0]
        else:
            record = tx.view.key(v.kid)
            if record is None:  # the view changed under us; refuse rather than guess
                raise _reject("bad-signature", f"key {v.kid} is not registered")
            owner = record.participant
        tx.signers.append((owner, v.kid))
    if not any(owner == tx.sender for owner, _ in tx.signers):
        raise _reject(
            "bad-signature",
            f"no signature is by a key of the sender {tx.sender}",
            pointer="/signatures",
        )
    return extra


def _check_key_validity(tx: _Tx, extra: Mapping[str, tuple[str, PublicKey]]) -> None:
    """Step 5."""
    for _, kid in tx.signers:
        if kid in extra:
            continue  # registered by this very transaction, at this height
        record = tx.view.key(kid)
        assert record is not None  # found in step 4
        until = record.valid_until
        if not (record.valid_from <= tx.height and (until is None or tx.height < until)):
            raise _reject(
                "key-not-valid",
                f"key {kid} of {record.participant} is valid at heights "
                f"{record.valid_from}..{'' if until is None else until - 1}, not {tx.height}",
                pointer="/signatures",
            )


def _check_sequence(tx: _Tx) -> None:
    """Step 6."""
    last = tx.view.last_sequence(tx.sender) or 0
    sequence = tx.doc["sequence"]
    if sequence <= last:
        raise _reject(
            "replay",
            f"sequence {sequence} of {tx.sender} is not above its last, {last}",
            pointer="/sequence",
        )
    if sequence > last + 1:
        raise _reject(
            "sequence-gap",
            f"sequence {sequence} of {tx.sender} skips ahead; the next is {last + 1}",
            pointer="/sequence",
        )


def _check_inputs(tx: _Tx) -> None:
    """Step 7."""
    for i, ref in enumerate(tx.doc["inputs"]):
        state = tx.view.object_state(ref["objectId"], ref["version"])
        if state is None:
            raise _reject(
                "unknown-input",
                f"input {ref['objectId']} version {ref['version']} is not on the ledger",
                pointer=f"/inputs/{i}",
            )
        if state != "live":
            raise _reject(
                "spent-input",
                f"input {ref['objectId']} version {ref['version']} is already consumed",
                pointer=f"/inputs/{i}",
            )


def _type_rule(message: str, pointer: str | None = None) -> LedgerError:
    return _reject("type-rule", message, pointer=pointer)


def _require_governance(tx: _Tx, vset: ValidatorSet | None = None) -> None:
    """Signed by at least ``threshold`` distinct validators of the set in force."""
    vset = vset or tx.view.validator_set_at(tx.height)
    if vset is None:
        raise _type_rule(f"{tx.doc['type']} needs a validator set in force at height {tx.height}")
    signed = vset.validators_signing(tx.signer_kids)
    if len(signed) < vset.threshold:
        raise _type_rule(
            f"{tx.doc['type']} is signed by {len(signed)} validator(s) of set version "
            f"{vset.version}; its threshold is {vset.threshold}",
            "/signatures",
        )


def _check_outputs(tx: _Tx, rule: TypeRule) -> tuple[list[tuple[str, str]], list[tuple[str, str]]]:
    """Output types, one version per object, superseded objects consumed."""
    consumed = [(i["objectId"], i["version"]) for i in tx.doc["inputs"]]
    consumed_ids = {object_id for object_id, _ in consumed}
    created: list[tuple[str, str]] = []
    for i, output in enumerate(tx.outputs):
        object_type = output["objectType"]
        if object_type not in rule.outputs:
            raise _type_rule(
                f"a {tx.doc['type']} transaction cannot output a {object_type}", f"/outputs/{i}"
            )
        version = "sha-256:" + hashlib.sha256(tx.output_bytes[i]).hexdigest()
        object_id = object_id_of(output, version)
        if any(object_id == c for c, _ in created):
            raise _type_rule(f"two outputs are versions of {object_id}", f"/outputs/{i}")
        live = tx.view.live_version(object_id)
        if live is not None and object_id not in consumed_ids:
            raise _type_rule(
                f"{object_id} has a live version {live}; a new version must consume it",
                f"/outputs/{i}",
            )
        if tx.view.object_state(object_id, version) is not None:
            raise _type_rule(f"{object_id} version {version} already exists", f"/outputs/{i}")
        created.append((object_id, version))
        tx.output_versions.append(version)
    return created, consumed


# -- type rules -------------------------------------------------------------------------


def _register(tx: _Tx) -> None:
    """participant.register: governance (or the genesis self-registration)."""
    if tx.bootstrap:
        signed_by = {owner for owner, _ in tx.signers}
        for i, output in enumerate(tx.outputs):
            has_sig_key = any(k.get("use") == "sig" for k in output["keys"])
            if has_sig_key and output["id"] not in signed_by:
                raise _type_rule(
                    f"genesis registration of {output['id']} is not signed by its own key",
                    f"/outputs/{i}",
                )
    else:
        _require_governance(tx)
    seen: set[str] = set()
    for i, output in enumerate(tx.outputs):
        pointer = f"/outputs/{i}"
        if tx.view.participant(output["id"]) is not None:
            raise _type_rule(f"{output['id']} is already registered", pointer)
        if output["registered"] != tx.height:
            raise _type_rule(
                f"{output['id']} says registered at {output['registered']}, the block is {tx.height}",
                pointer + "/registered",
            )
        canonical = canonical_bytes(output)
        tx.participants.append(ParticipantRecord(output["id"], canonical, tx.height))
        for j, jwk in enumerate(output["keys"]):
            key = _import_new_key(tx, jwk, f"{pointer}/keys/{j}", seen)
            tx.keys_added.append(KeyRecord(key.kid, output["id"], canonical_bytes(jwk), tx.height))


def _import_new_key(tx: _Tx, jwk: Mapping[str, Any], pointer: str, seen: set[str]) -> PublicKey:
    """A key that may be registered: within the profile, and a kid never seen (BMDX-SEC-044)."""
    try:
        key = import_public_jwk(jwk)
    except KeyImportError as exc:
        raise _type_rule(f"key outside the profile: {exc.message}", pointer) from exc
    if key.kid in seen or tx.view.key(key.kid) is not None:
        raise _type_rule(f"key id {key.kid} is already registered; kids are never reused", pointer)
    seen.add(key.kid)
    return key


def _update(tx: _Tx) -> None:
    """participant.update: the participant's own change of name, roles or jurisdiction."""
    for i, output in enumerate(tx.outputs):
        pointer = f"/outputs/{i}"
        current = tx.view.participant(output["id"])
        if current is None:
            raise _type_rule(f"{output['id']} is not registered", pointer)
        if output["id"] != tx.sender:
            raise _type_rule("a participant updates only its own entry", pointer)
        before = ijson.loads(current.document)
        if output["keys"] != before["keys"] or output["registered"] != before["registered"]:
            raise _type_rule(
                "an update keeps keys and registration height; keys change by key.rotate "
                "and key.revoke",
                pointer,
            )
        tx.participants.append(
            ParticipantRecord(output["id"], canonical_bytes(output), current.registered_height)
        )


def _owned_key(tx: _Tx, participant: str, kid: str, pointer: str) -> KeyRecord:
    record = tx.view.key(kid)
    if record is None or record.participant != participant:
        raise _type_rule(f"{participant} has no registered key {kid}", pointer)
    return record


def _check_effective(tx: _Tx, effective: int, pointer: str) -> None:
    if effective < tx.height:
        raise _type_rule(
            f"effective height {effective} lies before the including block {tx.height}", pointer
        )


def _verify_output(
    output: Mapping[str, Any], keys: Mapping[str, PublicKey], pointer: str
) -> list[str]:
    payload = signing_payload(output)
    try:
        verified = verify_signatures(output["signatures"], payload, keys)
    except SignatureError as exc:
        raise _type_rule(f"the output's signature does not verify ({exc.reason})", pointer) from exc
    return [v.kid for v in verified]


class _KeysOf(_KeyLookup):
    """Registered signing keys of one participant valid at one height, by kid."""

    def __init__(self, view: LedgerView, participant: str, height: int) -> None:
        self._view, self._participant, self._height = view, participant, height

    def __getitem__(self, kid: str) -> PublicKey:
        record = self._view.key(kid)
        if record is None or record.participant != self._participant:
            raise KeyError(kid)
        if not (
            record.valid_from <= self._height
            and (record.valid_until is None or self._height < record.valid_until)
        ):
            raise KeyError(kid)
        key = self._view.public_key(kid)
        if key is None or key.use != "sig":
            raise KeyError(kid)
        return key


def _rotate(tx: _Tx) -> None:
    """key.rotate: signed (transaction and rotation) by the key rotated out (BMDX-SEC-040)."""
    seen: set[str] = set()
    for i, rotation in enumerate(tx.outputs):
        pointer = f"/outputs/{i}"
        participant, old_kid = rotation["participant"], rotation["oldKid"]
        effective = rotation["effectiveHeight"]
        if participant != tx.sender:
            raise _type_rule("a participant rotates only its own keys", pointer + "/participant")
        _check_effective(tx, effective, pointer + "/effectiveHeight")
        old = _owned_key(tx, participant, old_kid, pointer + "/oldKid")
        if old.valid_until is not None or not old.valid_from <= effective:
            raise _type_rule(f"key {old_kid} is not valid at height {effective}", pointer)
        old_key = tx.view.public_key(old_kid)
        assert old_key is not None
        new_key = _import_new_key(tx, rotation["newKey"], pointer + "/newKey", seen)
        if new_key.use != old_key.use:
            raise _type_rule("the new key must have the old key's use", pointer + "/newKey")
        if old_key.use == "sig":
            signers = _verify_output(rotation, {old_kid: old_key}, pointer)
            if old_kid not in signers or old_kid not in tx.signer_kids:
                raise _type_rule(f"key.rotate must be signed by the old key {old_kid}", pointer)
        else:
            _verify_output(rotation, _KeysOf(tx.view, participant, effective), pointer)
        tx.keys_retired.append(KeyRetirement(old_kid, effective))
        tx.keys_added.append(
            KeyRecord(new_key.kid, participant, canonical_bytes(rotation["newKey"]), effective)
        )


def _revoke(tx: _Tx) -> None:
    """key.revoke: by the participant (a key of its own valid then), or by governance."""
    governance: bool | None = None
    for i, revocation in enumerate(tx.outputs):
        pointer = f"/outputs/{i}"
        participant, kid = revocation["participant"], revocation["kid"]
        effective = revocation["effectiveHeight"]
        _check_effective(tx, effective, pointer + "/effectiveHeight")
        target = _owned_key(tx, participant, kid, pointer + "/kid")
        if target.valid_until is not None:
            raise _type_rule(f"key {kid} is already rotated out or revoked", pointer)
        if effective < target.valid_from:
            raise _type_rule(
                f"revocation at {effective} precedes the key's start at {target.valid_from}",
                pointer,
            )
        if participant == tx.sender:
            keys = _KeysOf(tx.view, participant, effective)
            target_key = tx.view.public_key(kid)
            trusted: Mapping[str, PublicKey] = keys
            if target_key is not None and target_key.use == "sig":
                trusted = _WithKey(keys, kid, target_key)
            _verify_output(revocation, trusted, pointer)
        else:
            if governance is None:
                _require_governance(tx)
                governance = True
            vset = tx.view.validator_set_at(tx.height)
            assert vset is not None
            kids = _verify_output(revocation, _SignerKeys(tx.view, {}), pointer)
            if len(vset.validators_signing(kids)) < vset.threshold:
                raise _type_rule("a governance revocation needs the validators' threshold", pointer)
        tx.keys_retired.append(KeyRetirement(kid, effective))


class _WithKey(_KeyLookup):
    def __init__(self, base: Mapping[str, PublicKey], kid: str, key: PublicKey) -> None:
        self._base, self._kid, self._key = base, kid, key

    def __getitem__(self, kid: str) -> PublicKey:
        return self._key if kid == self._kid else self._base[kid]


def _check_members(tx: _Tx, proposed: ValidatorSet) -> None:
    """Every validator is a registered validator naming one of its signing keys."""
    if proposed.threshold > len(proposed.members):
        raise _type_rule("the threshold exceeds the number of validators", "/outputs/0/threshold")
    if len(proposed.participants) != len(proposed.members):
        raise _type_rule("a validator is named twice", "/outputs/0/validators")
    for j, (participant, kid) in enumerate(proposed.members):
        pointer = f"/outputs/0/validators/{j}"
        record = tx.view.participant(participant)
        if record is None or "validator" not in ijson.loads(record.document)["roles"]:
            raise _type_rule(f"{participant} is not a registered validator", pointer)
        key = tx.view.key(kid)
        public = tx.view.public_key(kid)
        if key is None or key.participant != participant or public is None or public.use != "sig":
            raise _type_rule(f"{kid} is not a signing key of {participant}", pointer + "/kid")
        if key.valid_until is not None and key.valid_until <= proposed.effective_height:
            raise _type_rule(f"{kid} is not valid at the set's effective height", pointer + "/kid")


def _change_validators(tx: _Tx) -> None:
    """validator-set.change: governance, effective from a later height (BMDX-LED-022)."""
    if len(tx.outputs) != 1:
        raise _type_rule("a validator-set.change has exactly one ValidatorSet output", "/outputs")
    new = tx.outputs[0]
    canonical = canonical_bytes(new)
    proposed = ValidatorSet.from_document(new, canonical)
    latest = tx.view.validator_set_at(MAX_HEIGHT)
    if latest is None:
        if not tx.bootstrap or proposed.effective_height != 0 or proposed.version != 1:
            raise _type_rule(
                "the first validator set has version 1, takes effect at 0 and is set in the "
                "genesis block",
                "/outputs/0",
            )
    else:
        if proposed.effective_height <= tx.height:
            raise LedgerError(
                f"a validator set changed at height {tx.height} takes effect at "
                f"{tx.height + 1} at the earliest, not {proposed.effective_height}",
                reason="type-rule",
                requirement=REQ_VALIDATOR_SET,
                pointer="/outputs/0/effectiveHeight",
            )
        if proposed.effective_height <= latest.effective_height:
            raise _type_rule(
                f"effective height {proposed.effective_height} is not after the latest set's "
                f"{latest.effective_height}",
                "/outputs/0/effectiveHeight",
            )
        if proposed.version != latest.version + 1:
            raise _type_rule(
                f"validator set version {proposed.version} does not follow {latest.version}",
                "/outputs/0/version",
            )
    _check_members(tx, proposed)
    _require_governance(tx, proposed if latest is None else None)
    tx.validator_sets.append(ValidatorSetRecord(proposed.effective_height, canonical))


def _by_grantor(tx: _Tx) -> None:
    """consent.grant / consent.revoke: the consent's grantor sends (and so signs) it."""
    for i, consent in enumerate(tx.outputs):
        if consent["grantor"] != tx.sender:
            raise _type_rule(
                "a consent is granted or revoked by its grantor", f"/outputs/{i}/grantor"
            )


def _generic(*object_types: str) -> TypeRule:
    return TypeRule(frozenset(object_types))


#: The rules of each transaction type (step 8).  ``outputs``: the object types its
#: outputs may have; ``check``: the type's own rule, run after the generic ones.
TYPE_RULES: dict[str, TypeRule] = {
    "participant.register": TypeRule(frozenset({"Participant"}), _register, governance=True),
    "participant.update": TypeRule(frozenset({"Participant"}), _update),
    "key.rotate": TypeRule(frozenset({"KeyRotation"}), _rotate),
    "key.revoke": TypeRule(frozenset({"KeyRevocation"}), _revoke),
    "validator-set.change": TypeRule(
        frozenset({"ValidatorSet"}), _change_validators, governance=True
    ),
    "record.anchor": _generic("RecordHeader"),
    "record.erase": _generic("ErasureReceipt"),
    "consent.grant": TypeRule(frozenset({"Consent"}), _by_grantor),
    "consent.revoke": TypeRule(frozenset({"Consent"}), _by_grantor),
    "audit.append": _generic("AuditEvent"),
    "alert.raise": _generic("AnomalyAlert"),
    "supply-chain.event": _generic("SupplyChainEvent"),
    "claim.submit": _generic("InsuranceClaim"),
    "claim.adjudicate": _generic("ClaimAdjudication"),
    "research.export": _generic("ResearchExport"),
    "quality.report": _generic("QualityReport"),
}


def _check_type(tx: _Tx) -> tuple[list[tuple[str, str]], list[tuple[str, str]]]:
    """Step 8."""
    rule = TYPE_RULES.get(tx.doc["type"])
    if rule is None:
        raise _type_rule(f"no rules are defined for type {tx.doc['type']!r}", "/type")
    created, consumed = _check_outputs(tx, rule)
    if rule.check is not None:
        rule.check(tx)
    return created, consumed


@functools.cache
def _clock_skew() -> timedelta:
    return timedelta(seconds=limits().clock_skew_seconds)


def _check_timestamp(tx: _Tx, block_time: datetime) -> None:
    """Step 9: not later than the block's timestamp plus the profile's clock skew."""
    when = parse_timestamp(tx.doc["timestamp"])
    skew = _clock_skew()
    if when > block_time + skew:
        raise _reject(
            "timestamp",
            f"timestamp {tx.doc['timestamp']} is later than the block's "
            f"{format_timestamp(block_time)} plus {skew.seconds} s",
            pointer="/timestamp",
        )


@dataclass(frozen=True, slots=True)
class Prepared:
    """A transaction through step 1 (parsed and canonicalised), for :func:`validate_transaction`.

    ``jobs`` are its signatures as far as they can be checked ahead, with the keys the
    view knew when it was prepared (:func:`prepare_transaction`).
    """

    doc: Mapping[str, Any]
    forms: _Canonical
    jobs: tuple[Any, ...] = ()


def prepare_transaction(tx: Any, view: LedgerView | None = None) -> Prepared:
    """Step 1 of :func:`validate_transaction`, done ahead; raises what step 1 raises.

    With ``view``, the signatures whose keys it already holds become verification jobs
    (:mod:`bmdx.reference._internal.ledger.ahead`); the state machine still
    resolves every key itself, so a job made with a key that no longer applies only
    wastes its work.
    """
    doc, forms = _parse(tx)
    entries = doc.get(SIGNATURES_MEMBER)
    if view is None or not isinstance(entries, list):
        return Prepared(doc, forms)
    keys = _SignerKeys(view, {})
    encoded = b64url_encode(forms.payload)
    jobs = tuple(job for entry in entries for job in [signature_job(entry, encoded, keys)] if job)
    return Prepared(doc, forms, jobs)


def validate_transaction(
    tx: Any,
    view: LedgerView,
    *,
    height: int,
    block_time: datetime | str,
    known_good: KnownGood = (),
) -> Effects:
    """Run the state machine on ``tx`` for the block at ``height``; return its effects.

    ``tx`` is raw bytes (step 1 parses them), a parsed document, or a :class:`Prepared`
    one.  ``known_good`` holds signatures already verified (step 4 then skips only
    their arithmetic).  Raises :class:`LedgerError` at the first failed step; ``view``
    is never changed.
    """
    when = parse_timestamp(block_time) if isinstance(block_time, str) else block_time
    if isinstance(tx, Prepared):
        doc, forms = tx.doc, tx.forms
    else:
        doc, forms = _parse(tx)
    canonical = forms.full
    txid = "sha-256:" + hashlib.sha256(canonical).hexdigest()
    try:
        _check_schema(doc)
        assert forms.outputs is not None  # the schema requires an outputs array
        bootstrap = height == 0 and view.validator_set_at(0) is None
        state = _Tx(doc, view, height, bootstrap, forms.outputs, known_good)
        _check_sender(state)
        extra = _check_signatures(state, forms.payload)
        _check_key_validity(state, extra)
        _check_sequence(state)
        _check_inputs(state)
        created, consumed = _check_type(state)
        _check_timestamp(state, when)
    except LedgerError as exc:
        raise exc.located(height=height, txid=txid) from exc.__cause__
    except BmdxError as exc:  # a canonicalisation or key failure inside a rule
        raise LedgerError(
            f"transaction refused: {exc.message}",
            reason="type-rule",
            requirement=REQ_TYPE,
            height=height,
            txid=txid,
        ) from exc
    return Effects(
        document=doc,
        canonical=canonical,
        txid=txid,
        sender=doc["sender"],
        sequence=doc["sequence"],
        type=doc["type"],
        timestamp=doc["timestamp"],
        created=tuple(created),
        consumed=tuple(consumed),
        keys_added=tuple(state.keys_added),
        keys_retired=tuple(state.keys_retired),
        participants=tuple(state.participants),
        validator_sets=tuple(state.validator_sets),
    )
