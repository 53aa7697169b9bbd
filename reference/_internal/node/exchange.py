"""The exchange service: records, consents, key release, the audit trail, alerts, erasure.

:class:`Exchange` is what the records, consents and audit routers call; it never sees
HTTP beyond the :class:`Attempt` a router hands it (who signed, which signed request).
It composes the spec-critical modules and adds no rule of its own to them: consent
evaluation is :func:`consent.decide`, the audit exports and the access history are
:mod:`audit`, the anomaly rules :func:`anomaly.detect`, encryption :mod:`jwe`, the
ledger's rules :class:`Ledger`.

What this module decides (spec/requirements/api.yaml, BMDX-API-050 to -099):

* **Publishing.** The node is the custodian of the payloads it stores: a publisher
  encrypts to its own recipients *and* to the node's encryption key (capability
  document ``nodeKeys``).  The node checks the author's signature, the payload
  descriptor against the JWE, and opens the payload once to check the salted
  commitment (the envelope's ``salt``), so a tampered ciphertext or a commitment that
  does not match the plaintext is refused before anything is stored.  The JWE and the
  salt are stored off-chain at the payload's content address; the header, which never
  carries ``plaintextDigest`` (a dictionary oracle for low-entropy payloads), is
  anchored in a ``record.anchor`` transaction.
* **Key release.** On a permitted read the node wraps the content key once more, for
  the requester's registered encryption key (:func:`jwe.wrap_content_key`, a fresh
  ephemeral key each time; the ciphertext is untouched) and answers the JWE with that
  one recipient, plus the salt: the requester checks the plaintext against the signed
  commitment.  The node unwraps a payload's content key once (the whole token is
  authenticated then) and keeps it in a bounded cache; erasure drops it with the
  payload.
* **Uniform refusals.** A read refused by consent, a record that does not exist, a
  record of another subject than the request names: one 403, same body, same work
  (a decision and an audit event are made either way).
* **Audit before answer.** Every attempt pools exactly one ``audit.append`` transaction
  before its response is produced: a response never exists for an unaudited attempt.
  A read is decided and its key released outside the service lock (that is where its
  work is), then audited under it, after checking that no consent version, erasure or
  block was pooled or committed in between; if one was, the read is decided again under
  the lock.  So a revocation pooled before a read's audit event governs that read.
* **Erasure.** Crypto-shredding: the stored JWE (every wrap, the ciphertext) and the
  salt are deleted, a signed ErasureReceipt is put on the ledger in ``record.erase``
  consuming the header's version; the header and its commitment stay, and so do every
  proof.  Later reads that consent would have permitted answer 410 pointing at the
  receipt's transaction.

State is read from the ledger only: an index of record headers, consent versions,
audit events, erasure receipts and alerts is built from the committed transactions
and the pool, and caught up before each operation.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import threading
import uuid
import weakref
from collections import OrderedDict
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from jwcrypto.jwk import JWK

from bmdx.reference._internal import audit, ijson, jwe
from bmdx.reference._internal.anomaly import detect, load_rules, parse_instant
from bmdx.reference._internal.canonical import canonical_bytes
from bmdx.reference._internal.consent import (
    EMPTY_POLICY_HASH,
    ConsentChain,
    consent_chain,
    consent_version_hash,
    decide,
)
from bmdx.reference._internal.errors import (
    ApiError,
    BmdxError,
    ConsentError,
    CryptoError,
    KeyImportError,
    StorageError,
)
from bmdx.reference._internal.keys import PublicKey, import_public_jwk
from bmdx.reference._internal.ledger import Receipt
from bmdx.reference._internal.ledger.genesis import Founder
from bmdx.reference._internal.ledger.state import format_timestamp, parse_timestamp, version_of
from bmdx.reference._internal.node.service import Caller, NodeService
from bmdx.reference._internal.profile import security_profile
from bmdx.reference._internal.signing import verify_document
from bmdx.reference._internal.storage.payloads import (
    PayloadStore,
    StoredPayload,
    open_payload_store,
)

__all__ = ["Attempt", "Exchange", "exchange_for", "request_digest"]

# Content keys of payloads this node has unwrapped, kept for later releases.
CONTENT_KEY_CACHE = 4096
REQ_SENDER = "BMDX-API-013"
REQ_PUBLISH = "BMDX-API-050"
REQ_ANCHOR = "BMDX-API-051"
REQ_NO_DIGEST = "BMDX-API-052"
REQ_SALT = "BMDX-API-053"
REQ_CUSTODIAN = "BMDX-API-054"
REQ_DUPLICATE = "BMDX-API-055"
REQ_READ = "BMDX-API-060"
REQ_UNIFORM = "BMDX-API-061"
REQ_BREAK_GLASS = "BMDX-API-063"
REQ_METADATA = "BMDX-API-064"
REQ_QUERY = "BMDX-API-065"
REQ_AUDITED = "BMDX-API-070"
REQ_HISTORY = "BMDX-API-072"
REQ_AUDIT_READ = "BMDX-API-073"
REQ_ALERTS = "BMDX-API-074"
REQ_ERASE = "BMDX-API-080"
REQ_GONE = "BMDX-API-081"
REQ_CONSENT = "BMDX-API-085"
REQ_CONSENT_ISSUED = "BMDX-CON-024"
REQ_LABEL_RECIPIENTS = "BMDX-SEC-052"
REQ_ONE_CONSENT = "BMDX-CON-025"

SALT_BYTES = 32
DEFAULT_PAGE = 100


def _sha256(data: bytes) -> str:
    return "sha-256:" + hashlib.sha256(data).hexdigest()


def request_digest(
    method: str, target_uri: str, headers: Mapping[str, str], body: bytes = b""
) -> str:
    """The ``requestDigest`` of an HTTP request (BMDX-API-071).

    The SHA-256 of the RFC 8785 form of the signed request's parts: method, target
    URI, ``Content-Digest``, ``Signature-Input`` and ``Signature``.  A client that
    kept what it sent recomputes it, so the audit oracle can match events to requests.
    """
    fields = {k.lower(): v for k, v in headers.items()}
    parts = {
        "method": method.upper(),
        "targetUri": target_uri,
        "contentDigest": fields.get("content-digest", ""),
        "signatureInput": fields.get("signature-input", ""),
        "signature": fields.get("signature", ""),
    }
    del body  # covered by Content-Digest, which the signature covers
    return _sha256(canonical_bytes(parts))


@dataclass(frozen=True, slots=True)
class Attempt:
    """One authenticated request reaching the exchange: who, and which signed request."""

    caller: Caller
    digest: str


def denied() -> ApiError:
    """The one refusal of a record access, whatever caused it (BMDX-API-061)."""
    return ApiError(
        "access to this record is not granted to the requester for this purpose",
        status=403,
        reason="access-denied",
        requirement=REQ_UNIFORM,
    )


def _unprocessable(
    message: str, reason: str, requirement: str, pointer: str | None = None
) -> ApiError:
    return ApiError(message, status=422, reason=reason, requirement=requirement, pointer=pointer)


def _cursor(offset: int) -> str:
    return base64.urlsafe_b64encode(f"o{offset}".encode()).decode().rstrip("=")


def _offset(cursor: str | None) -> int:
    if cursor is None:
        return 0
    try:
        text = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode("ascii")
    except (binascii.Error, UnicodeDecodeError, ValueError):
        text = ""
    if not text.startswith("o") or not text[1:].isdigit() or len(text) > 20:
        raise ApiError(
            "the cursor is not one this node issued",
            status=400,
            reason="bad-parameter",
            requirement="BMDX-API-014",
        )
    return int(text[1:])


def _page(items: Sequence[Any], params: Mapping[str, Any]) -> dict[str, Any]:
    start = _offset(params.get("cursor"))
    limit = int(params.get("limit") or DEFAULT_PAGE)
    page: dict[str, Any] = {"items": list(items[start : start + limit])}
    if start + limit < len(items):
        page["next"] = _cursor(start + limit)
    return page


#: Microseconds in 400 Gregorian years (146097 days), the calendar's full cycle.
_CYCLE_US = 146097 * 86400 * 1_000_000


def _bound(value: str) -> int:
    """The instant of a from/to parameter, year 0000 included.

    RFC 3339 allows year 0000 and Python's datetime does not; the proleptic Gregorian
    year 0 is year 400 shifted back by one 400-year cycle (both are leap years).
    """
    if value.startswith("0000-"):
        return parse_instant("0400" + value[4:]) - _CYCLE_US
    return parse_instant(value)


def _in_period(recorded: str, params: Mapping[str, Any]) -> bool:
    at = parse_instant(recorded)
    if "from" in params and at < _bound(params["from"]):
        return False
    return not ("to" in params and at > _bound(params["to"]))


# -- the index of ledger facts ------------------------------------------------------------


@dataclass(slots=True)
class _Record:
    header: dict[str, Any]
    txid: str
    version: str
    erasure: tuple[dict[str, Any], str] | None = None  # (receipt, txid)


@dataclass(slots=True)
class _Index:
    """What the exchange needs from the ledger, indexed; fed every transaction once."""

    records: dict[str, _Record] = field(default_factory=dict)
    locations: set[str] = field(default_factory=set)
    consents: dict[str, list[dict[str, Any]]] = field(default_factory=dict)  # by subject
    grantors: dict[str, set[str]] = field(default_factory=dict)  # subject -> participants
    consent_ids: dict[str, str] = field(default_factory=dict)  # consentId -> subject
    events: dict[str, tuple[dict[str, Any], str]] = field(default_factory=dict)
    alerts: dict[str, dict[str, Any]] = field(default_factory=dict)
    committed: set[str] = field(default_factory=set)
    seen: set[str] = field(default_factory=set)
    size: int = 0
    pooled: int = 0  # pool entries looked at, the last of them pool_mark
    pool_mark: str = ""

    def add(self, doc: Mapping[str, Any], txid: str) -> None:
        if txid in self.seen:
            return
        self.seen.add(txid)
        for output in doc.get("outputs", ()):
            kind = output.get("objectType")
            if kind == "RecordHeader":
                self.records[output["recordId"]] = _Record(dict(output), txid, version_of(output))
                self.locations.add(output["payload"]["location"])
            elif kind == "ErasureReceipt":
                record = self.records.get(output["recordId"])
                if record is not None:
                    record.erasure = (dict(output), txid)
            elif kind == "Consent":
                subject = output["subject"]
                self.consents.setdefault(subject, []).append(dict(output))
                self.grantors.setdefault(subject, set()).add(output["grantor"])
                self.consent_ids[output["consentId"]] = subject
            elif kind == "AuditEvent":
                self.events[output["eventId"]] = (dict(output), txid)
            elif kind == "AnomalyAlert":
                self.alerts[output["alertId"]] = dict(output)


@dataclass(slots=True)
class _Outcome:
    """A read decided (and its key released) but not yet audited: what to audit, answer."""

    action: str
    outcome: str
    audit: dict[str, Any]
    decision: dict[str, Any] | None
    envelope: dict[str, Any] | None = None
    error: BmdxError | None = None


# -- the service --------------------------------------------------------------------------


class Exchange:
    """Records, consents and the audit trail of one node (see the module docstring)."""

    def __init__(
        self,
        service: NodeService,
        payloads: PayloadStore,
        *,
        rules: Sequence[Mapping[str, Any]] | None = None,
        new_id: Callable[[], str] | None = None,
    ) -> None:
        self.service = service
        self.payloads = payloads
        self.rules = list(rules) if rules is not None else load_rules()
        self._new_id = new_id or (lambda: f"urn:uuid:{uuid.uuid4()}")
        self._index = _Index()
        self._participants: dict[str, tuple[int, dict[str, Any]]] = {}
        self._custodian: JWK | None = None
        self._encryption_keys: dict[str, tuple[int, jwe.Recipient | None]] = {}
        self._content_keys: OrderedDict[str, bytes] = OrderedDict()
        self._shredded: set[str] = set()  # payloads destroyed: never cache their keys
        self._chains: dict[str, tuple[tuple[int, ...], ConsentChain]] = {}
        self._cache_lock = threading.Lock()

    # -- identity and keys ----------------------------------------------------------------

    @property
    def node(self) -> Founder:
        return self.service.identity

    def custodian_key(self) -> JWK:
        """The node's private encryption key, as the JOSE library takes it."""
        if self._custodian is None:
            encryption = self.node.encryption
            if encryption is None:
                raise ApiError(
                    "this node has no encryption key and cannot hold payloads",
                    status=422,
                    reason="no-custodian-key",
                    requirement=REQ_CUSTODIAN,
                )
            self._custodian = JWK.from_pyca(encryption.key)
        return self._custodian

    def custodian_kid(self) -> str:
        encryption = self.node.encryption
        return "" if encryption is None else encryption.kid

    def _height(self) -> int:
        head = self.service.ledger.store.head()
        return -1 if head is None else head.height

    def participant(self, participant_id: str) -> dict[str, Any]:
        """A participant with the keys valid now; cached until the next block."""
        height = self._height()
        cached = self._participants.get(participant_id)
        if cached is not None and cached[0] == height:
            return cached[1]
        document = self.service.participant(participant_id)
        self._participants[participant_id] = (height, document)
        return document

    def _encryption_key(self, participant_id: str) -> jwe.Recipient | None:
        """The participant's first encryption key valid now, checked once per block."""
        height = self._height()
        cached = self._encryption_keys.get(participant_id)
        if cached is not None and cached[0] == height:
            return cached[1]
        found: jwe.Recipient | None = None
        for jwk in self.participant(participant_id).get("keys", []):
            if jwk.get("use") == "enc":
                found = jwe.recipient(jwk)
                break
        self._encryption_keys[participant_id] = (height, found)
        return found

    def _content_key(self, location: str, token: Mapping[str, Any]) -> bytes:
        """The content key of the payload at ``location``, unwrapped once while it lives.

        Payloads are content-addressed, so a location names one token and one key.
        The cache is bounded, and an erasure drops the key with the payload.
        """
        cek = self._content_keys.get(location)
        if cek is None:
            cek = jwe.open_content_key(token, self.custodian_key())
            with self._cache_lock:
                # A read unwraps outside the service lock: an erasure may have come
                # in meanwhile, and its key must not come back into the cache.
                if location not in self._shredded:
                    self._content_keys[location] = cek
                    while len(self._content_keys) > CONTENT_KEY_CACHE:
                        self._content_keys.popitem(last=False)
        return cek

    def _forget_payload(self, location: str) -> None:
        """Destroy a payload and every copy of its content key this node holds."""
        with self._cache_lock:
            self._shredded.add(location)
            self._content_keys.pop(location, None)
        self.payloads.destroy(location)

    def _keys_of(self, participant_id: str) -> dict[str, PublicKey]:
        keys: dict[str, PublicKey] = {}
        for jwk in self.participant(participant_id).get("keys", []):
            try:
                key = import_public_jwk(jwk)
            except KeyImportError:
                continue
            keys[key.kid] = key
        return keys

    # -- the index ------------------------------------------------------------------------

    def refresh(self) -> _Index:
        """Catch the index up with the committed ledger and the pool (under the lock)."""
        index = self._index
        ledger = self.service.ledger
        head = ledger.store.head()
        size = 0 if head is None else head.tree_size
        if size > index.size:
            for stored in ledger.store.iter_transactions(index.size, size):
                index.committed.add(stored.txid)
                if stored.txid not in index.seen:
                    index.add(ijson.loads(stored.canonical), stored.txid)
            index.size = size
        pending = ledger.pending
        start = index.pooled
        if not 0 < start <= len(pending) or pending[start - 1].txid != index.pool_mark:
            start = 0  # a new pool since the last look
        for fx in pending[start:]:
            if fx.txid not in index.seen:
                index.add(fx.document, fx.txid)
        index.pooled = len(pending)
        index.pool_mark = pending[-1].txid if pending else ""
        return index

    def _submit_own(
        self, tx_type: str, outputs: Sequence[Mapping[str, Any]], **kwargs: Any
    ) -> Receipt:
        with self.service.lock:
            receipt = self.service.submit_own(tx_type, outputs, **kwargs)
            fx = self.service.ledger.pending[receipt.index]
            self._index.add(fx.document, fx.txid)
        return receipt

    def _role(self, caller: Caller) -> str:
        roles = self.participant(caller.participant).get("roles") or ["platform"]
        return str(roles[0])

    def _roles(self, caller: Caller) -> frozenset[str]:
        return frozenset(self.participant(caller.participant).get("roles") or ())

    def _audit(
        self,
        attempt: Attempt,
        action: str,
        outcome: str,
        *,
        subject: str | None = None,
        record: str | None = None,
        purpose: str | None = None,
        decision: Mapping[str, Any] | None = None,
        policy: str | None = None,
    ) -> str:
        """Pool the attempt's AuditEvent (BMDX-API-070); its eventId."""
        event: dict[str, Any] = {
            "objectType": "AuditEvent",
            "eventId": self._new_id(),
            "recorded": format_timestamp(self.service.now()),
            "actor": attempt.caller.participant,
            "actorRole": self._role(attempt.caller),
            "action": action,
            "outcome": outcome,
            "policyHash": policy
            or (decision["consentVersionHash"] if decision is not None else EMPTY_POLICY_HASH),
            "requestDigest": attempt.digest,
        }
        if subject is not None:
            event["subject"] = subject
        if record is not None:
            event["record"] = record
        if purpose is not None:
            event["purpose"] = purpose
        if decision is not None:
            event["decision"] = decision["requestId"]
        self._submit_own("audit.append", [event])
        return str(event["eventId"])

    # -- publishing -----------------------------------------------------------------------

    def publish(self, attempt: Attempt, envelope: Mapping[str, Any]) -> tuple[dict[str, Any], str]:
        """Check, store and anchor a RecordEnvelope; the RecordReceipt and its eventId."""
        header = dict(envelope["header"])
        if header["author"] != attempt.caller.participant:
            raise ApiError(
                f"the record's author is {header['author']}, the request is signed by "
                f"{attempt.caller.participant}",
                status=403,
                reason="author-mismatch",
                requirement=REQ_SENDER,
                pointer="/header/author",
            )
        if "plaintextDigest" in header:
            raise _unprocessable(
                "an anchored header must not carry plaintextDigest; recipients check the "
                "plaintext against the salted commitment",
                "plaintext-digest",
                REQ_NO_DIGEST,
                "/header/plaintextDigest",
            )
        salt = self._salt(envelope)
        self._check_signature(header)
        stored = self._check_payload(header, envelope["payload"], salt)
        with self.service.lock:
            index = self.refresh()
            if header["recordId"] in index.records or stored.location in index.locations:
                raise ApiError(
                    "a record with this id or payload is already published",
                    status=409,
                    reason="duplicate-record",
                    requirement=REQ_DUPLICATE,
                    pointer="/header/recordId",
                )
            try:
                self.payloads.put(stored)
            except StorageError as e:
                if e.reason == "conflict":
                    raise ApiError(
                        "a record with this id or payload is already stored",
                        status=409,
                        reason="duplicate-record",
                        requirement=REQ_DUPLICATE,
                    ) from e
                raise
            try:
                receipt = self._submit_own("record.anchor", [header])
            except BmdxError:
                self._forget_payload(stored.location)
                raise
            event = self._audit(
                attempt, "publish", "success", subject=header["subject"], record=header["recordId"]
            )
        body = {
            "recordId": header["recordId"],
            "location": stored.location,
            "txid": receipt.txid,
            "status": "pending",
        }
        return body, event

    def _salt(self, envelope: Mapping[str, Any]) -> bytes:
        text = envelope.get("salt")
        raw = b""
        if isinstance(text, str):
            try:
                raw = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
            except (binascii.Error, ValueError):
                raw = b""
        if len(raw) != SALT_BYTES:
            raise _unprocessable(
                f"the envelope must carry the commitment's {SALT_BYTES}-byte salt",
                "salt-missing",
                REQ_SALT,
                "/salt",
            )
        return raw

    def _check_signature(self, header: Mapping[str, Any]) -> None:
        keys = self._keys_of(header["author"])
        signers = [s for s in keys if keys[s].use == "sig"]
        try:
            verified = verify_document(header, {k: keys[k] for k in signers})
        except CryptoError as e:
            raise _unprocessable(
                "the header's signature does not verify with a key of its author",
                "bad-signature",
                "BMDX-DM-190",
                "/header/signatures",
            ) from e
        if not verified:
            raise _unprocessable(
                "the header is not signed by its author", "bad-signature", "BMDX-DM-190"
            )

    def _check_payload(
        self, header: Mapping[str, Any], payload: Mapping[str, Any], salt: bytes
    ) -> StoredPayload:
        descriptor = header["payload"]
        data = canonical_bytes(payload)
        location = _sha256(data)
        if descriptor["location"] != location or descriptor["size"] != len(data):
            raise _unprocessable(
                "the payload is not the one the header's descriptor addresses",
                "location-mismatch",
                "BMDX-DM-111",
                "/header/payload/location",
            )
        recipients = payload.get("recipients", [])
        if descriptor["recipients"] != len(recipients):
            raise _unprocessable(
                "the descriptor's recipient count is not the JWE's",
                "recipients-mismatch",
                "BMDX-DM-113",
                "/header/payload/recipients",
            )
        limit = security_profile().sensitivity[header["sensitivity"]].max_recipients
        if len(recipients) > limit:
            raise _unprocessable(
                f"a {header['sensitivity']}-labelled record's JWE names {len(recipients)} "
                f"recipients; the profile allows {limit}",
                "too-many-recipients",
                REQ_LABEL_RECIPIENTS,
                "/payload/recipients",
            )
        kid = self.custodian_kid()
        if not any(r.get("header", {}).get("kid") == kid for r in recipients):
            raise _unprocessable(
                "the payload is not encrypted to the node's encryption key (nodeKeys)",
                "custodian-not-recipient",
                REQ_CUSTODIAN,
                "/payload/recipients",
            )
        try:
            plaintext = jwe.decrypt(payload, self.custodian_key())
        except CryptoError as e:
            raise _unprocessable(
                "the payload does not decrypt", "undecryptable", e.requirement, "/payload"
            ) from e
        commitment = _sha256(salt + hashlib.sha256(plaintext).digest())
        if commitment != header["commitment"]:
            raise _unprocessable(
                "the salted commitment does not match the payload's plaintext",
                "commitment-mismatch",
                "BMDX-DM-102",
                "/header/commitment",
            )
        return StoredPayload(location, header["recordId"], data, salt, len(recipients))

    # -- decisions ------------------------------------------------------------------------

    def _decide(
        self,
        consents: Sequence[Mapping[str, Any]],
        request: Mapping[str, Any],
        headers: Sequence[Mapping[str, Any]],
    ) -> dict[str, Any]:
        requester = self.participant(request["requester"])
        now = format_timestamp(self.service.now())
        return decide(self._chain(consents, request), request, requester, list(headers), now=now)

    def _chain(
        self, consents: Sequence[Mapping[str, Any]], request: Mapping[str, Any]
    ) -> ConsentChain | list[Mapping[str, Any]]:
        """The subject's consent versions, checked once while no version is added.

        The index only ever appends versions and never changes one, so the documents'
        identities say whether a checked chain still holds.  A chain that fails its
        check is not kept: :func:`decide` checks the plain list and says why.
        """
        subject = str(request.get("subject"))
        identities = tuple(map(id, consents))
        cached = self._chains.get(subject)
        if cached is not None and cached[0] == identities:
            return cached[1]
        try:
            chain = consent_chain(list(consents), subject)
        except ConsentError:
            return list(consents)
        with self._cache_lock:
            self._chains[subject] = (identities, chain)
        return chain

    def _request(
        self, caller: Caller, subject: str, records: Sequence[str], purpose: str
    ) -> dict[str, Any]:
        return {
            "objectType": "AccessRequest",
            "requestId": self._new_id(),
            "requester": caller.participant,
            "subject": subject,
            "records": list(records),
            "purpose": purpose,
            "breakGlass": False,
            "requested": format_timestamp(self.service.now()),
        }

    def read(
        self,
        attempt: Attempt,
        record_id: str,
        request: Mapping[str, Any] | None = None,
        *,
        purpose: str | None = None,
        payload_required: bool = True,
    ) -> tuple[dict[str, Any], str, dict[str, Any] | None]:
        """Decide and audit an access to one record; the decision, eventId and envelope.

        ``request`` is the requester's AccessRequest (POST .../access), else one is made
        for ``purpose`` (GET).  Refusals raise the uniform 403; an erased record that the
        requester would have been allowed answers 410.
        """
        caller = attempt.caller
        if request is not None:
            if request["requester"] != caller.participant:
                raise ApiError(
                    "the AccessRequest names another requester than the request's signer",
                    status=403,
                    reason="requester-mismatch",
                    requirement=REQ_SENDER,
                    pointer="/requester",
                )
            if request.get("records") != [record_id]:
                raise _unprocessable(
                    "the AccessRequest must name exactly the record of the path",
                    "record-mismatch",
                    REQ_READ,
                    "/records",
                )
        wanted = request["purpose"] if request is not None else str(purpose)
        with self.service.lock:
            index = self.refresh()
            entry = index.records.get(record_id)
            subject = request["subject"] if request is not None else None
            if entry is None or (subject is not None and entry.header["subject"] != subject):
                # Same work and the same answer as a refusal by consent (BMDX-API-061).
                self._audit(attempt, "denial", "denied", record=record_id, purpose=_purpose(wanted))
                raise denied()
            if request is None:
                request = self._request(caller, entry.header["subject"], [record_id], wanted)
            stamp = self._stamp(index, entry, caller)
            consents = list(index.consents.get(entry.header["subject"], []))
        outcome = self._prepare(
            entry, consents, request, caller=caller, payload_required=payload_required
        )
        with self.service.lock:
            index = self.refresh()
            if self._stamp(index, entry, caller) != stamp:
                # Something that governs this read was pooled meanwhile: decide in order.
                consents = list(index.consents.get(entry.header["subject"], []))
                outcome = self._prepare(
                    entry, consents, request, caller=caller, payload_required=payload_required
                )
            event = self._audit(attempt, outcome.action, outcome.outcome, **outcome.audit)
            decision = outcome.decision
            if outcome.error is not None or decision is None:
                raise outcome.error or denied()
            if outcome.action == "break-glass":
                self._raise_alerts(index)
        return decision, event, outcome.envelope

    def _stamp(
        self, index: _Index, entry: _Record, caller: Caller
    ) -> tuple[int, bool, dict[str, Any]]:
        """What a read's decision and release depend on besides time, to detect changes.

        Consent versions are only ever added; an erasure is pooled once; the requester's
        roles and keys are those of its registration valid at the head.
        """
        consents = index.consents.get(entry.header["subject"], [])
        return len(consents), entry.erasure is not None, self.participant(caller.participant)

    def _prepare(
        self,
        entry: _Record,
        consents: Sequence[Mapping[str, Any]],
        request: Mapping[str, Any],
        *,
        caller: Caller,
        payload_required: bool,
    ) -> _Outcome:
        """Decide a read and release the key if permitted; what to audit and answer."""
        record_id = entry.header["recordId"]
        wanted = str(request["purpose"])
        try:
            decision = self._decide(consents, request, [entry.header])
        except ConsentError:
            refused = {"record": record_id, "purpose": _purpose(wanted)}
            return _Outcome("denial", "denied", refused, None, error=denied())
        permitted = decision["decision"] == "permit"
        payload = permitted and decision.get("scope") == "payload"
        common: dict[str, Any] = {
            "subject": entry.header["subject"],
            "record": record_id,
            "purpose": _purpose(wanted),
            "decision": decision,
        }
        if not permitted or (payload_required and not payload):
            return _Outcome("denial", "denied", common, decision, error=denied())
        if entry.erasure is not None:
            receipt, txid = entry.erasure
            gone = ApiError(
                f"the record was erased on {receipt['erased']}; its receipt is transaction {txid}",
                status=410,
                reason="erased",
                requirement=REQ_GONE,
            )
            return _Outcome("read", "error", common, decision, error=gone)
        if not payload:
            return _Outcome("query", "success", common, decision)
        try:
            envelope = self._release(entry, caller)
        except BmdxError as e:
            return _Outcome("read", "error", common, decision, error=e)
        action = "break-glass" if decision["breakGlass"] else "read"
        return _Outcome(action, "success", common, decision, envelope=envelope)

    def erasure_of(self, record_id: str) -> tuple[dict[str, Any], str] | None:
        """The ErasureReceipt of an erased record and the transaction holding it."""
        with self.service.lock:
            entry = self.refresh().records.get(record_id)
        return None if entry is None else entry.erasure

    def _release(self, entry: _Record, caller: Caller) -> dict[str, Any]:
        """The envelope re-wrapped for the requester's encryption key alone (BMDX-API-060)."""
        stored = self.payloads.get(entry.header["payload"]["location"])
        if stored is None:
            raise ApiError(
                "the record's payload is not held by this node",
                status=410,
                reason="erased",
                requirement=REQ_GONE,
            )
        target = self._encryption_key(caller.participant)
        if target is None:
            raise _unprocessable(
                f"{caller.participant} has no registered encryption key to release a key to",
                "no-encryption-key",
                REQ_READ,
            )
        # The node's own canonical bytes, parsed strictly when they were published.
        token = json.loads(stored.jwe)
        mine = [r for r in token["recipients"] if r.get("header", {}).get("kid") == target.kid]
        if not mine:
            mine = [jwe.wrap_content_key(self._content_key(stored.location, token), target)]
        token["recipients"] = mine[:1]
        return {
            "objectType": "RecordEnvelope",
            "header": entry.header,
            "payload": token,
            "salt": base64.urlsafe_b64encode(stored.salt).decode("ascii").rstrip("="),
        }

    # -- queries --------------------------------------------------------------------------

    def query(self, attempt: Attempt, params: Mapping[str, Any]) -> dict[str, Any]:
        """Record headers matching ``params`` that consent lets the caller see (BMDX-API-065)."""
        purpose = params["purpose"]
        with self.service.lock:
            index = self.refresh()
            candidates = sorted(
                (
                    r.header
                    for r in index.records.values()
                    if r.erasure is None and _selected(r.header, params)
                ),
                key=lambda h: (parse_instant(h["created"]), h["recordId"]),
            )
            visible: list[dict[str, Any]] = []
            policies: set[str] = set()
            for header in candidates:
                request = self._request(
                    attempt.caller, header["subject"], [header["recordId"]], purpose
                )
                try:
                    decision = self._decide(
                        index.consents.get(header["subject"], []), request, [header]
                    )
                except ConsentError:
                    continue
                if decision["decision"] == "permit":
                    visible.append(header)
                    policies.add(decision["consentVersionHash"])
            self._audit(
                attempt,
                "query",
                "success",
                subject=params.get("subject"),
                purpose=purpose,
                policy=policies.pop() if len(policies) == 1 else None,
            )
        return _page(visible, params)

    # -- consents -------------------------------------------------------------------------

    def consent_change(
        self, attempt: Attempt, tx: Mapping[str, Any], tx_type: str, consent_id: str | None = None
    ) -> Receipt:
        """Pool a consent.grant / consent.revoke of the caller, and audit it."""

        def check(doc: Mapping[str, Any]) -> None:
            if consent_id is not None:
                # The path names the grantor's consent: nobody else acts on it (BMDX-API-013).
                subject = self._index.consent_ids.get(consent_id, "")
                grantors = {
                    c["grantor"]
                    for c in self._index.consents.get(subject, [])
                    if c["consentId"] == consent_id
                }
                if grantors and attempt.caller.participant not in grantors:
                    raise ApiError(
                        f"{attempt.caller.participant} is not the grantor of {consent_id}",
                        status=403,
                        reason="not-grantor",
                        requirement=REQ_SENDER,
                    )
            for i, output in enumerate(doc.get("outputs", [])):
                if consent_id is not None and output.get("consentId") != consent_id:
                    raise _unprocessable(
                        f"the Consent is {output.get('consentId')}, the path {consent_id}",
                        "path-mismatch",
                        REQ_SENDER,
                        f"/outputs/{i}/consentId",
                    )
                if tx_type == "consent.revoke" and output.get("status") != "revoked":
                    raise _unprocessable(
                        "a revocation is a Consent version with status revoked",
                        "not-a-revocation",
                        REQ_CONSENT,
                        f"/outputs/{i}/status",
                    )
                # A version takes effect at its issued time, which may not lie after the
                # moment the transaction says it was sent.
                if parse_timestamp(output["issued"]) > parse_timestamp(doc["timestamp"]):
                    raise _unprocessable(
                        "the Consent is issued after the transaction's timestamp",
                        "issued-after-transaction",
                        REQ_CONSENT_ISSUED,
                        f"/outputs/{i}/issued",
                    )
                # One consent per subject: every decision cites one version of it.
                known = self._index.consents.get(output["subject"], [])
                if any(c["consentId"] != output["consentId"] for c in known):
                    raise _unprocessable(
                        "the subject already has a consent with another consentId",
                        "multiple-consents",
                        REQ_ONE_CONSENT,
                        f"/outputs/{i}/consentId",
                    )

        with self.service.lock:
            self.refresh()
            receipt = self.service.submit(
                tx, caller=attempt.caller, types=frozenset({tx_type}), check=check
            )
            for fx in self.service.ledger.pending:
                if fx.txid == receipt.txid:
                    self._index.add(fx.document, fx.txid)
            for output in tx["outputs"]:
                self._audit(
                    attempt,
                    "consent-change",
                    "success",
                    subject=output["subject"],
                    policy=consent_version_hash(output),
                )
        return receipt

    def consent(self, attempt: Attempt, consent_id: str) -> dict[str, Any]:
        """The version in force of a consent, for its grantor only (else 404, no leak)."""
        with self.service.lock:
            index = self.refresh()
            subject = index.consent_ids.get(consent_id)
            versions = [
                c for c in index.consents.get(subject or "", []) if c["consentId"] == consent_id
            ]
        latest = max(versions, key=lambda c: c["version"]) if versions else None
        if latest is None or latest["grantor"] != attempt.caller.participant:
            raise ApiError(
                "no such consent", status=404, reason="not-found", requirement="BMDX-API-014"
            )
        return latest

    # -- the audit trail ------------------------------------------------------------------

    def _acts_for(self, index: _Index, caller: Caller, subject: str) -> bool:
        return caller.participant in index.grantors.get(subject, set())

    def history(self, attempt: Attempt, subject: str, params: Mapping[str, Any]) -> dict[str, Any]:
        """The subject's committed audit events with inclusion proofs (BMDX-API-072)."""
        with self.service.lock:
            index = self.refresh()
            if not self._acts_for(index, attempt.caller, subject):
                self._audit(attempt, "denial", "denied", subject=subject)
                raise ApiError(
                    "only the patient, or a participant acting for the patient, reads this history",
                    status=403,
                    reason="not-the-patient",
                    requirement=REQ_HISTORY,
                )
            committed = [e for e, txid in index.events.values() if txid in index.committed]
            ordered = [
                e
                for e in audit.access_history(committed, subject)
                if _in_period(e["recorded"], params)
            ]
            page = _page(ordered, params)
            items = []
            for event in page["items"]:
                txid = index.events[event["eventId"]][1]
                proof = self.service.ledger.inclusion_proof(txid)
                items.append({"event": event, "txid": txid, "proof": proof})
            page["items"] = items
            self._audit(attempt, "query", "success", subject=subject)
        return page

    def _is_regulator(self, caller: Caller) -> bool:
        return "regulator" in self._roles(caller)

    def audit_events(self, attempt: Attempt, params: Mapping[str, Any]) -> dict[str, Any]:
        """The audit trail for regulators (BMDX-API-073): AuditEvent documents only."""
        with self.service.lock:
            index = self.refresh()
            if not self._is_regulator(attempt.caller):
                self._audit(attempt, "denial", "denied")
                raise ApiError(
                    "the audit trail is served to regulators",
                    status=403,
                    reason="not-a-regulator",
                    requirement=REQ_AUDIT_READ,
                )
            events = [
                e
                for e, _ in index.events.values()
                if all(
                    params.get(k) is None or e.get(m) == params[k]
                    for k, m in (("actor", "actor"), ("subject", "subject"), ("action", "action"))
                )
                and _in_period(e["recorded"], params)
            ]
            events.sort(key=lambda e: (parse_instant(e["recorded"]), e["eventId"]))
            page = _page(events, params)
            self._audit(attempt, "query", "success", subject=params.get("subject"))
        return page

    def audit_event(self, attempt: Attempt, event_id: str) -> dict[str, Any]:
        """One event, for regulators and the event's patient; 404 for anyone else."""
        with self.service.lock:
            index = self.refresh()
            found = index.events.get(event_id)
            event = None if found is None else found[0]
            allowed = event is not None and (
                self._is_regulator(attempt.caller)
                or ("subject" in event and self._acts_for(index, attempt.caller, event["subject"]))
            )
            if not allowed or event is None:
                self._audit(attempt, "denial", "denied")
                raise ApiError(
                    "no such audit event",
                    status=404,
                    reason="not-found",
                    requirement=REQ_AUDIT_READ,
                )
            self._audit(attempt, "query", "success", subject=event.get("subject"))
        return event

    def audit_event_fhir(self, attempt: Attempt, event_id: str) -> dict[str, Any]:
        return audit.to_fhir_audit_event(self.audit_event(attempt, event_id), source=self.node.id)

    def audit_event_atna(self, attempt: Attempt, event_id: str) -> bytes:
        return audit.to_dicom_audit_message(
            self.audit_event(attempt, event_id), source=self.node.id
        )

    # -- alerts ---------------------------------------------------------------------------

    def _raise_alerts(self, index: _Index) -> list[str]:
        """Evaluate the anomaly rules now and put new alerts on the ledger (BMDX-AUD-042)."""
        events = [e for e, _ in index.events.values()]
        if not events:
            return []
        raised = []
        for alert in detect(events, self.rules, now=format_timestamp(self.service.now())):
            if alert["alertId"] not in index.alerts:
                self._submit_own("alert.raise", [alert])
                raised.append(alert["alertId"])
        return raised

    def alerts(self, attempt: Attempt, params: Mapping[str, Any]) -> dict[str, Any]:
        """Every alert raised, to regulators; the retrieval is audited (BMDX-AUD-008)."""
        with self.service.lock:
            index = self.refresh()
            if not self._is_regulator(attempt.caller):
                self._audit(attempt, "denial", "denied")
                raise ApiError(
                    "alerts are served to regulators",
                    status=403,
                    reason="not-a-regulator",
                    requirement=REQ_ALERTS,
                )
            self._raise_alerts(index)
            alerts = [
                a
                for a in index.alerts.values()
                if params.get("actor") in (None, a["actor"]) and _in_period(a["raised"], params)
            ]
            alerts.sort(key=lambda a: (parse_instant(a["raised"]), a["alertId"]))
            page = _page(alerts, params)
            self._audit(attempt, "query", "success")
        return page

    # -- erasure --------------------------------------------------------------------------

    def erase(self, attempt: Attempt, record_id: str) -> dict[str, Any]:
        """Crypto-shred a record; the signed ErasureReceipt (BMDX-API-080)."""
        caller = attempt.caller
        with self.service.lock:
            index = self.refresh()
            entry = index.records.get(record_id)
            allowed = entry is not None and (
                caller.participant == entry.header["author"]
                or self._acts_for(index, caller, entry.header["subject"])
                or self._is_regulator(caller)
            )
            if entry is None or not allowed:
                self._audit(attempt, "denial", "denied", record=record_id)
                raise denied()
            subject = entry.header["subject"]
            if entry.erasure is not None:
                self._audit(attempt, "erasure", "error", subject=subject, record=record_id)
                raise ApiError(
                    f"the record was already erased; its receipt is transaction {entry.erasure[1]}",
                    status=410,
                    reason="erased",
                    requirement=REQ_GONE,
                )
            location = entry.header["payload"]["location"]
            stored = self.payloads.get(location)
            receipt: dict[str, Any] = {
                "objectType": "ErasureReceipt",
                "recordId": record_id,
                "commitment": entry.header["commitment"],
                "requestedBy": caller.participant,
                "erased": format_timestamp(self.service.now()),
                "wrapsDestroyed": max(1, stored.wraps if stored is not None else 1),
                "ciphertextDestroyed": True,
                "ledgerHeight": self._height() + 1,
            }
            signed = self.node.sign(receipt)
            self._submit_own(
                "record.erase",
                [signed],
                inputs=[{"objectId": record_id, "version": entry.version}],
            )
            self._forget_payload(location)
            self._audit(attempt, "erasure", "success", subject=subject, record=record_id)
        return signed


def _purpose(value: str) -> str | None:
    return (
        value
        if value in {"treatment", "payment", "research", "public-health", "emergency"}
        else None
    )


def _selected(header: Mapping[str, Any], params: Mapping[str, Any]) -> bool:
    for param, member in (
        ("subject", "subject"),
        ("recordType", "recordType"),
        ("author", "author"),
    ):
        if params.get(param) is not None and header[member] != params[param]:
            return False
    return _in_period(header["created"], params)


_EXCHANGES: weakref.WeakKeyDictionary[NodeService, Exchange] = weakref.WeakKeyDictionary()
_LOCK = threading.Lock()


def exchange_for(service: NodeService, *, payloads: PayloadStore | None = None) -> Exchange:
    """The one :class:`Exchange` of ``service`` (its payloads beside the ledger's store)."""
    with _LOCK:
        found = _EXCHANGES.get(service)
        if found is None:
            store = payloads or open_payload_store(service.store_url or service.ledger.store.url)
            found = Exchange(service, store)
            _EXCHANGES[service] = found
        return found
