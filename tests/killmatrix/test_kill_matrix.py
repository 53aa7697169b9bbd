"""The kill matrix: the conformance suite fails every broken variant, on the right ids.

Each variant of ``variants.yaml`` is the reference with one component replaced or
wrapped (``patches.py``, applied in the variant's own process by ``launch.py``).  Each
is certified by ``bmdx-conformance run`` exactly as a vendor's implementation would
be (an ``http`` variant as the embedded node, its adapter beside it), restricted to
the tests that touch the broken component.  The run must fail, on at least the
variant's expected requirement ids, with no suite error; the unmodified reference must
pass the same tests, as each target, with zero failures.  ``conformance/kill-matrix.yaml``
records what was observed and must match today's runs.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path

import pytest

from bmdx.conformance._internal.reports.markdown import KILL_MATRIX, kill_matrix_lines
from tests.killmatrix.matrix import (
    MATRIX_FILE,
    REPO,
    Observation,
    Variant,
    certify,
    load_variants,
    render_matrix,
)
from tests.killmatrix.patches import PATCHES

pytestmark = pytest.mark.slow

VARIANTS = load_variants()
BY_NAME = {v.name: v for v in VARIANTS}
REFERENCE = "none"
MINIMUM_VARIANTS = 25
_PIN = re.compile(r"BMDX-([A-Z]+)-\d{3}:[0-9a-f]{16}")


TARGETS = ("adapter", "http")


def _union_of_tests(target: str) -> tuple[str, ...]:
    return tuple(sorted({t for v in VARIANTS if v.target == target for t in v.tests}))


def _reference(target: str) -> str:
    """The run key of the unmodified reference certified as ``target``."""
    return f"{REFERENCE}@{target}"


class _Runs:
    """Certifications started at most once each, two at a time, as tests ask for them."""

    def __init__(self, workdir: Path) -> None:
        self.workdir = workdir
        self.pool = ThreadPoolExecutor(max_workers=2)
        self.futures: dict[str, Future[Observation]] = {}

    def submit(self, key: str) -> None:
        if key in self.futures:
            return
        name, _, target = key.partition("@")
        if name == REFERENCE:
            tests = _union_of_tests(target)
        else:
            tests, target = BY_NAME[name].tests, BY_NAME[name].target
        self.futures[key] = self.pool.submit(
            certify, name, tests, self.workdir / key, target=target
        )

    def get(self, key: str) -> Observation:
        self.submit(key)
        return self.futures[key].result()


@pytest.fixture(scope="module")
def runs(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[_Runs]:
    runs = _Runs(tmp_path_factory.mktemp("kill-matrix"))
    # Start every run this session will need now, so that they overlap.
    wanted: list[str] = []
    for item in request.session.items:
        if getattr(item, "module", None) is not request.module:
            continue  # other modules' parameters are not kill-matrix runs
        callspec = getattr(item, "callspec", None)
        if callspec is not None and "variant" in callspec.params:
            wanted.append(callspec.params["variant"].name)
        elif callspec is not None and item.name.startswith("test_reference"):
            wanted.append(_reference(callspec.params["target"]))
        elif item.name.startswith("test_matrix_file"):
            wanted += [v.name for v in VARIANTS]
    for name in wanted:
        runs.submit(name)
    try:
        yield runs
    finally:
        runs.pool.shutdown(wait=True, cancel_futures=True)


def _explain(seen: Observation) -> str:
    return (
        f"exit code {seen.exit_code}; failed requirements {sorted(seen.failed_ids)}; "
        f"failed tests {list(seen.failed_tests)[:10]}; suite errors {list(seen.suite_errors)}\n"
        f"{seen.output[-3000:]}"
    )


@pytest.mark.parametrize("variant", VARIANTS, ids=lambda v: v.name)
def test_variant_is_caught(runs: _Runs, variant: Variant) -> None:
    seen = runs.get(variant.name)
    # A suite error fails any run; it must not pass for catching the variant.
    assert seen.suite_errors == (), _explain(seen)
    assert seen.tests_run > 0, _explain(seen)
    assert seen.exit_code == 1, _explain(seen)
    missing = set(variant.expected) - seen.failed_ids
    assert not missing, f"{variant.name} was not failed on {sorted(missing)}: " + _explain(seen)


@pytest.mark.parametrize("target", TARGETS)
def test_reference_passes_every_kill_matrix_test(runs: _Runs, target: str) -> None:
    seen = runs.get(_reference(target))
    assert seen.suite_errors == (), _explain(seen)
    assert seen.failed_tests == (), _explain(seen)
    assert seen.failed == (), _explain(seen)
    assert seen.tests_run > 0, _explain(seen)


def test_matrix_file_is_current(runs: _Runs) -> None:
    """conformance/kill-matrix.yaml is what the suite observes today; regenerate it with
    ``python -m tests.killmatrix.matrix`` when a variant or a pinned test changes."""
    observed = {v.name: runs.get(v.name) for v in VARIANTS}
    expected = render_matrix(VARIANTS, observed)
    assert MATRIX_FILE.read_text(encoding="utf-8") == expected


def test_every_variant_has_a_patch_and_the_reference_none() -> None:
    assert sorted(PATCHES) == sorted(BY_NAME)
    assert REFERENCE not in PATCHES
    assert {v.target for v in VARIANTS} == set(TARGETS)


def test_enough_variants_in_every_tested_area() -> None:
    """At least 25 variants, and one expected to fail in every requirement area that the
    suite has tests for (an area gains its variant when its first tests land)."""
    assert len(VARIANTS) >= MINIMUM_VARIANTS
    suite_areas = {
        m.group(1)
        for path in (REPO / "conformance" / "suite").rglob("test_*.py")
        for m in _PIN.finditer(path.read_text(encoding="utf-8"))
    }
    killed = {rid.split("-")[1] for v in VARIANTS for rid in v.expected}
    assert suite_areas <= killed, f"no variant for {sorted(suite_areas - killed)}"


def test_summary_shows_the_kill_matrix(tmp_path: Path) -> None:
    matrix = tmp_path / "kill-matrix.yaml"
    matrix.write_text(
        "variants:\n"
        "- {name: a|b, description: d, requirements: ['BMDX-SEC-010:c5d8b13cca510d8d']}\n"
        "- {name: missed, description: d, requirements: []}\n",
        encoding="utf-8",
    )
    assert kill_matrix_lines(matrix) == [
        "## Kill matrix of this suite",
        "",
        "1 of 2 deliberately broken variants of the reference implementation fail this suite:",
        "",
        "| variant | failed on |",
        "|---|---|",
        "| a\\|b | BMDX-SEC-010 |",
        "| missed | not caught |",
        "",
    ]
    assert kill_matrix_lines(tmp_path / "absent.yaml") == []
    # The suite as shipped carries its matrix.
    assert KILL_MATRIX == MATRIX_FILE
