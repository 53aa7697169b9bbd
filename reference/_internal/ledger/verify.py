"""Offline verification of a whole ledger: every block and transaction from genesis.

:func:`verify_ledger` replays blocks through :func:`~.blocks.validate_block` over a
:class:`~.views.MemoryChain` (or a temporary store), so an export or a database is
judged by exactly the rules a node applies when it receives blocks.  Blocks are
consumed one at a time: memory holds the live state and the tree's frontier, never
the transactions already checked.  The first failure is raised as a
:class:`LedgerError` naming its block (``height``), its transaction (``index``,
``txid``) and the requirement (BMDX-LED-041).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from bmdx.reference._internal.errors import LedgerError
from bmdx.reference._internal.ledger.blocks import validate_block
from bmdx.reference._internal.ledger.views import ChainView, MemoryChain

__all__ = ["VerifyResult", "verify_ledger"]

REQ_VERIFY = "BMDX-LED-041"


@dataclass(frozen=True, slots=True)
class VerifyResult:
    """A ledger that verified: its head block, tree head and counts."""

    blocks: int
    transactions: int
    height: int
    head_hash: str
    tree_size: int
    tree_root: str


def verify_ledger(
    blocks: Iterable[Any],
    *,
    on_progress: Callable[[int, int], None] | None = None,
    chain: ChainView | None = None,
) -> VerifyResult:
    """Re-check ``blocks`` (``Block`` documents or their bytes, in height order) from genesis.

    ``on_progress(height, tree_size)`` is called after each verified block.  ``chain``
    is the state to replay into (default: a fresh in-memory one; pass a
    :class:`~.views.StoreView` over an empty temporary store to bound memory for
    ledgers whose live state does not fit).  Raises :class:`LedgerError` at the first
    block or transaction that breaks a rule; an empty ledger is refused too.
    """
    state: ChainView = MemoryChain() if chain is None else chain
    count = 0
    for count, block in enumerate(blocks, start=1):  # noqa: B007 (count is the result)
        commit = validate_block(block, state)
        state.commit(commit)
        if on_progress is not None:
            on_progress(commit.block.height, commit.block.tree_size)
    head = state.head()
    if head is None:
        raise LedgerError(
            "the ledger holds no blocks; it must start with a genesis block",
            reason="bad-height",
            requirement=REQ_VERIFY,
        )
    return VerifyResult(
        blocks=count,
        transactions=head.tree_size,
        height=head.height,
        head_hash=head.hash,
        tree_size=head.tree_size,
        tree_root="sha-256:" + head.tree_root.hex(),
    )
