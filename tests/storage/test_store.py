"""The storage interface, run unchanged against SQLite and PostgreSQL."""

from __future__ import annotations

import dataclasses
import hashlib
import itertools
import random
import sqlite3
import threading
from pathlib import Path

import pytest

from bmdx.reference._internal.errors import StorageError
from bmdx.reference._internal.merkle import (
    EMPTY_ROOT,
    MerkleTree,
    verify_consistency,
    verify_inclusion,
)
from bmdx.reference._internal.storage import (
    BlockCommit,
    KeyRecord,
    KeyRetirement,
    NewTransaction,
    ObjectConsumption,
    ObjectCreation,
    ObjectRecord,
    ParticipantRecord,
    Store,
    StoredTransaction,
    StoreStats,
    ValidatorSetRecord,
    _sql,
    check_store,
    open_store,
)
from tests.storage.chain import Chain, block

V1 = "sha-256:" + "1" * 64
V2 = "sha-256:" + "2" * 64
SITE = "urn:bmdx:participant:site-0"


def snapshot(store: Store) -> tuple[object, ...]:
    """Everything a refused commit must leave exactly as it was."""
    size = store.tree_size()
    return (
        store.head(),
        store.stats(),
        size,
        store.tree_root(),
        [store.node(level, i) for level in range(4) for i in range((size >> level) + 2)],
        {s: store.last_sequence(s) for s in Chain(store).senders},
    )


def test_empty_store(store: Store) -> None:
    assert store.head() is None
    assert store.tree_size() == 0
    assert store.tree_root() == EMPTY_ROOT
    assert list(store.blocks()) == []
    assert list(store.iter_transactions()) == []
    assert store.stats() == StoreStats(0, 0, 0, 0, 0, 0, 0)
    check_store(store)


def test_round_trip(store: Store) -> None:
    chain = Chain(store)
    genesis = chain.commit(
        3,
        objects_created=(ObjectCreation("urn:bmdx:participant:site-0", V1, 0),),
        keys_added=(KeyRecord("kid-1", SITE, b'{"kty":"OKP"}', 0),),
        participants=(ParticipantRecord(SITE, b'{"id":"site-0"}', 0),),
        validator_sets=(ValidatorSetRecord(0, b'{"version":1}'),),
    )
    second = chain.commit(
        5,
        objects_created=(ObjectCreation("urn:bmdx:participant:site-0", V2, 4),),
        objects_consumed=(ObjectConsumption("urn:bmdx:participant:site-0", V1, 4),),
        keys_added=(KeyRecord("kid-2", SITE, b'{"kty":"EC"}', 1),),
        keys_retired=(KeyRetirement("kid-1", 2),),
        participants=(ParticipantRecord(SITE, b'{"id":"site-0","v":2}', 0),),
        validator_sets=(ValidatorSetRecord(3, b'{"version":2}'),),
    )
    assert store.head() == second.block
    assert store.block(0) == genesis.block
    assert store.block_by_hash(second.block.hash) == second.block
    assert store.block(2) is None
    assert list(store.blocks()) == [genesis.block, second.block]

    all_txs = genesis.transactions + second.transactions
    for leaf, tx in enumerate(all_txs):
        stored = StoredTransaction(
            leaf, 0 if leaf < 3 else 1, tx.txid, tx.sender, tx.sequence, tx.type, tx.canonical
        )
        assert store.transaction(leaf) == stored
        assert store.transaction_by_id(tx.txid) == stored
        assert store.leaf_index(tx.txid) == leaf
    assert store.transaction(8) is None
    assert store.transaction_by_id(V1) is None
    assert store.leaf_index(V1) is None

    # Each block deals its transactions to the senders in turn from the first one.
    assert [store.last_sequence(s) for s in chain.senders] == [3, 2, 2, 1]
    assert store.last_sequence("urn:bmdx:participant:nobody") is None
    obj = "urn:bmdx:participant:site-0"
    assert store.object_version(obj, V1) == ObjectRecord(obj, V1, "consumed", 0, 4)
    assert store.object_versions(obj) == [
        ObjectRecord(obj, V1, "consumed", 0, 4),
        ObjectRecord(obj, V2, "live", 4, None),
    ]
    assert store.key("kid-1") == KeyRecord("kid-1", SITE, b'{"kty":"OKP"}', 0, 2)
    assert store.participant_keys(SITE) == [
        KeyRecord("kid-1", SITE, b'{"kty":"OKP"}', 0, 2),
        KeyRecord("kid-2", SITE, b'{"kty":"EC"}', 1, None),
    ]
    assert store.participant(SITE) == ParticipantRecord(SITE, b'{"id":"site-0","v":2}', 0)
    assert store.participant("urn:bmdx:participant:nobody") is None
    assert store.validator_set_at(2) == ValidatorSetRecord(0, b'{"version":1}')
    assert store.validator_set_at(3) == ValidatorSetRecord(3, b'{"version":2}')
    assert store.validator_set_at(10**6) == ValidatorSetRecord(3, b'{"version":2}')
    assert store.stats() == StoreStats(2, 8, 15, 2, 2, 1, 2)
    check_store(store)


def _with_transactions(
    commit: BlockCommit, txs: tuple[NewTransaction, ...], store: Store
) -> BlockCommit:
    """The same block with another body (and the header's counts and root to match it)."""
    tree = store.next_tree_head([t.canonical for t in txs])
    rebuilt = block(commit.block.height, _previous(store), txs, tree)
    return dataclasses.replace(commit, block=rebuilt, transactions=txs)


def _previous(store: Store) -> str:
    head = store.head()
    return "sha-256:" + "0" * 64 if head is None else head.hash


@pytest.mark.requirement("BMDX-LED-011")
def test_commit_failing_midway_leaves_nothing(store: Store) -> None:
    chain = Chain(store)
    chain.commit(5)
    before = snapshot(store)
    commit = chain.next_commit(6)
    # The duplicate is the last row of the batch: the block row, five transactions and
    # their Merkle nodes are already written when the database refuses it.
    duplicate = (*commit.transactions[:5], commit.transactions[0])
    with pytest.raises(StorageError) as info:
        store.commit_block(_with_transactions(commit, duplicate, store))
    assert (info.value.reason, info.value.requirement, info.value.status) == (
        "integrity",
        "BMDX-LED-011",
        409,
    )
    assert snapshot(store) == before
    # A transaction already committed in an earlier block is refused the same way.
    old = store.transaction(0)
    assert old is not None
    replayed = (
        *commit.transactions[:1],
        NewTransaction(old.canonical, old.sender, old.sequence, old.type),
    )
    with pytest.raises(StorageError) as info:
        store.commit_block(_with_transactions(commit, replayed, store))
    assert info.value.reason == "integrity"
    assert snapshot(store) == before
    # The refused height is still free for a valid block.
    chain.commit(6)
    assert store.tree_size() == 11
    check_store(store)


@pytest.mark.requirement("BMDX-LED-011")
def test_state_change_on_missing_row_rolls_back(store: Store) -> None:
    chain = Chain(store)
    chain.commit(2, objects_created=(ObjectCreation("urn:bmdx:validator-set", V1, 0),))
    before = snapshot(store)
    for changes in (
        {"objects_consumed": (ObjectConsumption("urn:bmdx:validator-set", V2, 2),)},
        {"keys_retired": (KeyRetirement("kid-unknown", 1),)},
        {"objects_created": (ObjectCreation("urn:bmdx:validator-set", V1, 2),)},
    ):
        with pytest.raises(StorageError) as info:
            chain.commit(2, **changes)
        assert (info.value.reason, info.value.requirement) == ("integrity", "BMDX-LED-011")
        assert snapshot(store) == before
    assert store.object_version("urn:bmdx:validator-set", V1) == ObjectRecord(
        "urn:bmdx:validator-set", V1, "live", 0, None
    )


@pytest.mark.requirement("BMDX-LED-023")
def test_same_height_twice_is_a_conflict(store: Store, store_url: str) -> None:
    chain = Chain(store)
    chain.commit(3)
    with open_store(store_url) as other:
        ours = chain.next_commit(4, tag="ours")
        theirs = Chain(other).next_commit(4, tag="theirs")
        assert ours.block.height == theirs.block.height == 1
        other.commit_block(theirs)
        before = snapshot(store)
        with pytest.raises(StorageError) as info:
            store.commit_block(ours)
    assert (info.value.reason, info.value.requirement, info.value.status) == (
        "conflict",
        "BMDX-LED-023",
        409,
    )
    assert snapshot(store) == before
    assert store.head() == theirs.block
    assert all(store.transaction_by_id(t.txid) is None for t in ours.transactions)


@pytest.mark.requirement("BMDX-LED-023")
def test_concurrent_committers_of_one_height_one_wins(store: Store, store_url: str) -> None:
    Chain(store).commit(2)
    barrier = threading.Barrier(2)
    outcomes: list[str] = []

    def commit(tag: str) -> None:
        with open_store(store_url) as mine:
            prepared = Chain(mine).next_commit(3, tag=tag)
            barrier.wait(timeout=30)
            try:
                mine.commit_block(prepared)
                outcomes.append("committed")
            except StorageError as exc:
                outcomes.append(exc.reason)

    threads = [threading.Thread(target=commit, args=(tag,)) for tag in ("a", "b")]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert sorted(outcomes) == ["committed", "conflict"]
    assert store.stats().blocks == 2
    check_store(store)


def test_height_gap_and_inconsistent_blocks_are_refused(store: Store) -> None:
    chain = Chain(store)
    chain.commit(2)
    before = snapshot(store)
    good = chain.next_commit(2)

    skipped = block(
        2, good.block.hash, good.transactions, (good.block.tree_size, good.block.tree_root)
    )
    with pytest.raises(StorageError) as info:
        store.commit_block(dataclasses.replace(good, block=skipped))
    assert (info.value.reason, info.value.requirement) == ("gap", "BMDX-LED-020")

    wrong_root = block(1, good.block.hash, good.transactions, (4, hashlib.sha256(b"x").digest()))
    with pytest.raises(StorageError) as info:
        store.commit_block(dataclasses.replace(good, block=wrong_root))
    assert (info.value.reason, info.value.requirement, info.value.status) == (
        "mismatch",
        "BMDX-LED-003",
        422,
    )

    wrong_size = block(1, good.block.hash, good.transactions, (5, good.block.tree_root))
    with pytest.raises(StorageError) as info:
        store.commit_block(dataclasses.replace(good, block=wrong_size))
    assert (info.value.reason, info.value.requirement) == ("mismatch", "BMDX-LED-020")
    assert snapshot(store) == before

    with pytest.raises(StorageError) as info:
        dataclasses.replace(good, transactions=good.transactions[:1])
    assert (info.value.reason, info.value.requirement) == ("mismatch", "BMDX-LED-020")
    with pytest.raises(StorageError) as info:
        dataclasses.replace(good.block, hash=good.block.hash.replace("sha-256:", "sha-256:0")[:-1])
    assert (info.value.reason, info.value.requirement) == ("mismatch", "BMDX-LED-020")

    store.commit_block(good)
    assert store.head() == good.block


def test_streaming_reads(store: Store) -> None:
    chain = Chain(store)
    commits = [chain.commit(n) for n in (0, 700, 1, 1300, 499)]
    expected = [t.canonical for c in commits for t in c.transactions]
    assert [t.canonical for t in store.iter_transactions()] == expected
    assert [t.leaf_index for t in store.iter_transactions(999, 1502)] == list(range(999, 1502))
    assert [b.height for b in store.blocks(1, 4)] == [1, 2, 3]
    assert list(store.iter_transactions(2500, 2600)) == []

    # A stream is not disturbed by commits made while it is being consumed.
    stream = store.iter_transactions()
    first = [next(stream) for _ in range(1500)]
    chain.commit(10)
    rest = list(stream)
    assert [t.leaf_index for t in first + rest] == list(range(2500))
    assert store.tree_size() == 2510
    # Abandoned streams give their cursors back.
    for _ in range(3):
        abandoned = store.iter_transactions()
        next(abandoned)
        abandoned.close()  # type: ignore[attr-defined]
    check_store(store)


@pytest.mark.requirement("BMDX-LED-002", "BMDX-LED-003", "BMDX-LED-004", "BMDX-LED-005")
def test_tree_over_the_store_equals_the_memory_tree(store: Store) -> None:
    rng = random.Random(9162)
    chain = Chain(store)
    memory = MerkleTree()
    sizes = [0]
    for _ in range(12):
        commit = chain.commit(rng.randrange(0, 40))
        for tx in commit.transactions:
            memory.append(tx.canonical)
        assert commit.block.tree_root == memory.root()
        sizes.append(memory.size)
    n = memory.size
    assert store.tree_size() == n
    for size in range(n + 1):
        assert store.tree_root(size) == memory.root(size)
    for level in range(n.bit_length()):
        for index in range((n >> level) + 1):
            assert store.node(level, index) == (
                memory._store.get(level, index) if index < n >> level else None
            )
    for _ in range(60):
        size = rng.randrange(1, n + 1)
        leaf = rng.randrange(size)
        proof = store.inclusion_proof(leaf, size)
        assert proof == memory.inclusion_proof(leaf, size)
        assert verify_inclusion(memory.leaf(leaf), leaf, size, proof, memory.root(size))
        first = rng.randrange(1, size + 1)
        proof = store.consistency_proof(first, size)
        assert proof == memory.consistency_proof(first, size)
        assert verify_consistency(first, size, proof, memory.root(first), memory.root(size))
    # Block sizes are tree heads too: every block proves against every later one.
    for earlier, later in itertools.pairwise(sizes):
        if earlier:
            proof = store.consistency_proof(earlier, later)
            assert verify_consistency(
                earlier, later, proof, store.tree_root(earlier), store.tree_root(later)
            )
    with pytest.raises(StorageError) as info:
        store.inclusion_proof(n, n)
    assert (info.value.reason, info.value.requirement) == ("mismatch", "BMDX-LED-003")
    with pytest.raises(StorageError) as info:
        store.tree_root(n + 1)
    assert info.value.reason == "mismatch"


@pytest.mark.requirement("BMDX-LED-004", "BMDX-LED-005")
@pytest.mark.parametrize("limit", [0, 5, _sql.NODE_CACHE_LIMIT])
def test_proofs_from_a_store_that_did_not_write_the_log(
    store: Store, store_url: str, limit: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A store opened on an existing log starts with empty caches and reads the nodes it
    needs; with small limits it keeps evicting.  Its answers never change.
    """
    rng = random.Random(limit)
    chain = Chain(store)
    memory = MerkleTree()
    sizes = []
    for _ in range(6):
        for tx in chain.commit(rng.randrange(1, 24)).transactions:
            memory.append(tx.canonical)
        sizes.append(memory.size)
    if limit < _sql.NODE_CACHE_LIMIT:
        monkeypatch.setattr(_sql, "NODE_CACHE_LIMIT", limit)
        monkeypatch.setattr(_sql, "RANGE_CACHE_LIMIT", limit)
        monkeypatch.setattr(_sql, "BLOCK_CACHE_LIMIT", max(limit, 1))
    with open_store(store_url) as reader:
        for _ in range(2):  # the second pass is served from whatever the caches kept
            assert [reader.block(h) for h in range(len(sizes))] == list(store.blocks())
            for size in sizes:
                assert reader.tree_root(size) == memory.root(size)
                for leaf in range(size):
                    path = memory.inclusion_proof(leaf, size)
                    assert reader.inclusion_proof(leaf, size) == path
                    assert reader.leaf_inclusion_proof(leaf, size) == (memory.leaf(leaf), path)
                for first in range(1, size + 1):
                    assert reader.consistency_proof(first, size) == memory.consistency_proof(
                        first, size
                    )
        assert reader.tree_root() == memory.root()
        assert reader.inclusion_proof(0) == memory.inclusion_proof(0)


def test_proofs_against_a_tree_another_store_grew(store: Store, store_url: str) -> None:
    chain = Chain(store)
    memory = MerkleTree()
    for tx in chain.commit(5).transactions:
        memory.append(tx.canonical)
    assert store.inclusion_proof(4, 5) == memory.inclusion_proof(4, 5)
    with open_store(store_url) as other:
        for tx in Chain(other).commit(4).transactions:
            memory.append(tx.canonical)
    assert store.inclusion_proof(7, 9) == memory.inclusion_proof(7, 9)
    assert store.leaf_inclusion_proof(8, 9) == (memory.leaf(8), memory.inclusion_proof(8, 9))
    assert store.consistency_proof(5, 9) == memory.consistency_proof(5, 9)
    assert store.tree_root(9) == memory.root(9)
    for beyond in (
        lambda: store.inclusion_proof(0, 10),
        lambda: store.consistency_proof(5, 10),
        lambda: store.tree_root(10),
        lambda: store.leaf_inclusion_proof(9),
        lambda: store.consistency_proof(0, 9),
    ):
        with pytest.raises(StorageError) as info:
            beyond()
        assert (info.value.reason, info.value.requirement) == ("mismatch", "BMDX-LED-003")


def test_node_cache_keeps_its_highest_levels_within_its_limit() -> None:
    cache = _sql._NodeCache(10)
    nodes = {(level, i): bytes([level, i]) * 16 for level in range(4) for i in range(8 >> level)}
    cache.add(nodes)  # 15 nodes: level 0 (8 of them) goes, and is no longer kept
    assert cache.lookup([(0, 0), (1, 3), (2, 1), (3, 0), (4, 0)]) == [
        None,
        nodes[1, 3],
        nodes[2, 1],
        nodes[3, 0],
        None,
    ]
    cache.add({(0, 8): bytes(32), (5, 0): bytes(32)})
    assert cache.get(0, 8) is None
    assert cache.get(5, 0) == bytes(32)
    cache.add({(4, i): bytes(32) for i in range(4)})  # 12 nodes: level 1 goes too
    assert cache.get(1, 0) is None
    assert cache.get(2, 0) == nodes[2, 0]
    assert cache.get(4, 3) == bytes(32)


def test_next_tree_head_writes_nothing(store: Store) -> None:
    chain = Chain(store)
    chain.commit(5)
    before = snapshot(store)
    txs = chain.next_transactions(9)
    memory = MerkleTree()
    for tx in list(store.iter_transactions()) + list(txs):
        memory.append(tx.canonical)
    assert store.next_tree_head([t.canonical for t in txs]) == (14, memory.root())
    assert snapshot(store) == before


def test_reopen_after_close(store_url: str) -> None:
    with open_store(store_url) as first:
        commits = [Chain(first).commit(n) for n in (4, 9)]
        root = first.tree_root()
    with pytest.raises(StorageError) as info:
        first.head()
    assert info.value.reason == "closed"
    with open_store(store_url) as again:
        assert list(again.blocks()) == [c.block for c in commits]
        assert again.tree_root() == root
        Chain(again).commit(3)
        assert again.tree_size() == 16
        check_store(again)


@pytest.mark.parametrize(
    "url",
    [
        "ledger.db",
        "mysql://localhost/ledger",
        "sqlite://host/ledger.db",
        "sqlite:///",
        "sqlite:///:memory:",
        "sqlite:///ledger.db?mode=ro",
        "sqlite:///some/dir/",
    ],
)
def test_bad_url(url: str) -> None:
    with pytest.raises(StorageError) as info:
        open_store(url)
    assert (info.value.reason, info.value.requirement) == ("bad-url", "BMDX-LED-011")
    assert info.value.remedy


def test_bad_postgres_url_hides_the_password() -> None:
    with pytest.raises(StorageError) as info:
        open_store("postgresql://user:s3cret@127.0.0.1:1/db?bogus_option=1")
    assert info.value.reason == "bad-url"
    assert "s3cret" not in str(info.value)


def test_unreachable_postgres_is_unavailable(network_blocked: list[object]) -> None:
    # libpq connects in C, beneath the socket patch: port 1 on loopback refuses at once.
    with pytest.raises(StorageError) as info:
        open_store("postgresql://user:s3cret@127.0.0.1:1/db?connect_timeout=2")
    assert (info.value.reason, info.value.status) == ("unavailable", 503)
    assert "s3cret" not in str(info.value)


def test_unwritable_sqlite_path_is_unavailable(tmp_path: Path) -> None:
    with pytest.raises(StorageError) as info:
        open_store(f"sqlite:///{tmp_path}/missing/dir/ledger.db")
    assert (info.value.reason, info.value.status) == ("unavailable", 503)


def test_sqlite_is_wal_with_full_sync(tmp_path: Path) -> None:
    path = tmp_path / "ledger.db"
    with open_store(f"sqlite:///{path}") as store:
        Chain(store).commit(1)
        conn = store._conn  # type: ignore[attr-defined]
        assert conn.execute("PRAGMA synchronous").fetchone() == (2,)
    with sqlite3.connect(path) as raw:
        assert raw.execute("PRAGMA journal_mode").fetchone() == ("wal",)


def test_relative_sqlite_url(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    with open_store("sqlite:///sub%20dir.db") as store:
        Chain(store).commit(1)
    assert (tmp_path / "sub dir.db").is_file()


def test_corrupt_or_foreign_sqlite_files(tmp_path: Path) -> None:
    garbage = tmp_path / "garbage.db"
    garbage.write_bytes(b"this is not a database" * 100)
    with pytest.raises(StorageError) as info:
        open_store(f"sqlite:///{garbage}")
    assert (info.value.reason, info.value.status) == ("corrupt", 500)

    foreign = tmp_path / "foreign.db"
    with sqlite3.connect(foreign) as raw:
        raw.execute("CREATE TABLE patients (id INTEGER)")
    raw.close()
    with pytest.raises(StorageError) as info:
        open_store(f"sqlite:///{foreign}")
    assert info.value.reason == "corrupt"

    newer = tmp_path / "newer.db"
    open_store(f"sqlite:///{newer}").close()
    with sqlite3.connect(newer) as raw:
        raw.execute("UPDATE bmdx_meta SET value = '99' WHERE key = 'schema'")
    raw.close()
    with pytest.raises(StorageError) as info:
        open_store(f"sqlite:///{newer}")
    assert info.value.reason == "version"


def test_check_store_names_tampering(tmp_path: Path) -> None:
    path = tmp_path / "ledger.db"
    with open_store(f"sqlite:///{path}") as store:
        chain = Chain(store)
        for n in (3, 4, 5):
            chain.commit(n)
        check_store(store)
    with sqlite3.connect(path) as raw:
        raw.execute("UPDATE merkle_nodes SET hash = zeroblob(32) WHERE level = 1 AND idx = 2")
    raw.close()
    with open_store(f"sqlite:///{path}") as store, pytest.raises(StorageError) as info:
        check_store(store)
    assert (info.value.reason, info.value.requirement) == ("corrupt", "BMDX-LED-003")
    assert "block 1" in info.value.message

    with sqlite3.connect(path) as raw:
        raw.execute("DELETE FROM merkle_nodes WHERE level = 0 AND idx = 1")
    raw.close()
    with open_store(f"sqlite:///{path}") as store, pytest.raises(StorageError) as info:
        store.inclusion_proof(0, 12)
    assert (info.value.reason, info.value.status) == ("corrupt", 500)
    assert "(0, 1)" in info.value.message

    with sqlite3.connect(path) as raw:
        raw.execute("UPDATE transactions SET canonical = X'7B7D' WHERE leaf_index = 4")
    raw.close()
    with open_store(f"sqlite:///{path}") as store, pytest.raises(StorageError) as info:
        store.transaction(4)
    assert info.value.reason == "corrupt"
