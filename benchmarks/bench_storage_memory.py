"""Resident memory and throughput of the SQLite store while ingesting a large log.

Ingests ``--transactions`` synthetic transactions (default 10^6) in blocks of
``--per-block`` (default 1,000) into a fresh SQLite store, sampling the process's
resident set size (VmRSS) after every block, then streams the whole log back through
``check_store``.  Memory must stay flat: the store keeps no per-transaction state in
the process, so the peak must not exceed ``--limit-mb`` (default 300).  Writes
benchmarks/results/storage_memory.json and exits non-zero over the limit.
"""

from __future__ import annotations

import argparse
import json
import platform
import sqlite3
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bmdx.reference._internal.storage import check_store, open_store  # noqa: E402
from tests.storage.chain import Chain  # noqa: E402

RESULTS = ROOT / "benchmarks" / "results" / "storage_memory.json"


def rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError("VmRSS not found in /proc/self/status")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--transactions", type=int, default=1_000_000)
    parser.add_argument("--per-block", type=int, default=1_000)
    parser.add_argument("--limit-mb", type=float, default=300.0)
    parser.add_argument("--output", type=Path, default=RESULTS)
    args = parser.parse_args()

    blocks = -(-args.transactions // args.per_block)
    samples: list[float] = []
    with tempfile.TemporaryDirectory() as tmp, open_store(f"sqlite:///{tmp}/ledger.db") as store:
        chain = Chain(store)
        start_rss = rss_mb()
        started = time.perf_counter()
        remaining = args.transactions
        for _ in range(blocks):
            chain.commit(min(args.per_block, remaining))
            remaining -= args.per_block
            samples.append(rss_mb())
        ingest_seconds = time.perf_counter() - started
        after_ingest = rss_mb()
        started = time.perf_counter()
        check_store(store)
        check_seconds = time.perf_counter() - started
        after_check = rss_mb()
        db_bytes = sum(f.stat().st_size for f in Path(tmp).iterdir())
        assert store.tree_size() == args.transactions

    tenth = max(1, len(samples) // 10)
    result = {
        "benchmark": "storage_memory",
        "backend": "sqlite",
        "sqlite_version": sqlite3.sqlite_version,
        "python": platform.python_version(),
        "transactions": args.transactions,
        "per_block": args.per_block,
        "blocks": blocks,
        "rss_mb": {
            "before_ingest": round(start_rss, 1),
            "peak": round(max([*samples, after_check]), 1),
            "first_tenth_mean": round(sum(samples[:tenth]) / tenth, 1),
            "last_tenth_mean": round(sum(samples[-tenth:]) / tenth, 1),
            "growth_over_ingest": round(samples[-1] - samples[0], 1),
            "after_ingest": round(after_ingest, 1),
            "after_check_store": round(after_check, 1),
            "limit": args.limit_mb,
        },
        "ingest_seconds": round(ingest_seconds, 2),
        "commits_per_second": round(blocks / ingest_seconds, 1),
        "transactions_per_second": round(args.transactions / ingest_seconds, 1),
        "check_store_seconds": round(check_seconds, 2),
        "database_bytes": db_bytes,
    }
    result["within_limit"] = result["rss_mb"]["peak"] <= args.limit_mb  # type: ignore[index]
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result, indent=2))
    return 0 if result["within_limit"] else 1


if __name__ == "__main__":
    sys.exit(main())
