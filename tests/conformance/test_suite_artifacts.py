"""`bmdx-conformance run --artifacts`: a populated reference ledger's export certifies.

The reference exports a ledger with `bmdx ledger populate` and `bmdx ledger export`;
the suite, as a separate program, certifies the export offline.  A tampered copy must
make the run fail on the requirement the tamper breaks.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from bmdx.conformance.suite.artifacts._tamper import TAMPERS

ARTIFACTS_MUSTS = {"BMDX-LED-040", "BMDX-LED-041", "BMDX-LED-045"}


def _cli(*args: str, module: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", module, *args],
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )


@pytest.fixture(scope="module")
def export(tmp_path_factory: pytest.TempPathFactory) -> Path:
    work = tmp_path_factory.mktemp("ledger")
    db = f"sqlite:///{work / 'l.db'}"
    populated = _cli(
        "ledger", "populate", "--db", db, "--transactions", "300", "--keys-dir", str(work / "K"),
        module="bmdx.reference",
    )  # fmt: skip
    assert populated.returncode == 0, populated.stderr
    out = work / "export"
    exported = _cli(
        "ledger", "export", db, str(out), "--keys-dir", str(work / "K"), module="bmdx.reference"
    )
    assert exported.returncode == 0, exported.stderr
    return out


def _run(artifacts: Path, report_dir: Path) -> tuple[int, dict[str, Any]]:
    done = _cli(
        "run", "--artifacts", str(artifacts), "--report-dir", str(report_dir),
        "--seed", "11", "--no-progress",
        module="bmdx.conformance",
    )  # fmt: skip
    report = json.loads((report_dir / "report.json").read_bytes())
    return done.returncode, report


def _verdicts(report: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {r["id"]: r for r in report["requirements"]}


def test_the_export_of_a_populated_ledger_certifies(export: Path, tmp_path: Path) -> None:
    code, report = _run(export, tmp_path / "report")
    assert code == 0, report["summary"]
    verdicts = _verdicts(report)
    claimed = {i for i, r in verdicts.items() if r["claim"] == "claimed"}
    assert claimed == ARTIFACTS_MUSTS
    assert {verdicts[i]["verdict"] for i in claimed} == {"pass"}
    # The ledger rules an export shows are observed too, and pass.
    for rid in ("BMDX-LED-003", "BMDX-LED-013", "BMDX-LED-021", "BMDX-LED-043", "BMDX-LED-044"):
        assert verdicts[rid]["verdict"] == "pass", rid
    assert report["suiteErrors"] == []
    # Every self-check ran and passed: the verifier caught each tamper of this export.
    self_checks = [t for t in report["tests"] if "test_verifier_names_the_tamper" in t["nodeid"]]
    assert len(self_checks) == len(TAMPERS)
    assert {t["outcome"] for t in self_checks} == {"passed"}


def test_a_tampered_export_fails_on_the_claimed_requirement(export: Path, tmp_path: Path) -> None:
    flipped = next(t for t in TAMPERS if t.name == "flip-a-byte")
    broken = flipped.make(export, tmp_path / "broken")
    code, report = _run(broken, tmp_path / "report")
    assert code == 1
    verdict = _verdicts(report)["BMDX-LED-045"]
    assert (verdict["verdict"], verdict["claimFailure"]) == ("fail", True)
    assert report["summary"]["result"] == "not-conformant"
    # The self-checks cannot run on an export that does not verify; they are skipped.
    self_checks = [t for t in report["tests"] if "test_verifier_names_the_tamper" in t["nodeid"]]
    assert {t["outcome"] for t in self_checks} == {"skipped"}
