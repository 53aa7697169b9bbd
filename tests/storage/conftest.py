"""One ``store`` fixture, parametrised over every backend.

SQLite gets a fresh file in ``tmp_path``.  PostgreSQL needs a server: its URL comes
from ``BMDX_TEST_POSTGRES_URL`` (``eval "$(tools/ci/postgres.sh)"`` starts one and sets
it); each test gets a schema of its own, dropped afterwards.  Without the variable the
PostgreSQL cases are skipped, saying how to get a server, except under ``CI=true``,
where they fail.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

from bmdx.reference._internal.storage import Store, open_store
from tests.thirdparty import under_ci

POSTGRES_ENV = "BMDX_TEST_POSTGRES_URL"
BACKENDS = ["sqlite", "postgres"]


def postgres_base_url() -> str:
    url = os.environ.get(POSTGRES_ENV)
    if not url:
        message = (
            f"{POSTGRES_ENV} is not set; start a server with "
            '`eval "$(tools/ci/postgres.sh)"` to run the PostgreSQL storage tests'
        )
        if under_ci():
            pytest.fail(message)
        pytest.skip(message)
    return url


@pytest.fixture
def postgres_url() -> Iterator[str]:
    """A URL whose search_path is a fresh, empty schema."""
    base = postgres_base_url()
    schema = f"t_{uuid.uuid4().hex}"
    with psycopg.connect(base, autocommit=True) as admin:
        admin.execute(f"CREATE SCHEMA {schema}")
    try:
        yield f"{base}{'&' if '?' in base else '?'}options=-csearch_path%3D{schema}"
    finally:
        with psycopg.connect(base, autocommit=True) as admin:
            admin.execute(f"DROP SCHEMA {schema} CASCADE")


@pytest.fixture(params=BACKENDS)
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'ledger.db'}"
    url: str = request.getfixturevalue("postgres_url")
    return url


@pytest.fixture
def store(store_url: str) -> Iterator[Store]:
    with open_store(store_url) as opened:
        yield opened
