"""The requirement catalogue: hashes, in-place rehash, and the markers that pin it."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

from bmdx.reference._internal.catalogue import (
    Marker,
    load_catalogue,
    rehash_file,
    rehash_text,
    scan_id_literals,
    scan_markers,
    stale_pins,
    statement_hash,
)
from bmdx.reference._internal.errors import SpecError
from bmdx.reference._internal.lint import Severity, lint
from bmdx.reference._internal.specdata import spec_dir
from bmdx.reference.cli import cli
from tests.spec.lintkit import STATEMENTS, make_conformance, make_spec


def test_statement_hash_collapses_whitespace_only() -> None:
    expected = hashlib.sha256(b"A receiver MUST reject it.").hexdigest()[:16]
    assert statement_hash("A receiver MUST reject it.") == expected
    assert statement_hash("  A receiver\n  MUST\treject it. \n") == expected
    assert statement_hash("A receiver MUST reject it!") != expected
    assert statement_hash("a receiver MUST reject it.") != expected


def test_real_catalogue_loads_with_unique_ids_and_lines() -> None:
    catalogue = load_catalogue(spec_dir())
    ids = [r.id for r in catalogue.all_requirements()]
    assert "BMDX-FMT-001" in catalogue
    assert len(ids) == len(catalogue.by_id)
    req = catalogue.by_id["BMDX-FMT-001"]
    line = req.path.read_text().splitlines()[req.line - 1]
    assert line.strip() == "- id: BMDX-FMT-001"


CATALOGUE = """\
# Test area: comments, folding and key order must survive a rehash.
area: TST
title: Test
requirements:
  - id: BMDX-TST-001
    level: MUST
    profile: core-format
    statement: >
      A widget MUST
      be round.
    rationale: r   # trailing comment
    source: s
    hash: "0000000000000000"
  - id: BMDX-TST-002
    hash: 1111111111111111
    level: MAY
    profile: core-format
    statement: A widget MAY be blue.
    rationale: r
    source: s
"""


def test_rehash_rewrites_only_hash_values() -> None:
    text, changed = rehash_text(CATALOGUE)
    first, second = (
        statement_hash("A widget MUST be round."),
        statement_hash("A widget MAY be blue."),
    )
    assert changed == {
        "BMDX-TST-001": ("0000000000000000", first),
        "BMDX-TST-002": ("1111111111111111", second),
    }
    expected = CATALOGUE.replace('"0000000000000000"', first).replace("1111111111111111", second)
    assert text == expected
    assert rehash_text(text) == (text, {})


def test_rehash_limited_to_given_ids() -> None:
    text, changed = rehash_text(CATALOGUE, ["BMDX-TST-002"])
    assert set(changed) == {"BMDX-TST-002"}
    assert '"0000000000000000"' in text


def test_rehash_quotes_a_digest_that_yaml_would_read_as_a_number() -> None:
    statement = next(
        s
        for s in (f"A widget MUST weigh {n} g." for n in range(100_000))
        if statement_hash(s).isdigit()
    )
    text = f"area: TST\ntitle: t\nrequirements:\n  - id: BMDX-TST-003\n    statement: {statement}\n    hash: x\n"
    new_text, _ = rehash_text(text)
    assert yaml.safe_load(new_text)["requirements"][0]["hash"] == statement_hash(statement)


def test_rehash_file_leaves_current_files_untouched(tmp_path: Path) -> None:
    path = tmp_path / "t.yaml"
    path.write_text(rehash_text(CATALOGUE)[0])
    before = path.stat().st_mtime_ns
    assert rehash_file(path) == {}
    assert path.stat().st_mtime_ns == before


def test_unreadable_catalogue_is_a_spec_error(tmp_path: Path) -> None:
    (tmp_path / "requirements").mkdir()
    (tmp_path / "requirements" / "bad.yaml").write_text("area: [unclosed\n")
    with pytest.raises(SpecError) as info:
        load_catalogue(tmp_path)
    assert info.value.reason == "spec-unreadable"


SUITE = '''\
import pytest
from pytest import mark

pytestmark = pytest.mark.requirement("BMDX-FMT-001:0123456789abcdef")


@mark.requirement("BMDX-FMT-002:aaaaaaaaaaaaaaaa", "BMDX-FMT-003")
def test_a():
    """Mentions BMDX-FMT-004 in prose, which is not a citation."""


@pytest.mark.parametrize("x", [pytest.param(1, marks=pytest.mark.requirement(PIN))])
def test_b(x):
    check(requirement="BMDX-FMT-005")
'''


def test_markers_are_read_without_importing(tmp_path: Path) -> None:
    (tmp_path / "test_suite.py").write_text(SUITE)
    markers = list(scan_markers(tmp_path))
    found = sorted((m.line, m.raw, m.requirement, m.pinned) for m in markers)
    assert found == [
        (4, "BMDX-FMT-001:0123456789abcdef", "BMDX-FMT-001", "0123456789abcdef"),
        (7, "BMDX-FMT-002:aaaaaaaaaaaaaaaa", "BMDX-FMT-002", "aaaaaaaaaaaaaaaa"),
        (7, "BMDX-FMT-003", None, None),
        (12, "PIN", None, None),
    ]


def test_id_literals_are_whole_string_constants(tmp_path: Path) -> None:
    (tmp_path / "test_suite.py").write_text(SUITE)
    ids = sorted(literal.requirement for literal in scan_id_literals([tmp_path]))
    assert ids == ["BMDX-FMT-001", "BMDX-FMT-002", "BMDX-FMT-003", "BMDX-FMT-005"]


def test_unparseable_suite_file_is_a_spec_error(tmp_path: Path) -> None:
    (tmp_path / "test_broken.py").write_text("def broken(:\n")
    with pytest.raises(SpecError) as info:
        list(scan_markers(tmp_path))
    assert info.value.reason == "python-unparseable"


def test_stale_pins_compare_against_current_hashes(tmp_path: Path) -> None:
    def marker(rid: str | None, pinned: str | None) -> Marker:
        return Marker(tmp_path, 1, f"{rid}:{pinned}", rid, pinned)

    markers = [marker("BMDX-A-001", "a" * 16), marker("BMDX-A-002", "b" * 16), marker(None, None)]
    assert stale_pins(markers, {"BMDX-A-001": "a" * 16, "BMDX-A-002": "c" * 16}) == [markers[1]]


def test_cli_rehash_fixes_catalogue_and_names_stale_tests(tmp_path: Path) -> None:
    spec = make_spec(tmp_path)
    conformance = make_conformance(tmp_path)
    old = statement_hash(STATEMENTS["BMDX-TST-002"])
    (conformance / "test_w.py").write_text(
        f'import pytest\n\n@pytest.mark.requirement("BMDX-TST-002:{old}")\ndef test_w():\n    pass\n'
    )
    path = spec / "requirements" / "test-widget.yaml"
    original = path.read_text()
    edited = original.replace("between 1 and 10.", "between 1 and 12.")
    path.write_text(edited)
    assert lint(spec, conformance_dir=conformance).codes() >= {"stale-hash"}

    result = CliRunner().invoke(
        cli, ["spec", "rehash", "--spec-dir", str(spec), "--conformance-dir", str(conformance)]
    )
    assert result.exit_code == 0, result.output
    new = statement_hash("A Widget's size MUST lie between 1 and 12.")
    assert f"BMDX-TST-002: {old} -> {new}" in result.output
    assert f"test_w.py:3 pins BMDX-TST-002:{old}" in result.output
    assert path.read_text() == edited.replace(old, new)

    report = lint(spec, conformance_dir=conformance)
    assert "stale-hash" not in report.codes()
    assert [f.requirement for f in report.of(Severity.ERROR) if f.code == "stale-pin"] == [
        "BMDX-TST-002"
    ]


def test_cli_rehash_refuses_unknown_ids(tmp_path: Path) -> None:
    spec = make_spec(tmp_path)
    result = CliRunner().invoke(cli, ["spec", "rehash", "BMDX-TST-404", "--spec-dir", str(spec)])
    assert result.exit_code == 2
    assert "BMDX-TST-404" in result.output


def test_cli_rehash_reports_nothing_to_do(tmp_path: Path) -> None:
    spec = make_spec(tmp_path)
    snapshot = {p: p.read_bytes() for p in (spec / "requirements").glob("*.yaml")}
    result = CliRunner().invoke(cli, ["spec", "rehash", "--spec-dir", str(spec)])
    assert result.exit_code == 0
    assert "every hash matches its statement" in result.output
    assert {p: p.read_bytes() for p in snapshot} == snapshot
