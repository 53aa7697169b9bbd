"""The RFC 9162 Merkle tree over every transaction of the ledger.

Leaf hash ``SHA-256(0x00 || entry)``, interior node ``SHA-256(0x01 || left || right)``,
the split of ``n`` leaves at the largest power of two below ``n`` (RFC 9162 section
2.1.1).  Proof generation follows the recursive definitions of sections 2.1.3.1 and
2.1.4.1, unrolled into loops; verification follows the iterative algorithms of sections
2.1.3.2 and 2.1.4.2 exactly, so a proof this module accepts is one any RFC 9162 verifier
accepts.

Hashes of *complete* subtrees (aligned blocks of 2^level leaves) are kept in a
:class:`NodeStore`; any other subtree hash is recomputed from at most ``log2(n)``
stored ones, so proofs against any past tree size cost ``O(log^2 n)`` lookups at worst.
Which stored nodes a root or proof reads depends only on indices and sizes, never on
hash values: :func:`root_plan`, :func:`inclusion_plan` and :func:`consistency_plan` list
them, and :func:`fold` turns the hashes of one planned subtree into its MTH, so that a
database-backed store can read every node of a proof at once.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from typing import Protocol

__all__ = [
    "EMPTY_ROOT",
    "MemoryNodeStore",
    "MerkleTree",
    "Node",
    "NodeStore",
    "ProofError",
    "consistency_plan",
    "fold",
    "inclusion_plan",
    "leaf_hash",
    "node_hash",
    "root_plan",
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


#: A complete subtree: ``(level, index)`` covers leaves [index*2^level, (index+1)*2^level).
Node = tuple[int, int]


def _chunks(start: int, end: int) -> list[Node]:
    """The complete subtrees MTH(D[start:end]) is made of, left to right.

    Every range the RFC 9162 recursions reach starts at a multiple of the power of two at
    or above its width, so splitting off the largest power of two that fits, again and
    again, yields aligned (stored) subtrees; the split of section 2.1.1 takes the same
    left part first.
    """
    out = []
    while start < end:
        level = (end - start).bit_length() - 1
        out.append((level, start >> level))
        start += 1 << level
    return out


def fold(hashes: Sequence[bytes]) -> bytes:
    """MTH of a planned subtree from the hashes of its chunks: H(c1, H(c2, ... H(cn-1, cn)))."""
    value = hashes[-1]
    for left in reversed(hashes[:-1]):
        value = node_hash(left, value)
    return value


def root_plan(size: int) -> list[Node]:
    """The stored nodes the root of the first ``size`` leaves folds (``size >= 1``)."""
    if size < 1:
        raise ProofError(f"a tree of {size} leaves has no stored nodes")
    return _chunks(0, size)


def inclusion_plan(index: int, size: int) -> list[list[Node]]:
    """PATH(index, D[size]) of RFC 9162 section 2.1.3.1, as the nodes each element folds."""
    if not 0 <= index < size:
        raise ProofError(f"no inclusion proof for leaf {index} in a tree of size {size}")
    upper = []
    start, width = 0, size
    # Down the right edge of the tree, until the leaf's subtree is complete.
    while width & (width - 1):
        level = (width - 1).bit_length() - 1
        middle = start + (1 << level)
        if index < middle:
            upper.append(_chunks(middle, start + width))
            width = middle - start
        else:
            upper.append([(level, start >> level)])
            start, width = middle, width - (1 << level)
    # Inside a complete subtree every sibling is a stored node.  The recursion emits
    # the deepest sibling first.
    path = [[(level, (index >> level) ^ 1)] for level in range(width.bit_length() - 1)]
    path.extend(reversed(upper))
    return path


def consistency_plan(first: int, second: int) -> list[list[Node]]:
    """PROOF(first, D[second]) of RFC 9162 section 2.1.4.1, as the nodes each element folds."""
    if not 0 < first <= second:
        raise ProofError(f"no consistency proof from size {first} to size {second}")
    proof: list[list[Node]] = []
    # SUBPROOF(m, D[start:start+width], complete), from the top down.
    m, start, width, complete = first, 0, second, True
    while m != width:
        level = (width - 1).bit_length() - 1
        k = 1 << level
        if m <= k:
            proof.append(_chunks(start + k, start + width))
            width = k
        else:
            proof.append([(level, start >> level)])
            m, start, width, complete = m - k, start + k, width - k, False
    if not complete:
        proof.append(_chunks(start, start + width))
    proof.reverse()
    return proof


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

    def _fold(self, nodes: list[Node]) -> bytes:
        get = self._store.get
        return fold([get(level, index) for level, index in nodes])

    def _within(self, n: int) -> None:
        if n > self.size:
            raise ProofError(f"tree size {n} is beyond the log's {self.size} leaves")

    def root(self, size: int | None = None) -> bytes:
        """The tree head of the first ``size`` leaves (default: all)."""
        n = self.size if size is None else size
        if not 0 <= n <= self.size:
            raise ProofError(f"tree size {n} is beyond the log's {self.size} leaves")
        return EMPTY_ROOT if n == 0 else self._fold(root_plan(n))

    def leaf(self, index: int) -> bytes:
        if not 0 <= index < self.size:
            raise ProofError(f"leaf {index} is not in a log of {self.size} leaves")
        return self._store.get(0, index)

    def inclusion_proof(self, index: int, size: int | None = None) -> list[bytes]:
        """PATH(index, D[size]) of RFC 9162 section 2.1.3.1."""
        n = self.size if size is None else size
        plan = inclusion_plan(index, n)
        self._within(n)
        return [self._fold(nodes) for nodes in plan]

    def consistency_proof(self, first: int, second: int | None = None) -> list[bytes]:
        """PROOF(first, D[second]) of RFC 9162 section 2.1.4.1."""
        n = self.size if second is None else second
        plan = consistency_plan(first, n)
        self._within(n)
        return [self._fold(nodes) for nodes in plan]


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
