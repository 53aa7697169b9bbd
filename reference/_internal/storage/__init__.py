"""The ledger's storage: one small interface, an SQLite and a PostgreSQL backend.

``open_store(url)`` picks the backend from the URL:

``sqlite:///relative/path.db``, ``sqlite:////absolute/path.db``
    the embedded default (the path is what follows the third slash, as in SQLAlchemy;
    percent-escapes are decoded).  The file is created when missing.
``postgresql://user:password@host:port/database`` (or ``postgres://``)
    the scale-out store; any libpq parameter may follow as a query string.

The schema is created on first open.  See :mod:`.base` for what is stored and the
invariants every backend keeps.
"""

from __future__ import annotations

from urllib.parse import unquote

from bmdx.reference._internal.errors import StorageError
from bmdx.reference._internal.storage._sql import redact_url
from bmdx.reference._internal.storage.base import (
    BlockCommit,
    BlockRecord,
    KeyRecord,
    KeyRetirement,
    NewTransaction,
    ObjectConsumption,
    ObjectCreation,
    ObjectRecord,
    ObjectState,
    ParticipantRecord,
    Store,
    StoredTransaction,
    StoreStats,
    ValidatorSetRecord,
    digest_id,
)
from bmdx.reference._internal.storage.check import check_store

__all__ = [
    "BlockCommit",
    "BlockRecord",
    "KeyRecord",
    "KeyRetirement",
    "NewTransaction",
    "ObjectConsumption",
    "ObjectCreation",
    "ObjectRecord",
    "ObjectState",
    "ParticipantRecord",
    "Store",
    "StoreStats",
    "StoredTransaction",
    "ValidatorSetRecord",
    "check_store",
    "digest_id",
    "open_store",
]

_REMEDY = (
    "use sqlite:///relative/path.db, sqlite:////absolute/path.db or "
    "postgresql://user:password@host:port/database"
)


def _bad_url(url: str, why: str) -> StorageError:
    return StorageError(f"{redact_url(url)}: {why}", reason="bad-url", remedy=_REMEDY)


def open_store(url: str) -> Store:
    """Open (creating if needed) the ledger store named by ``url``."""
    scheme, sep, rest = url.partition("://")
    if not sep:
        raise _bad_url(url, "not a store URL")
    scheme = scheme.lower()
    if scheme == "sqlite":
        if not rest.startswith("/"):
            raise _bad_url(url, "an SQLite URL names no host: write sqlite:///path")
        if "?" in rest or "#" in rest:
            raise _bad_url(url, "an SQLite URL takes no query or fragment")
        path = unquote(rest[1:])
        if not path or path == ":memory:" or path.endswith("/"):
            raise _bad_url(url, "an SQLite URL needs a file path (the store must be durable)")
        from bmdx.reference._internal.storage.sqlite import SqliteStore  # noqa: PLC0415

        return SqliteStore(path, url=url)
    if scheme in {"postgresql", "postgres"}:
        from bmdx.reference._internal.storage.postgres import PostgresStore  # noqa: PLC0415

        return PostgresStore(url)
    raise _bad_url(url, f"unknown store scheme {scheme!r}")
