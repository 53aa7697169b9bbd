"""Transactions and snapshots for the node tests."""

from __future__ import annotations

from typing import Any

from bmdx.reference._internal.ledger.genesis import Founder
from bmdx.reference._internal.ledger.state import format_timestamp
from bmdx.reference._internal.node import DevNode


def audit_tx(node: DevNode, sender: Founder, sequence: int | None = None) -> dict[str, Any]:
    """A valid ``audit.append`` transaction of ``sender`` (an ordinary, sender-signed type)."""
    return node.network.transaction(
        sender,
        "audit.append",
        [node.network.audit_event(sender)],
        timestamp=format_timestamp(node.service.now()),
        sequence=sequence,
    )


def snapshot(node: DevNode) -> tuple[Any, ...]:
    """What a refused request must leave as it was: head, pool, every sequence."""
    store = node.service.ledger.store
    head = store.head()
    members = [node.network.platform, *node.members.values()]
    return (
        None if head is None else head.hash,
        tuple(fx.txid for fx in node.service.ledger.pending),
        tuple(store.last_sequence(m.id) for m in members),
        tuple(node.service.sequence(m.id)[1] for m in members),
    )
