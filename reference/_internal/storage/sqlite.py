"""The embedded default store: one SQLite file in WAL mode with ``synchronous=FULL``.

WAL lets readers (API handlers, a verifier) run while a block is being written;
``synchronous=FULL`` makes a commit durable once it returns, power loss included.  Each
block is one ``BEGIN IMMEDIATE`` transaction: the write lock is taken before the head is
read, so two processes committing the same height are serialised and the second one
sees the first one's block.  Both settings are read back after being set, because
SQLite silently keeps another journal mode when it cannot switch (e.g. on a network
file system).
"""

from __future__ import annotations

import sqlite3
import threading
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
        self.url = url
        self._lock = threading.RLock()
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

    def _fetchone(self, sql: str, params: Sequence[Any] = ()) -> Row | None:
        with self._guard():
            row: Row | None = self._conn.execute(sql, params).fetchone()
            return row

    def _fetchall(self, sql: str, params: Sequence[Any] = ()) -> list[Row]:
        with self._guard():
            return self._conn.execute(sql, params).fetchall()

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
        with self._lock:
            self._conn.close()
