"""Each rule of spec/conventions/schema-subset.md, broken by one small schema."""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from typing import Any

import pytest

from bmdx.reference._internal.specdata import spec_dir
from bmdx.reference._internal.subset import RULES, check_pattern, check_schema

GOOD: dict[str, Any] = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "$id": "https://bmdx.org/spec/1/schemas/thing.json",
    "title": "Thing",
    "x-object": "Thing",
    "x-requirement": "BMDX-TST-001",
    "description": "A thing.",
    "type": "object",
    "additionalProperties": False,
    "required": ["objectType", "name"],
    "properties": {
        "objectType": {"type": "string", "const": "Thing", "description": "Always 'Thing'."},
        "name": {"$ref": "common.json#/$defs/shortText", "description": "Its name."},
        "count": {"type": "integer", "minimum": 0, "maximum": 9, "description": "How many."},
        "tags": {
            "type": "array",
            "description": "Tags.",
            "items": {"$ref": "#/$defs/tag"},
            "minItems": 1,
            "uniqueItems": True,
        },
        "flag": {"type": "boolean", "description": "A flag."},
        "part": {"$ref": "other.json", "description": "An embedded object."},
        "parts": {
            "type": "array",
            "description": "A union.",
            "items": {"oneOf": [{"$ref": "other.json"}, {"$ref": "third.json"}]},
        },
        "encrypted_key": {"type": "string", "pattern": "^[A-Za-z0-9_-]*$", "description": "JOSE."},
    },
    "$defs": {
        "tag": {"type": "string", "description": "A tag.", "enum": ["a", "b"]},
        "nested": {
            "type": "object",
            "description": "Nested.",
            "additionalProperties": False,
            "properties": {"kind": {"type": "string", "const": "x", "description": "Kind."}},
        },
    },
}

OTHERS = {
    "other.json": {"x-object": "Other"},
    "third.json": {"x-object": "Third"},
    "common.json": {},
}


def findings(schema: Any, name: str = "thing.json") -> list[tuple[str, str]]:
    return [(f.code, f.pointer) for f in check_schema(schema, name, schemas=OTHERS)]


def test_good_schema_has_no_findings() -> None:
    assert findings(GOOD) == []


def _set(path: str, value: Any) -> Callable[[dict[str, Any]], None]:
    def edit(schema: dict[str, Any]) -> None:
        *parents, last = path.split("/")
        node = schema
        for p in parents:
            node = node[p]
        node[last] = value

    return edit


def _delete(path: str) -> Callable[[dict[str, Any]], None]:
    def edit(schema: dict[str, Any]) -> None:
        *parents, last = path.split("/")
        node = schema
        for p in parents:
            node = node[p]
        del node[last]

    return edit


P = "properties"
CASES: list[tuple[str, Callable[[dict[str, Any]], None], str]] = [
    ("subset-schema-uri", _set("$schema", "http://json-schema.org/draft-07/schema#"), "/$schema"),
    ("schema-id", _set("$id", "https://bmdx.org/spec/1/schemas/other-name.json"), "/$id"),
    ("subset-x-object", _set("x-object", "thing"), "/x-object"),
    ("subset-x-object", _set("title", "A Thing"), "/title"),
    ("subset-object-type-const", _set(f"{P}/objectType/const", "Other"), "/properties/objectType"),
    ("subset-object-type-const", _set("required", ["name"]), "/properties/objectType"),
    ("subset-root-requirement", _delete("x-requirement"), ""),
    (
        "subset-requirement-id",
        _set(f"{P}/count/x-requirement", "FMT-1"),
        "/properties/count/x-requirement",
    ),
    ("subset-description", _delete(f"{P}/flag/description"), "/properties/flag"),
    ("subset-description", _delete("$defs/nested/description"), "/$defs/nested"),
    ("subset-keyword", _set(f"{P}/count/multipleOf", 2), "/properties/count/multipleOf"),
    ("subset-keyword", _set(f"{P}/count/anyOf", [{}]), "/properties/count/anyOf"),
    ("subset-type", _set(f"{P}/count/type", "number"), "/properties/count/type"),
    ("subset-type", _set(f"{P}/count/type", ["integer", "null"]), "/properties/count/type"),
    ("subset-type", _set(f"{P}/flag", True), "/properties/flag"),
    (
        "subset-additional-properties",
        _delete("$defs/nested/additionalProperties"),
        "/$defs/nested/additionalProperties",
    ),
    ("subset-array-items", _delete(f"{P}/tags/items"), "/properties/tags/items"),
    ("subset-integer-range", _set(f"{P}/count/maximum", 2**53), "/properties/count"),
    (
        "subset-ref-target",
        _set(f"{P}/name/$ref", "https://example.org/x.json"),
        "/properties/name/$ref",
    ),
    (
        "subset-ref-target",
        _set(f"{P}/name/$ref", "common.json#/properties/x"),
        "/properties/name/$ref",
    ),
    ("subset-ref-target", _set(f"{P}/part/$ref", "common.json"), "/properties/part/$ref"),
    ("subset-ref-siblings", _set(f"{P}/name/maxLength", 3), "/properties/name"),
    (
        "subset-union",
        _set(f"{P}/parts/items/oneOf", [{"$ref": "other.json"}, {"type": "string"}]),
        "/properties/parts/items/oneOf/1",
    ),
    (
        "subset-union",
        _set(f"{P}/parts/items/oneOf", [{"$ref": "other.json"}]),
        "/properties/parts/items/oneOf",
    ),
    (
        "subset-property-name",
        _set(f"{P}/item", {"type": "boolean", "description": "d"}),
        "/properties/item",
    ),
    (
        "subset-property-name",
        _set(f"{P}/x:y", {"type": "boolean", "description": "d"}),
        "/properties/x:y",
    ),
    (
        "subset-pattern-anchor",
        _set(f"{P}/encrypted_key/pattern", "[A-Z]+"),
        "/properties/encrypted_key/pattern",
    ),
    (
        "subset-pattern-syntax",
        _set(f"{P}/encrypted_key/pattern", "^\\d+$"),
        "/properties/encrypted_key/pattern",
    ),
    (
        "subset-unconstrained-string",
        _delete(f"{P}/encrypted_key/pattern"),
        "/properties/encrypted_key",
    ),
]


@pytest.mark.parametrize(("code", "edit", "pointer"), CASES, ids=[f"{c[0]}{c[2]}" for c in CASES])
def test_each_rule_has_its_code(
    code: str, edit: Callable[[dict[str, Any]], None], pointer: str
) -> None:
    schema = copy.deepcopy(GOOD)
    edit(schema)
    assert findings(schema) == [(code, pointer)]


def test_every_rule_is_exercised() -> None:
    exercised = {c[0] for c in CASES} | {"subset-file-name", "subset-common-shape"}
    assert exercised == set(RULES)


def test_file_name_must_be_kebab_case() -> None:
    schema = copy.deepcopy(GOOD)
    schema["$id"] = "https://bmdx.org/spec/1/schemas/Thing_Type.json"
    assert findings(schema, "Thing_Type.json") == [("subset-file-name", "")]


def test_common_json_holds_definitions_only() -> None:
    common = {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": "https://bmdx.org/spec/1/schemas/common.json",
        "description": "Shared.",
        "$defs": {"code": {"type": "string", "description": "A code.", "pattern": "^[A-Z]{2}$"}},
    }
    assert findings(common, "common.json") == []
    common["type"] = "object"
    assert findings(common, "common.json") == [("subset-common-shape", "")]


def test_ref_to_a_defs_holding_schema_is_not_an_object_type() -> None:
    schema = copy.deepcopy(GOOD)
    schema["properties"]["part"]["$ref"] = "library.json"
    others = {**OTHERS, "library.json": {"$defs": {}}}
    assert [(f.code, f.pointer) for f in check_schema(schema, "thing.json", schemas=others)] == [
        ("subset-ref-target", "/properties/part/$ref")
    ]


@pytest.mark.parametrize(
    "pattern",
    [
        "^[a-z0-9][a-z0-9.-]{0,62}$",
        "^sha-256:[0-9a-f]{64}$",
        "^[^\\x00-\\x08\\x0B\\x0C\\x0E-\\x1F\\uFFFE\\uFFFF]*$",
        "^(0|[1-9][0-9]*)(\\.[0-9]+)?$",
        "^a\\|b\\(c\\)\\[d\\]\\{e\\}\\*\\+\\?\\^\\-\\\\$",
        "^(ab|cd)?x{2}$",
    ],
)
def test_common_core_patterns_pass(pattern: str) -> None:
    assert check_pattern(pattern) == []


@pytest.mark.parametrize(
    ("pattern", "why"),
    [
        ("^\\w+$", "\\w means different things"),
        ("^\\s$", "\\s means different things"),
        ("^(a)\\1$", "backreference"),
        ("^(?:a)$", "group extensions"),
        ("^a(?=b)$", "group extensions"),
        ("^a+?$", "lazy quantifiers"),
        ("^a{2,}$", "open-ended"),
        ("^a{x}$", "'{' is a quantifier only"),
        ("^*a$", "follows nothing"),
        ("^a|^b$", "'^' inside a pattern"),
        ("^[a-z-[aeiou]]$", "class subtraction"),
        ("^[a[b]$", "unescaped '['"),
        ("^[]a]$", "leading ']'"),
        ("^[abc$", "unterminated character class"),
        ("^(a$", "unbalanced '('"),
        ("^a)$", "unbalanced ')'"),
        ("^\\/$", "escape \\/"),
        ("^a}$", "unescaped '}'"),
    ],
)
def test_patterns_outside_the_common_core_fail(pattern: str, why: str) -> None:
    [(code, message)] = check_pattern(pattern)
    assert code == "subset-pattern-syntax"
    assert why in message


@pytest.mark.parametrize("pattern", ["abc$", "^abc", "^", "^abc\\$"])
def test_unanchored_patterns_fail(pattern: str) -> None:
    assert [code for code, _ in check_pattern(pattern)] == ["subset-pattern-anchor"]


@pytest.mark.requirement("BMDX-SPEC-002")
def test_the_real_schemas_stay_in_the_subset() -> None:
    folder = spec_dir() / "schemas" / "json"
    schemas = {p.name: json.loads(p.read_bytes()) for p in sorted(folder.glob("*.json"))}
    found = {
        name: [(f.code, f.pointer, f.message) for f in check_schema(s, name, schemas=schemas)]
        for name, s in schemas.items()
    }
    assert {name: f for name, f in found.items() if f} == {}
