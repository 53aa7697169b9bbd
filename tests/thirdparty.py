"""Where the third-party data sets live, and what happens when they are missing.

The sets (Wycheproof, JCS, FHIR, Synthea, XML attacks, EPCIS) are read in place from
``BMDX_THIRD_PARTY_DATA`` (default: ``../shared/data`` beside the repository root) and
never copied into the repository; see that folder's SOURCES.md for provenance.  Outside
CI a missing set skips the tests that need it, saying how to get it; under ``CI=true``
a missing set, or a set that yields no vectors, fails.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parent.parent


def under_ci() -> bool:
    return os.environ.get("CI", "").lower() in {"1", "true", "yes"}


def data_root() -> Path:
    configured = os.environ.get("BMDX_THIRD_PARTY_DATA")
    if configured:
        return Path(configured).resolve()
    return (REPO_ROOT.parent / "shared" / "data").resolve()


def dataset(name: str) -> Path:
    """The folder of one data set; skip (or fail under CI) when it is absent."""
    path = data_root() / name
    if not path.is_dir():
        message = (
            f"third-party data set {name!r} not found at {path}; set BMDX_THIRD_PARTY_DATA "
            "to the folder holding the sets listed in SOURCES.md"
        )
        if under_ci():
            pytest.fail(message)
        pytest.skip(message)
    return path


def files(name: str, pattern: str) -> list[Path]:
    """Files of a data set matching ``pattern``; an empty match is an error under CI."""
    found = sorted(dataset(name).glob(pattern))
    if not found:
        message = f"no files match {pattern!r} in data set {name!r}"
        if under_ci():
            pytest.fail(message)
        pytest.skip(message)
    return found


def require_vectors(count: int, what: str) -> None:
    """A run that executed zero vectors proves nothing: fail it."""
    if count == 0:
        pytest.fail(f"zero {what} vectors were run")
