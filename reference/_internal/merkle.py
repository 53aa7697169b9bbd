"""The RFC 9162 Merkle tree over every transaction of the ledger.

Leaf hash ``SHA-256(0x00 || entry)``, interior node ``SHA-256(0x01 || left || right)``,
the split of ``n`` leaves at the largest power of two below ``n`` (RFC 9162 section
2.1.1).  Proof generation follows the recursive definitions of sections 2.1.3.1 and
2.1.4.1; verification follows the iterative algorithms of sections 2.1.3.2 and 2.1.4.2
exactly, so a proof this module accepts is one any RFC 9162 verifier accepts.

Hashes of *complete* subtrees (aligned blocks of 2^level leaves) are kept in a
:class:`NodeStore`; any other subtree hash is recomputed from at most ``log2(n)``
stored ones, so proofs against any past tree size cost ``O(log^2 n)`` lookups at worst.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence
from typing import Protocol

__all__ = [
    "EMPTY_ROOT",
    "MappingNodeStore",
    "MemoryNodeStore",
    "MerkleTree",
    "NodeStore",
    "ProofError",
    "leaf_hash",
    "node_hash",
    "nodes_needed",
    "verify_consistency",
    "verify_inclusion",
]

EMPTY_ROOT = hashlib.sha256(b"").digest()


class ProofError(ValueError):
    """A proof was requested for, or claims, an impossible position or size."""


def leaf_hash(entry: bytes) -> bytes:
    return hashlib.sha256(b"\x00" + entry).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    return hashlib.sha256(b"\x01" + left + right).digest()


def _split(n: int) -> int:
    """The largest power of two strictly smaller than ``n`` (``n >= 2``)."""
    return 1 << ((n - 1).bit_length() - 1)


class NodeStore(Protocol):
    """Storage of complete-subtree hashes: level 0 holds the leaf hashes."""

    def size(self) -> int:
        """Number of leaves stored."""
        ...

    def get(self, level: int, index: int) -> bytes:
        """Hash of the complete subtree covering leaves [index*2^level, (index+1)*2^level)."""
        ...

    def put(self, level: int, index: int, value: bytes) -> None: ...


class MemoryNodeStore:
    """A :class:`NodeStore` in memory, one list per level."""

    def __init__(self) -> None:
        self._levels: list[list[bytes]] = [[]]

    def size(self) -> int:
        return len(self._levels[0])

    def get(self, level: int, index: int) -> bytes:
        return self._levels[level][index]

    def put(self, level: int, index: int, value: bytes) -> None:
        while len(self._levels) <= level:
            self._levels.append([])
        row = self._levels[level]
        if index != len(row):
            raise ProofError(f"node ({level}, {index}) is not the next node of its level")
        row.append(value)


class MappingNodeStore:
    """A read-only :class:`NodeStore` over nodes fetched in advance (see :func:`nodes_needed`)."""

    def __init__(self, size: int, nodes: dict[tuple[int, int], bytes]) -> None:
        self._size = size
        self._nodes = nodes

    def size(self) -> int:
        return self._size

    def get(self, level: int, index: int) -> bytes:
        try:
            return self._nodes[level, index]
        except KeyError:
            raise ProofError(f"node ({level}, {index}) was not fetched") from None

    def put(self, level: int, index: int, value: bytes) -> None:
        raise ProofError("a MappingNodeStore is read-only")


class _RecordingStore:
    """Answers every lookup with a placeholder and remembers which node was asked for.

    Which nodes a root or proof needs depends only on indices and sizes, never on hash
    values, so running the computation once against this store lists exactly the nodes
    to fetch -- letting a database-backed store read them in one query.
    """

    _PLACEHOLDER = bytes(32)

    def __init__(self, size: int) -> None:
        self._size = size
        self.requested: list[tuple[int, int]] = []

    def size(self) -> int:
        return self._size

    def get(self, level: int, index: int) -> bytes:
        self.requested.append((level, index))
        return self._PLACEHOLDER

    def put(self, level: int, index: int, value: bytes) -> None:
        raise ProofError("planning never writes")


def nodes_needed(size: int, compute: Callable[[MerkleTree], object]) -> list[tuple[int, int]]:
    """The stored nodes ``compute`` reads from a tree of ``size`` leaves, in first-use order."""
    recorder = _RecordingStore(size)
    compute(MerkleTree(recorder))
    return list(dict.fromkeys(recorder.requested))


class MerkleTree:
    """An append-only RFC 9162 tree whose past states all remain provable."""

    def __init__(self, store: NodeStore | None = None) -> None:
        self._store: NodeStore = store if store is not None else MemoryNodeStore()

    @property
    def size(self) -> int:
        return self._store.size()

    def append(self, entry: bytes) -> int:
        """Append one entry; return its leaf index."""
        return self.append_leaf_hash(leaf_hash(entry))

    def append_leaf_hash(self, value: bytes) -> int:
        index = self._store.size()
        self._store.put(0, index, value)
        # Each trailing 1-bit of the new size completes one more subtree.
        level, position, current = 0, index, value
        while position & 1:
            left = self._store.get(level, position - 1)
            current = node_hash(left, current)
            level, position = level + 1, position >> 1
            self._store.put(level, position, current)
        return index

    def _subtree(self, start: int, end: int) -> bytes:
        """MTH(D[start:end]) for 0 <= start < end <= size."""
        width = end - start
        if width & (width - 1) == 0 and start % width == 0:
            return self._store.get(width.bit_length() - 1, start // width)
        k = _split(width)
        return node_hash(self._subtree(start, start + k), self._subtree(start + k, end))

    def root(self, size: int | None = None) -> bytes:
        """The tree head of the first ``size`` leaves (default: all)."""
        n = self.size if size is None else size
        if not 0 <= n <= self.size:
            raise ProofError(f"tree size {n} is beyond the log's {self.size} leaves")
        return EMPTY_ROOT if n == 0 else self._subtree(0, n)

    def leaf(self, index: int) -> bytes:
        if not 0 <= index < self.size:
            raise ProofError(f"leaf {index} is not in a log of {self.size} leaves")
        return self._store.get(0, index)

    def inclusion_proof(self, index: int, size: int | None = None) -> list[bytes]:
        """PATH(index, D[size]) of RFC 9162 section 2.1.3.1."""
        n = self.size if size is None else size
        if not 0 <= index < n <= self.size:
            raise ProofError(f"no inclusion proof for leaf {index} in a tree of size {n}")
        return self._path(index, 0, n)

    def _path(self, m: int, start: int, end: int) -> list[bytes]:
        n = end - start
        if n == 1:
            return []
        k = _split(n)
        if m < k:
            return [*self._path(m, start, start + k), self._subtree(start + k, end)]
        return [*self._path(m - k, start + k, end), self._subtree(start, start + k)]

    def consistency_proof(self, first: int, second: int | None = None) -> list[bytes]:
        """PROOF(first, D[second]) of RFC 9162 section 2.1.4.1."""
        n = self.size if second is None else second
        if not 0 < first <= n <= self.size:
            raise ProofError(f"no consistency proof from size {first} to size {n}")
        if first == n:
            return []
        return self._subproof(first, 0, n, complete=True)

    def _subproof(self, m: int, start: int, end: int, *, complete: bool) -> list[bytes]:
        n = end - start
        if m == n:
            return [] if complete else [self._subtree(start, end)]
        k = _split(n)
        if m <= k:
            return [
                *self._subproof(m, start, start + k, complete=complete),
                self._subtree(start + k, end),
            ]
        return [
            *self._subproof(m - k, start + k, end, complete=False),
            self._subtree(start, start + k),
        ]


def verify_inclusion(
    leaf: bytes, index: int, size: int, proof: Sequence[bytes], root: bytes
) -> bool:
    """RFC 9162 section 2.1.3.2: is ``leaf`` (a leaf hash) at ``index`` of tree ``root``?"""
    if not 0 <= index < size:
        return False
    fn, sn, r = index, size - 1, leaf
    for p in proof:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            r = node_hash(p, r)
            if not fn & 1:
                while fn & 1 == 0 and fn != 0:
                    fn >>= 1
                    sn >>= 1
        else:
            r = node_hash(r, p)
        fn >>= 1
        sn >>= 1
    return sn == 0 and r == root


def verify_consistency(
    first: int, second: int, proof: Sequence[bytes], first_root: bytes, second_root: bytes
) -> bool:
    """RFC 9162 section 2.1.4.2: is tree ``second_root`` an extension of ``first_root``?"""
    if not 0 < first <= second:
        return False
    if first == second:
        return len(proof) == 0 and first_root == second_root
    if not proof:
        return False
    path = list(proof)
    if first & (first - 1) == 0:
        path.insert(0, first_root)
    fn, sn = first - 1, second - 1
    while fn & 1:
        fn >>= 1
        sn >>= 1
    fr = sr = path[0]
    for c in path[1:]:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            fr = node_hash(c, fr)
            sr = node_hash(c, sr)
            if not fn & 1:
                while fn & 1 == 0 and fn != 0:
                    fn >>= 1
                    sn >>= 1
        else:
            sr = node_hash(sr, c)
        fn >>= 1
        sn >>= 1
    return fr == first_root and sr == second_root and sn == 0
