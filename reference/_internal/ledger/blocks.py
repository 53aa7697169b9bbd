"""Building, signing and validating blocks (spec/conventions/ledger.md, "Blocks").

A block is built by a :class:`BlockBuilder`: transactions are validated one by one
against the committed state plus the block's pending effects, then :meth:`seal`
computes the tree head with the store (``next_tree_head``), writes the canonical
header, and has the validators sign it.  :func:`validate_block` checks a received
block against every rule and returns the :class:`BlockCommit` that writes it; checks
run in this order, the first failure raising a :class:`LedgerError`:

1. parse and schema (the header, body and tail shapes; transactions are checked by
   the state machine, so that a bad one is named by its position);
2. height = head + 1 (``bad-height``; ``fork`` when a *different* block is stored at
   that height, BMDX-LED-023) and ``previous`` = the head's hash (``bad-previous``);
3. timestamp not before the previous block's (``timestamp``, BMDX-LED-018);
4. ``txCount`` = the body's length (``bad-count``);
5. proposer and tail against the validator set in force (``bad-proposer``,
   ``bad-block-signature``, ``insufficient-signatures``, BMDX-LED-021) -- before the
   transactions, so an unauthorised block costs one round of signature checks; the
   genesis block, whose set is installed by its own body, is checked after them;
6. every transaction, in order, through the state machine (its reasons, located by
   ``index``);
7. ``treeSize`` and ``treeRoot`` against the whole log (``bad-tree``, BMDX-LED-003/020).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from bmdx.reference._internal import ijson
from bmdx.reference._internal.canonical import canonical_bytes
from bmdx.reference._internal.errors import IJsonError, LedgerError, SignatureError
from bmdx.reference._internal.jws import KnownGood, sign_detached, verify_signature
from bmdx.reference._internal.keys import PrivateKey, PublicKey
from bmdx.reference._internal.ledger.state import (
    Effects,
    PendingView,
    ValidatorSet,
    format_timestamp,
    parse_timestamp,
    validate_transaction,
)
from bmdx.reference._internal.ledger.views import ChainView
from bmdx.reference._internal.profile import security_profile
from bmdx.reference._internal.schema import schema_set
from bmdx.reference._internal.storage import (
    BlockCommit,
    BlockRecord,
    ObjectConsumption,
    ObjectCreation,
    digest_id,
)

__all__ = [
    "GENESIS_PREVIOUS",
    "BlockBuilder",
    "SealedBlock",
    "Validator",
    "block_hash",
    "build_block",
    "check_tail",
    "sign_header",
    "validate_block",
]

GENESIS_PREVIOUS = "sha-256:" + "0" * 64
REQ_LINKS = "BMDX-LED-020"
REQ_TREE = "BMDX-LED-003"
REQ_TIME = "BMDX-LED-018"
REQ_SIGNERS = "BMDX-LED-021"
REQ_FORK = "BMDX-LED-023"
REQ_PARSE = "BMDX-FMT-001"


@dataclass(frozen=True, slots=True)
class Validator:
    """A validator's block-signing identity held by this process: participant and key."""

    participant: str
    key: PrivateKey


@dataclass(frozen=True, slots=True)
class SealedBlock:
    """A signed block (``Block`` document) and the commit that writes it."""

    block: dict[str, Any]
    commit: BlockCommit

    @property
    def height(self) -> int:
        return self.commit.block.height

    @property
    def hash(self) -> str:
        return self.commit.block.hash


def block_hash(header: Mapping[str, Any]) -> str:
    """``sha-256:`` and the hex SHA-256 of the canonical header."""
    return digest_id(canonical_bytes(header))


def sign_header(header: Mapping[str, Any], signers: Iterable[Validator]) -> list[dict[str, str]]:
    """The tail: one detached signature per validator over the canonical header."""
    payload = canonical_bytes(header)
    typ = security_profile().signatures.typ
    return [sign_detached(payload, v.key, typ=typ) for v in signers]


def _commit(
    header: Mapping[str, Any],
    header_bytes: bytes,
    tail: Mapping[str, Any],
    effects: Sequence[Effects],
) -> BlockCommit:
    """The store commit of a block whose effects are known valid."""
    first = header["treeSize"] - len(effects)
    created: list[ObjectCreation] = []
    consumed: list[ObjectConsumption] = []
    for i, fx in enumerate(effects):
        created += [ObjectCreation(o, v, first + i) for o, v in fx.created]
        consumed += [ObjectConsumption(o, v, first + i) for o, v in fx.consumed]
    record = BlockRecord(
        height=header["height"],
        hash=digest_id(header_bytes),
        header=header_bytes,
        tail=canonical_bytes(tail),
        tx_count=header["txCount"],
        tree_size=header["treeSize"],
        tree_root=bytes.fromhex(header["treeRoot"].removeprefix("sha-256:")),
        timestamp=header["timestamp"],
    )
    return BlockCommit(
        block=record,
        transactions=tuple(fx.new_transaction() for fx in effects),
        objects_created=tuple(created),
        objects_consumed=tuple(consumed),
        keys_added=tuple(k for fx in effects for k in fx.keys_added),
        keys_retired=tuple(k for fx in effects for k in fx.keys_retired),
        participants=tuple(p for fx in effects for p in fx.participants),
        validator_sets=tuple(v for fx in effects for v in fx.validator_sets),
    )


def _when(value: datetime | str) -> datetime:
    return parse_timestamp(value) if isinstance(value, str) else value


class BlockBuilder:
    """The block being built on top of ``view``: its pending state and transactions."""

    def __init__(self, view: ChainView, *, now: datetime | str) -> None:
        self.view = view
        head = view.head()
        self.height = 0 if head is None else head.height + 1
        self.previous = GENESIS_PREVIOUS if head is None else head.hash
        self._floor = None if head is None else parse_timestamp(head.timestamp)
        self.time = self._not_before(_when(now))
        self.pending = PendingView(view)

    def _not_before(self, when: datetime) -> datetime:
        return when if self._floor is None or when >= self._floor else self._floor

    def __len__(self) -> int:
        return len(self.pending)

    def add(
        self, tx: Any, *, now: datetime | str | None = None, known_good: KnownGood = ()
    ) -> Effects:
        """Validate ``tx`` for this block and add it; a rejection changes nothing."""
        if now is not None:
            self.time = max(self.time, self._not_before(_when(now)))
        found = validate_transaction(
            tx, self.pending, height=self.height, block_time=self.time, known_good=known_good
        )
        self.pending.apply(found)
        return found

    def seal(
        self, *, proposer: str, signers: Sequence[Validator], now: datetime | str | None = None
    ) -> SealedBlock:
        """Header, tree head and validator signatures; the returned commit is not yet written."""
        if now is not None:
            self.time = max(self.time, self._not_before(_when(now)))
        effects = list(self.pending)
        size, root = self.view.next_tree_head([fx.canonical for fx in effects])
        header = {
            "height": self.height,
            "previous": self.previous,
            "timestamp": format_timestamp(self.time),
            "txCount": len(effects),
            "treeSize": size,
            "treeRoot": "sha-256:" + root.hex(),
            "proposer": proposer,
        }
        tail = {"signatures": sign_header(header, signers)}
        block = {
            "objectType": "Block",
            "header": header,
            "body": {"transactions": [dict(fx.document) for fx in effects]},
            "tail": tail,
        }
        return SealedBlock(block, _commit(header, canonical_bytes(header), tail, effects))


def build_block(
    view: ChainView,
    txs: Iterable[Any],
    *,
    proposer: str,
    signers: Sequence[Validator],
    now: datetime | str,
) -> SealedBlock:
    """Validate ``txs`` in order for the next block and seal it; any rejection raises."""
    builder = BlockBuilder(view, now=now)
    for index, tx in enumerate(txs):
        try:
            builder.add(tx)
        except LedgerError as exc:
            raise exc.located(index=index) from exc.__cause__
    return builder.seal(proposer=proposer, signers=signers)


# -- validating a received block --------------------------------------------------------


def _fail(reason: str, requirement: str, message: str, height: int | None) -> LedgerError:
    return LedgerError(message, reason=reason, requirement=requirement, height=height)


def _parse_block(block: Any) -> Mapping[str, Any]:
    try:
        doc = (
            ijson.loads(bytes(block) if isinstance(block, bytearray) else block)
            if isinstance(block, bytes | bytearray | str)
            else block
        )
    except IJsonError as exc:
        raise LedgerError(
            f"block is not I-JSON: {exc.message}", reason="malformed", requirement=exc.requirement
        ) from exc
    if not isinstance(doc, Mapping):
        raise LedgerError("a block is a JSON object", reason="malformed", requirement=REQ_PARSE)
    body = doc.get("body")
    transactions = body.get("transactions") if isinstance(body, Mapping) else None
    # The shell without its transactions: each transaction is checked (and named) by
    # the state machine, so the block schema need not walk them twice.
    shell = dict(doc)
    if isinstance(transactions, list):
        shell["body"] = {**body, "transactions": []}  # type: ignore[dict-item]
    schemas = schema_set()
    if not schemas.validator_for("Block").is_valid(shell):
        first = schemas.violations(shell, "Block")[0]
        raise LedgerError(
            f"not a valid Block: {first.message}",
            reason="schema",
            requirement=first.requirement,
            pointer=first.pointer,
        )
    if (
        len(transactions or [])
        > schemas.schema_for("Block")["$defs"]["body"]["properties"]["transactions"]["maxItems"]
    ):
        raise LedgerError(
            "block body holds more transactions than the schema allows",
            reason="schema",
            requirement="BMDX-DM-060",
            pointer="/body/transactions",
        )
    return doc


def _check_links(header: Mapping[str, Any], view: ChainView) -> None:
    height = header["height"]
    head = view.head()
    expected = 0 if head is None else head.height + 1
    if height < expected:
        stored = view.block_hash(height)
        if stored is not None and stored != block_hash(header):
            raise _fail(
                "fork",
                REQ_FORK,
                f"a different block {stored} is already on the ledger at height {height}",
                height,
            )
        raise _fail("bad-height", REQ_LINKS, f"block {height} is already on the ledger", height)
    if height > expected:
        raise _fail(
            "bad-height",
            REQ_LINKS,
            f"block {height} does not follow the head; next is {expected}",
            height,
        )
    previous = GENESIS_PREVIOUS if head is None else head.hash
    if header["previous"] != previous:
        raise _fail(
            "bad-previous",
            REQ_LINKS,
            f"previous {header['previous']} is not the hash {previous} of block {height - 1}",
            height,
        )
    if head is not None and parse_timestamp(header["timestamp"]) < parse_timestamp(head.timestamp):
        raise _fail(
            "timestamp",
            REQ_TIME,
            f"timestamp {header['timestamp']} is earlier than block {head.height}'s {head.timestamp}",
            height,
        )


def _validator_keys(vset: ValidatorSet, view: Any, height: int) -> dict[str, PublicKey]:
    """The set's keys that are valid at ``height``, by kid."""
    out: dict[str, PublicKey] = {}
    for participant, kid in vset.members:
        record = view.key(kid)
        if record is None or record.participant != participant:
            continue
        if record.valid_from <= height and (
            record.valid_until is None or height < record.valid_until
        ):
            key = view.public_key(kid)
            if key is not None:
                out[kid] = key
    return out


def check_tail(
    header: Mapping[str, Any], tail: Mapping[str, Any], vset: ValidatorSet | None, view: Any
) -> set[str]:
    """Proposer membership and ``threshold`` distinct validator signatures (BMDX-LED-021)."""
    height = header["height"]
    if vset is None:
        raise _fail(
            "insufficient-signatures",
            REQ_SIGNERS,
            f"no validator set is in force at {height}",
            height,
        )
    if header["proposer"] not in vset.participants:
        raise _fail(
            "bad-proposer",
            REQ_SIGNERS,
            f"proposer {header['proposer']} is not a validator of set version {vset.version}",
            height,
        )
    keys = _validator_keys(vset, view, height)
    payload = canonical_bytes(header)
    by_kid = {k: p for p, k in vset.members}
    signed: set[str] = set()
    for i, entry in enumerate(tail["signatures"]):
        try:
            verified = verify_signature(entry, payload, keys)
        except SignatureError as exc:
            error = _fail(
                "bad-block-signature",
                REQ_SIGNERS,
                f"tail signature {i} is not a valid signature of a validator in force ({exc.reason})",
                height,
            )
            error.pointer = f"/tail/signatures/{i}"
            raise error from exc
        signed.add(by_kid[verified.kid])
    if len(signed) < vset.threshold:
        raise _fail(
            "insufficient-signatures",
            REQ_SIGNERS,
            f"{len(signed)} distinct validator(s) signed; set version {vset.version} needs "
            f"{vset.threshold}",
            height,
        )
    return signed


def validate_block(block: Any, view: ChainView) -> BlockCommit:
    """Check a received block against the chain ``view``; return the commit that writes it.

    Nothing is written: the caller commits (``view.commit`` or ``store.commit_block``).
    """
    doc = _parse_block(block)
    header, tail = doc["header"], doc["tail"]
    transactions = doc["body"]["transactions"]
    height = header["height"]
    _check_links(header, view)
    if header["txCount"] != len(transactions):
        raise _fail(
            "bad-count",
            REQ_LINKS,
            f"txCount {header['txCount']} but the body holds {len(transactions)}",
            height,
        )
    if height > 0:
        check_tail(header, tail, view.validator_set_at(height), view)
    pending = PendingView(view)
    block_time = parse_timestamp(header["timestamp"])
    for index, tx in enumerate(transactions):
        try:
            pending.apply(validate_transaction(tx, pending, height=height, block_time=block_time))
        except LedgerError as exc:
            raise exc.located(height=height, index=index) from exc.__cause__
    if height == 0:
        check_tail(header, tail, pending.validator_set_at(0), pending)
    size, root = view.next_tree_head([fx.canonical for fx in pending])
    if header["treeSize"] != size:
        raise _fail(
            "bad-tree", REQ_LINKS, f"treeSize {header['treeSize']}, the log holds {size}", height
        )
    if header["treeRoot"] != "sha-256:" + root.hex():
        raise _fail(
            "bad-tree",
            REQ_TREE,
            f"treeRoot {header['treeRoot']} is not the root sha-256:{root.hex()} of the log",
            height,
        )
    return _commit(header, canonical_bytes(header), tail, list(pending))
