"""The suite's own verifiers against the normative vectors, and the XML attack vectors'
generator against the committed files."""

from __future__ import annotations

import json
from pathlib import Path

from bmdx.conformance._internal.verifiers import ijson, merkle
from tools.vectors import gen_xml_attacks

SPEC = Path(__file__).resolve().parents[2] / "spec"


def _load(name: str) -> list[dict[str, object]]:
    return json.loads((SPEC / "vectors" / "merkle" / name).read_bytes())  # type: ignore[no-any-return]


def test_merkle_verifier_agrees_with_vectors() -> None:
    leaves = [bytes.fromhex(str(v["entry"])) for v in _load("leaves.json")]
    roots = {int(str(r["tree_size"])): bytes.fromhex(str(r["root"])) for r in _load("roots.json")}
    for size, root in roots.items():
        assert merkle.mth(leaves[:size]) == root
    checked = 0
    for v in _load("inclusion.json"):
        index, size = int(str(v["leaf_index"])), int(str(v["tree_size"]))
        path = [bytes.fromhex(p) for p in v["path"]]  # type: ignore[attr-defined]
        leaf = merkle.leaf_hash(leaves[index])
        assert merkle.verify_inclusion(leaf, index, size, path, roots[size])
        assert not merkle.verify_inclusion(leaf, index, size, path, roots[size][::-1])
        checked += 1
    for v in _load("consistency.json"):
        first, second = int(str(v["first"])), int(str(v["second"]))
        path = [bytes.fromhex(p) for p in v["path"]]  # type: ignore[attr-defined]
        assert merkle.verify_consistency(first, second, path, roots[first], roots[second])
        assert not merkle.verify_consistency(first, second, path, roots[second], roots[first]) or (
            first == second
        )
        checked += 1
    assert checked == 2 * 64 * 65 // 2


def test_ijson_verifier_on_canonicalization_vectors() -> None:
    folder = SPEC / "vectors" / "canonicalization"
    cases = json.loads((folder / "cases.json").read_bytes())
    assert cases
    for case in cases:
        finding = ijson.check((folder / case["input"]).read_bytes())
        if case["name"].endswith("_fail") and case["use"] == "canonical":
            assert finding is not None
            assert (finding.requirement, finding.reason) == (case["requirement"], case["reason"])
        else:
            assert finding is None, case["name"]


def test_xml_attack_vectors_are_current() -> None:
    assert gen_xml_attacks.main(["--check"]) == 0
