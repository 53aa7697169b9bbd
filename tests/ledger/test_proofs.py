"""Proofs as objects: any transaction against any later block, any two blocks."""

from __future__ import annotations

import copy
from collections.abc import Iterator
from pathlib import Path

import pytest

from bmdx.reference._internal.errors import LedgerError, SchemaValidationError
from bmdx.reference._internal.proofs import (
    consistency_proof,
    inclusion_proof,
    verify_consistency_proof,
    verify_inclusion_proof,
)
from bmdx.reference._internal.schema import schema_set
from bmdx.reference._internal.storage import Store, open_store
from tests.storage.chain import Chain

BLOCK_SIZES = (1, 3, 0, 5, 2, 8)


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Store]:
    path: Path = tmp_path_factory.mktemp("proofs") / "ledger.db"
    with open_store(f"sqlite:///{path}") as writer:
        chain = Chain(writer)
        for size in BLOCK_SIZES:
            chain.commit(size)
    # Opened afresh: proofs read the tree back from the database, not from the caches
    # the writer filled.
    with open_store(f"sqlite:///{path}") as opened:
        yield opened


@pytest.mark.requirement("BMDX-LED-004")
def test_every_transaction_against_every_later_block(store: Store) -> None:
    checked = 0
    for tx in store.iter_transactions():
        for block in store.blocks(tx.height):
            by_index = inclusion_proof(store, tx.leaf_index, block.height)
            assert inclusion_proof(store, tx.txid, block.height) == by_index
            assert inclusion_proof(store, tx.txid.removeprefix("sha-256:"), block.height) == (
                by_index
            )
            assert inclusion_proof(store, str(tx.leaf_index), block.height) == by_index
            assert schema_set().is_valid(by_index)
            assert (by_index["leafIndex"], by_index["treeSize"], by_index["height"]) == (
                tx.leaf_index,
                block.tree_size,
                block.height,
            )
            verify_inclusion_proof(
                by_index,
                root="sha-256:" + block.tree_root.hex(),
                tree_size=block.tree_size,
                transaction=tx.canonical,
            )
            checked += 1
    assert checked == sum(1 for tx in store.iter_transactions() for _ in store.blocks(tx.height))
    assert checked > 40


@pytest.mark.requirement("BMDX-LED-005")
def test_every_pair_of_blocks(store: Store) -> None:
    blocks = [b for b in store.blocks() if b.tree_size > 0]
    for first in blocks:
        for second in blocks:
            if second.height < first.height:
                continue
            proof = consistency_proof(store, first.height, second.height)
            assert schema_set().is_valid(proof)
            verify_consistency_proof(
                proof,
                first_root="sha-256:" + first.tree_root.hex(),
                second_root="sha-256:" + second.tree_root.hex(),
            )


@pytest.mark.requirement("BMDX-LED-004")
def test_tampered_inclusion_proofs_fail(store: Store) -> None:
    tx = store.transaction(4)
    assert tx is not None
    proof = inclusion_proof(store, 4)
    # A tree size whose path has another shape (the size itself is bound by the signed
    # header the root comes from, not by the path).
    for field, value in (("leafIndex", 5), ("treeSize", 8), ("leafIndex", proof["treeSize"])):
        bad = {**proof, field: value}
        with pytest.raises(LedgerError) as caught:
            verify_inclusion_proof(bad)
        assert (caught.value.reason, caught.value.requirement) == ("bad-proof", "BMDX-LED-004")
    bad = copy.deepcopy(proof)
    bad["path"][0] = "sha-256:" + "0" * 64
    with pytest.raises(LedgerError) as caught:
        verify_inclusion_proof(bad)
    assert caught.value.reason == "bad-proof"
    other = store.transaction(5)
    assert other is not None
    with pytest.raises(LedgerError) as caught:
        verify_inclusion_proof(proof, transaction=other.canonical)
    assert (caught.value.reason, caught.value.requirement) == ("leaf-mismatch", "BMDX-LED-001")
    with pytest.raises(LedgerError) as caught:
        verify_inclusion_proof(proof, root="sha-256:" + "1" * 64)
    assert caught.value.reason == "root-mismatch"
    with pytest.raises(SchemaValidationError):
        verify_inclusion_proof({**proof, "path": "nope"})


@pytest.mark.requirement("BMDX-LED-005")
def test_tampered_consistency_proofs_fail(store: Store) -> None:
    proof = consistency_proof(store, 1, 5)
    assert proof["path"]
    bad = copy.deepcopy(proof)
    bad["path"][-1] = "sha-256:" + "0" * 64
    with pytest.raises(LedgerError) as caught:
        verify_consistency_proof(bad)
    assert (caught.value.reason, caught.value.requirement) == ("bad-proof", "BMDX-LED-005")
    with pytest.raises(LedgerError) as caught:
        verify_consistency_proof({**proof, "firstSize": proof["firstSize"] + 1})
    assert caught.value.reason == "bad-proof"


def test_impossible_requests_are_refused(store: Store) -> None:
    last = store.head()
    assert last is not None
    cases = [
        (lambda: inclusion_proof(store, "sha-256:" + "a" * 64), "not-found"),
        (lambda: inclusion_proof(store, 10_000), "not-found"),
        (lambda: inclusion_proof(store, -1), "not-found"),
        (lambda: inclusion_proof(store, "10000"), "not-found"),
        (lambda: inclusion_proof(store, "a" * 64), "not-found"),
        (lambda: inclusion_proof(store, "not a txid"), "malformed"),
        (lambda: inclusion_proof(store, 0, last.height + 1), "not-found"),
        (lambda: inclusion_proof(store, last.tree_size - 1, 0), "not-yet-included"),
        (lambda: inclusion_proof(store, last.first_leaf, last.height - 1), "not-yet-included"),
        (lambda: consistency_proof(store, 3, 2), "bad-order"),
    ]
    for call, reason in cases:
        with pytest.raises(LedgerError) as caught:
            call()
        assert caught.value.reason == reason
