"""Generate spec/vectors/merkle/: RFC 9162 trees of sizes 1..64 with every proof.

Deterministic: entry ``i`` is the 8 bytes ``b"BMDX"`` followed by ``i`` as a 4-byte
big-endian integer.  Run ``python tools/vectors/gen_merkle.py [OUTDIR]``.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from bmdx.reference._internal.merkle import MerkleTree, leaf_hash

MAX_SIZE = 64
DEFAULT_OUT = Path(__file__).resolve().parents[2] / "spec" / "vectors" / "merkle"


def entry(i: int) -> bytes:
    return b"BMDX" + i.to_bytes(4, "big")


def build() -> dict[str, object]:
    tree = MerkleTree()
    for i in range(MAX_SIZE):
        tree.append(entry(i))
    leaves = [
        {"index": i, "entry": entry(i).hex(), "leaf_hash": leaf_hash(entry(i)).hex()}
        for i in range(MAX_SIZE)
    ]
    roots = [{"tree_size": n, "root": tree.root(n).hex()} for n in range(MAX_SIZE + 1)]
    inclusion = [
        {
            "leaf_index": i,
            "tree_size": n,
            "path": [h.hex() for h in tree.inclusion_proof(i, n)],
        }
        for n in range(1, MAX_SIZE + 1)
        for i in range(n)
    ]
    consistency = [
        {
            "first": m,
            "second": n,
            "path": [h.hex() for h in tree.consistency_proof(m, n)],
        }
        for n in range(1, MAX_SIZE + 1)
        for m in range(1, n + 1)
    ]
    return {
        "leaves.json": leaves,
        "roots.json": roots,
        "inclusion.json": inclusion,
        "consistency.json": consistency,
    }


def render(value: object) -> bytes:
    # One vector per line: small diffs when the set changes, easy to grep.
    assert isinstance(value, list)
    lines = ",\n".join("  " + json.dumps(v, separators=(", ", ": ")) for v in value)
    return f"[\n{lines}\n]\n".encode()


def main(argv: list[str]) -> None:
    out = Path(argv[1]) if len(argv) > 1 else DEFAULT_OUT
    out.mkdir(parents=True, exist_ok=True)
    for name, value in build().items():
        (out / name).write_bytes(render(value))


if __name__ == "__main__":
    main(sys.argv)
