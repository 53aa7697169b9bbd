"""The node's service layer: the ledger behind the HTTP interface, and its commit policy.

:class:`NodeService` is what handlers call; it never sees HTTP.  It serialises access
to the :class:`~bmdx.reference._internal.ledger.Ledger` (whose pool is not
thread-safe) with one lock, answers the request verifier's key lookups from the
committed state, and runs the commit policy.

Durability, as the interface promises it (BMDX-API-031): a write is answered 202 once
the transaction is validated into the pool of the next block; the pool lives in this
process until the committer seals it, at most ``commit_interval_ms`` later (or when it
holds ``commit_max_transactions``), in one store transaction.  Its inclusion proof is
served from then on.  A graceful shutdown commits the pool before the process ends;
a crash loses the pooled (never the committed) transactions, and their senders see
them as unknown and resubmit with the same sequence number.  Reads never wait for a
commit.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from bmdx.reference._internal import ijson
from bmdx.reference._internal.checkpoints import (
    checkpoint_body,
    checkpoint_document,
    checkpoint_note,
    origin_for,
)
from bmdx.reference._internal.errors import ApiError, BmdxError, KeyImportError, LedgerError
from bmdx.reference._internal.export import block_document, checkpoint_signers
from bmdx.reference._internal.httpsig import RequestKey
from bmdx.reference._internal.jws import KnownGood
from bmdx.reference._internal.keys import PrivateKey, import_public_jwk
from bmdx.reference._internal.ledger import Ledger, Receipt
from bmdx.reference._internal.ledger.genesis import Founder
from bmdx.reference._internal.ledger.state import format_timestamp
from bmdx.reference._internal.limits import limits
from bmdx.reference._internal.node.config import NodeConfig
from bmdx.reference._internal.profile import security_profile
from bmdx.reference._internal.signing import sign_document_known
from bmdx.reference._internal.storage import BlockRecord, KeyRecord, ParticipantRecord

__all__ = ["Caller", "NodeService", "TransactionState"]

log = logging.getLogger("bmdx.node")

REQ_NOT_FOUND = "BMDX-API-014"
REQ_SENDER = "BMDX-API-013"
REQ_TX_TYPE = "BMDX-API-021"
REQ_PARTICIPANT_KEYS = "BMDX-API-022"
REQ_DEV_REGISTRATION = "BMDX-API-020"

_KEY_CACHE = 4096


def _utc_now() -> datetime:
    return datetime.now(UTC)


def not_found(message: str, reason: str, requirement: str = REQ_NOT_FOUND) -> ApiError:
    return ApiError(message, status=404, reason=reason, requirement=requirement)


def forbidden(message: str, reason: str, requirement: str = REQ_SENDER, **kw: Any) -> ApiError:
    return ApiError(message, status=403, reason=reason, requirement=requirement, **kw)


@dataclass(frozen=True, slots=True)
class Caller:
    """The participant whose registered key signed the request."""

    participant: str
    kid: str


@dataclass(frozen=True, slots=True)
class TransactionState:
    """A transaction the node knows: pooled (``height`` is the next block's) or committed."""

    txid: str
    document: Mapping[str, Any]
    committed: bool
    height: int
    leaf_index: int | None


class NodeService:
    """One node: a ledger, the identity it acts as, and the keys it holds.

    ``identity`` is the node's own participant (its signing key signs the
    transactions the node sends itself, e.g. anchors and audit events; its encryption
    key receives payloads).  ``governance`` are the signers of a governance transaction
    when this process holds them (a development node); empty otherwise.  ``store_url``
    is the ledger store's URL with its credentials (``Store.url`` is redacted), for
    stores kept beside the ledger in the same database.
    """

    def __init__(
        self,
        ledger: Ledger,
        *,
        identity: Founder,
        config: NodeConfig | None = None,
        clock: Callable[[], datetime] = _utc_now,
        governance: Sequence[Founder] = (),
        store_url: str | None = None,
    ) -> None:
        self.ledger = ledger
        self.store_url = store_url
        self.identity = identity
        self.config = config or NodeConfig()
        self.clock = clock
        self.governance = tuple(governance)
        self.lock = threading.RLock()
        self.origin = origin_for(self.config.network)
        self._pool_since: datetime | None = None
        self._stop = threading.Event()
        self._wake = threading.Event()
        self._committer: threading.Thread | None = None
        self._checkpoints: dict[int, tuple[dict[str, Any], str]] = {}
        # kid -> (head height, the verifier's view); kid -> the participant it belongs to.
        self._request_keys: dict[str, tuple[int, RequestKey | None]] = {}
        self._callers: dict[str, Caller] = {}
        self.profiles: tuple[str, ...] = ("core-format",)

    # -- time -------------------------------------------------------------------------

    def now(self) -> datetime:
        return self.clock()

    def now_seconds(self) -> int:
        return int(self.clock().timestamp())

    # -- authentication -----------------------------------------------------------------

    def _head_height(self) -> int:
        head = self.ledger.store.head()
        return -1 if head is None else head.height

    def request_key(self, kid: str) -> RequestKey | None:
        """The verifier's view of ``kid``: a signing key valid now, revoked, or unknown.

        Valid now means valid at the height of the latest committed block; a key
        rotated out or revoked at or below it is reported revoked (BMDX-SEC-207).
        Keys change only with a block, so the answer is kept until the head moves.
        """
        height = self._head_height()
        cached = self._request_keys.get(kid)
        if cached is not None and cached[0] == height:
            return cached[1]
        record = self.ledger.store.key(kid)
        found: RequestKey | None = None
        if record is not None and record.valid_from <= height:
            try:
                key = import_public_jwk(ijson.loads(record.jwk))
            except KeyImportError:
                key = None
            if key is not None and key.use == "sig" and key.signing_alg is not None:
                revoked = record.valid_until is not None and record.valid_until <= height
                found = RequestKey(kid, key.key, revoked=revoked)  # type: ignore[arg-type]
        if len(self._request_keys) >= _KEY_CACHE:
            self._request_keys.clear()
        self._request_keys[kid] = (height, found)
        return found

    def caller_for(self, kid: str) -> Caller:
        caller = self._callers.get(kid)
        if caller is not None:
            return caller
        record = self.ledger.store.key(kid)
        if record is None:  # verified a moment ago; keys are never deleted
            raise not_found(f"no key {kid}", reason="unknown-key")
        caller = Caller(record.participant, kid)
        if len(self._callers) >= _KEY_CACHE:
            self._callers.clear()
        self._callers[kid] = caller
        return caller

    # -- reads ------------------------------------------------------------------------

    def head(self) -> BlockRecord:
        head = self.ledger.store.head()
        if head is None:
            raise not_found("the ledger has no block yet", reason="empty-ledger")
        return head

    def pending_count(self) -> int:
        with self.lock:
            return len(self.ledger.pending)

    def head_and_pending(self) -> tuple[BlockRecord, int]:
        """The head and the size of the pool, read together.

        A commit moves the pool into a new head under the lock; read apart, a reader
        could see the old head beside the emptied pool and miss the new block.
        """
        with self.lock:
            return self.head(), len(self.ledger.pending)

    def block(self, height: int) -> dict[str, Any]:
        record = self.ledger.store.block(height)
        if record is None:
            raise not_found(f"no block at height {height}", reason="unknown-block")
        return block_document(self.ledger.store, record)

    def validator_set_at(self, height: int) -> dict[str, Any]:
        if height > self._head_height():
            raise not_found(f"no block at height {height}", reason="unknown-block")
        vset = self.ledger.validator_set_at(height)
        if vset is None:
            raise not_found(f"no validator set in force at {height}", reason="unknown-block")
        return vset

    def transaction(self, txid: str) -> TransactionState:
        stored = self.ledger.store.transaction_by_id(txid)
        if stored is not None:
            return TransactionState(
                txid, ijson.loads(stored.canonical), True, stored.height, stored.leaf_index
            )
        with self.lock:
            for fx in self.ledger.pending:
                if fx.txid == txid:
                    return TransactionState(txid, fx.document, False, self._head_height() + 1, None)
        raise not_found(f"no transaction {txid}", reason="unknown-transaction")

    def live_version(self, object_id: str) -> tuple[str, bool]:
        """The live version of ``object_id`` and whether it is committed (pool counted)."""
        with self.lock:
            live: str | None = None
            for record in self.ledger.store.object_versions(object_id):
                if record.state == "live":
                    live = record.version
            committed = live is not None
            for fx in self.ledger.pending:
                if any(oid == object_id and v == live for oid, v in fx.consumed):
                    live, committed = None, False
                for oid, version in fx.created:
                    if oid == object_id:
                        live, committed = version, False
        if live is None:
            raise not_found(f"{object_id} has no live version", reason="unknown-object")
        return live, committed

    def inclusion_proof(self, txid: str, height: int | None) -> dict[str, Any]:
        try:
            return self.ledger.inclusion_proof(txid, height=height)
        except LedgerError as e:
            raise not_found(e.message, reason=e.reason, requirement="BMDX-API-036") from e

    def consistency_proof(self, first: int, second: int | None) -> dict[str, Any]:
        try:
            return self.ledger.consistency_proof(first, second)
        except LedgerError as e:
            raise not_found(e.message, reason=e.reason, requirement="BMDX-API-037") from e

    def checkpoint(self, height: int) -> tuple[dict[str, Any], str]:
        """The Checkpoint of the block at ``height`` and its C2SP signed note."""
        cached = self._checkpoints.get(height)
        if cached is not None:
            return cached
        block = self.block(height)
        vset = self.validator_set_at(height)
        keys = {v.key.kid: v.key for v in self.ledger.validators}
        signers = checkpoint_signers(keys, vset, height)
        document = checkpoint_document(self.origin, block["header"], signers)
        note = checkpoint_note(checkpoint_body(document), signers)
        self._checkpoints[height] = (document, note)
        return document, note

    def participant_record(self, participant_id: str) -> ParticipantRecord:
        """The registered participant, or 404."""
        record = self.ledger.store.participant(participant_id)
        if record is None:
            raise not_found(f"no participant {participant_id}", reason="unknown-participant")
        return record

    def participant(self, participant_id: str) -> dict[str, Any]:
        """The Participant as registered, its keys those valid at the head (BMDX-API-022)."""
        record = self.participant_record(participant_id)
        height = self._head_height()
        document: dict[str, Any] = ijson.loads(record.document)
        valid = [k for k in self.ledger.store.participant_keys(participant_id) if _valid(k, height)]
        if not valid:
            raise ApiError(
                f"{participant_id} has no key valid at height {height}",
                status=410,
                reason="no-valid-key",
                requirement=REQ_PARTICIPANT_KEYS,
            )
        document["keys"] = [ijson.loads(k.jwk) for k in valid]
        return document

    def sequence(self, participant_id: str) -> tuple[int | None, int]:
        """The last committed sequence of ``participant_id`` and the next one to use."""
        self.participant_record(participant_id)
        with self.lock:
            return self._sequences(participant_id)

    def _sequences(self, participant_id: str) -> tuple[int | None, int]:
        committed = self.ledger.store.last_sequence(participant_id)
        last = committed or 0
        # A sender's pooled sequences increase in pool order: its last one is the highest.
        for fx in reversed(self.ledger.pending):
            if fx.sender == participant_id:
                last = max(last, fx.sequence)
                break
        return committed, last + 1

    def capability(self) -> dict[str, Any]:
        """The CapabilityDocument: ``profiles`` are those of the routers the app serves."""
        head = self.head()
        profile = security_profile()
        lim = limits()
        keys = [self.identity.signing.public.to_public_key_object()]
        if self.identity.encryption is not None:
            keys.append(self.identity.encryption.public.to_public_key_object())
        return {
            "objectType": "CapabilityDocument",
            "specVersion": self.config.spec_version,
            "profiles": list(self.profiles),
            "algorithms": {
                "signature": sorted(
                    a.alg for a in profile.signatures.algorithms.values() if not a.verify_only
                ),
                "keyAgreement": [profile.encryption.alg],
                "contentEncryption": [profile.encryption.enc],
                "curves": sorted({t.crv for t in profile.keys.types.values()}),
            },
            "validatorSet": self.validator_set_at(head.height),
            "nodeKeys": keys,
            "limits": {
                "maxBodyBytes": lim.max_body_bytes,
                "maxNestingDepth": lim.max_nesting_depth,
                "replayWindowSeconds": lim.replay_window_seconds,
                "clockSkewSeconds": lim.clock_skew_seconds,
            },
        }

    # -- writes -----------------------------------------------------------------------

    def submit(
        self,
        tx: Mapping[str, Any],
        *,
        caller: Caller,
        types: frozenset[str] | None = None,
        check: Callable[[Mapping[str, Any]], None] | None = None,
    ) -> Receipt:
        """Validate ``tx`` into the pool for ``caller``, its sender (BMDX-API-013).

        ``types`` restricts the transaction types an operation accepts; ``check`` adds
        an operation's own precondition (e.g. the path names the object).
        """
        if types is not None and tx.get("type") not in types:
            raise ApiError(
                f"this operation takes transactions of type {', '.join(sorted(types))}, "
                f"not {tx.get('type')!r}",
                status=422,
                requirement=REQ_TX_TYPE,
                reason="wrong-transaction-type",
                pointer="/type",
            )
        if tx.get("sender") != caller.participant:
            raise forbidden(
                f"the request is signed by {caller.participant}, the transaction is sent by "
                f"{tx.get('sender')}",
                reason="sender-mismatch",
                pointer="/sender",
            )
        if check is not None:
            check(tx)
        return self._submit(tx)

    def _submit(self, tx: Mapping[str, Any], *, known_good: KnownGood = ()) -> Receipt:
        with self.lock:
            receipt = self.ledger.submit(dict(tx), now=self.now(), known_good=known_good)
            if self._pool_since is None:
                self._pool_since = self.now()
            if len(self.ledger.pending) >= self.config.commit_max_transactions:
                self._wake.set()
            return receipt

    def submit_own(
        self,
        tx_type: str,
        outputs: Sequence[Mapping[str, Any]],
        *,
        inputs: Sequence[Mapping[str, str]] = (),
        signers: Sequence[Founder] = (),
    ) -> Receipt:
        """Send a transaction as the node's own participant (anchors, audit events)."""
        with self.lock:
            _, sequence = self._sequences(self.identity.id)
            doc = {
                "objectType": "Transaction",
                "type": tx_type,
                "sender": self.identity.id,
                "sequence": sequence,
                "timestamp": format_timestamp(self.now()),
                "inputs": [dict(i) for i in inputs],
                "outputs": [dict(o) for o in outputs],
            }
            # The node's own signatures, just made, need no second verification; the
            # state machine still resolves the keys and runs every other check.
            signed, made = sign_document_known(
                doc,
                [f.signing for f in (self.identity, *signers)],
                typ=security_profile().signatures.typ,
            )
            return self._submit(signed, known_good=made)

    def register_on_behalf(self, participant: Mapping[str, Any], *, caller: Caller) -> Receipt:
        """A ``participant.register`` of ``participant`` signed by the governance keys held.

        Only a node holding the governance threshold (a development node) does this, and
        only for the platform participant that sends governance transactions.
        """
        if not self.governance or not self.config.dev:
            raise forbidden(
                "this node does not hold the governance keys; submit a participant.register "
                "transaction signed by the governance threshold",
                requirement=REQ_DEV_REGISTRATION,
                reason="governance-signatures-required",
            )
        if caller.participant != self.identity.id:
            raise forbidden(
                f"only {self.identity.id} registers participants on this node",
                requirement=REQ_DEV_REGISTRATION,
                reason="not-governance",
            )
        with self.lock:
            document = dict(participant)
            document["registered"] = self._head_height() + 1
            extra = [g for g in self.governance if g.id != self.identity.id]
            return self.submit_own("participant.register", [document], signers=extra)

    # -- commits ----------------------------------------------------------------------

    def commit_now(self) -> BlockRecord | None:
        """Seal the pool as a block now; ``None`` when it is empty."""
        with self.lock:
            block = self.ledger.commit_pending(now=self.now())
            self._pool_since = None
            return block

    def _due(self) -> bool:
        with self.lock:
            pending = len(self.ledger.pending)
            if not pending or self._pool_since is None:
                return False
            waited = (self.now() - self._pool_since).total_seconds() * 1000
            return (
                pending >= self.config.commit_max_transactions
                or waited >= self.config.commit_interval_ms
            )

    def _until_due(self) -> float:
        """Seconds until the pool is due: the full interval when it is empty."""
        interval = self.config.commit_interval_ms / 1000
        with self.lock:
            if self._pool_since is None or not self.ledger.pending:
                return interval
            waited = (self.now() - self._pool_since).total_seconds()
        return min(interval, max(0.0, interval - waited))

    def _run_committer(self) -> None:
        while not self._stop.is_set():
            self._wake.wait(self._until_due())
            self._wake.clear()
            if self._stop.is_set():
                break
            try:
                if self._due():
                    self.commit_now()
            except BmdxError as e:
                # The pool stays; the next round retries (e.g. the database was busy).
                log.error("commit failed: %s", e)

    def start(self) -> None:
        """Start the background committer (when the commit policy asks for one)."""
        if self.config.commit_interval_ms == 0 or self._committer is not None:
            return
        self._stop.clear()
        self._committer = threading.Thread(
            target=self._run_committer, name="bmdx-committer", daemon=True
        )
        self._committer.start()

    def stop(self) -> BlockRecord | None:
        """Stop the committer and commit what is pooled (graceful shutdown)."""
        self._stop.set()
        self._wake.set()
        if self._committer is not None:
            self._committer.join()
            self._committer = None
        return self.commit_now()

    def close(self) -> None:
        self.ledger.close()


def _valid(key: KeyRecord, height: int) -> bool:
    return key.valid_from <= height and (key.valid_until is None or height < key.valid_until)


def held_keys(founders: Sequence[Founder]) -> dict[str, PrivateKey]:
    """The signing keys of ``founders`` by kid."""
    return {f.signing.kid: f.signing for f in founders}
