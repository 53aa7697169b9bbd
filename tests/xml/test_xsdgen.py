"""The generated XSDs and XML examples: committed and current, loadable on their own,
and faithful to the schema subset (patterns, facets, refusal of outside constructs)."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path
from typing import Any

import pytest
import xmlschema
import yaml

from bmdx.reference._internal import ijson
from bmdx.reference._internal.errors import BmdxError, SchemaValidationError, SpecError
from bmdx.reference._internal.schema import schema_set
from bmdx.reference._internal.specdata import spec_dir
from bmdx.reference._internal.xmlbuild import build_outputs
from bmdx.reference._internal.xmlmap import json_to_xml, xml_to_json
from bmdx.reference._internal.xmlmodel import translate_pattern, xml_model
from bmdx.reference._internal.xsdgen import generate_xsds
from tests.thirdparty import require_vectors

SPEC = spec_dir()


@pytest.mark.requirement("BMDX-FMT-013")
def test_committed_xml_outputs_are_current() -> None:
    outputs = build_outputs()
    stale = [name for name, data in outputs.items() if (SPEC / name).read_bytes() != data]
    assert stale == []
    committed = {p.relative_to(SPEC).as_posix() for p in (SPEC / "schemas" / "xml").glob("*")}
    committed |= {
        p.relative_to(SPEC).as_posix() for p in (SPEC / "examples" / "valid").glob("*/*.xml")
    }
    assert committed == set(outputs)


def test_one_xsd_per_json_schema_each_marked_generated() -> None:
    xsds = generate_xsds()
    stems = sorted(p.stem for p in (SPEC / "schemas" / "json").glob("*.json"))
    assert sorted(name.removesuffix(".xsd") for name in xsds) == stems
    for name, data in xsds.items():
        head = data.split(b"\n")[1].decode()
        source = name.removesuffix(".xsd") + ".json"
        assert head.startswith(f"<!-- Generated from schemas/json/{source} by `bmdx spec build`.")
        assert "DO NOT EDIT" in head
        assert generate_xsds()[name] == data  # deterministic


@pytest.mark.requirement("BMDX-FMT-013")
def test_each_committed_xsd_loads_with_its_includes_only(tmp_path: Path) -> None:
    folder = tmp_path / "xml"
    shutil.copytree(SPEC / "schemas" / "xml", folder)
    for path in sorted(folder.glob("*.xsd")):
        schema = xmlschema.XMLSchema10(
            str(path), base_url=str(folder), allow="sandbox", defuse="always"
        )
        assert schema.target_namespace == "urn:bmdx:1"


def _valid_examples() -> list[Path]:
    return sorted((SPEC / "examples" / "valid").glob("*/*.json"))


@pytest.mark.requirement("BMDX-FMT-013", "BMDX-FMT-020", "BMDX-FMT-021")
def test_every_valid_example_round_trips_through_its_own_xsd(tmp_path: Path) -> None:
    examples = _valid_examples()
    require_vectors(len(examples), "valid example")
    folder = tmp_path / "xml"
    shutil.copytree(SPEC / "schemas" / "xml", folder)
    for path in examples:
        document = ijson.loads(path.read_bytes())
        xml = json_to_xml(document)
        stem = path.parent.name
        schema = xmlschema.XMLSchema10(
            str(folder / f"{stem}.xsd"), base_url=str(folder), allow="sandbox", defuse="always"
        )
        errors = list(schema.iter_errors(xmlschema.XMLResource(xml, allow="none", defuse="always")))
        assert errors == [], path
        assert xml_to_json(xml) == document, path
        assert xml_to_json((path.with_suffix(".xml")).read_bytes()) == document, path


def _invalid_xml_examples() -> list[tuple[Path, str]]:
    out = []
    for expected in sorted((SPEC / "examples" / "invalid").glob("*/expected.yaml")):
        labels = yaml.safe_load(expected.read_text()) or {}
        out += [
            (expected.parent / name, req) for name, req in labels.items() if name.endswith(".xml")
        ]
    return out


@pytest.mark.requirement("BMDX-FMT-011", "BMDX-FMT-013")
def test_every_invalid_xml_example_breaks_its_labelled_requirement() -> None:
    examples = _invalid_xml_examples()
    require_vectors(len(examples), "invalid XML example")
    wrong = {}
    for path, requirement in examples:
        try:
            document = xml_to_json(path.read_bytes())
        except SchemaValidationError as e:
            broken = set(e.requirements)
        except BmdxError as e:
            broken = {e.requirement}
        else:
            # The mapping holds; a data-model rule checked by code (semantic.py) may not.
            broken = {v.requirement for v in schema_set().document_violations(document)}
        if requirement not in broken:
            wrong[path.relative_to(SPEC).as_posix()] = sorted(broken)
    assert wrong == {}
    folders = {path.parent.name for path, _ in examples}
    assert folders == {p.name for p in (SPEC / "examples" / "invalid").iterdir() if p.is_dir()}


# --- the subset ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("ecma", "xsd"),
    [
        ("^[A-Z]{2}$", "[A-Z]{2}"),
        ("^urn:uuid:[0-9a-f]{8}$", "urn:uuid:[0-9a-f]{8}"),
        ("^(?:a|b)+c?$", "(a|b)+c?"),
        ("^a\\.b\\$\\/$", "a\\.b$/"),
        ("^[\\x2D\\x5B\\x5D]$", "[\\-\\[\\]]"),
        ("^\\x41\\u00e9$", "A\u00e9"),
        ("^[^\\x00-\\x08\\x0B\\x0C\\x0E-\\x1F\\uFFFE\\uFFFF]*$", "[\\s\\S]*"),
        ("^[^ \\x00-\\x1F]+$", "[^ \\t\\n\\r]+"),
        ("^[\\x00-\\x7F]$", "[\\t\\n\\r -\x7f]"),
        ("^a.b$", "a[^\\n\\r\u2028\u2029]b"),
        ("^[a-]$", "[a\\-]"),
    ],
)
def test_patterns_translate_to_equivalent_xsd_regexes(ecma: str, xsd: str) -> None:
    assert translate_pattern(ecma) == xsd


@pytest.mark.parametrize(
    "pattern",
    ["[A-Z]", "^\\d+$", "^\\w$", "^(?=a)a$", "^a+?$", "^(a)\\1$", "^a$|^b$", "^[\\x00]$", "^a{$"],
    ids=[
        "unanchored",
        "digit",
        "word",
        "lookahead",
        "lazy",
        "backreference",
        "inner-anchor",
        "only-illegal-chars",
        "bare-brace",
    ],
)
def test_patterns_outside_the_subset_are_refused(pattern: str) -> None:
    with pytest.raises(SpecError) as info:
        translate_pattern(pattern)
    assert (info.value.reason, info.value.requirement) == ("schema-subset", "BMDX-SPEC-002")


def _spec_with(tmp_path: Path, schema: dict[str, Any]) -> Path:
    (tmp_path / "schemas" / "json").mkdir(parents=True)
    (tmp_path / "schemas" / "json" / "odd.json").write_text(json.dumps(schema))
    return tmp_path


@pytest.mark.parametrize(
    "member",
    [
        {"type": "number"},
        {"type": ["string", "null"]},
        {"anyOf": [{"type": "string", "enum": ["a"]}]},
        {"type": "string", "enum": ["a"], "not": {"const": "b"}},
        {"type": "integer", "exclusiveMinimum": 0},
        {"type": "object", "properties": {}},
        {"type": "object", "additionalProperties": False, "properties": {"item": {"const": "x"}}},
        {"oneOf": [{"type": "string", "enum": ["a"]}]},
    ],
    ids=[
        "number",
        "type-array",
        "anyOf",
        "not",
        "exclusiveMinimum",
        "open-object",
        "property-named-item",
        "oneOf-not-object-types",
    ],
)
def test_schemas_outside_the_subset_are_refused(member: dict[str, Any], tmp_path: Path) -> None:
    root = _spec_with(
        tmp_path,
        {
            "$id": "https://bmdx.org/spec/1/schemas/odd.json",
            "x-object": "Odd",
            "type": "object",
            "additionalProperties": False,
            "required": ["objectType"],
            "properties": {"objectType": {"const": "Odd", "type": "string"}, "m": member},
        },
    )
    with pytest.raises(SpecError) as info:
        xml_model(root)
    assert info.value.reason == "schema-subset"


def test_integers_are_bounded_to_the_interoperable_range() -> None:
    common = generate_xsds()["common.xsd"].decode()
    block = re.search(r'<xs:simpleType name="common.height">.*?</xs:simpleType>', common, re.S)
    assert block is not None
    assert '<xs:restriction base="xs:long">' in block.group(0)
    assert '<xs:maxInclusive value="9007199254740991" />' in block.group(0)
    assert '<xs:pattern value="0|-?[1-9][0-9]*" />' in block.group(0)
