"""Inclusion and consistency proofs as BMDX objects, and their offline verification.

The store computes RFC 9162 paths (:mod:`merkle`); this module names what they prove:
an ``InclusionProof`` ties a transaction's leaf hash to the tree head of a block at or
after the transaction's block (BMDX-LED-004), a ``ConsistencyProof`` ties the tree
heads of two blocks (BMDX-LED-005).  Every document is schema-valid when built, and a
verifier needs nothing but the document and the tree heads it trusts (from signed block
headers or checkpoints): no store, no network.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from bmdx.reference._internal.canonical import canonical_bytes
from bmdx.reference._internal.errors import LedgerError
from bmdx.reference._internal.merkle import leaf_hash, verify_consistency, verify_inclusion
from bmdx.reference._internal.schema import schema_set
from bmdx.reference._internal.storage import BlockRecord, Store, StoredTransaction

__all__ = [
    "consistency_proof",
    "digest",
    "digest_bytes",
    "inclusion_proof",
    "resolve_transaction",
    "verify_consistency_proof",
    "verify_inclusion_proof",
]

REQ_LEAF = "BMDX-LED-001"
REQ_INCLUSION = "BMDX-LED-004"
REQ_CONSISTENCY = "BMDX-LED-005"
_DIGEST = re.compile(r"sha-256:[0-9a-f]{64}")
_TXID = re.compile(r"(sha-256:)?[0-9a-f]{64}")


def digest(value: bytes) -> str:
    """A raw 32-byte hash written as a ``sha-256:`` digest string."""
    return "sha-256:" + value.hex()


def digest_bytes(text: str, *, requirement: str = REQ_INCLUSION) -> bytes:
    if not _DIGEST.fullmatch(str(text)):
        raise LedgerError(
            f"{text!r} is not a sha-256 digest", reason="malformed", requirement=requirement
        )
    return bytes.fromhex(text[len("sha-256:") :])


def _not_found(message: str, requirement: str) -> LedgerError:
    return LedgerError(message, reason="not-found", requirement=requirement)


def resolve_transaction(store: Store, tx: str | int) -> StoredTransaction:
    """A committed transaction by txid (``sha-256:...`` or bare hex) or leaf index."""
    found: StoredTransaction | None
    if isinstance(tx, int):
        found = store.transaction(tx) if tx >= 0 else None
    elif _TXID.fullmatch(tx):
        found = store.transaction_by_id(tx if tx.startswith("sha-256:") else "sha-256:" + tx)
    elif tx.isdigit():
        found = store.transaction(int(tx))
    else:
        raise LedgerError(
            f"{tx!r} is neither a transaction id nor a leaf index",
            reason="malformed",
            requirement=REQ_INCLUSION,
            remedy="Give the txid (sha-256:<64 hex>) or the leaf index.",
        )
    if found is None:
        raise _not_found(f"no transaction {tx} on this ledger", REQ_INCLUSION)
    return found


def _leaf_index(store: Store, tx: str | int) -> int:
    """The leaf index ``tx`` names; a txid is looked up, a leaf index taken as given."""
    if isinstance(tx, int):
        return tx
    if _TXID.fullmatch(tx):
        found = store.leaf_index(tx if tx.startswith("sha-256:") else "sha-256:" + tx)
        if found is None:
            raise _not_found(f"no transaction {tx} on this ledger", REQ_INCLUSION)
        return found
    if tx.isdigit():
        return int(tx)
    return resolve_transaction(store, tx).leaf_index  # refused as malformed


def _block(store: Store, height: int | None, requirement: str) -> BlockRecord:
    block = store.head() if height is None else store.block(height)
    if block is None:
        what = "the ledger is empty" if height is None else f"no block at height {height}"
        raise _not_found(what, requirement)
    return block


def inclusion_proof(store: Store, tx: str | int, height: int | None = None) -> dict[str, Any]:
    """The ``InclusionProof`` of ``tx`` against block ``height`` (default: the head).

    The leaf hash is the one the store's tree holds, the one the path is built on; a
    verifier given the transaction checks it against the transaction (BMDX-LED-001).
    """
    leaf = _leaf_index(store, tx)
    block = _block(store, height, REQ_INCLUSION)
    if not 0 <= leaf < block.tree_size:
        # Not in that block's tree: either not on the ledger or committed after it.
        stored = resolve_transaction(store, leaf)
        raise LedgerError(
            f"transaction {stored.txid} is in block {stored.height}, after block {block.height}",
            reason="not-yet-included",
            requirement=REQ_INCLUSION,
            remedy="Prove it against its own block or a later one.",
        )
    leaf_value, path = store.leaf_inclusion_proof(leaf, block.tree_size)
    document = {
        "objectType": "InclusionProof",
        "leafIndex": leaf,
        "treeSize": block.tree_size,
        "leafHash": digest(leaf_value),
        "rootHash": digest(block.tree_root),
        "path": [digest(p) for p in path],
        "height": block.height,
    }
    schema_set().validate(document, "InclusionProof")
    return document


def consistency_proof(
    store: Store, first_height: int, second_height: int | None = None
) -> dict[str, Any]:
    """The ``ConsistencyProof`` from block ``first_height`` to ``second_height`` (head)."""
    first = _block(store, first_height, REQ_CONSISTENCY)
    second = _block(store, second_height, REQ_CONSISTENCY)
    if first.height > second.height:
        raise LedgerError(
            f"block {first.height} is after block {second.height}",
            reason="bad-order",
            requirement=REQ_CONSISTENCY,
        )
    if first.tree_size == 0:
        raise LedgerError(
            f"block {first.height} has an empty tree; every tree extends it, no proof is needed",
            reason="empty-tree",
            requirement=REQ_CONSISTENCY,
        )
    path = store.consistency_proof(first.tree_size, second.tree_size)
    document = {
        "objectType": "ConsistencyProof",
        "firstSize": first.tree_size,
        "secondSize": second.tree_size,
        "firstRoot": digest(first.tree_root),
        "secondRoot": digest(second.tree_root),
        "path": [digest(p) for p in path],
    }
    schema_set().validate(document, "ConsistencyProof")
    return document


def _bad(message: str, requirement: str, reason: str = "bad-proof") -> LedgerError:
    return LedgerError(message, reason=reason, requirement=requirement)


def verify_inclusion_proof(
    proof: Mapping[str, Any],
    *,
    root: str | None = None,
    tree_size: int | None = None,
    transaction: Mapping[str, Any] | bytes | None = None,
) -> None:
    """Check an ``InclusionProof``; pin it to a trusted ``root``/``tree_size`` and, given
    the transaction (document or canonical bytes), to its leaf hash (BMDX-LED-001).
    """
    schema_set().validate(dict(proof), "InclusionProof")
    if root is not None and proof["rootHash"] != root:
        raise _bad("the proof is against another tree head", REQ_INCLUSION, "root-mismatch")
    if tree_size is not None and proof["treeSize"] != tree_size:
        raise _bad("the proof is against another tree size", REQ_INCLUSION, "root-mismatch")
    leaf = digest_bytes(proof["leafHash"])
    if transaction is not None:
        canonical = transaction if isinstance(transaction, bytes) else canonical_bytes(transaction)
        if leaf_hash(canonical) != leaf:
            raise _bad("the leaf hash is not the transaction's", REQ_LEAF, "leaf-mismatch")
    path = [digest_bytes(p) for p in proof["path"]]
    if not verify_inclusion(
        leaf, proof["leafIndex"], proof["treeSize"], path, digest_bytes(proof["rootHash"])
    ):
        raise _bad(
            f"the audit path does not lead from leaf {proof['leafIndex']} to the root of "
            f"tree size {proof['treeSize']}",
            REQ_INCLUSION,
        )


def verify_consistency_proof(
    proof: Mapping[str, Any],
    *,
    first_root: str | None = None,
    second_root: str | None = None,
) -> None:
    """Check a ``ConsistencyProof``, optionally pinned to trusted tree heads."""
    schema_set().validate(dict(proof), "ConsistencyProof")
    for name, trusted in (("firstRoot", first_root), ("secondRoot", second_root)):
        if trusted is not None and proof[name] != trusted:
            raise _bad(
                f"the proof's {name} is not the trusted one", REQ_CONSISTENCY, "root-mismatch"
            )
    path = [digest_bytes(p, requirement=REQ_CONSISTENCY) for p in proof["path"]]
    if not verify_consistency(
        proof["firstSize"],
        proof["secondSize"],
        path,
        digest_bytes(proof["firstRoot"], requirement=REQ_CONSISTENCY),
        digest_bytes(proof["secondRoot"], requirement=REQ_CONSISTENCY),
    ):
        raise _bad(
            f"tree size {proof['secondSize']} is not shown to extend tree size "
            f"{proof['firstSize']}",
            REQ_CONSISTENCY,
        )
