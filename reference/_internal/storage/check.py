"""A consistency check of a whole store, in flat memory, for restarts and operators.

It re-derives from the stored transactions what the store's own invariants say must
hold, and names the first block that breaks one: heights contiguous from 0, each
block's transactions exactly its leaf range, each block's tree root equal to the RFC
9162 root recomputed from the transactions' canonical bytes, the stored Merkle nodes
giving the same roots, no rows beyond the head, and each sender's last sequence that
of its last transaction.  The recomputation keeps only the compact frontier of the
tree (one hash per set bit of its size), so a log of millions of transactions is
checked in a few kilobytes.  It checks storage, not ledger rules (signatures, validator
thresholds): that is the verifier's job.
"""

from __future__ import annotations

from collections.abc import Iterator

from bmdx.reference._internal.merkle import EMPTY_ROOT, leaf_hash, node_hash
from bmdx.reference._internal.storage._sql import corrupt
from bmdx.reference._internal.storage.base import (
    REQ_BLOCK_LINKS,
    REQ_TREE_HEAD,
    Store,
    StoredTransaction,
)

__all__ = ["Frontier", "check_store"]


class Frontier:
    """The right edge of an RFC 9162 tree: the roots of its maximal complete subtrees."""

    def __init__(self) -> None:
        self._stack: list[tuple[int, bytes]] = []
        self.size = 0

    def append(self, leaf: bytes) -> None:
        level, value = 0, leaf
        while self._stack and self._stack[-1][0] == level:
            _, left = self._stack.pop()
            value = node_hash(left, value)
            level += 1
        self._stack.append((level, value))
        self.size += 1

    def root(self) -> bytes:
        if not self._stack:
            return EMPTY_ROOT
        value = self._stack[-1][1]
        for _, left in reversed(self._stack[:-1]):
            value = node_hash(left, value)
        return value


def stored_node_count(size: int) -> int:
    """How many complete-subtree hashes a tree of ``size`` leaves stores."""
    total, level_size = 0, size
    while level_size:
        total += level_size
        level_size >>= 1
    return total


def check_store(store: Store) -> None:
    """Raise :class:`StorageError` (reason ``corrupt``) at the first inconsistency."""
    head = store.head()
    size = 0 if head is None else head.tree_size
    transactions = store.iter_transactions(0, size)
    try:
        blocks, last_sequence = _check_log(store, transactions)
        if next(transactions, None) is not None:
            raise corrupt("transactions are stored beyond the head block", REQ_BLOCK_LINKS)
    finally:
        # Give a server-side cursor back now, not when the generator is collected.
        close = getattr(transactions, "close", None)
        if close is not None:
            close()
    stats = store.stats()
    if (stats.blocks, stats.transactions, stats.nodes) != (
        blocks,
        size,
        stored_node_count(size),
    ):
        raise corrupt(
            f"the store holds {stats.blocks} blocks, {stats.transactions} transactions and "
            f"{stats.nodes} Merkle nodes; its head implies {blocks}, {size} and "
            f"{stored_node_count(size)}",
            REQ_BLOCK_LINKS,
        )
    for sender, sequence in last_sequence.items():
        stored = store.last_sequence(sender)
        if stored != sequence:
            raise corrupt(
                f"sender {sender}: stored last sequence {stored}, its last transaction has "
                f"{sequence}",
                REQ_BLOCK_LINKS,
            )


def _check_log(
    store: Store, transactions: Iterator[StoredTransaction]
) -> tuple[int, dict[str, int]]:
    """Walk blocks and transactions side by side; return the block count and sequences."""
    frontier = Frontier()
    last_sequence: dict[str, int] = {}
    height = 0
    for block in store.blocks():
        if block.height != height:
            raise corrupt(f"block {height} is missing", REQ_BLOCK_LINKS)
        if block.first_leaf != frontier.size:
            raise corrupt(
                f"block {height} starts at leaf {block.first_leaf}, "
                f"but the blocks before it hold {frontier.size} transactions",
                REQ_BLOCK_LINKS,
            )
        for _ in range(block.tx_count):
            tx = next(transactions, None)
            if tx is None or tx.leaf_index != frontier.size or tx.height != height:
                raise corrupt(
                    f"block {height}: transaction {frontier.size} is missing or belongs "
                    "to another block",
                    REQ_BLOCK_LINKS,
                )
            frontier.append(leaf_hash(tx.canonical))
            last_sequence[tx.sender] = tx.sequence
        if frontier.root() != block.tree_root:
            raise corrupt(
                f"block {height}: its tree root is not the root of its transactions",
                REQ_TREE_HEAD,
            )
        if store.tree_root(block.tree_size) != block.tree_root:
            raise corrupt(
                f"block {height}: the stored Merkle nodes give another tree root", REQ_TREE_HEAD
            )
        height += 1
    return height, last_sequence
