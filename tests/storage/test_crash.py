"""Crash safety: a writer killed with SIGKILL at random points loses nothing it acknowledged.

Each round starts :mod:`tests.storage.ingest` on the same store and kills it after a
random delay (seeded), sometimes while it is still opening the store, mostly while it
commits.  After every kill the store is reopened and must hold every acknowledged
block, a head whose tree root is the root recomputed from the stored transactions'
canonical bytes, and no row (transaction, Merkle node) beyond that head; every few
rounds, and at the end, :func:`check_store` walks the whole log.
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time

import pytest

from bmdx.reference._internal.merkle import MerkleTree
from bmdx.reference._internal.storage import check_store, open_store
from bmdx.reference._internal.storage.check import stored_node_count
from tests.thirdparty import REPO_ROOT

ROUNDS = {"sqlite": 50, "postgres": 20}
PER_BLOCK = 25
FULL_CHECK_EVERY = 10


def _run_and_kill(url: str, rng: random.Random) -> list[int]:
    """One writer, killed at a random point; the heights it acknowledged."""
    env = {**os.environ, "PYTHONPATH": str(REPO_ROOT)}
    proc = subprocess.Popen(
        [sys.executable, "-m", "tests.storage.ingest", url, "100000", str(PER_BLOCK)],
        stdout=subprocess.PIPE,
        cwd=REPO_ROOT,
        env=env,
    )
    assert proc.stdout is not None
    try:
        if rng.random() < 0.15:
            delay = rng.uniform(0.0, 0.4)  # from spawn: may land while opening the store
        else:
            assert proc.stdout.readline() == b"ready\n"
            delay = rng.uniform(0.0, 0.15)
        try:
            proc.wait(timeout=delay)
        except subprocess.TimeoutExpired:
            proc.send_signal(signal.SIGKILL)
        output = proc.stdout.read()
    finally:
        proc.kill()
        proc.wait()
        proc.stdout.close()
    assert proc.returncode == -signal.SIGKILL, "the writer ended before it was killed"
    lines = output.decode().split("\n")[:-1]  # a line cut by the kill is no acknowledgement
    return [int(line.split()[1]) for line in lines if line.startswith("ack ")]


@pytest.mark.requirement("BMDX-LED-011")
def test_sigkill_loses_no_acknowledged_block(store_url: str) -> None:
    backend = "sqlite" if store_url.startswith("sqlite") else "postgres"
    rng = random.Random(f"crash-{backend}")
    oracle = MerkleTree()  # recomputed from the stored canonical bytes, independently
    acked: set[int] = set()
    previous_head_hash: str | None = None
    started = time.monotonic()
    for round_ in range(1, ROUNDS[backend] + 1):
        acked.update(_run_and_kill(store_url, rng))
        with open_store(store_url) as store:
            head = store.head()
            if head is None:
                assert not acked
                assert store.stats().transactions == 0
                continue
            assert max(acked, default=-1) <= head.height
            for height in acked:
                block = store.block(height)
                assert block is not None, f"acknowledged block {height} is lost"
            if previous_head_hash is not None:
                assert store.block_by_hash(previous_head_hash) is not None
            for tx in store.iter_transactions(oracle.size, head.tree_size):
                oracle.append(tx.canonical)
            assert oracle.size == head.tree_size
            assert head.tree_root == oracle.root() == store.tree_root()
            stats = store.stats()
            assert (stats.blocks, stats.transactions, stats.nodes) == (
                head.height + 1,
                head.tree_size,
                stored_node_count(head.tree_size),
            )
            assert store.transaction(head.tree_size) is None
            assert store.node(0, head.tree_size) is None
            if round_ % FULL_CHECK_EVERY == 0:
                check_store(store)
            previous_head_hash = head.hash
    assert len(acked) > ROUNDS[backend], "too few commits were acknowledged to prove anything"
    with open_store(store_url) as store:
        check_store(store)
    assert time.monotonic() - started < 60
