"""``bmdx spec lint``: each kind of broken spec fails with its own finding code."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from bmdx.reference._internal import lint as lint_module
from bmdx.reference._internal.catalogue import statement_hash
from bmdx.reference._internal.lint import (
    Finding,
    LintReport,
    Severity,
    default_conformance_dir,
    lint,
)
from bmdx.reference._internal.specdata import spec_dir
from bmdx.reference.cli import cli
from tests.spec.lintkit import STATEMENTS, WIDGET_SCHEMA, make_conformance, make_spec, write_json

WIDGET_FILES = (
    "schemas/json/widget.json",
    "schemas/xml/widget.xsd",
    "requirements/test-widget.yaml",
    "examples/valid/widget",
    "examples/invalid/widget",
)


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_spec(tmp_path_factory.mktemp("template"))


@pytest.fixture
def spec(tmp_path: Path, template: Path) -> Path:
    return make_spec(tmp_path, template)


@pytest.fixture(scope="module")
def baseline(template: Path, tmp_path_factory: pytest.TempPathFactory) -> set[tuple[str, str, str]]:
    """Errors of the untouched copy: the real spec's own, while it is being completed."""
    tmp = tmp_path_factory.mktemp("baseline")
    report = lint(template, conformance_dir=make_conformance(tmp))
    return {(f.code, f.path, f.message) for f in report.of(Severity.ERROR)}


@pytest.fixture(autouse=True)
def _known(baseline: set[tuple[str, str, str]]) -> None:
    _BASELINE.clear()
    _BASELINE.update(baseline)


_BASELINE: set[tuple[str, str, str]] = set()


@pytest.fixture
def conformance(tmp_path: Path) -> Path:
    return make_conformance(tmp_path)


def run(spec: Path, conformance: Path | None) -> LintReport:
    return lint(spec, conformance_dir=conformance)


def errors(report: LintReport, code: str) -> list[Finding]:
    """The errors with ``code`` that the untouched copy does not have."""
    return [
        f
        for f in report.of(Severity.ERROR)
        if f.code == code and (f.code, f.path, f.message) not in _BASELINE
    ]


def widget_errors(report: LintReport) -> list[Finding]:
    return [
        f
        for f in report.of(Severity.ERROR)
        if f.path.startswith(WIDGET_FILES) or "Widget" in f.message.split(" ")[:1]
    ]


def test_widget_fixture_lints_clean(spec: Path, conformance: Path) -> None:
    report = run(spec, conformance)
    assert [(f.code, f.path, f.message) for f in widget_errors(report)] == []
    assert (spec / "examples/valid/widget/small.xml").is_file()
    assert report.seconds < 20


def test_broken_valid_example_fails(spec: Path, conformance: Path) -> None:
    write_json(
        spec / "examples/valid/widget/small.json",
        {"objectType": "Widget", "name": "bolt", "size": 0},
    )
    report = run(spec, conformance)
    assert not report.ok
    [finding] = errors(report, "example-not-valid")
    assert finding.path == "examples/valid/widget/small.json"
    assert finding.requirement == "BMDX-TST-002"


def test_valid_example_of_another_type_fails(spec: Path, conformance: Path) -> None:
    other = spec / "examples/valid/widget/stray.json"
    write_json(other, {"objectType": "Gadget"})
    report = run(spec, conformance)
    [finding] = errors(report, "example-not-valid")
    assert finding.path == "examples/valid/widget/stray.json"
    assert finding.requirement == "BMDX-DM-001"


def test_invalid_example_that_passes_fails(spec: Path, conformance: Path) -> None:
    write_json(
        spec / "examples/invalid/widget/too-big.json",
        {"objectType": "Widget", "name": "nut", "size": 5},
    )
    report = run(spec, conformance)
    [finding] = errors(report, "example-not-failing")
    assert (finding.path, finding.requirement) == (
        "examples/invalid/widget/too-big.json",
        "BMDX-TST-002",
    )


def test_invalid_example_failing_on_another_requirement_fails(
    spec: Path, conformance: Path
) -> None:
    (spec / "examples/invalid/widget/expected.yaml").write_text("too-big.json: BMDX-TST-001\n")
    report = run(spec, conformance)
    [finding] = errors(report, "example-wrong-requirement")
    assert finding.requirement == "BMDX-TST-001"
    assert "BMDX-TST-002" in finding.message


def test_invalid_example_failing_as_json_counts(spec: Path, conformance: Path) -> None:
    folder = spec / "examples/invalid/widget"
    (folder / "duplicate.json").write_bytes(b'{"objectType": "Widget", "objectType": "Widget"}')
    (folder / "expected.yaml").write_text(
        "too-big.json: BMDX-TST-002\ntoo-big.xml: BMDX-TST-002\nduplicate.json: BMDX-FMT-003\n"
    )
    report = run(spec, conformance)
    assert [
        f
        for f in widget_errors(report)
        if f.code.startswith("example-") and f.code != "example-coverage"
    ] == []


def test_unlisted_and_missing_invalid_examples_fail(spec: Path, conformance: Path) -> None:
    folder = spec / "examples/invalid/widget"
    write_json(folder / "extra.json", {"objectType": "Widget"})
    (folder / "expected.yaml").write_text(
        "too-big.json: BMDX-TST-002\ntoo-big.xml: BMDX-TST-002\ngone.json: BMDX-TST-001\n"
    )
    report = run(spec, conformance)
    assert [f.path for f in errors(report, "example-unlisted")] == [
        "examples/invalid/widget/extra.json"
    ]
    [missing] = errors(report, "example-missing")
    assert "gone.json" in missing.message


def test_label_with_unknown_requirement_fails(spec: Path, conformance: Path) -> None:
    (spec / "examples/invalid/widget/expected.yaml").write_text("too-big.json: BMDX-TST-099\n")
    report = run(spec, conformance)
    assert "BMDX-TST-099" in {f.requirement for f in errors(report, "unknown-requirement")}


def test_missing_example_kinds_are_reported(spec: Path, conformance: Path) -> None:
    (spec / "examples/valid/widget/small.xml").unlink()
    (spec / "examples/invalid/widget/too-big.xml").unlink()
    (spec / "examples/invalid/widget/expected.yaml").write_text("too-big.json: BMDX-TST-002\n")
    report = run(spec, conformance)
    [coverage] = [f for f in errors(report, "example-coverage") if f.message.startswith("Widget ")]
    assert coverage.message == "Widget has no invalid xml, no valid xml example"


def test_dangling_ref_fails(spec: Path, conformance: Path) -> None:
    schema = json.loads(json.dumps(WIDGET_SCHEMA))
    schema["properties"]["name"]["$ref"] = "common.json#/$defs/noSuchDefinition"
    write_json(spec / "schemas/json/widget.json", schema)
    report = run(spec, conformance)
    assert not report.ok
    [finding] = errors(report, "dangling-ref")
    assert finding.path == "schemas/json/widget.json"
    assert "/properties/name" in finding.message
    assert "noSuchDefinition" in finding.message


def test_ref_to_missing_file_fails(spec: Path, conformance: Path) -> None:
    schema = json.loads(json.dumps(WIDGET_SCHEMA))
    schema["properties"]["name"]["$ref"] = "no-such-type.json"
    write_json(spec / "schemas/json/widget.json", schema)
    report = run(spec, conformance)
    assert [f.path for f in errors(report, "dangling-ref")] == ["schemas/json/widget.json"]


def test_schema_breaking_its_metaschema_fails(spec: Path, conformance: Path) -> None:
    schema = json.loads(json.dumps(WIDGET_SCHEMA))
    schema["properties"]["size"]["minimum"] = "one"
    write_json(spec / "schemas/json/widget.json", schema)
    report = run(spec, conformance)
    assert [f.path for f in errors(report, "metaschema")] == ["schemas/json/widget.json"]


def test_schema_outside_the_subset_fails_with_rule_code(spec: Path, conformance: Path) -> None:
    schema = json.loads(json.dumps(WIDGET_SCHEMA))
    schema["properties"]["size"]["type"] = "number"
    write_json(spec / "schemas/json/widget.json", schema)
    report = run(spec, conformance)
    [finding] = errors(report, "subset-type")
    assert (finding.path, finding.requirement) == ("schemas/json/widget.json", "BMDX-SPEC-002")


def test_schema_id_must_match_file_name(spec: Path, conformance: Path) -> None:
    write_json(spec / "schemas/json/gadget.json", WIDGET_SCHEMA)
    report = run(spec, conformance)
    assert "schemas/json/gadget.json" in {f.path for f in errors(report, "schema-id")}


def test_unknown_x_requirement_fails(spec: Path, conformance: Path) -> None:
    schema = json.loads(json.dumps(WIDGET_SCHEMA))
    schema["properties"]["size"]["x-requirement"] = "BMDX-TST-777"
    write_json(spec / "schemas/json/widget.json", schema)
    report = run(spec, conformance)
    [finding] = [
        f for f in errors(report, "unknown-requirement") if f.requirement == "BMDX-TST-777"
    ]
    assert finding.path == "schemas/json/widget.json"


def test_edited_statement_fails_as_stale_hash(spec: Path, conformance: Path) -> None:
    path = spec / "requirements/format.yaml"
    text = path.read_text()
    edited = text.replace("that is not syntactically valid JSON", "that is not valid JSON text", 1)
    assert edited != text
    path.write_text(edited)
    report = run(spec, conformance)
    assert not report.ok
    [finding] = errors(report, "stale-hash")
    assert finding.requirement == "BMDX-FMT-001"
    assert finding.path.startswith("requirements/format.yaml:")
    assert "bmdx spec rehash BMDX-FMT-001" in finding.message


def test_rewrapped_statement_is_not_stale(spec: Path, conformance: Path) -> None:
    path = spec / "requirements/test-widget.yaml"
    path.write_text(path.read_text().replace("carry a name and", "carry a name\n      and"))
    report = run(spec, conformance)
    assert errors(report, "stale-hash") == []


def test_duplicate_and_misfiled_ids_fail(spec: Path, conformance: Path) -> None:
    path = spec / "requirements/test-widget.yaml"
    statement = "A receiver MUST do one more thing."
    path.write_text(
        path.read_text()
        + "  - id: BMDX-FMT-001\n    level: MUST\n    profile: core-format\n"
        + f"    statement: {statement}\n    rationale: r\n    source: s\n"
        + f"    hash: {statement_hash(statement)}\n"
    )
    report = run(spec, conformance)
    assert {f.requirement for f in errors(report, "duplicate-id")} == {"BMDX-FMT-001"}
    assert {f.requirement for f in errors(report, "area-mismatch")} == {"BMDX-FMT-001"}


def test_catalogue_breaking_its_schema_fails(spec: Path, conformance: Path) -> None:
    path = spec / "requirements/test-widget.yaml"
    path.write_text(path.read_text().replace("    rationale: Exercises the lint.\n", "", 1))
    report = run(spec, conformance)
    [finding] = errors(report, "catalogue-invalid")
    assert finding.path == "requirements/test-widget.yaml"
    assert "rationale" in finding.message


def test_level_keyword_must_appear_in_statement(spec: Path, conformance: Path) -> None:
    path = spec / "requirements/test-widget.yaml"
    path.write_text(path.read_text().replace("    level: MUST\n", "    level: SHOULD\n", 1))
    report = run(spec, conformance)
    assert {f.requirement for f in errors(report, "level-keyword")} == {"BMDX-TST-001"}


def pinned_test(conformance: Path, *pins: str, extra: str = "") -> Path:
    args = ", ".join(pins)
    path = conformance / "tests" / "test_widget.py"
    path.parent.mkdir(exist_ok=True)
    path.write_text(
        "import pytest\n\n\n"
        f"@pytest.mark.requirement({args})\n"
        "def test_widget():\n"
        f"    {extra or 'pass'}\n"
    )
    return path


def test_stale_pin_fails(spec: Path, conformance: Path) -> None:
    pinned_test(conformance, '"BMDX-TST-001:0123456789abcdef"')
    report = run(spec, conformance)
    assert not report.ok
    [finding] = errors(report, "stale-pin")
    assert finding.requirement == "BMDX-TST-001"
    assert finding.path == "conformance/tests/test_widget.py:4"


def test_current_pin_covers_its_requirement(spec: Path, conformance: Path) -> None:
    pin = f'"BMDX-TST-001:{statement_hash(STATEMENTS["BMDX-TST-001"])}"'
    pinned_test(conformance, pin)
    report = run(spec, conformance)
    assert errors(report, "stale-pin") == []
    gaps = {f.requirement for f in report.findings if f.code == "coverage-gap"}
    assert "BMDX-TST-001" not in gaps
    assert "BMDX-TST-002" in gaps


def test_malformed_and_unknown_pins_fail(spec: Path, conformance: Path) -> None:
    pinned_test(conformance, '"BMDX-TST-001"', "PIN", '"BMDX-TST-404:0123456789abcdef"')
    report = run(spec, conformance)
    assert sorted(f.message for f in errors(report, "malformed-pin")) == [
        "'BMDX-TST-001' is not 'BMDX-AREA-NNN:<hash16>'",
        "'PIN' is not 'BMDX-AREA-NNN:<hash16>'",
    ]
    assert "BMDX-TST-404" in {f.requirement for f in errors(report, "unknown-requirement")}


def test_unknown_id_in_suite_code_fails(spec: Path, conformance: Path) -> None:
    pinned_test(
        conformance,
        f'"BMDX-TST-001:{statement_hash(STATEMENTS["BMDX-TST-001"])}"',
        extra='assert check(requirement="BMDX-TST-555")',
    )
    report = run(spec, conformance)
    [finding] = [
        f for f in errors(report, "unknown-requirement") if f.requirement == "BMDX-TST-555"
    ]
    assert finding.path == "conformance/tests/test_widget.py:6"


def test_gaps_of_unimplemented_profiles_are_pending(spec: Path, conformance: Path) -> None:
    report = run(spec, conformance)
    gaps = [f for f in report.findings if f.code == "coverage-gap"]
    assert {f.requirement for f in gaps} >= {"BMDX-TST-001", "BMDX-TST-002"}
    assert {f.severity for f in gaps} == {Severity.PENDING}
    # not_testable requirements are never gaps
    assert "BMDX-SPEC-001" not in {f.requirement for f in gaps}


def test_gaps_of_implemented_profiles_are_errors(spec: Path, tmp_path: Path) -> None:
    conformance = make_conformance(tmp_path, "- core-format\n")
    report = run(spec, conformance)
    assert {"BMDX-TST-001", "BMDX-TST-002"} <= {
        f.requirement for f in errors(report, "coverage-gap")
    }


def test_unknown_profile_fails(spec: Path, tmp_path: Path) -> None:
    conformance = make_conformance(tmp_path, "- core-formats\n")
    report = run(spec, conformance)
    assert len(errors(report, "unknown-profile")) == 1


def test_stale_missing_and_extra_generated_files(
    spec: Path, conformance: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    xml = spec / "schemas" / "xml"
    xml.mkdir(parents=True, exist_ok=True)
    for old in xml.glob("*.xsd"):
        old.unlink()
    (xml / "widget.xsd").write_bytes(b"<old/>")
    (xml / "orphan.xsd").write_bytes(b"<orphan/>")
    outputs = {"schemas/xml/widget.xsd": b"<new/>", "schemas/xml/gadget.xsd": b"<g/>"}
    monkeypatch.setattr(lint_module, "generated_outputs", lambda root: outputs)
    report = run(spec, conformance)
    assert [f.path for f in errors(report, "stale-generated")] == ["schemas/xml/widget.xsd"]
    assert [f.path for f in errors(report, "missing-generated")] == ["schemas/xml/gadget.xsd"]
    assert [f.path for f in errors(report, "extra-generated")] == ["schemas/xml/orphan.xsd"]


OPENAPI = """\
openapi: 3.1.0
info: {title: BMDX test, version: "1"}
paths:
  /widgets:
    post:
      requestBody:
        content:
          application/json:
            schema: {$ref: "../schemas/json/widget.json"}
      responses:
        "201": {description: created}
"""


def test_openapi_is_validated_and_its_refs_resolve(
    spec: Path, conformance: Path, network_blocked: list[object]
) -> None:
    (spec / "api").mkdir(exist_ok=True)
    (spec / "api/openapi.yaml").write_text(OPENAPI)
    report = run(spec, conformance)
    assert [f for f in report.findings if f.path == "api/openapi.yaml"] == []
    (spec / "api/openapi.yaml").write_text(
        OPENAPI.replace("widget.json", "widget.json#/$defs/nothing").replace("openapi: 3.1.0\n", "")
    )
    report = run(spec, conformance)
    assert [f.path for f in errors(report, "dangling-ref")] == ["api/openapi.yaml"]
    assert errors(report, "openapi-invalid") != []
    assert network_blocked == []


def test_absent_openapi_is_a_note(spec: Path, conformance: Path) -> None:
    openapi = spec / "api/openapi.yaml"
    if openapi.exists():
        openapi.unlink()
    report = run(spec, conformance)
    assert [f.severity for f in report.findings if f.code == "openapi-absent"] == [Severity.INFO]


def test_cli_exit_codes_and_json(spec: Path, conformance: Path) -> None:
    runner = CliRunner()
    args = ["spec", "lint", "--spec-dir", str(spec), "--conformance-dir", str(conformance)]
    write_json(spec / "examples/valid/widget/small.json", {"objectType": "Widget"})
    result = runner.invoke(cli, [*args, "--format", "json"])
    assert result.exit_code == 1
    body = json.loads(result.output)
    assert body["ok"] is False
    assert "example-not-valid" in {f["code"] for f in body["findings"]}
    result = runner.invoke(cli, ["spec", "lint", "--spec-dir", str(conformance)])
    assert result.exit_code == 2
    result = runner.invoke(cli, [*args, "--format", "yaml"])
    assert result.exit_code == 2


def test_cli_exits_zero_when_clean(
    spec: Path, conformance: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    clean = LintReport(
        spec, conformance, [Finding("coverage-gap", "x", "m", None, Severity.PENDING)]
    )
    monkeypatch.setattr(lint_module, "lint", lambda root, conformance_dir: clean)
    result = CliRunner().invoke(cli, ["spec", "lint", "--spec-dir", str(spec)])
    assert result.exit_code == 0, result.output
    assert "spec lint clean" in result.output


@pytest.mark.requirement("BMDX-SPEC-001")
def test_the_real_spec_is_clean() -> None:
    report = lint(spec_dir(), conformance_dir=default_conformance_dir())
    assert [(f.code, f.path, f.message) for f in report.of(Severity.ERROR)] == []
    assert report.seconds < 20


DTD_WIDGET = b"""<?xml version="1.0"?>
<!DOCTYPE Widget [<!ENTITY n "nut">]>
<Widget xmlns="urn:bmdx:1"><name>&n;</name><size>2</size></Widget>
"""


@pytest.mark.parametrize(
    ("label", "code"), [("BMDX-FMT-010", None), ("BMDX-TST-002", "example-wrong-requirement")]
)
def test_invalid_xml_example_fails_on_its_label(
    spec: Path, conformance: Path, label: str, code: str | None
) -> None:
    folder = spec / "examples/invalid/widget"
    (folder / "dtd.xml").write_bytes(DTD_WIDGET)
    with (folder / "expected.yaml").open("a") as fh:
        fh.write(f"dtd.xml: {label}\n")
    report = run(spec, conformance)
    found = [(f.code, f.path) for f in widget_errors(report)]
    assert found == ([(code, "examples/invalid/widget/dtd.xml")] if code else [])


def test_edited_generated_xml_example_is_stale(spec: Path, conformance: Path) -> None:
    path = spec / "examples/valid/widget/small.xml"
    path.write_bytes(path.read_bytes().replace(b"<size>2</size>", b"<size>3</size>"))
    report = run(spec, conformance)
    assert [f.path for f in errors(report, "stale-generated")] == [
        "examples/valid/widget/small.xml"
    ]
