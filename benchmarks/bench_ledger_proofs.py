"""Inclusion and consistency proofs on a large log, and full offline verification cost.

Part 1 -- proofs.  Builds a log of ``--transactions`` (default 10^6) synthetic
transactions in blocks of ``--per-block`` straight into a fresh SQLite store (the
storage layer's own commit path, as the storage benchmark does), then times, over
``--pairs`` (default 2,000) random (transaction, later block) and (block, later block)
pairs:

* generating the ``InclusionProof`` / ``ConsistencyProof`` document from the store
  (:mod:`proofs`: SQL node reads, RFC 9162 path, schema validation), and the bare RFC
  9162 path alone (``Store.inclusion_proof`` / ``consistency_proof``);
* verifying the document (schema validation plus RFC 9162 sections 2.1.3.2 / 2.1.4.2),
  and the bare RFC 9162 check alone.

Each generation is timed on a pair drawn for it alone, the first request for that
proof: no earlier identical call has warmed SQLite's page cache or the store's caches
for it.  The store is the one that wrote the log, as on a node that commits its blocks
and serves their proofs.  Each figure is reported as median and 99th percentile in
microseconds; the goal is under 100 microseconds each.

Part 2 -- offline verification.  Populates a ledger with ``--verify-transactions``
(default 10^5) realistic signed transactions (``bmdx ledger populate``), exports it,
and times ``verify_path`` on the export (manifest, digests, schemas, full replay from
genesis, checkpoints).  In the same run it measures the floor any verifier must pay
on the same data: SHA-256 of every file and of every transaction, block header and
leaf, and every signature verification (transactions, block tails, JSON checkpoints,
C2SP notes) with pyca/cryptography, inputs prepared in memory beforehand.  The ratio
``verify / floor`` says how much the reference spends beyond the unavoidable work.

Writes benchmarks/results/ledger_proofs.json.  One command:
``python benchmarks/bench_ledger_proofs.py`` (``--transactions``,
``--verify-transactions`` to scale down).
"""

from __future__ import annotations

import argparse
import bisect
import hashlib
import json
import platform
import random
import sqlite3
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Any, TypeVar

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bmdx.reference._internal import ijson  # noqa: E402
from bmdx.reference._internal.b64 import b64url_decode, b64url_encode  # noqa: E402
from bmdx.reference._internal.canonical import canonical_bytes, signing_payload  # noqa: E402
from bmdx.reference._internal.checkpoints import NoteVerifier, parse_note  # noqa: E402
from bmdx.reference._internal.export import (  # noqa: E402
    ExportReader,
    write_export,
)
from bmdx.reference._internal.keys import PublicKey, import_public_jwk  # noqa: E402
from bmdx.reference._internal.merkle import (  # noqa: E402
    leaf_hash,
    verify_consistency,
    verify_inclusion,
)
from bmdx.reference._internal.populate import populate  # noqa: E402
from bmdx.reference._internal.proofs import (  # noqa: E402
    consistency_proof,
    inclusion_proof,
    verify_consistency_proof,
    verify_inclusion_proof,
)
from bmdx.reference._internal.storage import Store, open_store  # noqa: E402
from bmdx.reference._internal.verify import verify_path  # noqa: E402
from tests.storage.chain import Chain  # noqa: E402

RESULTS = ROOT / "benchmarks" / "results" / "ledger_proofs.json"
GOAL_MICROSECONDS = 100.0
#: (public key object, signature, signed message), verified with pyca.
SignatureTask = tuple[Any, bytes, bytes]
_R = TypeVar("_R")


def _timed(call: Callable[[], Any]) -> float:
    return _measured(call)[0]


def _measured(call: Callable[[], _R]) -> tuple[float, _R]:
    start = time.perf_counter_ns()
    result = call()
    return (time.perf_counter_ns() - start) / 1000, result


def _summary(samples: list[float]) -> dict[str, float]:
    ordered = sorted(samples)
    p99 = ordered[min(len(ordered) - 1, round(0.99 * (len(ordered) - 1)))]
    return {
        "median_us": round(statistics.median(ordered), 1),
        "p99_us": round(p99, 1),
        "mean_us": round(statistics.fmean(ordered), 1),
        "samples": len(ordered),
    }


def build_log(store: Store, transactions: int, per_block: int) -> float:
    chain = Chain(store)
    started = time.perf_counter()
    remaining = transactions
    while remaining > 0:
        chain.commit(min(per_block, remaining))
        remaining -= per_block
    return time.perf_counter() - started


def bench_proofs(store: Store, pairs: int, rng: random.Random) -> dict[str, Any]:
    """Time each generation on a pair drawn for it alone: no earlier request for the same
    proof has warmed SQLite's page cache or the store's caches for it.
    """
    head = store.head()
    assert head is not None
    blocks = {b.height: b for b in store.blocks()}
    heights = sorted(blocks)
    sizes = [blocks[h].tree_size for h in heights]
    out: dict[str, list[float]] = {
        k: []
        for k in (
            "inclusion_generate",
            "inclusion_generate_path_only",
            "inclusion_verify",
            "inclusion_verify_path_only",
            "consistency_generate",
            "consistency_generate_path_only",
            "consistency_verify",
            "consistency_verify_path_only",
        )
    }

    def inclusion_pair() -> tuple[int, int]:
        leaf = rng.randrange(head.tree_size)
        # The first block whose tree holds the leaf, or any later one.
        return leaf, rng.choice(heights[bisect.bisect_right(sizes, leaf) :])

    def consistency_pair() -> tuple[int, int]:
        first, second = sorted(rng.sample(heights[1:], 2))
        return first, second

    for _ in range(pairs):
        leaf, at = inclusion_pair()
        size, root = blocks[at].tree_size, blocks[at].tree_root
        elapsed, doc = _measured(partial(inclusion_proof, store, leaf, at))
        out["inclusion_generate"].append(elapsed)
        out["inclusion_verify"].append(
            _timed(partial(verify_inclusion_proof, doc, root=doc["rootHash"], tree_size=size))
        )
        leaf, at = inclusion_pair()
        size, root = blocks[at].tree_size, blocks[at].tree_root
        elapsed, path = _measured(partial(store.inclusion_proof, leaf, size))
        out["inclusion_generate_path_only"].append(elapsed)
        tx = store.transaction(leaf)
        assert tx is not None
        lh = leaf_hash(tx.canonical)
        out["inclusion_verify_path_only"].append(
            _timed(partial(verify_inclusion, lh, leaf, size, path, root))
        )
        assert verify_inclusion(lh, leaf, size, path, root)

        first, second = consistency_pair()
        elapsed, cdoc = _measured(partial(consistency_proof, store, first, second))
        out["consistency_generate"].append(elapsed)
        out["consistency_verify"].append(_timed(partial(verify_consistency_proof, cdoc)))
        first, second = consistency_pair()
        b1, b2 = blocks[first], blocks[second]
        elapsed, cpath = _measured(partial(store.consistency_proof, b1.tree_size, b2.tree_size))
        out["consistency_generate_path_only"].append(elapsed)
        check = partial(
            verify_consistency, b1.tree_size, b2.tree_size, cpath, b1.tree_root, b2.tree_root
        )
        out["consistency_verify_path_only"].append(_timed(check))
        assert check()
    return {name: _summary(samples) for name, samples in out.items()}


# --- part 2 -----------------------------------------------------------------------------


def _entry_task(entry: dict[str, str], payload: bytes, keys: dict[str, PublicKey]) -> SignatureTask:
    kid = ijson.loads(b64url_decode(entry["protected"]))["kid"]
    message = f"{entry['protected']}.{b64url_encode(payload)}".encode("ascii")
    return (keys[kid].key, b64url_decode(entry["signature"]), message)


def floor_inputs(export: Path) -> tuple[list[bytes], list[SignatureTask]]:
    """Everything a verifier must hash and every signature it must check, in memory."""
    reader = ExportReader(export)
    files = [(export / f["path"]).read_bytes() for f in reader.manifest["files"]]
    hashes: list[bytes] = []
    signatures: list[SignatureTask] = []
    keys: dict[str, PublicKey] = {}
    by_height: dict[int, dict[str, Any]] = {}
    for block in reader.blocks():
        height = block["header"]["height"]
        by_height[height] = block
        for tx in block["body"]["transactions"]:
            for output in tx["outputs"]:
                if output["objectType"] == "Participant":
                    for jwk in output["keys"]:
                        key = import_public_jwk(jwk)
                        keys[key.kid] = key
                elif output["objectType"] == "KeyRotation":
                    key = import_public_jwk(output["newKey"])
                    keys[key.kid] = key
    for height, block in by_height.items():
        header = canonical_bytes(block["header"])
        hashes.append(header)
        for tx in block["body"]["transactions"]:
            canonical = canonical_bytes(tx)
            hashes.extend((canonical, b"\x00" + canonical))
            payload = signing_payload(tx)
            signatures.extend(_entry_task(e, payload, keys) for e in tx["signatures"])
        signatures.extend(_entry_task(e, header, keys) for e in block["tail"]["signatures"])
        checkpoint, note = reader.checkpoint(height)
        payload = signing_payload(checkpoint)
        signatures.extend(_entry_task(e, payload, keys) for e in checkpoint["signatures"])
        parsed = parse_note(note)
        verifiers = {
            NoteVerifier.from_public_key(reader.origin, k).key_id: k
            for k in keys.values()
            if k.key_type.crv == "Ed25519" and k.use == "sig"
        }
        text = parsed.text.encode()
        signatures.extend(
            (verifiers[s.key_id].key, s.signature, text)
            for s in parsed.signatures
            if s.key_id in verifiers
        )
    return files + hashes, signatures


def measure_floor(hashes: list[bytes], signatures: list[SignatureTask]) -> float:
    started = time.perf_counter()
    for data in hashes:
        hashlib.sha256(data).digest()
    for key, signature, message in signatures:
        key.verify(signature, message)
    return time.perf_counter() - started


def bench_verification(count: int, block_size: int, tmp: Path) -> dict[str, Any]:
    url = f"sqlite:///{tmp / 'populated.db'}"
    started = time.perf_counter()
    made = populate(url, count, seed="bench", block_size=block_size)
    populate_seconds = time.perf_counter() - started
    started = time.perf_counter()
    with open_store(url) as store:
        manifest = write_export(
            store, tmp / "export", origin="bmdx.ledger/bench", keys=made.validator_keys
        )
    export_seconds = time.perf_counter() - started
    started = time.perf_counter()
    report = verify_path(tmp / "export")
    verify_seconds = time.perf_counter() - started
    started = time.perf_counter()
    verify_path(url)
    verify_db_seconds = time.perf_counter() - started
    hashes, signatures = floor_inputs(tmp / "export")
    floor_seconds = min(measure_floor(hashes, signatures) for _ in range(3))
    export_bytes = sum(f["size"] for f in manifest["files"])
    return {
        "transactions": report.result.transactions,
        "blocks": report.result.blocks,
        "block_size": block_size,
        "checkpoints": report.checkpoints,
        "export_bytes": export_bytes,
        "populate_seconds": round(populate_seconds, 2),
        "export_seconds": round(export_seconds, 2),
        "verify_export_seconds": round(verify_seconds, 2),
        "verify_database_seconds": round(verify_db_seconds, 2),
        "floor": {
            "seconds": round(floor_seconds, 3),
            "sha256_inputs": len(hashes),
            "signature_verifications": len(signatures),
            "what": "SHA-256 of every export file, transaction (id and leaf) and block header; "
            "Ed25519 verification of every transaction, tail, checkpoint and note signature",
        },
        "verify_export_over_floor": round(verify_seconds / floor_seconds, 2),
        "verify_database_over_floor": round(verify_db_seconds / floor_seconds, 2),
        "verified_transactions_per_second": round(report.result.transactions / verify_seconds, 1),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--transactions", type=int, default=1_000_000)
    parser.add_argument("--per-block", type=int, default=2_000)
    parser.add_argument("--pairs", type=int, default=2_000)
    parser.add_argument("--verify-transactions", type=int, default=100_000)
    parser.add_argument("--verify-block-size", type=int, default=500)
    parser.add_argument("--seed", type=int, default=9162)
    parser.add_argument("--output", type=Path, default=RESULTS)
    args = parser.parse_args()

    rng = random.Random(args.seed)
    with tempfile.TemporaryDirectory() as tmp_dir:
        tmp = Path(tmp_dir)
        with open_store(f"sqlite:///{tmp / 'log.db'}") as store:
            build_seconds = build_log(store, args.transactions, args.per_block)
            proofs = bench_proofs(store, args.pairs, rng)
            blocks = store.stats().blocks
        verification = bench_verification(args.verify_transactions, args.verify_block_size, tmp)

    goals = {
        name: figures["median_us"] < GOAL_MICROSECONDS and figures["p99_us"] < GOAL_MICROSECONDS
        for name, figures in proofs.items()
    }
    result = {
        "benchmark": "ledger_proofs",
        "python": platform.python_version(),
        "sqlite_version": sqlite3.sqlite_version,
        "machine": platform.machine(),
        "proofs": {
            "transactions": args.transactions,
            "blocks": blocks,
            "per_block": args.per_block,
            "build_seconds": round(build_seconds, 1),
            "pairs": args.pairs,
            "goal_us": GOAL_MICROSECONDS,
            "figures": proofs,
            "under_goal": goals,
        },
        "offline_verification": verification,
    }
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
