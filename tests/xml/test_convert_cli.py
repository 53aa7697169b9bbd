"""``bmdx convert``: both directions, files and stdout, and its exit codes."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from bmdx.reference._internal import ijson
from bmdx.reference._internal.specdata import spec_dir
from bmdx.reference.cli import cli
from tests.thirdparty import require_vectors


def _example() -> Path:
    found = sorted((spec_dir() / "examples" / "valid" / "participant").glob("*.json"))
    require_vectors(len(found), "valid Participant example")
    return found[0]


@pytest.mark.requirement("BMDX-FMT-020")
def test_json_to_xml_and_back(tmp_path: Path) -> None:
    source = _example()
    xml_file = tmp_path / "doc.xml"
    runner = CliRunner()
    result = runner.invoke(cli, ["convert", str(source), "--to", "xml", "-o", str(xml_file)])
    assert result.exit_code == 0, result.output
    assert xml_file.read_bytes().startswith(b'<?xml version="1.0" encoding="UTF-8"?>\n<Participant')
    back = runner.invoke(cli, ["convert", str(xml_file), "--to", "json"])
    assert back.exit_code == 0, back.output
    assert ijson.loads(back.stdout_bytes) == ijson.loads(source.read_bytes())


def test_same_syntax_validates_and_reformats(tmp_path: Path) -> None:
    source = _example()
    compact = tmp_path / "compact.json"
    document = ijson.loads(source.read_bytes())
    compact.write_bytes(json.dumps(document, separators=(",", ":")).encode())
    result = CliRunner().invoke(cli, ["convert", str(compact), "--to", "json"])
    assert result.exit_code == 0, result.output
    assert result.stdout_bytes == ijson.dumps(document)


@pytest.mark.requirement("BMDX-FMT-010")
def test_an_attack_is_an_invalid_document(tmp_path: Path) -> None:
    bomb = tmp_path / "bomb.xml"
    bomb.write_bytes(b'<!DOCTYPE x [<!ENTITY a "aaaa">]><x>&a;</x>')
    out = tmp_path / "out.json"
    result = CliRunner().invoke(cli, ["convert", str(bomb), "--to", "json", "-o", str(out)])
    assert result.exit_code == 1
    assert "BMDX-FMT-010 [forbidden-dtd]" in result.stderr
    assert not out.exists()


@pytest.mark.requirement("BMDX-FMT-013")
def test_an_invalid_document_exits_1_naming_the_place(tmp_path: Path) -> None:
    bad = tmp_path / "bad.xml"
    bad.write_bytes(b'<Participant xmlns="urn:bmdx:1"><registered>x</registered></Participant>')
    result = CliRunner().invoke(cli, ["convert", str(bad), "--to", "json"])
    assert result.exit_code == 1
    assert "/Participant/registered" in result.stderr
    assert result.stdout_bytes == b""


@pytest.mark.parametrize(
    "args",
    [["missing.json", "--to", "xml"], ["{example}", "--to", "yaml"], ["{example}"]],
    ids=["no-such-file", "unknown-syntax", "no-target-syntax"],
)
def test_usage_errors_exit_2(args: list[str]) -> None:
    argv = ["convert", *(a.format(example=_example()) for a in args)]
    assert CliRunner().invoke(cli, argv).exit_code == 2
