"""The conformance suite's adapter, core-format, security and Merkle tests, run against
``bmdx adapter``: the reference must pass its own standard through the black-box door.

The suite is run by ``pytest.main`` with a small plugin that puts the adapter target in
``config.stash[TARGET_KEY]``, exactly what the suite's runner does for ``--adapter``.
"""

from __future__ import annotations

import shutil
import sys
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from bmdx.conformance._internal.targets import TARGET_KEY, Target

SUITE = Path(__file__).resolve().parents[2] / "conformance" / "suite"
ADAPTER = (sys.executable, "-m", "bmdx.reference", "adapter")


@dataclass
class _Outcomes:
    target: Target
    passed: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)

    @pytest.hookimpl(tryfirst=True)
    def pytest_configure(self, config: pytest.Config) -> None:
        config.stash[TARGET_KEY] = self.target

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        if report.failed:
            self.failed.append(f"{report.nodeid} ({report.when})")
        elif report.skipped:
            self.skipped.append(report.nodeid)
        elif report.when == "call":
            self.passed.append(report.nodeid)


def _run(*paths: str, extra: tuple[str, ...] = ()) -> _Outcomes:
    outcomes = _Outcomes(Target(kind="adapter", adapter_command=ADAPTER))
    args = [
        *(str(SUITE / p) for p in paths),
        "--import-mode=importlib",
        "-p",
        "no:cacheprovider",
        "-q",
        "--no-header",
        *extra,
    ]
    pytest.main(args, plugins=[outcomes])
    return outcomes


@pytest.mark.slow
@pytest.mark.parametrize(
    ("paths", "minimum"),
    [
        pytest.param(("adapter",), 30, id="adapter"),
        pytest.param(("core_format",), 150, id="core-format"),
        pytest.param(
            ("security/test_signatures.py", "security/test_encryption.py"), 100, id="security"
        ),
        pytest.param(("ledger/test_merkle_vectors.py",), 4000, id="merkle"),
    ],
)
def test_reference_passes_the_suite(paths: tuple[str, ...], minimum: int) -> None:
    outcomes = _run(*paths)
    assert outcomes.failed == []
    # The reference implements every command, so an adapter run observes every test.
    assert outcomes.skipped == []
    assert len(outcomes.passed) >= minimum


def test_suite_without_an_adapter_is_not_observed() -> None:
    outcomes = _Outcomes(Target(kind="http", url="http://127.0.0.1:9"))
    pytest.main(
        [str(SUITE / "adapter"), "--import-mode=importlib", "-p", "no:cacheprovider", "-q"],
        plugins=[outcomes],
    )
    assert outcomes.failed == []
    assert outcomes.passed == []
    assert len(outcomes.skipped) >= 10


def test_bmdx_adapter_is_on_the_path() -> None:
    assert shutil.which("bmdx") is not None
