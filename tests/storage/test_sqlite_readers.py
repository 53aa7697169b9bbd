"""SQLite reads run on per-thread connections: never behind a commit, always current."""

from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from bmdx.reference._internal.errors import StorageError
from bmdx.reference._internal.storage import open_store
from bmdx.reference._internal.storage.sqlite import SqliteStore
from tests.storage.chain import Chain

BOUND_SECONDS = 20.0  # a bound on a hang, not a wait: every step below is immediate


def _in_thread(work: Callable[[], Any]) -> Any:
    """``work()`` in a fresh thread; its result, or its exception re-raised."""
    out: dict[str, Any] = {}

    def run() -> None:
        try:
            out["value"] = work()
        except BaseException as e:  # noqa: BLE001 - handed back to the test
            out["error"] = e

    thread = threading.Thread(target=run)
    thread.start()
    thread.join(BOUND_SECONDS)
    assert not thread.is_alive(), "the read waited for the open write transaction"
    if "error" in out:
        raise out["error"]
    return out["value"]


def _sqlite(tmp_path: Path) -> SqliteStore:
    store = open_store(f"sqlite:///{tmp_path / 'ledger.db'}")
    assert isinstance(store, SqliteStore)
    return store


def test_reads_do_not_wait_for_an_open_write_transaction(tmp_path: Path) -> None:
    with _sqlite(tmp_path) as store:
        chain = Chain(store)
        chain.commit(3)
        chain.commit(2)
        head = store.head()
        assert head is not None
        holding, release = threading.Event(), threading.Event()

        def writer() -> None:
            with store._write() as cur:  # the write lock and BEGIN IMMEDIATE, as a commit
                cur.execute("INSERT INTO bmdx_meta (key, value) VALUES ('probe', 'x')")
                holding.set()
                release.wait(BOUND_SECONDS)

        thread = threading.Thread(target=writer)
        thread.start()
        try:
            assert holding.wait(BOUND_SECONDS)
            seen = _in_thread(
                lambda: (store.head(), store.tree_size(), len(list(store.iter_transactions())))
            )
            assert seen == (head, 5, 5)
        finally:
            release.set()
            thread.join(BOUND_SECONDS)
        assert store._fetchone("SELECT value FROM bmdx_meta WHERE key = 'probe'") == ("x",)


def test_the_head_follows_commits_of_other_connections(tmp_path: Path) -> None:
    with _sqlite(tmp_path) as reader, _sqlite(tmp_path) as writer:
        chain = Chain(writer)
        first = chain.commit(2)
        assert reader.head() == first.block
        assert _in_thread(reader.head) == first.block
        second = chain.commit(1)
        assert reader.head() == second.block
        assert _in_thread(reader.head) == second.block
        assert reader.tree_size() == 3


def test_closing_ends_every_threads_reads(tmp_path: Path) -> None:
    store = _sqlite(tmp_path)
    Chain(store).commit(1)
    started, go = threading.Event(), threading.Event()
    out: list[Any] = []

    def reader() -> None:
        out.append(store.head())
        started.set()
        go.wait(BOUND_SECONDS)
        try:
            store.head()
        except StorageError as e:
            out.append(e.reason)

    thread = threading.Thread(target=reader)
    thread.start()
    assert started.wait(BOUND_SECONDS)
    store.close()
    go.set()
    thread.join(BOUND_SECONDS)
    assert out[1:] == ["closed"]
    with pytest.raises(StorageError) as info:
        store.block(0)
    assert info.value.reason == "closed"
