"""The RFC 9162 tree: committed vectors, an independent transcription, and tampering."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import pytest

from bmdx.reference._internal.merkle import (
    EMPTY_ROOT,
    MerkleTree,
    ProofError,
    leaf_hash,
    verify_consistency,
    verify_inclusion,
)
from tests.thirdparty import REPO_ROOT, require_vectors
from tools.vectors import gen_merkle

VECTORS = REPO_ROOT / "spec" / "vectors" / "merkle"


def load(name: str) -> list[dict[str, Any]]:
    value = json.loads((VECTORS / name).read_bytes())
    assert isinstance(value, list)
    require_vectors(len(value), f"merkle {name}")
    return value


def mth(entries: list[bytes]) -> bytes:
    """RFC 9162 section 2.1.1, transcribed literally (the N-version oracle)."""
    n = len(entries)
    if n == 0:
        return hashlib.sha256(b"").digest()
    if n == 1:
        return hashlib.sha256(b"\x00" + entries[0]).digest()
    k = 1
    while k * 2 < n:
        k *= 2
    return hashlib.sha256(b"\x01" + mth(entries[:k]) + mth(entries[k:])).digest()


@pytest.fixture(scope="module")
def entries() -> list[bytes]:
    return [bytes.fromhex(v["entry"]) for v in load("leaves.json")]


@pytest.fixture(scope="module")
def roots() -> dict[int, bytes]:
    return {v["tree_size"]: bytes.fromhex(v["root"]) for v in load("roots.json")}


def test_committed_vectors_are_what_the_generator_writes(tmp_path: Path) -> None:
    gen_merkle.main(["gen_merkle", str(tmp_path)])
    for name in ("leaves.json", "roots.json", "inclusion.json", "consistency.json"):
        assert (tmp_path / name).read_bytes() == (VECTORS / name).read_bytes(), name


@pytest.mark.requirement("BMDX-LED-001")
@pytest.mark.requirement("BMDX-LED-002")
def test_roots_match_the_literal_definition(entries: list[bytes], roots: dict[int, bytes]) -> None:
    assert roots[0] == EMPTY_ROOT
    for size, root in roots.items():
        assert mth(entries[:size]) == root, size


@pytest.mark.requirement("BMDX-LED-001")
def test_leaf_hashes_use_the_zero_prefix() -> None:
    for v in load("leaves.json"):
        entry = bytes.fromhex(v["entry"])
        assert leaf_hash(entry).hex() == v["leaf_hash"]
        assert hashlib.sha256(b"\x00" + entry).hexdigest() == v["leaf_hash"]


@pytest.mark.requirement("BMDX-LED-004")
def test_every_inclusion_vector_verifies_and_every_mutation_fails(
    entries: list[bytes], roots: dict[int, bytes]
) -> None:
    tree = MerkleTree()
    for e in entries:
        tree.append(e)
    run = 0
    for v in load("inclusion.json"):
        index, size = v["leaf_index"], v["tree_size"]
        path = [bytes.fromhex(h) for h in v["path"]]
        leaf = leaf_hash(entries[index])
        assert tree.inclusion_proof(index, size) == path
        assert verify_inclusion(leaf, index, size, path, roots[size])
        if size > 1:
            assert not verify_inclusion(leaf, (index + 1) % size, size, path, roots[size])
        for k in range(len(path)):
            broken = list(path)
            broken[k] = bytes(a ^ 1 for a in broken[k][:1]) + broken[k][1:]
            assert not verify_inclusion(leaf, index, size, broken, roots[size])
        assert not verify_inclusion(leaf, index, size, [*path, bytes(32)], roots[size])
        run += 1
    require_vectors(run, "inclusion")


@pytest.mark.requirement("BMDX-LED-005")
def test_every_consistency_vector_verifies_and_every_mutation_fails(
    entries: list[bytes], roots: dict[int, bytes]
) -> None:
    tree = MerkleTree()
    for e in entries:
        tree.append(e)
    run = 0
    for v in load("consistency.json"):
        first, second = v["first"], v["second"]
        path = [bytes.fromhex(h) for h in v["path"]]
        assert tree.consistency_proof(first, second) == path
        assert verify_consistency(first, second, path, roots[first], roots[second])
        if first != second:
            assert not verify_consistency(first, second, path, roots[second], roots[second])
            for k in range(len(path)):
                broken = list(path)
                broken[k] = bytes(32)
                assert not verify_consistency(first, second, broken, roots[first], roots[second])
            assert not verify_consistency(first, second, [], roots[first], roots[second])
        run += 1
    require_vectors(run, "consistency")


def test_proofs_outside_the_tree_are_refused() -> None:
    tree = MerkleTree()
    for i in range(5):
        tree.append(bytes([i]))
    with pytest.raises(ProofError):
        tree.inclusion_proof(5, 5)
    with pytest.raises(ProofError):
        tree.inclusion_proof(0, 6)
    with pytest.raises(ProofError):
        tree.consistency_proof(0, 5)
    with pytest.raises(ProofError):
        tree.consistency_proof(3, 6)
    with pytest.raises(ProofError):
        tree.root(6)
