"""The suite certifies the embedded reference node over HTTP, and its reports keep no key.

``bmdx-conformance run`` without a target starts ``bmdx node serve --dev`` on a
temporary store, signs as the development participants it wrote to its credentials
file, and must find no failure.  The six report files are then scanned for the private
key material of those participants.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

REPORT_FILES = (
    "report.json",
    "junit.xml",
    "report.html",
    "summary.md",
    "badge.svg",
    "certificate.jws",
)
PRIVATE_MEMBERS = ("d", "p", "q", "dp", "dq", "qi", "k")


def _private_values(credentials: dict[str, object]) -> set[str]:
    entries = [*credentials.get("participants", []), credentials.get("governance")]  # type: ignore[list-item]
    found: set[str] = set()
    for entry in entries:
        if isinstance(entry, dict):
            key = entry.get("jwk", {})
            found.update(v for k, v in key.items() if k in PRIVATE_MEMBERS and isinstance(v, str))
    return found


def test_embedded_reference_is_certified(tmp_path: Path) -> None:
    """Exit 0, no failed requirement, no suite error, every HTTP test passed."""
    program = shutil.which("bmdx-conformance")
    if program is None or shutil.which("bmdx") is None:
        pytest.fail("bmdx and bmdx-conformance must be installed (pip install -e .)")
    report_dir = tmp_path / "report"
    result = subprocess.run(
        [program, "run", "--report-dir", str(report_dir), "--seed", "1"],
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
        cwd=tmp_path,
    )
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-4000:]
    report = json.loads((report_dir / "report.json").read_text(encoding="utf-8"))
    failed = [r["id"] for r in report["requirements"] if r["verdict"] == "fail"]
    assert failed == []
    assert report["suiteErrors"] == []
    http_tests = [t for t in report["tests"] if t["nodeid"].startswith("exchange_api/")]
    assert http_tests, "no HTTP test ran"
    assert all(t["outcome"] == "passed" for t in http_tests)


def test_reports_keep_no_private_key(tmp_path: Path) -> None:
    """The development node's private keys never reach any of the six report files."""
    program = shutil.which("bmdx-conformance")
    node = shutil.which("bmdx")
    if program is None or node is None:
        pytest.fail("bmdx and bmdx-conformance must be installed (pip install -e .)")
    # The same seed derives the same development keys: serve once to learn them.
    credentials_file = tmp_path / "credentials.json"
    serve = subprocess.Popen(
        [
            node, "node", "serve", "--dev", "--port", "0",
            "--db", f"sqlite:///{tmp_path / 'keys.db'}",
            "--credentials-out", str(credentials_file),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
    )  # fmt: skip
    with serve:
        try:
            assert serve.stdout is not None
            serve.stdout.readline()
        finally:
            serve.terminate()
            serve.wait(timeout=30)
    secrets = _private_values(json.loads(credentials_file.read_text(encoding="utf-8")))
    assert len(secrets) >= 5
    report_dir = tmp_path / "report"
    subprocess.run(
        [program, "run", "--report-dir", str(report_dir), "--seed", "2",
         "--test", "security/test_http_signatures.py", "--test", "exchange_api/test_interface.py"],
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
        cwd=tmp_path,
    )  # fmt: skip
    for name in REPORT_FILES:
        text = (report_dir / name).read_text(encoding="utf-8")
        leaked = [s[:4] for s in secrets if s in text]
        assert leaked == [], f"{name} holds private key material"
