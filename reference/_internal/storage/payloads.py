"""The off-chain payload store: record ciphertexts by content address, beside the ledger.

The ledger holds a record's header and its salted commitment; the JWE itself, and the
salt that opens the commitment to the record's recipients, live here, addressed by the
header's ``payload.location`` (``sha-256:`` of the JWE's RFC 8785 bytes).  They live in
the same database as the ledger (a ``bmdx_payloads`` table, SQLite or PostgreSQL) so
that one backup holds both, but in their own table with their own connection: a
payload is written before its anchor is pooled and deleted outright on erasure, which
the append-only ledger tables never allow.

Erasure is crypto-shredding: :meth:`PayloadStore.destroy` deletes the row (the wrapped
content keys, the ciphertext and the salt together) and returns how many wraps it
held; what remains of the record is its commitment on the ledger.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, Protocol
from urllib.parse import unquote

from bmdx.reference._internal.errors import StorageError

__all__ = ["PayloadStore", "StoredPayload", "open_payload_store"]

_CREATE = (
    "CREATE TABLE IF NOT EXISTS bmdx_payloads ("
    " location TEXT PRIMARY KEY,"
    " record_id TEXT NOT NULL UNIQUE,"
    " jwe {blob} NOT NULL,"
    " salt {blob} NOT NULL,"
    " wraps INTEGER NOT NULL)"
)


@dataclass(frozen=True, slots=True)
class StoredPayload:
    """One record's off-chain part: its JWE (canonical bytes) and commitment salt."""

    location: str
    record_id: str
    jwe: bytes
    salt: bytes
    wraps: int


class PayloadStore(Protocol):
    """Content-addressed JWE storage; every failure is a :class:`StorageError`."""

    def put(self, payload: StoredPayload) -> None:
        """Store ``payload``; ``conflict`` when its location or record is already stored."""
        ...

    def get(self, location: str) -> StoredPayload | None: ...

    def destroy(self, location: str) -> int:
        """Delete the payload (wraps, ciphertext, salt); the number of wraps it held."""
        ...

    def close(self) -> None: ...


def _row(row: Any) -> StoredPayload:
    return StoredPayload(str(row[0]), str(row[1]), bytes(row[2]), bytes(row[3]), int(row[4]))


class _SqlitePayloads:
    def __init__(self, path: str, url: str) -> None:
        self.url = url
        self._lock = threading.Lock()
        try:
            self._conn = sqlite3.connect(
                path, timeout=30.0, isolation_level=None, check_same_thread=False
            )
            self._conn.execute("PRAGMA journal_mode=WAL")
            self._conn.execute("PRAGMA synchronous=FULL")
            self._conn.execute(_CREATE.format(blob="BLOB"))
        except sqlite3.Error as exc:
            raise StorageError(f"{url}: {exc}", reason="unavailable") from exc

    @contextmanager
    def _guard(self) -> Iterator[sqlite3.Connection]:
        with self._lock:
            try:
                yield self._conn
            except sqlite3.IntegrityError as exc:
                raise StorageError(
                    "a payload with this location or record is already stored", reason="conflict"
                ) from exc
            except sqlite3.Error as exc:
                raise StorageError(f"{self.url}: {exc}", reason="unavailable") from exc

    def put(self, payload: StoredPayload) -> None:
        with self._guard() as conn:
            conn.execute(
                "INSERT INTO bmdx_payloads (location, record_id, jwe, salt, wraps)"
                " VALUES (?, ?, ?, ?, ?)",
                (payload.location, payload.record_id, payload.jwe, payload.salt, payload.wraps),
            )

    def get(self, location: str) -> StoredPayload | None:
        with self._guard() as conn:
            row = conn.execute(
                "SELECT location, record_id, jwe, salt, wraps FROM bmdx_payloads"
                " WHERE location = ?",
                (location,),
            ).fetchone()
        return None if row is None else _row(row)

    def destroy(self, location: str) -> int:
        with self._guard() as conn:
            conn.execute("BEGIN IMMEDIATE")
            try:
                row = conn.execute(
                    "SELECT wraps FROM bmdx_payloads WHERE location = ?", (location,)
                ).fetchone()
                conn.execute("DELETE FROM bmdx_payloads WHERE location = ?", (location,))
            except BaseException:
                conn.execute("ROLLBACK")
                raise
            conn.execute("COMMIT")
        return 0 if row is None else int(row[0])

    def close(self) -> None:
        with self._lock:
            self._conn.close()


class _PostgresPayloads:
    def __init__(self, url: str) -> None:
        import psycopg  # noqa: PLC0415 (only PostgreSQL deployments need the driver)

        self.url = url
        self._psycopg = psycopg
        self._lock = threading.Lock()
        try:
            self._conn = psycopg.connect(url, autocommit=True, connect_timeout=10)
            self._conn.execute(_CREATE.format(blob="BYTEA"))
        except psycopg.Error as exc:
            raise StorageError("the payload database is unreachable", reason="unavailable") from exc

    @contextmanager
    def _guard(self) -> Iterator[Any]:
        with self._lock:
            try:
                yield self._conn
            except self._psycopg.errors.UniqueViolation as exc:
                raise StorageError(
                    "a payload with this location or record is already stored", reason="conflict"
                ) from exc
            except self._psycopg.Error as exc:
                raise StorageError("the payload database failed", reason="unavailable") from exc

    def put(self, payload: StoredPayload) -> None:
        with self._guard() as conn:
            conn.execute(
                "INSERT INTO bmdx_payloads (location, record_id, jwe, salt, wraps)"
                " VALUES (%s, %s, %s, %s, %s)",
                (payload.location, payload.record_id, payload.jwe, payload.salt, payload.wraps),
            )

    def get(self, location: str) -> StoredPayload | None:
        with self._guard() as conn:
            row = conn.execute(
                "SELECT location, record_id, jwe, salt, wraps FROM bmdx_payloads"
                " WHERE location = %s",
                (location,),
            ).fetchone()
        return None if row is None else _row(row)

    def destroy(self, location: str) -> int:
        with self._guard() as conn, conn.transaction():
            row = conn.execute(
                "DELETE FROM bmdx_payloads WHERE location = %s RETURNING wraps", (location,)
            ).fetchone()
        return 0 if row is None else int(row[0])

    def close(self) -> None:
        with self._lock:
            self._conn.close()


def open_payload_store(url: str) -> PayloadStore:
    """The payload store in the database of the ledger store ``url`` (see :func:`open_store`)."""
    scheme, _, rest = url.partition("://")
    if scheme.lower() == "sqlite" and rest.startswith("/"):
        return _SqlitePayloads(unquote(rest[1:]), url)
    if scheme.lower() in {"postgresql", "postgres"}:
        return _PostgresPayloads(url)
    raise StorageError(f"no payload store for {scheme!r} URLs", reason="bad-url")
