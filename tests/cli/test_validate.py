"""``bmdx validate``: syntax detection, located errors with requirement ids, exit codes."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from bmdx.reference._internal.documents import (
    detect_syntax,
    load_document,
    validate_document_bytes,
)
from bmdx.reference._internal.errors import IJsonError
from bmdx.reference.cli import cli
from tests.spec.lintkit import make_spec

VALID = b'{"objectType": "Widget", "name": "bolt", "size": 2}'
TOO_BIG = b'{"objectType": "Widget", "name": "bolt", "size": 11, "colour": "red"}'


@pytest.fixture
def spec(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The spec with the test Widget type, made the one the tools use."""
    root = make_spec(tmp_path)
    monkeypatch.setenv("BMDX_SPEC_DIR", str(root))
    return root


def write(tmp_path: Path, name: str, data: bytes) -> str:
    path = tmp_path / name
    path.write_bytes(data)
    return str(path)


@pytest.mark.parametrize(
    ("data", "syntax"),
    [
        (b"<Widget/>", "xml"),
        (b" \r\n\t<?xml version='1.0'?><Widget/>", "xml"),
        (b"\xef\xbb\xbf<Widget/>", "xml"),
        (b"{}", "json"),
        (b"  [1]", "json"),
        (b"\xef\xbb\xbf{}", "json"),
        (b"", "json"),
    ],
)
def test_syntax_is_detected_from_the_first_byte(data: bytes, syntax: str) -> None:
    assert detect_syntax(data) == syntax


def test_json_goes_through_the_strict_reader(spec: Path) -> None:
    assert load_document(VALID) == (json.loads(VALID), "json")
    with pytest.raises(IJsonError) as info:
        load_document(b'{"a": 1, "a": 2}')
    assert (info.value.reason, info.value.requirement) == ("duplicate-key", "BMDX-FMT-003")


def test_json_error_for_a_file_named_xml_says_so(spec: Path) -> None:
    with pytest.raises(IJsonError) as info:
        load_document(b"not json", name="record.xml")
    assert info.value.remedy is not None
    assert "named .xml" in info.value.remedy


def test_report_of_a_valid_document(spec: Path) -> None:
    report = validate_document_bytes(VALID, name="w.json")
    assert (report.valid, report.syntax, report.object_type, report.violations) == (
        True,
        "json",
        "Widget",
        (),
    )


def test_report_lists_every_violation_with_its_requirement(spec: Path) -> None:
    report = validate_document_bytes(TOO_BIG, name="w.json")
    assert not report.valid
    assert report.object_type == "Widget"
    assert [(v.pointer, v.requirement) for v in report.violations] == [
        ("", "BMDX-TST-001"),
        ("/size", "BMDX-TST-002"),
    ]
    assert report.error is not None
    assert report.error.reason == "schema"


def test_cli_valid_file_exits_zero(spec: Path, tmp_path: Path) -> None:
    result = CliRunner().invoke(cli, ["validate", write(tmp_path, "w.json", VALID)])
    assert result.exit_code == 0, result.output
    assert result.output.endswith("w.json: valid Widget (json)\n")


def test_cli_invalid_file_exits_one_with_pointer_message_and_id(spec: Path, tmp_path: Path) -> None:
    good = write(tmp_path, "good.json", VALID)
    bad = write(tmp_path, "bad.json", TOO_BIG)
    result = CliRunner().invoke(cli, ["validate", good, bad])
    assert result.exit_code == 1
    lines = result.output.splitlines()
    assert lines[0].endswith("good.json: valid Widget (json)")
    assert lines[1].endswith("bad.json: invalid Widget (json)")
    assert lines[2].startswith("  /: ")
    assert "colour" in lines[2]
    assert lines[2].endswith("[BMDX-TST-001]")
    assert lines[3].startswith("  /size: 11 is greater than the maximum of 10")
    assert lines[3].endswith("[BMDX-TST-002]")


def test_cli_json_output(spec: Path, tmp_path: Path) -> None:
    bad = write(tmp_path, "dup.json", b'{"objectType": "Widget", "objectType": "Widget"}')
    result = CliRunner().invoke(cli, ["validate", "--format", "json", bad])
    assert result.exit_code == 1
    [entry] = json.loads(result.output)
    assert entry["valid"] is False
    assert entry["syntax"] == "json"
    assert entry["reason"] == "duplicate-key"
    assert [e["requirement"] for e in entry["errors"]] == ["BMDX-FMT-003"]


def test_cli_reads_standard_input(spec: Path) -> None:
    result = CliRunner().invoke(cli, ["validate", "-"], input=VALID)
    assert result.exit_code == 0
    assert result.output == "-: valid Widget (json)\n"


def test_cli_unknown_object_type_is_invalid(spec: Path, tmp_path: Path) -> None:
    result = CliRunner().invoke(
        cli, ["validate", write(tmp_path, "g.json", b'{"objectType": "Gadget"}')]
    )
    assert result.exit_code == 1
    assert "[BMDX-DM-001]" in result.output


@pytest.mark.parametrize(
    "args",
    [["validate"], ["validate", "/no/such/file.json"], ["validate", "--format", "yaml", "x"]],
)
def test_cli_usage_errors_exit_two(spec: Path, args: list[str]) -> None:
    assert CliRunner().invoke(cli, args).exit_code == 2


def test_cli_xml_document(spec: Path, tmp_path: Path) -> None:
    xmlmap = pytest.importorskip("bmdx.reference._internal.xmlmap")
    document = json.loads(VALID)
    data = xmlmap.json_to_xml(document)
    path = write(tmp_path, "w.xml", data)
    result = CliRunner().invoke(cli, ["validate", path])
    assert result.exit_code == 0, result.output
    assert result.output.endswith("w.xml: valid Widget (xml)\n")
    bad = write(tmp_path, "bad.xml", data.replace(b"<size>2</size>", b"<size>11</size>"))
    result = CliRunner().invoke(cli, ["validate", bad])
    assert result.exit_code == 1
    assert "[BMDX-TST-002]" in result.output
    assert "/Widget" in result.output
