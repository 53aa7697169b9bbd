"""The scale-out store: PostgreSQL through psycopg 3, shared by several API processes.

A block is one transaction that first takes ``SHARE ROW EXCLUSIVE`` on ``blocks``: the
lock conflicts with itself and with every writer but not with plain reads, so
committers queue while readers carry on, and the head each committer reads is still
the head when it inserts.  Two processes committing the same height therefore cannot
both succeed: the second one sees the first one's block and is refused with
``conflict``, and the primary key on ``height`` backs that up should the lock ever be
bypassed.  Streaming reads use a server-side cursor on a connection of their own, in a
read-only repeatable-read transaction: one consistent snapshot, a bounded number of
rows in memory, and the store's main connection stays free for commits.

The tables live in the first schema of the connection's ``search_path`` (select one
with ``?options=-csearch_path%3Dname`` in the URL).
"""

from __future__ import annotations

import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import psycopg
from psycopg import errors as pg_errors
from psycopg.conninfo import conninfo_to_dict, make_conninfo

from bmdx.reference._internal.errors import StorageError
from bmdx.reference._internal.storage._sql import (
    SCHEMA_VERSION,
    STREAM_BATCH,
    Row,
    SqlStore,
    check_schema_version,
    corrupt,
    redact_url,
    schema_statements,
)

__all__ = ["PostgresStore"]

CONNECT_TIMEOUT_SECONDS = 10


def _dialect(sql: str) -> str:
    return sql.replace("?", "%s")


class _Cursor:
    def __init__(self, conn: psycopg.Connection[Row]) -> None:
        self._conn = conn

    def execute(self, sql: str, params: Sequence[Any] = ()) -> int:
        return self._conn.execute(_dialect(sql), params).rowcount

    def executemany(self, sql: str, rows: Sequence[Sequence[Any]]) -> None:
        if rows:
            with self._conn.cursor() as cur:
                cur.executemany(_dialect(sql), rows)

    def fetchone(self, sql: str, params: Sequence[Any] = ()) -> Row | None:
        return self._conn.execute(_dialect(sql), params).fetchone()


class PostgresStore(SqlStore):
    """A ledger store in a PostgreSQL database (or one schema of it)."""

    integrity_errors = (pg_errors.IntegrityError,)

    def __init__(self, url: str) -> None:
        super().__init__()
        self.url = redact_url(url)
        try:
            given = conninfo_to_dict(url)
        except psycopg.Error as exc:
            raise StorageError(
                f"{self.url} is not a valid PostgreSQL URL: {exc}", reason="bad-url"
            ) from exc
        timeout = given.get("connect_timeout", CONNECT_TIMEOUT_SECONDS)
        self._conninfo = make_conninfo(url, connect_timeout=timeout)
        self._lock = threading.RLock()
        self._conn = self._connect(autocommit=True)
        try:
            self._create_schema()
        except BaseException:
            self._conn.close()
            raise

    def _connect(self, *, autocommit: bool) -> psycopg.Connection[Row]:
        try:
            return psycopg.connect(self._conninfo, autocommit=autocommit)
        except psycopg.ProgrammingError as exc:
            raise StorageError(f"{self.url}: {exc}", reason="bad-url") from exc
        except psycopg.Error as exc:
            raise self._wrap(exc) from exc

    def _wrap(self, exc: psycopg.Error) -> StorageError:
        if isinstance(exc, psycopg.OperationalError | psycopg.InterfaceError):
            if self._conn_closed():
                return StorageError(f"{self.url} is closed", reason="closed")
            return StorageError(
                f"{self.url}: {exc}",
                reason="unavailable",
                remedy="check that the PostgreSQL server is running and the URL is right",
            )
        return corrupt(f"{self.url}: {exc}")

    def _conn_closed(self) -> bool:
        conn = getattr(self, "_conn", None)
        return conn is not None and conn.closed

    def _create_schema(self) -> None:
        with self._guard(), self._conn.transaction():
            conn = self._conn
            row = conn.execute("SELECT current_schema()").fetchone()
            if row is None or row[0] is None:
                raise StorageError(
                    f"{self.url}: no schema of the search_path exists", reason="bad-url"
                )
            # Concurrent first opens would otherwise race on CREATE TABLE.
            conn.execute("SELECT pg_advisory_xact_lock(hashtext('bmdx:' || current_schema()))")
            tables = {
                r[0]
                for r in conn.execute(
                    "SELECT table_name FROM information_schema.tables "
                    "WHERE table_schema = current_schema()"
                )
            }
            found = None
            if "bmdx_meta" in tables:
                meta = conn.execute("SELECT value FROM bmdx_meta WHERE key = 'schema'").fetchone()
                if meta is None:
                    raise corrupt(f"{self.url} lacks its storage schema version")
                found = str(meta[0])
            if check_schema_version(found, bool(tables), self.url):
                for statement in schema_statements("BYTEA", "BIGINT"):
                    conn.execute(_dialect(statement))
                conn.execute(
                    "INSERT INTO bmdx_meta (key, value) VALUES ('schema', %s)", (SCHEMA_VERSION,)
                )

    def _check_open(self) -> None:
        if self._conn.closed:
            raise StorageError(f"{self.url} is closed", reason="closed")

    @contextmanager
    def _guard(self) -> Iterator[None]:
        with self._lock:
            self._check_open()
            try:
                yield
            except psycopg.Error as exc:
                raise self._wrap(exc) from exc

    @contextmanager
    def _write(self) -> Iterator[_Cursor]:
        with self._guard(), self._conn.transaction():
            self._conn.execute("LOCK TABLE blocks IN SHARE ROW EXCLUSIVE MODE")
            yield _Cursor(self._conn)

    def _fetchone(self, sql: str, params: Sequence[Any] = ()) -> Row | None:
        with self._guard():
            return self._conn.execute(_dialect(sql), params).fetchone()

    def _fetchall(self, sql: str, params: Sequence[Any] = ()) -> list[Row]:
        with self._guard():
            return self._conn.execute(_dialect(sql), params).fetchall()

    def _stream(self, select: str, key: str, start: int, end: int) -> Iterator[Row]:
        self._check_open()
        conn = self._connect(autocommit=False)
        try:
            conn.read_only = True
            conn.isolation_level = psycopg.IsolationLevel.REPEATABLE_READ
            with conn.cursor(name="bmdx_stream") as cur:
                cur.itersize = STREAM_BATCH
                cur.execute(
                    _dialect(f"{select} WHERE {key} >= ? AND {key} < ? ORDER BY {key}"),
                    (start, end),
                )
                yield from cur
        except psycopg.Error as exc:
            raise self._wrap(exc) from exc
        finally:
            conn.close()

    def close(self) -> None:
        with self._lock:
            self._conn.close()
