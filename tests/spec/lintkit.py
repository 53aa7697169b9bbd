"""A throw-away copy of spec/ with one small object type, for linting edits of it.

The ``Widget`` type is defined here (schema, requirements, examples) so that the lint
tests do not depend on how far the real object types and examples have come.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

from bmdx.reference._internal.catalogue import statement_hash
from bmdx.reference._internal.specdata import spec_dir
from bmdx.reference._internal.xmlbuild import build_outputs

WIDGET_SCHEMA: dict[str, Any] = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "$id": "https://bmdx.org/spec/1/schemas/widget.json",
    "title": "Widget",
    "x-object": "Widget",
    "x-requirement": "BMDX-TST-001",
    "description": "A test object type.",
    "type": "object",
    "additionalProperties": False,
    "required": ["objectType", "name", "size"],
    "properties": {
        "objectType": {"type": "string", "const": "Widget", "description": "Always 'Widget'."},
        "name": {"$ref": "#/$defs/name", "description": "The widget's name."},
        "size": {
            "type": "integer",
            "minimum": 1,
            "maximum": 10,
            "description": "Size from 1 to 10.",
            "x-requirement": "BMDX-TST-002",
        },
    },
    "$defs": {
        "name": {"type": "string", "pattern": "^[a-z]{1,20}$", "description": "A short name."}
    },
}

STATEMENTS = {
    "BMDX-TST-001": "A Widget MUST carry a name and a size.",
    "BMDX-TST-002": "A Widget's size MUST lie between 1 and 10.",
}


def catalogue_yaml() -> str:
    lines = ["area: TST", "title: Test widgets", "requirements:"]
    for rid, statement in STATEMENTS.items():
        lines += [
            f"  - id: {rid}",
            "    level: MUST",
            "    profile: core-format",
            f"    statement: {statement}",
            "    rationale: Exercises the lint.",
            "    source: tests",
            f"    hash: {statement_hash(statement)}",
        ]
    return "\n".join(lines) + "\n"


def write_json(path: Path, value: Any) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(value, indent=2) + "\n", encoding="utf-8")


def make_spec(tmp_path: Path, template: Path | None = None) -> Path:
    """A copy of the real spec (symlinks resolved) plus the Widget type, built.

    The copy's generated files are rebuilt so that only what a test edits is stale.
    With ``template`` (an earlier result of this function) the copy is taken from it.
    """
    root = tmp_path / "spec"
    if template is not None:
        shutil.copytree(template, root)
        return root
    shutil.copytree(spec_dir(), root, symlinks=False)
    write_json(root / "schemas" / "json" / "widget.json", WIDGET_SCHEMA)
    (root / "requirements" / "test-widget.yaml").write_text(catalogue_yaml(), encoding="utf-8")
    valid = root / "examples" / "valid" / "widget"
    write_json(valid / "small.json", {"objectType": "Widget", "name": "bolt", "size": 2})
    invalid = root / "examples" / "invalid" / "widget"
    write_json(invalid / "too-big.json", {"objectType": "Widget", "name": "nut", "size": 11})
    (invalid / "too-big.xml").write_bytes(
        b'<Widget xmlns="urn:bmdx:1"><name>nut</name><size>11</size></Widget>\n'
    )
    (invalid / "expected.yaml").write_text(
        "too-big.json: BMDX-TST-002\ntoo-big.xml: BMDX-TST-002\n", encoding="utf-8"
    )
    for name, data in build_outputs(root).items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_bytes(data)
    return root


def make_conformance(tmp_path: Path, profiles: str = "[]\n") -> Path:
    root = tmp_path / "conformance"
    root.mkdir()
    (root / "profiles.yaml").write_text(profiles, encoding="utf-8")
    return root
