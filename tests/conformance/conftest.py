"""Fixtures for the conformance framework's own tests: a fake spec and a fake suite.

The fake spec links the real spec's conformance schemas and security profile next to a
small requirement catalogue of its own, so these tests do not move when the standard's
requirements do.
"""

from __future__ import annotations

import io
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from bmdx.conformance._internal.runner import RunOptions, RunResult, run

FIXTURES = Path(__file__).parent / "fixtures"
REAL_SPEC = Path(__file__).resolve().parents[2] / "spec"
FAKE_SUITE = FIXTURES / "fake_suite"
BROKEN_SUITE = FIXTURES / "broken_suite"
FAKE_PROFILES = FIXTURES / "fake_profiles.yaml"


@pytest.fixture(scope="session")
def fake_spec(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("spec")
    (root / "conformance").symlink_to(REAL_SPEC / "conformance")
    (root / "security").symlink_to(REAL_SPEC / "security")
    (root / "requirements").symlink_to(FIXTURES / "spec_requirements")
    return root


@pytest.fixture
def fake_spec_env(fake_spec: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Point the suite's spec loader at the fake spec for one test."""
    monkeypatch.setenv("BMDX_SPEC_DIR", str(fake_spec))
    return fake_spec


def run_fake(report_dir: Path, fake_spec: Path, **overrides: Any) -> tuple[RunResult, str]:
    """One run of the fake suite; returns the result and what it printed."""
    out = io.StringIO()
    options: dict[str, Any] = {
        "adapter": "ok",
        "report_dir": report_dir,
        "suite_dir": FAKE_SUITE,
        "profiles_file": FAKE_PROFILES,
        "seed": 7,
        "rich_progress": False,
        "out": out,
    }
    options.update(overrides)
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("BMDX_SPEC_DIR", str(fake_spec))
        result = run(RunOptions(**options))
    return result, out.getvalue()


@pytest.fixture(scope="module")
def module_run(
    tmp_path_factory: pytest.TempPathFactory, fake_spec: Path
) -> Callable[..., tuple[RunResult, str]]:
    """Runs cached per module and per arguments, to keep the tests fast."""
    cache: dict[str, tuple[RunResult, str]] = {}

    def runner(**overrides: Any) -> tuple[RunResult, str]:
        key = repr(sorted(overrides.items()))
        if key not in cache:
            cache[key] = run_fake(tmp_path_factory.mktemp("report"), fake_spec, **overrides)
        return cache[key]

    return runner
