"""The ledger store over any SQL database; backends add a connection, a dialect and streaming.

Every query is written once, with ``?`` placeholders (the PostgreSQL backend rewrites
them); everything a block changes is written inside the backend's write transaction,
which also serialises committers so that the head read at its start is still the head
when it ends.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator, Sequence
from contextlib import AbstractContextManager
from types import TracebackType
from typing import Any, Protocol, TypeVar
from urllib.parse import urlsplit, urlunsplit

from bmdx.reference._internal.errors import StorageError
from bmdx.reference._internal.merkle import MappingNodeStore, MerkleTree, ProofError, nodes_needed
from bmdx.reference._internal.storage.base import (
    REQ_BLOCK_LINKS,
    REQ_ONE_BLOCK_PER_HEIGHT,
    REQ_TREE_HEAD,
    BlockCommit,
    BlockRecord,
    KeyRecord,
    ObjectRecord,
    ParticipantRecord,
    StoredTransaction,
    StoreStats,
    ValidatorSetRecord,
)

SCHEMA_VERSION = "1"
STREAM_BATCH = 1000

SELECT_BLOCK = (
    "SELECT height, hash, header, tail, tx_count, tree_size, tree_root, timestamp FROM blocks"
)
SELECT_TX = "SELECT leaf_index, height, txid, sender, sequence, type, canonical FROM transactions"
SELECT_OBJECT = "SELECT object_id, version, state, created_at, consumed_at FROM objects"
SELECT_KEY = "SELECT kid, participant, jwk, valid_from, valid_until FROM keys"

Row = tuple[Any, ...]

_T = TypeVar("_T")


class Cursor(Protocol):
    """What the commit needs from a backend's cursor inside its write transaction."""

    def execute(self, sql: str, params: Sequence[Any] = ()) -> int:
        """Run one statement; return the number of rows it changed."""
        ...

    def executemany(self, sql: str, rows: Sequence[Sequence[Any]]) -> None: ...

    def fetchone(self, sql: str, params: Sequence[Any] = ()) -> Row | None: ...


def redact_url(url: str) -> str:
    """The URL without its password, for messages and logs."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    host = parts.netloc.rpartition("@")[2]
    return urlunsplit(parts._replace(netloc=f"{parts.username}:***@{host}"))


def corrupt(message: str, requirement: str | None = None) -> StorageError:
    return StorageError(
        message,
        reason="corrupt",
        requirement=requirement,
        remedy="restore the database from a backup or an export and verify it",
    )


class _PendingNodes:
    """A NodeStore for the block being committed: new nodes in memory, older ones from the DB."""

    def __init__(self, size: int, fetch: Callable[[int, int], bytes | None]) -> None:
        self._size = size
        self._fetch = fetch
        self.new: dict[tuple[int, int], bytes] = {}

    def size(self) -> int:
        return self._size

    def get(self, level: int, index: int) -> bytes:
        value = self.new.get((level, index))
        if value is None:
            value = self._fetch(level, index)
        if value is None:
            raise corrupt(f"Merkle node ({level}, {index}) is missing from the store")
        return value

    def put(self, level: int, index: int, value: bytes) -> None:
        if level == 0:
            if index != self._size:
                raise corrupt(f"leaf {index} appended to a tree of {self._size} leaves")
            self._size += 1
        self.new[level, index] = value


def _proof_error(exc: ProofError) -> StorageError:
    return StorageError(str(exc), reason="mismatch", requirement=REQ_TREE_HEAD)


def _block(row: Row) -> BlockRecord:
    h, block_hash, header, tail, tx_count, tree_size, root, ts = row
    try:
        return BlockRecord(
            h, block_hash, bytes(header), bytes(tail), tx_count, tree_size, bytes(root), ts
        )
    except StorageError as exc:
        raise corrupt(f"stored block {h} is inconsistent: {exc.message}") from exc


def _transaction(row: Row) -> StoredTransaction:
    leaf, h, txid, sender, seq, kind, canonical = row
    try:
        return StoredTransaction(leaf, h, txid, sender, seq, kind, bytes(canonical))
    except StorageError as exc:
        raise corrupt(f"stored transaction {leaf} is inconsistent: {exc.message}") from exc


def _object(row: Row) -> ObjectRecord:
    return ObjectRecord(row[0], row[1], row[2], row[3], row[4])


def _key(row: Row) -> KeyRecord:
    return KeyRecord(row[0], row[1], bytes(row[2]), row[3], row[4])


class SqlStore(ABC):
    """Commit logic and reads shared by the SQLite and PostgreSQL stores."""

    url: str
    #: The driver's exceptions for a violated UNIQUE, NOT NULL or CHECK constraint.
    integrity_errors: tuple[type[Exception], ...]

    # -- what a backend provides ------------------------------------------------------

    @abstractmethod
    def _fetchone(self, sql: str, params: Sequence[Any] = ()) -> Row | None: ...

    @abstractmethod
    def _fetchall(self, sql: str, params: Sequence[Any] = ()) -> list[Row]: ...

    @abstractmethod
    def _write(self) -> AbstractContextManager[Cursor]:
        """One write transaction, exclusive among committers; rolled back on any error."""

    @abstractmethod
    def _stream(self, select: str, key: str, start: int, end: int) -> Iterator[Row]:
        """Rows of ``select`` with ``start`` <= ``key`` < ``end`` by ``key``, in bounded memory."""

    @abstractmethod
    def close(self) -> None: ...

    # -- lifecycle ---------------------------------------------------------------------

    def __enter__(self) -> SqlStore:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.url}>"

    # -- writing -----------------------------------------------------------------------

    def commit_block(self, commit: BlockCommit) -> None:
        block = commit.block
        with self._write() as cur:
            row = cur.fetchone("SELECT height, tree_size FROM blocks ORDER BY height DESC LIMIT 1")
            expected, size = (0, 0) if row is None else (row[0] + 1, row[1])
            if block.height < expected:
                raise StorageError(
                    f"a block at height {block.height} is already stored",
                    reason="conflict",
                    requirement=REQ_ONE_BLOCK_PER_HEIGHT,
                )
            if block.height > expected:
                raise StorageError(
                    f"block {block.height} does not follow the head; the next height is {expected}",
                    reason="gap",
                    requirement=REQ_BLOCK_LINKS,
                )
            if block.first_leaf != size:
                raise StorageError(
                    f"block {block.height} has tree size {block.tree_size} with "
                    f"{block.tx_count} transactions, but the log holds {size}",
                    reason="mismatch",
                    requirement=REQ_BLOCK_LINKS,
                )
            nodes = self._append_leaves(cur, size, commit)
            self._insert(cur, commit, nodes)

    def _append_leaves(
        self, cur: Cursor, size: int, commit: BlockCommit
    ) -> dict[tuple[int, int], bytes]:
        def fetch(level: int, index: int) -> bytes | None:
            row = cur.fetchone(
                "SELECT hash FROM merkle_nodes WHERE level = ? AND idx = ?", (level, index)
            )
            return None if row is None else bytes(row[0])

        pending = _PendingNodes(size, fetch)
        tree = MerkleTree(pending)
        for tx in commit.transactions:
            tree.append(tx.canonical)
        root = tree.root()
        if root != commit.block.tree_root:
            raise StorageError(
                f"block {commit.block.height} claims tree root {commit.block.tree_root.hex()} "
                f"but its transactions give {root.hex()}",
                reason="mismatch",
                requirement=REQ_TREE_HEAD,
            )
        return pending.new

    def _insert(
        self, cur: Cursor, commit: BlockCommit, nodes: dict[tuple[int, int], bytes]
    ) -> None:
        block = commit.block
        step = "block"
        try:
            cur.execute(
                "INSERT INTO blocks (height, hash, header, tail, tx_count, tree_size, tree_root, timestamp) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    block.height,
                    block.hash,
                    block.header,
                    block.tail,
                    block.tx_count,
                    block.tree_size,
                    block.tree_root,
                    block.timestamp,
                ),
            )
            step = "transaction"
            first = block.first_leaf
            cur.executemany(
                "INSERT INTO transactions (leaf_index, height, txid, sender, sequence, type, canonical) VALUES (?, ?, ?, ?, ?, ?, ?)",
                [
                    (
                        first + i,
                        block.height,
                        tx.txid,
                        tx.sender,
                        tx.sequence,
                        tx.type,
                        tx.canonical,
                    )
                    for i, tx in enumerate(commit.transactions)
                ],
            )
            step = "Merkle node"
            cur.executemany(
                "INSERT INTO merkle_nodes (level, idx, hash) VALUES (?, ?, ?)",
                [(level, index, value) for (level, index), value in nodes.items()],
            )
            last = {tx.sender: tx.sequence for tx in commit.transactions}
            cur.executemany(
                "INSERT INTO sender_sequences (participant, sequence) VALUES (?, ?) "
                "ON CONFLICT (participant) DO UPDATE SET sequence = excluded.sequence",
                sorted(last.items()),
            )
            step = "object"
            cur.executemany(
                "INSERT INTO objects (object_id, version, state, created_at, consumed_at) VALUES (?, ?, 'live', ?, NULL)",
                [(o.object_id, o.version, o.created_at) for o in commit.objects_created],
            )
            for used in commit.objects_consumed:
                changed = cur.execute(
                    "UPDATE objects SET state = 'consumed', consumed_at = ? "
                    "WHERE object_id = ? AND version = ? AND state = 'live'",
                    (used.consumed_at, used.object_id, used.version),
                )
                if changed != 1:
                    raise StorageError(
                        f"object {used.object_id} version {used.version} is not live",
                        reason="integrity",
                    )
            step = "key"
            cur.executemany(
                "INSERT INTO keys (kid, participant, jwk, valid_from, valid_until) VALUES (?, ?, ?, ?, ?)",
                [
                    (k.kid, k.participant, k.jwk, k.valid_from, k.valid_until)
                    for k in commit.keys_added
                ],
            )
            for retired in commit.keys_retired:
                changed = cur.execute(
                    "UPDATE keys SET valid_until = ? WHERE kid = ? AND valid_until IS NULL "
                    "AND valid_from <= ?",
                    (retired.valid_until, retired.kid, retired.valid_until),
                )
                if changed != 1:
                    raise StorageError(
                        f"key {retired.kid} is unknown, already retired, or not yet valid "
                        f"at {retired.valid_until}",
                        reason="integrity",
                    )
            cur.executemany(
                "INSERT INTO participants (participant_id, document, registered_height) "
                "VALUES (?, ?, ?) ON CONFLICT (participant_id) DO UPDATE SET "
                "document = excluded.document",
                [(p.participant_id, p.document, p.registered_height) for p in commit.participants],
            )
            step = "validator set"
            cur.executemany(
                "INSERT INTO validator_sets (effective_height, document) VALUES (?, ?)",
                [(v.effective_height, v.document) for v in commit.validator_sets],
            )
        except self.integrity_errors as exc:
            if step == "block":
                raise StorageError(
                    f"block {block.height} or its hash {block.hash} is already stored",
                    reason="conflict",
                    requirement=REQ_ONE_BLOCK_PER_HEIGHT,
                ) from exc
            raise StorageError(
                f"block {block.height} reuses a stored {step} id: {exc}",
                reason="integrity",
            ) from exc

    # -- blocks and transactions --------------------------------------------------------

    def head(self) -> BlockRecord | None:
        row = self._fetchone(SELECT_BLOCK + " ORDER BY height DESC LIMIT 1")
        return None if row is None else _block(row)

    def block(self, height: int) -> BlockRecord | None:
        row = self._fetchone(SELECT_BLOCK + " WHERE height = ?", (height,))
        return None if row is None else _block(row)

    def block_by_hash(self, block_hash: str) -> BlockRecord | None:
        row = self._fetchone(SELECT_BLOCK + " WHERE hash = ?", (block_hash,))
        return None if row is None else _block(row)

    def blocks(self, start: int = 0, end: int | None = None) -> Iterator[BlockRecord]:
        if end is None:
            head = self.head()
            end = 0 if head is None else head.height + 1
        for row in self._stream(SELECT_BLOCK, "height", start, end):
            yield _block(row)

    def transaction(self, leaf_index: int) -> StoredTransaction | None:
        row = self._fetchone(SELECT_TX + " WHERE leaf_index = ?", (leaf_index,))
        return None if row is None else _transaction(row)

    def transaction_by_id(self, txid: str) -> StoredTransaction | None:
        row = self._fetchone(SELECT_TX + " WHERE txid = ?", (txid,))
        return None if row is None else _transaction(row)

    def iter_transactions(
        self, start: int = 0, end: int | None = None
    ) -> Iterator[StoredTransaction]:
        if end is None:
            end = self.tree_size()
        for row in self._stream(SELECT_TX, "leaf_index", start, end):
            yield _transaction(row)

    # -- ledger state ------------------------------------------------------------------

    def last_sequence(self, sender: str) -> int | None:
        row = self._fetchone(
            "SELECT sequence FROM sender_sequences WHERE participant = ?", (sender,)
        )
        return None if row is None else int(row[0])

    def object_version(self, object_id: str, version: str) -> ObjectRecord | None:
        row = self._fetchone(
            SELECT_OBJECT + " WHERE object_id = ? AND version = ?",
            (object_id, version),
        )
        return None if row is None else _object(row)

    def object_versions(self, object_id: str) -> list[ObjectRecord]:
        rows = self._fetchall(
            SELECT_OBJECT + " WHERE object_id = ? ORDER BY created_at, version",
            (object_id,),
        )
        return [_object(r) for r in rows]

    def key(self, kid: str) -> KeyRecord | None:
        row = self._fetchone(SELECT_KEY + " WHERE kid = ?", (kid,))
        return None if row is None else _key(row)

    def participant_keys(self, participant: str) -> list[KeyRecord]:
        rows = self._fetchall(
            SELECT_KEY + " WHERE participant = ? ORDER BY valid_from, kid",
            (participant,),
        )
        return [_key(r) for r in rows]

    def participant(self, participant_id: str) -> ParticipantRecord | None:
        row = self._fetchone(
            "SELECT participant_id, document, registered_height FROM participants "
            "WHERE participant_id = ?",
            (participant_id,),
        )
        return None if row is None else ParticipantRecord(row[0], bytes(row[1]), row[2])

    def validator_set_at(self, height: int) -> ValidatorSetRecord | None:
        row = self._fetchone(
            "SELECT effective_height, document FROM validator_sets WHERE effective_height <= ? "
            "ORDER BY effective_height DESC LIMIT 1",
            (height,),
        )
        return None if row is None else ValidatorSetRecord(row[0], bytes(row[1]))

    # -- the Merkle tree ------------------------------------------------------------------

    def node(self, level: int, index: int) -> bytes | None:
        row = self._fetchone(
            "SELECT hash FROM merkle_nodes WHERE level = ? AND idx = ?", (level, index)
        )
        return None if row is None else bytes(row[0])

    def tree_size(self) -> int:
        row = self._fetchone("SELECT tree_size FROM blocks ORDER BY height DESC LIMIT 1")
        return 0 if row is None else int(row[0])

    def _nodes(self, wanted: Sequence[tuple[int, int]]) -> dict[tuple[int, int], bytes]:
        """The stored nodes ``wanted``, read in one query per batch (not one per node)."""
        found: dict[tuple[int, int], bytes] = {}
        batch = 200
        for start in range(0, len(wanted), batch):
            part = wanted[start : start + batch]
            where = " OR ".join(["(level = ? AND idx = ?)"] * len(part))
            params = [value for pair in part for value in pair]
            rows = self._fetchall(
                f"SELECT level, idx, hash FROM merkle_nodes WHERE {where}",  # noqa: S608 (placeholders only)
                params,
            )
            found.update({(int(r[0]), int(r[1])): bytes(r[2]) for r in rows})
        missing = [pair for pair in wanted if pair not in found]
        if missing:
            raise corrupt(f"Merkle node {missing[0]} is missing from the store")
        return found

    def _computed(self, compute: Callable[[MerkleTree], _T]) -> _T:
        """Run ``compute`` on the stored tree after fetching every node it needs at once."""
        size = self.tree_size()
        try:
            wanted = nodes_needed(size, compute)
            return compute(MerkleTree(MappingNodeStore(size, self._nodes(wanted))))
        except ProofError as exc:
            raise _proof_error(exc) from exc

    def tree_root(self, size: int | None = None) -> bytes:
        return self._computed(lambda tree: tree.root(size))

    def inclusion_proof(self, leaf_index: int, tree_size: int | None = None) -> list[bytes]:
        return self._computed(lambda tree: tree.inclusion_proof(leaf_index, tree_size))

    def consistency_proof(self, first: int, second: int | None = None) -> list[bytes]:
        return self._computed(lambda tree: tree.consistency_proof(first, second))

    def next_tree_head(self, entries: Sequence[bytes]) -> tuple[int, bytes]:
        pending = _PendingNodes(self.tree_size(), self.node)
        tree = MerkleTree(pending)
        for entry in entries:
            tree.append(entry)
        return tree.size, tree.root()

    def stats(self) -> StoreStats:
        def count(table: str) -> int:
            row = self._fetchone(f"SELECT count(*) FROM {table}")  # noqa: S608 (fixed names)
            return 0 if row is None else int(row[0])

        return StoreStats(
            blocks=count("blocks"),
            transactions=count("transactions"),
            nodes=count("merkle_nodes"),
            objects=count("objects"),
            keys=count("keys"),
            participants=count("participants"),
            validator_sets=count("validator_sets"),
        )


def schema_statements(blob: str, integer: str) -> list[str]:
    """The tables, with the backend's names for byte strings and 64-bit integers."""
    return [
        "CREATE TABLE bmdx_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)",
        f"""CREATE TABLE blocks (
            height {integer} PRIMARY KEY,
            hash TEXT NOT NULL UNIQUE,
            header {blob} NOT NULL,
            tail {blob} NOT NULL,
            tx_count {integer} NOT NULL,
            tree_size {integer} NOT NULL,
            tree_root {blob} NOT NULL,
            timestamp TEXT NOT NULL)""",
        f"""CREATE TABLE transactions (
            leaf_index {integer} PRIMARY KEY,
            height {integer} NOT NULL,
            txid TEXT NOT NULL UNIQUE,
            sender TEXT NOT NULL,
            sequence {integer} NOT NULL,
            type TEXT NOT NULL,
            canonical {blob} NOT NULL)""",
        "CREATE INDEX transactions_height ON transactions (height)",
        "CREATE INDEX transactions_sender ON transactions (sender, sequence)",
        f"""CREATE TABLE merkle_nodes (
            level {integer} NOT NULL,
            idx {integer} NOT NULL,
            hash {blob} NOT NULL,
            PRIMARY KEY (level, idx))""",
        f"""CREATE TABLE sender_sequences (
            participant TEXT PRIMARY KEY,
            sequence {integer} NOT NULL)""",
        f"""CREATE TABLE objects (
            object_id TEXT NOT NULL,
            version TEXT NOT NULL,
            state TEXT NOT NULL CHECK (state IN ('live', 'consumed')),
            created_at {integer} NOT NULL,
            consumed_at {integer},
            PRIMARY KEY (object_id, version))""",
        f"""CREATE TABLE keys (
            kid TEXT PRIMARY KEY,
            participant TEXT NOT NULL,
            jwk {blob} NOT NULL,
            valid_from {integer} NOT NULL,
            valid_until {integer})""",
        "CREATE INDEX keys_participant ON keys (participant)",
        f"""CREATE TABLE participants (
            participant_id TEXT PRIMARY KEY,
            document {blob} NOT NULL,
            registered_height {integer} NOT NULL)""",
        f"""CREATE TABLE validator_sets (
            effective_height {integer} PRIMARY KEY,
            document {blob} NOT NULL)""",
    ]


def check_schema_version(found: str | None, has_other_tables: bool, url: str) -> bool:
    """Whether the schema must be created; refuse foreign or newer databases."""
    if found is None:
        if has_other_tables:
            raise corrupt(f"{url} holds tables but is not a BMDX ledger store")
        return True
    if found != SCHEMA_VERSION:
        raise StorageError(
            f"{url} has storage schema version {found}; this version reads {SCHEMA_VERSION}",
            reason="version",
            remedy="open it with the BMDX version that wrote it, or export and re-import",
        )
    return False
