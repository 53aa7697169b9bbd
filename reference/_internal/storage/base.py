"""What the ledger keeps, and the one interface every storage backend offers.

The store holds canonical bytes (block headers, transactions, documents) and the few
fields the ledger looks things up by; it parses none of them and enforces no ledger
rule.  It does keep its own invariants, because everything built on it assumes them:
heights are contiguous from 0, leaf ``i`` of the RFC 9162 tree is the ``i``-th stored
transaction, a block's ``tx_count``/``tree_size``/``tree_root`` agree with its body and
with the whole stored log, and identifiers are the SHA-256 digests of the bytes they
name.  Records check these when built, so a record read back from a tampered database
fails loudly instead of flowing on.

A block is written by :meth:`Store.commit_block` as one database transaction: either
the block, its transactions, its Merkle nodes and every state change land together, or
nothing does.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from types import TracebackType
from typing import Literal, Protocol

from bmdx.reference._internal.errors import StorageError

__all__ = [
    "BlockCommit",
    "BlockRecord",
    "KeyRecord",
    "KeyRetirement",
    "NewTransaction",
    "ObjectConsumption",
    "ObjectCreation",
    "ObjectRecord",
    "ObjectState",
    "ParticipantRecord",
    "Store",
    "StoreStats",
    "StoredTransaction",
    "ValidatorSetRecord",
    "digest_id",
]

ObjectState = Literal["live", "consumed"]

HASH_SIZE = 32
# Requirements a refused commit names (spec/conventions/ledger.md).
REQ_ONE_BLOCK_PER_HEIGHT = "BMDX-LED-023"
REQ_BLOCK_LINKS = "BMDX-LED-020"
REQ_TREE_HEAD = "BMDX-LED-003"


def digest_id(data: bytes) -> str:
    """``sha-256:`` and the lower-case hex SHA-256 of ``data``: transaction ids, block hashes."""
    return "sha-256:" + hashlib.sha256(data).hexdigest()


def _mismatch(message: str, requirement: str | None = None) -> StorageError:
    return StorageError(message, reason="mismatch", requirement=requirement)


def _non_negative(name: str, value: int) -> None:
    if value < 0:
        raise _mismatch(f"{name} must not be negative, got {value}")


@dataclass(frozen=True, slots=True)
class BlockRecord:
    """A block as stored: its canonical header, its tail, and the header's indexed fields.

    ``hash`` must be :func:`digest_id` of ``header``; ``tree_root`` is the raw 32-byte
    RFC 9162 root (the header writes it as a ``sha-256:`` digest string).
    """

    height: int
    hash: str
    header: bytes
    tail: bytes
    tx_count: int
    tree_size: int
    tree_root: bytes
    timestamp: str

    def __post_init__(self) -> None:
        _non_negative("height", self.height)
        _non_negative("tx_count", self.tx_count)
        if self.tree_size < self.tx_count:
            raise _mismatch(
                f"block {self.height}: tree size {self.tree_size} is below its "
                f"{self.tx_count} transactions",
                REQ_BLOCK_LINKS,
            )
        if len(self.tree_root) != HASH_SIZE:
            raise _mismatch(f"block {self.height}: tree root is not {HASH_SIZE} bytes")
        if self.hash != digest_id(self.header):
            raise _mismatch(
                f"block {self.height}: hash {self.hash} is not the SHA-256 of its header",
                REQ_BLOCK_LINKS,
            )

    @property
    def first_leaf(self) -> int:
        """Leaf index of the block's first transaction."""
        return self.tree_size - self.tx_count


@dataclass(frozen=True, slots=True)
class NewTransaction:
    """A transaction to commit: its canonical bytes and the fields the ledger indexes."""

    canonical: bytes
    sender: str
    sequence: int
    type: str

    def __post_init__(self) -> None:
        _non_negative("sequence", self.sequence)

    @property
    def txid(self) -> str:
        return digest_id(self.canonical)


@dataclass(frozen=True, slots=True)
class StoredTransaction:
    """A committed transaction: leaf ``leaf_index`` of the tree, in block ``height``."""

    leaf_index: int
    height: int
    txid: str
    sender: str
    sequence: int
    type: str
    canonical: bytes

    def __post_init__(self) -> None:
        _non_negative("leaf_index", self.leaf_index)
        if self.txid != digest_id(self.canonical):
            raise _mismatch(f"transaction {self.leaf_index}: id {self.txid} is not its digest")


@dataclass(frozen=True, slots=True)
class ObjectCreation:
    """A new ledger object version, created by the transaction at leaf ``created_at``."""

    object_id: str
    version: str
    created_at: int


@dataclass(frozen=True, slots=True)
class ObjectConsumption:
    """A live object version consumed (or superseded) by the transaction at ``consumed_at``."""

    object_id: str
    version: str
    consumed_at: int


@dataclass(frozen=True, slots=True)
class ObjectRecord:
    """The state of one object version."""

    object_id: str
    version: str
    state: ObjectState
    created_at: int
    consumed_at: int | None

    def __post_init__(self) -> None:
        if (self.state == "consumed") != (self.consumed_at is not None):
            raise _mismatch(
                f"object {self.object_id}: state {self.state} disagrees with consumed_at"
            )


@dataclass(frozen=True, slots=True)
class KeyRecord:
    """A registered public key, valid from ``valid_from`` up to (excluding) ``valid_until``."""

    kid: str
    participant: str
    jwk: bytes
    valid_from: int
    valid_until: int | None = None

    def __post_init__(self) -> None:
        _non_negative("valid_from", self.valid_from)
        if self.valid_until is not None and self.valid_until < self.valid_from:
            raise _mismatch(f"key {self.kid}: valid until {self.valid_until} before valid from")


@dataclass(frozen=True, slots=True)
class KeyRetirement:
    """A key rotated out or revoked: it stops being valid at height ``valid_until``."""

    kid: str
    valid_until: int


@dataclass(frozen=True, slots=True)
class ParticipantRecord:
    """A participant's current document, and the height it was first registered at."""

    participant_id: str
    document: bytes
    registered_height: int


@dataclass(frozen=True, slots=True)
class ValidatorSetRecord:
    """A validator set document, in force from ``effective_height``."""

    effective_height: int
    document: bytes


@dataclass(frozen=True, slots=True)
class BlockCommit:
    """Everything one block changes, written atomically by :meth:`Store.commit_block`.

    Transactions get the leaf indices ``block.first_leaf`` onwards, in order; the last
    sequence of each sender becomes that of its last transaction here.  Participant
    records replace an existing participant's document; key retirements apply to keys
    still open (``valid_until`` unset).
    """

    block: BlockRecord
    transactions: tuple[NewTransaction, ...] = ()
    objects_created: tuple[ObjectCreation, ...] = ()
    objects_consumed: tuple[ObjectConsumption, ...] = ()
    keys_added: tuple[KeyRecord, ...] = ()
    keys_retired: tuple[KeyRetirement, ...] = ()
    participants: tuple[ParticipantRecord, ...] = ()
    validator_sets: tuple[ValidatorSetRecord, ...] = ()

    def __post_init__(self) -> None:
        block = self.block
        if block.tx_count != len(self.transactions):
            raise _mismatch(
                f"block {block.height} claims {block.tx_count} transactions but carries "
                f"{len(self.transactions)}",
                REQ_BLOCK_LINKS,
            )
        leaves = range(block.first_leaf, block.tree_size)
        changes = [(o.object_id, o.created_at) for o in self.objects_created]
        changes += [(o.object_id, o.consumed_at) for o in self.objects_consumed]
        for object_id, at in changes:
            if at not in leaves:
                raise _mismatch(
                    f"object {object_id} changed at leaf {at}, outside block "
                    f"{block.height}'s leaves {leaves.start}..{leaves.stop - 1}"
                )


@dataclass(frozen=True, slots=True)
class StoreStats:
    """Row counts, for operators and for checking that nothing was half-written."""

    blocks: int
    transactions: int
    nodes: int
    objects: int
    keys: int
    participants: int
    validator_sets: int


class Store(Protocol):
    """The ledger's storage: one implementation per database, one test suite for all.

    Reads of single rows return ``None`` when the row does not exist; the streaming
    reads (:meth:`blocks`, :meth:`iter_transactions`) hold a bounded number of rows in
    memory whatever the range.  A committed block and the Merkle nodes of complete
    subtrees never change, so a store may keep a bounded number of them in memory and
    answer :meth:`block`, :meth:`node` and the tree reads without the database; a change
    made to those rows behind an open store's back is seen by the next store opened.
    Every failure is a :class:`StorageError`.
    """

    url: str

    def close(self) -> None: ...

    def __enter__(self) -> Store: ...

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None: ...

    def commit_block(self, commit: BlockCommit) -> None:
        """Write one block and all its changes in one database transaction."""
        ...

    def head(self) -> BlockRecord | None:
        """The highest block, ``None`` for an empty ledger."""
        ...

    def block(self, height: int) -> BlockRecord | None: ...

    def block_by_hash(self, block_hash: str) -> BlockRecord | None: ...

    def blocks(self, start: int = 0, end: int | None = None) -> Iterator[BlockRecord]:
        """Blocks ``start`` <= height < ``end`` (default: to the head), in order."""
        ...

    def transaction(self, leaf_index: int) -> StoredTransaction | None: ...

    def transaction_by_id(self, txid: str) -> StoredTransaction | None: ...

    def leaf_index(self, txid: str) -> int | None:
        """The leaf index of a committed transaction, without reading the transaction."""
        ...

    def iter_transactions(
        self, start: int = 0, end: int | None = None
    ) -> Iterator[StoredTransaction]:
        """Transactions with ``start`` <= leaf index < ``end`` (default: all), in order."""
        ...

    def last_sequence(self, sender: str) -> int | None: ...

    def object_version(self, object_id: str, version: str) -> ObjectRecord | None: ...

    def object_versions(self, object_id: str) -> list[ObjectRecord]:
        """Every version of an object, in creation order."""
        ...

    def key(self, kid: str) -> KeyRecord | None: ...

    def participant_keys(self, participant: str) -> list[KeyRecord]: ...

    def participant(self, participant_id: str) -> ParticipantRecord | None: ...

    def validator_set_at(self, height: int) -> ValidatorSetRecord | None:
        """The set with the largest effective height at or below ``height``."""
        ...

    def node(self, level: int, index: int) -> bytes | None:
        """The stored hash of a complete subtree (level 0: leaf hashes)."""
        ...

    def tree_size(self) -> int: ...

    def tree_root(self, size: int | None = None) -> bytes:
        """The RFC 9162 root over the first ``size`` transactions (default: all)."""
        ...

    def inclusion_proof(self, leaf_index: int, tree_size: int | None = None) -> list[bytes]: ...

    def leaf_inclusion_proof(
        self, leaf_index: int, tree_size: int | None = None
    ) -> tuple[bytes, list[bytes]]:
        """The stored leaf hash of ``leaf_index`` and its inclusion proof, read together."""
        ...

    def consistency_proof(self, first: int, second: int | None = None) -> list[bytes]: ...

    def next_tree_head(self, entries: Sequence[bytes]) -> tuple[int, bytes]:
        """Size and root of the tree once ``entries`` (canonical transactions) are appended.

        Nothing is written: a block builder calls this to fill the header it signs.
        """
        ...

    def stats(self) -> StoreStats: ...
