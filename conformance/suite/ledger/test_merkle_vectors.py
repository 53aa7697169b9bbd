"""RFC 9162 Merkle trees: roots and proof verification against spec/vectors/merkle."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from bmdx.conformance._internal.adapter_client import AdapterClient
from bmdx.conformance._internal.verifiers import merkle
from bmdx.conformance.suite._spec import b64, cases, vector_json


def _leaves() -> list[bytes]:
    return [bytes.fromhex(leaf["entry"]) for leaf in vector_json("merkle", "leaves.json")]


def _leaf_hashes() -> list[str]:
    return [leaf["leaf_hash"] for leaf in vector_json("merkle", "leaves.json")]


def _roots() -> dict[int, str]:
    return {r["tree_size"]: r["root"] for r in vector_json("merkle", "roots.json")}


def _flip(hex_hash: str) -> str:
    raw = bytearray(bytes.fromhex(hex_hash))
    raw[0] ^= 0x01
    return raw.hex()


@pytest.mark.requirement(
    "BMDX-ADP-027:4cf187b44d4f17a8",
    "BMDX-LED-002:a905279650cc369c",
)
@pytest.mark.parametrize(
    "size", cases([(f"size-{n}", n) for n in range(1, 65)], "Merkle tree sizes")
)
def test_merkle_root(adapter: AdapterClient, supports: Callable[[str], None], size: int) -> None:
    """The merkle-root command MUST answer with the RFC 9162 Merkle tree hash of its
    entries, in order, and their number."""
    supports("merkle-root")
    entries = _leaves()[:size]
    expected = _roots()[size]
    # The suite's own transcription of RFC 9162 agrees with the vector first.
    assert merkle.mth(entries).hex() == expected
    response = adapter.call("merkle-root", entries=[b64(e) for e in entries])
    assert response.ok, response.error
    assert response.result == {"root": expected, "size": size}


def _inclusion() -> list[tuple[str, dict[str, Any]]]:
    return [
        (f"leaf-{v['leaf_index']}-of-{v['tree_size']}", v)
        for v in vector_json("merkle", "inclusion.json")
    ]


def _mutations(vector: dict[str, Any], roots: dict[int, str]) -> list[dict[str, Any]]:
    base = {
        "leafHash": _leaf_hashes()[vector["leaf_index"]],
        "leafIndex": vector["leaf_index"],
        "treeSize": vector["tree_size"],
        "path": vector["path"],
        "root": roots[vector["tree_size"]],
    }
    out = [{**base, "root": _flip(base["root"])}, {**base, "leafHash": _flip(base["leafHash"])}]
    for i in range(len(base["path"])):
        path = list(base["path"])
        path[i] = _flip(path[i])
        out.append({**base, "path": path})
    out.append({**base, "leafIndex": base["leafIndex"] ^ 1})
    out.append({**base, "treeSize": base["treeSize"] + 1})
    out.append({**base, "path": [*base["path"], base["root"]]})
    if base["path"]:
        out.append({**base, "path": base["path"][:-1]})
    return [
        m
        for m in out
        if not merkle.verify_inclusion(
            bytes.fromhex(m["leafHash"]),
            m["leafIndex"],
            m["treeSize"],
            [bytes.fromhex(p) for p in m["path"]],
            bytes.fromhex(m["root"]),
        )
    ]


@pytest.mark.requirement("BMDX-ADP-028:5b831ec3644835c1")
@pytest.mark.parametrize("vector", cases(_inclusion(), "inclusion vectors"))
def test_verify_inclusion(
    adapter: AdapterClient, supports: Callable[[str], None], vector: dict[str, Any]
) -> None:
    """The verify-inclusion command MUST answer valid true exactly when the given audit
    path proves the leaf hash at the leaf index of a tree of the given size and root by
    the algorithm of RFC 9162 section 2.1.3.2."""
    supports("verify-inclusion")
    roots = _roots()
    args = {
        "leafHash": _leaf_hashes()[vector["leaf_index"]],
        "leafIndex": vector["leaf_index"],
        "treeSize": vector["tree_size"],
        "path": vector["path"],
        "root": roots[vector["tree_size"]],
    }
    assert merkle.verify_inclusion(
        bytes.fromhex(args["leafHash"]),
        args["leafIndex"],
        args["treeSize"],
        [bytes.fromhex(p) for p in args["path"]],
        bytes.fromhex(args["root"]),
    )
    accepted = adapter.request("verify-inclusion", args)
    assert accepted.ok, accepted.error
    assert accepted.result == {"valid": True}
    mutations = _mutations(vector, roots)
    assert mutations
    for mutated in mutations:
        refused = adapter.request("verify-inclusion", mutated)
        assert refused.ok, refused.error
        assert refused.result == {"valid": False}, mutated


def _consistency() -> list[tuple[str, dict[str, Any]]]:
    return [
        (f"{v['first']}-to-{v['second']}", v) for v in vector_json("merkle", "consistency.json")
    ]


@pytest.mark.requirement("BMDX-ADP-029:d935f50d15f72645")
@pytest.mark.parametrize("vector", cases(_consistency(), "consistency vectors"))
def test_verify_consistency(
    adapter: AdapterClient, supports: Callable[[str], None], vector: dict[str, Any]
) -> None:
    """The verify-consistency command MUST answer valid true exactly when the given path
    proves that the tree of the second size and root extends the tree of the first size
    and root by the algorithm of RFC 9162 section 2.1.4.2."""
    supports("verify-consistency")
    roots = _roots()
    args = {
        "firstSize": vector["first"],
        "secondSize": vector["second"],
        "path": vector["path"],
        "firstRoot": roots[vector["first"]],
        "secondRoot": roots[vector["second"]],
    }

    def own(a: dict[str, Any]) -> bool:
        return merkle.verify_consistency(
            a["firstSize"],
            a["secondSize"],
            [bytes.fromhex(p) for p in a["path"]],
            bytes.fromhex(a["firstRoot"]),
            bytes.fromhex(a["secondRoot"]),
        )

    assert own(args)
    accepted = adapter.request("verify-consistency", args)
    assert accepted.ok, accepted.error
    assert accepted.result == {"valid": True}
    mutations = [
        {**args, "firstRoot": _flip(args["firstRoot"])},
        {**args, "secondRoot": _flip(args["secondRoot"])},
        {**args, "secondSize": args["secondSize"] + 1},
    ]
    for i in range(len(args["path"])):
        path = list(args["path"])
        path[i] = _flip(path[i])
        mutations.append({**args, "path": path})
    mutations = [m for m in mutations if not own(m)]
    assert mutations
    for mutated in mutations:
        refused = adapter.request("verify-consistency", mutated)
        assert refused.ok, refused.error
        assert refused.result == {"valid": False}, mutated
