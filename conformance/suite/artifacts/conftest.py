"""Fixtures of the artifacts profile: the exports and documents of ``--artifacts DIR``.

``DIR`` is an export itself (it holds ``manifest.json``) or a folder of exports and
documents: every directory below it holding a ``manifest.json`` is a ledger export,
and every other ``*.json`` or ``*.xml`` file is a document.  On any other kind of run
these fixtures skip, which the report shows as *not observed*.

An artifacts run certifies what was exported, not a node: the fixture declares the
``artifacts`` profile as the target's, so a run without a claim file claims exactly
that profile.  Requirements of other profiles these tests observe (the ledger rules
an export shows, the validity of documents) are reported beside it.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from bmdx.conformance._internal.targets import TARGET_INFO_KEY, Target, TargetInfo
from bmdx.conformance._internal.verifiers.ledger import (
    ExportSummary,
    LedgerFaultError,
    verify_exports,
)

MANIFEST = "manifest.json"


@dataclass(frozen=True)
class Artifacts:
    root: Path
    exports: tuple[Path, ...]
    documents: tuple[Path, ...]


@dataclass(frozen=True)
class ExportVerdict:
    """What the suite's verifier found: the verified exports, or the first fault."""

    exports: tuple[Path, ...]
    summaries: tuple[ExportSummary, ...]
    fault: LedgerFaultError | None


def _walk(root: Path) -> Iterator[Path]:
    for path in sorted(root.iterdir()):
        if path.is_dir() and not path.is_symlink():
            yield from _walk(path)
        elif path.is_file():
            yield path


def find_artifacts(root: Path) -> Artifacts:
    exports = sorted({p.parent for p in _walk(root) if p.name == MANIFEST})
    documents = [
        p
        for p in _walk(root)
        if p.suffix in {".json", ".xml"}
        and not any(e == p.parent or e in p.parents for e in exports)
    ]
    return Artifacts(root, tuple(exports), tuple(documents))


@pytest.fixture(scope="session")
def artifacts(target: Target, pytestconfig: pytest.Config) -> Artifacts:
    if target.kind != "artifacts" or target.artifacts is None:
        pytest.skip("needs an artifacts target (--artifacts DIR)")
    found = find_artifacts(target.artifacts)
    pytestconfig.stash[TARGET_INFO_KEY] = TargetInfo(
        profiles=("artifacts",),
        capabilities={"exports": len(found.exports), "documents": len(found.documents)},
    )
    return found


@pytest.fixture(scope="session")
def export_verdict(artifacts: Artifacts) -> ExportVerdict:
    if not artifacts.exports:
        pytest.skip(f"no ledger export (a directory with {MANIFEST}) in {artifacts.root}")
    try:
        summaries = verify_exports(artifacts.exports)
    except LedgerFaultError as fault:
        return ExportVerdict(artifacts.exports, (), fault)
    return ExportVerdict(artifacts.exports, tuple(summaries), None)


@pytest.fixture(scope="session")
def documents(artifacts: Artifacts) -> tuple[Path, ...]:
    if not artifacts.documents:
        pytest.skip(f"no document (*.json, *.xml outside exports) in {artifacts.root}")
    return artifacts.documents
