"""The embedded default store: one SQLite file in WAL mode with ``synchronous=FULL``.

WAL lets readers (API handlers, a verifier) run while a block is being written;
``synchronous=FULL`` makes a commit durable once it returns, power loss included.  Each
block is one ``BEGIN IMMEDIATE`` transaction: the write lock is taken before the head is
read, so two processes committing the same height are serialised and the second one
sees the first one's block.  Both settings are read back after being set, because
SQLite silently keeps another journal mode when it cannot switch (e.g. on a network
file system).

Writes go through one connection behind a lock.  Reads do not: each thread reading
gets a connection of its own (``query_only``), so a SELECT never waits behind a block
being committed and fsynced, nor behind another thread's read.  Every read statement
runs in autocommit and sees the last committed block.  The head, read several times per
API request, is cached per reading connection and re-read only when ``PRAGMA
data_version`` says another connection (this process's writer or another process)
committed since.
"""

from __future__ import annotations

import sqlite3
import threading
import weakref
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from bmdx.reference._internal.errors import StorageError
from bmdx.reference._internal.storage._sql import (
    SCHEMA_VERSION,
    STREAM_BATCH,
    Row,
    SqlStore,
    check_schema_version,
    corrupt,
    schema_statements,
)
from bmdx.reference._internal.storage.base import BlockRecord

__all__ = ["SqliteStore"]

SYNCHRONOUS_FULL = 2


class _Cursor:
    def __init__(self, conn: sqlite3.Connection) -> None:
        self._conn = conn

    def execute(self, sql: str, params: Sequence[Any] = ()) -> int:
        return self._conn.execute(sql, params).rowcount

    def executemany(self, sql: str, rows: Sequence[Sequence[Any]]) -> None:
        if rows:
            self._conn.executemany(sql, rows)

    def fetchone(self, sql: str, params: Sequence[Any] = ()) -> Row | None:
        row: Row | None = self._conn.execute(sql, params).fetchone()
        return row


def _wrap(exc: sqlite3.Error, url: str) -> StorageError:
    """SQLite's own failures, as the store's typed reasons."""
    if isinstance(exc, sqlite3.OperationalError):
        return StorageError(
            f"{url}: {exc}",
            reason="unavailable",
            remedy="check that the path exists, is writable, and is not locked by another process",
        )
    if isinstance(exc, sqlite3.ProgrammingError) and "closed" in str(exc):
        return StorageError(f"{url} is closed", reason="closed")
    return corrupt(f"{url}: {exc}")


class SqliteStore(SqlStore):
    """A ledger store in one SQLite database file."""

    integrity_errors = (sqlite3.IntegrityError,)

    def __init__(self, path: str, *, url: str, busy_timeout: float = 30.0) -> None:
        super().__init__()
        self.url = url
        self._path = path
        self._timeout = busy_timeout
        self._lock = threading.RLock()
        self._local = threading.local()
        # Not the writer's lock: a thread's first read must not wait for a commit.
        self._readers_lock = threading.Lock()
        # Weak: a thread's reader (and its connection) goes when the thread ends.
        self._readers: weakref.WeakSet[_Reader] = weakref.WeakSet()
        self._closed = False
        try:
            # Autocommit at the driver level: transactions are begun explicitly below.
            self._conn = sqlite3.connect(
                path, timeout=busy_timeout, isolation_level=None, check_same_thread=False
            )
        except sqlite3.Error as exc:
            raise _wrap(exc, url) from exc
        try:
            self._configure()
            self._create_schema()
        except BaseException:
            self._conn.close()
            raise

    def _configure(self) -> None:
        with self._guard():
            (mode,) = self._conn.execute("PRAGMA journal_mode=WAL").fetchone()
            self._conn.execute("PRAGMA synchronous=FULL")
            (sync,) = self._conn.execute("PRAGMA synchronous").fetchone()
        if str(mode).lower() != "wal" or sync != SYNCHRONOUS_FULL:
            raise StorageError(
                f"{self.url}: SQLite kept journal_mode={mode}, synchronous={sync}; the "
                "store needs WAL with synchronous=FULL for durable commits",
                reason="unavailable",
                remedy="put the database on a local file system",
            )

    def _create_schema(self) -> None:
        with self._write() as cur:
            tables = {
                r[0]
                for r in self._conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")
            }
            found = None
            if "bmdx_meta" in tables:
                row = cur.fetchone("SELECT value FROM bmdx_meta WHERE key = 'schema'")
                found = None if row is None else str(row[0])
                if found is None:
                    raise corrupt(f"{self.url} lacks its storage schema version")
            if check_schema_version(found, bool(tables), self.url):
                for statement in schema_statements("BLOB", "INTEGER"):
                    cur.execute(statement)
                cur.execute(
                    "INSERT INTO bmdx_meta (key, value) VALUES ('schema', ?)", (SCHEMA_VERSION,)
                )

    @contextmanager
    def _guard(self) -> Iterator[None]:
        with self._lock:
            try:
                yield
            except sqlite3.Error as exc:
                raise _wrap(exc, self.url) from exc

    @contextmanager
    def _write(self) -> Iterator[_Cursor]:
        with self._guard():
            self._conn.execute("BEGIN IMMEDIATE")
            try:
                yield _Cursor(self._conn)
            except BaseException:
                self._conn.execute("ROLLBACK")
                raise
            self._conn.execute("COMMIT")

    def _reader(self) -> _Reader:
        """This thread's read connection, opened on first use."""
        reader: _Reader | None = getattr(self._local, "reader", None)
        if reader is not None and not self._closed:
            return reader
        with self._readers_lock:
            if self._closed:
                raise StorageError(f"{self.url} is closed", reason="closed")
            try:
                # Used by this thread only; closed by close(), which may run elsewhere.
                conn = sqlite3.connect(
                    self._path,
                    timeout=self._timeout,
                    isolation_level=None,
                    check_same_thread=False,
                )
                conn.execute("PRAGMA query_only=ON")
            except sqlite3.Error as exc:
                raise _wrap(exc, self.url) from exc
            reader = _Reader(conn)
            self._readers.add(reader)
        self._local.reader = reader
        return reader

    @contextmanager
    def _reading(self) -> Iterator[sqlite3.Connection]:
        conn = self._reader().conn
        try:
            yield conn
        except sqlite3.Error as exc:
            raise _wrap(exc, self.url) from exc

    def _fetchone(self, sql: str, params: Sequence[Any] = ()) -> Row | None:
        with self._reading() as conn:
            row: Row | None = conn.execute(sql, params).fetchone()
            return row

    def _fetchall(self, sql: str, params: Sequence[Any] = ()) -> list[Row]:
        with self._reading() as conn:
            return conn.execute(sql, params).fetchall()

    def head(self) -> BlockRecord | None:
        reader = self._reader()
        with self._reading() as conn:
            (version,) = conn.execute("PRAGMA data_version").fetchone()
        if reader.head_version != version:
            # Read the version first: a commit landing in between re-reads next time.
            reader.head = super().head()
            reader.head_version = version
        return reader.head

    def _stream(self, select: str, key: str, start: int, end: int) -> Iterator[Row]:
        # Keyset pages: no statement stays open between pages, so a commit (or another
        # stream) may run while the caller is still consuming this one.
        query = f"{select} WHERE {key} >= ? AND {key} < ? ORDER BY {key} LIMIT ?"
        while start < end:
            rows = self._fetchall(query, (start, end, STREAM_BATCH))
            if not rows:
                return
            yield from rows
            start = int(rows[-1][0]) + 1

    def close(self) -> None:
        with self._lock, self._readers_lock:
            self._closed = True
            for reader in list(self._readers):
                reader.conn.close()
            self._readers.clear()
            self._conn.close()


class _Reader:
    """One thread's read connection and the head it last read."""

    __slots__ = ("__weakref__", "conn", "head", "head_version")

    def __init__(self, conn: sqlite3.Connection) -> None:
        self.conn = conn
        self.head: BlockRecord | None = None
        self.head_version: int | None = None
