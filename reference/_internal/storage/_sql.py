"""The ledger store over any SQL database; backends add a connection, a dialect and streaming.

Every query is written once, with ``?`` placeholders (the PostgreSQL backend rewrites
them); everything a block changes is written inside the backend's write transaction,
which also serialises committers so that the head read at its start is still the head
when it ends.
"""

from __future__ import annotations

import functools
import threading
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator, Sequence
from contextlib import AbstractContextManager
from types import TracebackType
from typing import Any, Protocol
from urllib.parse import urlsplit, urlunsplit

from bmdx.reference._internal.errors import StorageError
from bmdx.reference._internal.merkle import (
    EMPTY_ROOT,
    MerkleTree,
    Node,
    ProofError,
    consistency_plan,
    fold,
    inclusion_plan,
    root_plan,
)
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

#: Complete-subtree hashes kept in memory by each store (about 140 bytes each, 18 MB in all).
NODE_CACHE_LIMIT = 1 << 17
#: Committed blocks kept in memory by each store.
BLOCK_CACHE_LIMIT = 1024
#: Folded ranges at the right edge of past trees kept in memory by each store.
RANGE_CACHE_LIMIT = 4096
#: Nodes read per query: each is two placeholders, well under every driver's limit.
NODE_BATCH = 200

Row = tuple[Any, ...]


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


class _NodeCache:
    """Complete-subtree hashes already read, at most ``limit`` of them, the highest levels kept.

    A complete subtree never changes in an append-only log, so a node read once stays good
    for as long as the store is open.  Every proof reads a few nodes near the top of the
    tree, shared by all proofs, and a path's worth near its leaf, shared by few.  When the
    cache outgrows its limit it forgets its lowest level and stops keeping that level, so
    it settles on the levels most proofs share and its size is bounded whatever the size
    of the log.
    """

    def __init__(self, limit: int) -> None:
        self._limit = limit
        self._levels: list[dict[int, bytes]] = []
        self._lowest = 0
        self._count = 0
        self._lock = threading.Lock()

    def get(self, level: int, index: int) -> bytes | None:
        levels = self._levels
        return levels[level].get(index) if level < len(levels) else None

    def lookup(self, nodes: Sequence[Node]) -> list[bytes | None]:
        """The cached hash of each node, ``None`` where it is not cached."""
        levels = self._levels
        top = len(levels)
        return [levels[level].get(index) if level < top else None for level, index in nodes]

    def add(self, nodes: dict[Node, bytes]) -> None:
        with self._lock:
            levels = self._levels
            for (level, index), value in nodes.items():
                if level < self._lowest:
                    continue
                while len(levels) <= level:
                    levels.append({})
                if index not in levels[level]:
                    levels[level][index] = value
                    self._count += 1
            while self._count > self._limit:
                self._count -= len(levels[self._lowest])
                levels[self._lowest] = {}
                self._lowest += 1


@functools.cache
def _select_nodes(count: int) -> str:
    """The query reading ``count`` nodes by (level, idx): one text per count, prepared once."""
    where = " OR ".join(["(level = ? AND idx = ?)"] * count)
    return f"SELECT level, idx, hash FROM merkle_nodes WHERE {where}"  # noqa: S608 (placeholders only)


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

    def __init__(self) -> None:
        # Caches of what a committed block made final: nodes of complete subtrees,
        # blocks by height, and a tree size the log is known to have reached (it never
        # shrinks, so a proof within it needs no look-up of the head).
        self._node_cache = _NodeCache(NODE_CACHE_LIMIT)
        self._block_cache: dict[int, BlockRecord] = {}
        self._block_cache_lock = threading.Lock()
        self._range_cache: dict[tuple[Node, Node], bytes] = {}
        self._known_size = 0

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
        # Committed: the new nodes are final, and the proofs of a log this store writes
        # need not read back the upper levels of its tree.
        self._node_cache.add(nodes)
        self._known_size = max(self._known_size, block.tree_size)

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
        cached = self._block_cache.get(height)
        if cached is not None:
            return cached
        row = self._fetchone(SELECT_BLOCK + " WHERE height = ?", (height,))
        if row is None:
            return None
        record = _block(row)
        cache = self._block_cache
        with self._block_cache_lock:
            if len(cache) >= BLOCK_CACHE_LIMIT:
                del cache[next(iter(cache))]
            cache[height] = record
        return record

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

    def leaf_index(self, txid: str) -> int | None:
        row = self._fetchone("SELECT leaf_index FROM transactions WHERE txid = ?", (txid,))
        return None if row is None else int(row[0])

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
        value = self._node_cache.get(level, index)
        if value is not None:
            return value
        row = self._fetchone(
            "SELECT hash FROM merkle_nodes WHERE level = ? AND idx = ?", (level, index)
        )
        if row is None:
            return None
        value = bytes(row[0])
        self._node_cache.add({(level, index): value})
        return value

    def tree_size(self) -> int:
        row = self._fetchone("SELECT tree_size FROM blocks ORDER BY height DESC LIMIT 1")
        size = 0 if row is None else int(row[0])
        self._known_size = max(self._known_size, size)
        return size

    def _reached(self, size: int | None) -> int:
        """``size`` (default: the current tree size), refused if the log is not that long."""
        if size is None:
            return self.tree_size()
        if size > self._known_size and size > self.tree_size():
            raise _proof_error(
                ProofError(f"tree size {size} is beyond the log's {self._known_size} leaves")
            )
        return size

    def _read_nodes(self, wanted: Sequence[Node]) -> dict[Node, bytes]:
        """The stored nodes ``wanted``, read in one query per batch (not one per node)."""
        found: dict[Node, bytes] = {}
        for start in range(0, len(wanted), NODE_BATCH):
            part = wanted[start : start + NODE_BATCH]
            params = [value for pair in part for value in pair]
            rows = self._fetchall(_select_nodes(len(part)), params)
            found.update({(int(r[0]), int(r[1])): bytes(r[2]) for r in rows})
        for pair in wanted:
            if pair not in found:
                raise corrupt(f"Merkle node {pair} is missing from the store")
        self._node_cache.add(found)
        return found

    def _folded(self, plan: list[list[Node]], *, leaf: int | None = None) -> list[bytes]:
        """The hash of each planned subtree, after that of ``leaf`` if given, read at once."""
        # A part of several nodes is a range at the right edge of a past tree, shared by
        # every proof against that tree size: it is folded once and kept.
        ranges = self._range_cache
        wanted = [] if leaf is None else [(0, leaf)]
        known: list[bytes | None] = []
        singles = True
        for part in plan:
            value = None
            if len(part) > 1:
                singles = False
                value = ranges.get((part[0], part[-1]))
            known.append(value)
            if value is None:
                wanted += part
        hashes = self._node_cache.lookup(wanted)
        if None in hashes:
            read = self._read_nodes([n for n, h in zip(wanted, hashes, strict=True) if h is None])
            hashes = [read[n] if h is None else h for n, h in zip(wanted, hashes, strict=True)]
        found: list[bytes] = hashes  # type: ignore[assignment] # no None left
        if singles:
            return found
        out = found[:1] if leaf is not None else []
        at = len(out)
        for part, cached in zip(plan, known, strict=True):
            if cached is not None:
                out.append(cached)
                continue
            width = len(part)
            if width == 1:
                out.append(found[at])
            else:
                value = fold(found[at : at + width])
                if len(ranges) >= RANGE_CACHE_LIMIT:
                    ranges.clear()
                ranges[part[0], part[-1]] = value
                out.append(value)
            at += width
        return out

    def tree_root(self, size: int | None = None) -> bytes:
        n = self._reached(size)
        try:
            plan = [root_plan(n)] if n else []
        except ProofError as exc:
            raise _proof_error(exc) from exc
        return self._folded(plan)[0] if plan else EMPTY_ROOT

    def inclusion_proof(self, leaf_index: int, tree_size: int | None = None) -> list[bytes]:
        try:
            plan = inclusion_plan(leaf_index, self._reached(tree_size))
        except ProofError as exc:
            raise _proof_error(exc) from exc
        return self._folded(plan)

    def leaf_inclusion_proof(
        self, leaf_index: int, tree_size: int | None = None
    ) -> tuple[bytes, list[bytes]]:
        try:
            plan = inclusion_plan(leaf_index, self._reached(tree_size))
        except ProofError as exc:
            raise _proof_error(exc) from exc
        leaf, *path = self._folded(plan, leaf=leaf_index)
        return leaf, path

    def consistency_proof(self, first: int, second: int | None = None) -> list[bytes]:
        try:
            plan = consistency_plan(first, self._reached(second))
        except ProofError as exc:
            raise _proof_error(exc) from exc
        return self._folded(plan)

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
