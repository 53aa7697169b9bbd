"""Durable ledger ingestion with full validation, against raw signature verification.

For each algorithm (Ed25519, ES256) this runs a dev network on a fresh SQLite store
(WAL, ``synchronous=FULL``) and ingests pre-signed ``audit.append`` transactions from
several senders: every transaction goes through the whole state machine (parse,
canonical form, schema, sender, signature, key validity, sequence, inputs, type rules,
timestamp) into the pool, and every ``--block`` transactions the pool is sealed, signed
by the validators and committed in one database transaction.  The rate counts only
*committed* transactions, over wall time including the commits; signing the
transactions beforehand is not timed.

In the same run, the raw pyca verification rate of one signature of the same algorithm
over a message of the same length is measured on one core.  Each transaction carries
one signature, so the ratio ``committed tx/s / raw verify/s`` says how close ingestion
comes to the cost of the one check it cannot avoid.  Goal: at least 0.6.  Results go to
stdout and ``benchmarks/results/ledger_ingest.json``.

Run ``python benchmarks/bench_ledger_ingest.py [--seconds 20] [--block 1000] [--check]``.
"""

from __future__ import annotations

import argparse
import functools
import json
import platform
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import cryptography
import rfc8785
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, ed25519
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature

from bmdx.reference._internal.b64 import b64url_decode
from bmdx.reference._internal.canonical import signing_payload
from bmdx.reference._internal.errors import LedgerError
from bmdx.reference._internal.jws import signing_input
from bmdx.reference._internal.ledger import DevNetwork
from bmdx.reference._internal.ledger.genesis import Founder

RESULTS = Path(__file__).resolve().parent / "results" / "ledger_ingest.json"
GOAL_RATIO = 0.6
SENDERS = 16
BATCH = 2000


def raw_verify_rate(member: Founder, tx: dict[str, Any], seconds: float) -> float:
    """Single-core pyca verifications per second of ``tx``'s own signature."""
    entry = tx["signatures"][0]
    message = signing_input(entry["protected"], signing_payload(tx))
    raw = b64url_decode(entry["signature"])
    public = member.signing.public.key
    verify: Callable[[], None]
    if isinstance(public, ec.EllipticCurvePublicKey):
        der = encode_dss_signature(int.from_bytes(raw[:32], "big"), int.from_bytes(raw[32:], "big"))
        verify = functools.partial(public.verify, der, message, ec.ECDSA(hashes.SHA256()))
    elif isinstance(public, ed25519.Ed25519PublicKey):
        verify = functools.partial(public.verify, raw, message)
    else:
        raise TypeError(f"{type(public).__name__} does not sign")

    verify()
    count, start = 0, time.perf_counter()
    deadline = start + seconds
    while time.perf_counter() < deadline:
        for _ in range(200):
            verify()
        count += 200
    return count / (time.perf_counter() - start)


def canonical_rate_of(tx: dict[str, Any], seconds: float) -> float:
    """``rfc8785.dumps`` of one transaction per second: the canonical form every node needs."""
    count, start = 0, time.perf_counter()
    while time.perf_counter() - start < seconds:
        for _ in range(100):
            rfc8785.dumps(tx)
        count += 100
    return count / (time.perf_counter() - start)


def ingest(alg: str, seconds: float, block: int, workdir: Path, *, bulk: bool) -> dict[str, Any]:
    net = DevNetwork(alg=alg, seed=f"bench-{alg}")
    ledger = net.ledger(f"sqlite:///{workdir / f'{alg}-{bulk}.db'}")
    members = [net.member(f"site-{i}", ["hospital"], alg=alg) for i in range(SENDERS)]
    ledger.submit(net.registration(members, height=1), now=net.time(1))
    ledger.commit_pending(net.time(2))
    stamp = net.time(3)

    def batch(n: int) -> list[dict[str, Any]]:
        return [
            net.transaction(
                members[i % SENDERS],
                "audit.append",
                [net.audit_event(members[i % SENDERS])],
                timestamp=stamp,
            )
            for i in range(n)
        ]

    sample = batch(1)[0]
    verify_rate = raw_verify_rate(members[0], sample, min(3.0, seconds / 4))
    canonical_rate = canonical_rate_of(sample, min(1.0, seconds / 8))
    members[0].next_sequence = 1
    committed, elapsed, blocks = 0, 0.0, 0
    clock = 10
    warm = 0
    if bulk:  # start the worker processes outside the timed part
        warm = 2 * SENDERS
        assert all(not isinstance(o, LedgerError) for o in ledger.submit_many(batch(warm)))
        ledger.commit_pending(net.time(clock))
    while elapsed < seconds:
        txs = batch(BATCH)  # signing is not timed
        start = time.perf_counter()
        if bulk:
            for first in range(0, len(txs), block):
                outcomes = ledger.submit_many(txs[first : first + block], now=stamp)
                refused = [o for o in outcomes if isinstance(o, LedgerError)]
                assert not refused, refused[0]
                if len(outcomes) == block:
                    clock += 1
                    ledger.commit_pending(net.time(clock))
                    blocks += 1
        else:
            for i, tx in enumerate(txs, start=1):
                ledger.submit(tx, now=stamp)
                if i % block == 0:
                    clock += 1
                    ledger.commit_pending(net.time(clock))
                    blocks += 1
        clock += 1
        if ledger.commit_pending(net.time(clock)) is not None:
            blocks += 1
        elapsed += time.perf_counter() - start
        committed += len(txs)
    head = ledger.head()
    assert head is not None
    assert head.tree_size == committed + warm + 3  # genesis (2) and the registration
    ledger.close()
    rate = committed / elapsed
    return {
        "algorithm": alg,
        "path": "submit_many" if bulk else "submit",
        "committed_transactions": committed,
        "blocks": blocks,
        "seconds": round(elapsed, 3),
        "committed_tx_per_second": round(rate, 1),
        "raw_verify_per_second": round(verify_rate, 1),
        "ratio": round(rate / verify_rate, 3),
        "raw_rfc8785_per_second": round(canonical_rate, 1),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=20.0, help="total budget (about)")
    parser.add_argument("--block", type=int, default=1000, help="transactions per block")
    parser.add_argument("--check", action="store_true", help="exit 1 below the goal")
    args = parser.parse_args()
    per_run = args.seconds / 4 * 0.7
    results = []
    with tempfile.TemporaryDirectory() as tmp:
        for alg in ("Ed25519", "ES256"):
            for bulk in (True, False):
                result = ingest(alg, per_run, args.block, Path(tmp), bulk=bulk)
                results.append(result)
                print(
                    f"{alg:8} {result['path']:12} "
                    f"{result['committed_tx_per_second']:>9.1f} committed tx/s  "
                    f"raw verify {result['raw_verify_per_second']:>9.1f}/s  "
                    f"ratio {result['ratio']:.3f} (goal >= {GOAL_RATIO})  "
                    f"raw rfc8785 {result['raw_rfc8785_per_second']:>9.1f}/s"
                )
    report = {
        "benchmark": "ledger_ingest",
        "goal_ratio": GOAL_RATIO,
        "block_size": args.block,
        "senders": SENDERS,
        "store": "sqlite (WAL, synchronous=FULL)",
        "results": results,
        "python": platform.python_version(),
        "cryptography": cryptography.__version__,
        "machine": platform.machine(),
        "processor": platform.processor() or platform.machine(),
    }
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    met = all(r["ratio"] >= GOAL_RATIO for r in results if r["path"] == "submit_many")
    return 0 if met or not args.check else 1


if __name__ == "__main__":
    raise SystemExit(main())
