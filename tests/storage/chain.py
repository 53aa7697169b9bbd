"""Synthetic blocks for the storage tests, the crash child and the memory benchmark.

The transactions are small RFC 8785 documents with the indexed fields a real one has
(sender, sequence, type); the store treats them as opaque bytes, so nothing more is
needed to exercise it.  The block header carries the tree head the store must agree
with; :class:`Chain` asks the store for it (``next_tree_head``), so that a restarted
writer continues any existing log.
"""

from __future__ import annotations

from typing import Any

import rfc8785

from bmdx.reference._internal.storage import (
    BlockCommit,
    BlockRecord,
    NewTransaction,
    Store,
    digest_id,
)

GENESIS_PREVIOUS = "sha-256:" + "0" * 64
SENDERS = tuple(f"urn:bmdx:participant:site-{i}" for i in range(4))
TIMESTAMP = "2025-03-01T12:00:00Z"


def transaction(sender: str, sequence: int, tag: str = "") -> NewTransaction:
    body: dict[str, Any] = {
        "objectType": "Transaction",
        "type": "audit.append",
        "sender": sender,
        "sequence": sequence,
        "timestamp": TIMESTAMP,
        "inputs": [],
        "outputs": [{"tag": tag, "n": sequence}],
        "signatures": [],
    }
    return NewTransaction(rfc8785.dumps(body), sender, sequence, "audit.append")


def block(
    height: int, previous: str, transactions: tuple[NewTransaction, ...], tree: tuple[int, bytes]
) -> BlockRecord:
    size, root = tree
    header = rfc8785.dumps(
        {
            "height": height,
            "previous": previous,
            "timestamp": TIMESTAMP,
            "txCount": len(transactions),
            "treeSize": size,
            "treeRoot": "sha-256:" + root.hex(),
            "proposer": "urn:bmdx:participant:validator-1",
        }
    )
    return BlockRecord(
        height=height,
        hash=digest_id(header),
        header=header,
        tail=b'{"signatures":[]}',
        tx_count=len(transactions),
        tree_size=size,
        tree_root=root,
        timestamp=TIMESTAMP,
    )


class Chain:
    """The next block of a store's log: contiguous heights, sequences and tree heads."""

    def __init__(self, store: Store, senders: tuple[str, ...] = SENDERS) -> None:
        self.store = store
        self.senders = senders

    def next_transactions(self, count: int, tag: str = "") -> tuple[NewTransaction, ...]:
        sequences = {s: self.store.last_sequence(s) or 0 for s in self.senders}
        out = []
        for i in range(count):
            sender = self.senders[i % len(self.senders)]
            sequences[sender] += 1
            out.append(transaction(sender, sequences[sender], tag))
        return tuple(out)

    def next_commit(self, count: int, tag: str = "", **changes: Any) -> BlockCommit:
        head = self.store.head()
        height, previous = (0, GENESIS_PREVIOUS) if head is None else (head.height + 1, head.hash)
        txs = self.next_transactions(count, tag)
        tree = self.store.next_tree_head([t.canonical for t in txs])
        return BlockCommit(block(height, previous, txs, tree), txs, **changes)

    def commit(self, count: int, tag: str = "", **changes: Any) -> BlockCommit:
        commit = self.next_commit(count, tag, **changes)
        self.store.commit_block(commit)
        return commit
