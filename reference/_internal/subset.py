"""The BMDX schema subset (spec/conventions/schema-subset.md), checked rule by rule.

Every JSON Schema of the spec must stay inside a subset that maps losslessly to XML
Schema 1.0.  Each rule of that page has one finding code here (see :data:`RULES`), so a
committee member learns exactly which rule an edit broke, and ``bmdx spec lint`` reports
them under requirement BMDX-SPEC-002.  The checks look at one schema at a time; given
the other schemas of the spec (by file name) they also check what ``$ref`` targets are.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from bmdx.reference._internal.specdata import SCHEMA_BASE

__all__ = [
    "JSON_SCHEMA_2020_12",
    "RULES",
    "SubsetFinding",
    "check_pattern",
    "check_schema",
    "iter_subschemas",
]

JSON_SCHEMA_2020_12 = "https://json-schema.org/draft/2020-12/schema"
MAX_SAFE_INTEGER = 2**53 - 1

RULES: dict[str, str] = {
    "subset-file-name": "one file per object type, named <kebab-name>.json",
    "subset-schema-uri": "$schema is https://json-schema.org/draft/2020-12/schema",
    "schema-id": "$id is https://bmdx.org/spec/1/schemas/<file name>",
    "subset-common-shape": "common.json holds shared definitions ($defs) only",
    "subset-x-object": "a top-level object type has a PascalCase x-object, title equal to it",
    "subset-object-type-const": "a top-level object type requires objectType with const <x-object>",
    "subset-root-requirement": "every top-level schema carries x-requirement at its root",
    "subset-requirement-id": "x-requirement is a requirement id BMDX-AREA-NNN",
    "subset-description": "description on every object schema and every property",
    "subset-keyword": "only the keywords of the subset's table (plus annotations) are used",
    "subset-type": "type is one of object, array, string, integer, boolean (no number, "
    "null or type arrays); every subschema that is not a $ref or a union states it",
    "subset-additional-properties": "objects have additionalProperties: false",
    "subset-array-items": "arrays have items, a single schema",
    "subset-integer-range": "integer bounds, enums and consts lie within +/-(2^53-1)",
    "subset-ref-target": "$ref names a $defs entry (same file or common.json) or a "
    "top-level object schema",
    "subset-ref-siblings": "a $ref carries only annotations beside it",
    "subset-union": "oneOf is a union: every branch a $ref to a top-level object schema",
    "subset-property-name": "property names match ^[A-Za-z][A-Za-z0-9_]*$ and are never 'item'",
    "subset-pattern-anchor": "every pattern is anchored with ^ and $",
    "subset-pattern-syntax": "patterns use only the common core of ECMA-262 and XSD regexes",
    "subset-unconstrained-string": "every string has enum, const or pattern, or is a $ref",
}

_ANNOTATIONS = frozenset({"title", "description", "$comment", "examples", "deprecated"})
_ROOT_ONLY = frozenset({"$schema", "$id", "$defs", "x-object"})
_BY_TYPE: dict[str, frozenset[str]] = {
    "object": frozenset({"properties", "required", "additionalProperties"}),
    "array": frozenset({"items", "minItems", "maxItems", "uniqueItems"}),
    "string": frozenset({"enum", "const", "pattern", "minLength", "maxLength", "format"}),
    "integer": frozenset({"minimum", "maximum", "enum", "const"}),
    "boolean": frozenset({"const"}),
}
_FILE_NAME = re.compile(r"^[a-z][a-z0-9]*(-[a-z0-9]+)*\.json$")
_PASCAL = re.compile(r"^[A-Z][A-Za-z0-9]*$")
_PROPERTY = re.compile(r"^[A-Za-z][A-Za-z0-9_]*$")
_REQUIREMENT = re.compile(r"^BMDX-[A-Z]{2,5}-[0-9]{3}$")
_LOCAL_DEF = re.compile(r"^#/\$defs/[^/]+$")
_COMMON_DEF = re.compile(r"^common\.json#/\$defs/([^/]+)$")
_OBJECT_FILE = re.compile(r"^[a-z][a-z0-9-]*\.json$")

# Subschema-valued keywords of 2020-12: keyword -> "map" | "list" | "one".
_SUBSCHEMA_KEYWORDS = {
    "properties": "map",
    "patternProperties": "map",
    "$defs": "map",
    "definitions": "map",
    "dependentSchemas": "map",
    "allOf": "list",
    "anyOf": "list",
    "oneOf": "list",
    "prefixItems": "list",
    "items": "one",
    "additionalProperties": "one",
    "additionalItems": "one",
    "unevaluatedItems": "one",
    "unevaluatedProperties": "one",
    "contains": "one",
    "propertyNames": "one",
    "not": "one",
    "if": "one",
    "then": "one",
    "else": "one",
}


@dataclass(frozen=True, slots=True)
class SubsetFinding:
    """A rule of the subset broken at ``pointer`` (an RFC 6901 pointer into the schema)."""

    code: str
    pointer: str
    message: str


def _escape(token: str) -> str:
    return token.replace("~", "~0").replace("/", "~1")


def iter_subschemas(schema: Any, pointer: str = "") -> Iterator[tuple[str, Any]]:
    """Every subschema (objects and booleans) with its pointer, the root first.

    Only subschema-valued keywords are followed: ``const``, ``enum``, ``examples`` and
    ``default`` hold data, and a ``$ref`` key inside them is not a reference.
    """
    yield pointer, schema
    if not isinstance(schema, dict):
        return
    for keyword, shape in _SUBSCHEMA_KEYWORDS.items():
        value = schema.get(keyword)
        here = f"{pointer}/{_escape(keyword)}"
        if shape == "map" and isinstance(value, dict):
            for name, sub in value.items():
                yield from iter_subschemas(sub, f"{here}/{_escape(name)}")
        elif shape == "list" and isinstance(value, list):
            for index, sub in enumerate(value):
                yield from iter_subschemas(sub, f"{here}/{index}")
        elif shape == "one" and isinstance(value, dict | bool):
            yield from iter_subschemas(value, here)


# --- patterns ---------------------------------------------------------------------

_META_ESCAPES = frozenset("\\|.?*+(){}[]^-")
_QUANT_BRACE = re.compile(r"\{([0-9]+)(,([0-9]*))?\}")
_HEX2 = re.compile(r"x[0-9A-Fa-f]{2}")
_HEX4 = re.compile(r"u[0-9A-Fa-f]{4}")


# A tokenizer reads best as one branch per token kind.
def _escape_at(body: str, i: int) -> tuple[int, str | None]:  # noqa: PLR0911
    """Length consumed by the escape at ``body[i] == '\\'`` and an error, if any."""
    if i + 1 >= len(body):
        return 1, "pattern ends with a lone backslash"
    nxt = body[i + 1]
    if nxt in _META_ESCAPES:
        return 2, None
    if _HEX2.match(body, i + 1):
        return 4, None
    if _HEX4.match(body, i + 1):
        return 6, None
    if nxt in "dDwWsSbB":
        return 2, f"\\{nxt} means different things in ECMA-262 and XSD; write a class"
    if nxt.isdigit():
        return 2, f"backreference \\{nxt} is outside the common core"
    return 2, f"escape \\{nxt} is outside the common core"


def _class_at(body: str, i: int) -> tuple[int, str | None]:
    """Scan the character class starting at ``body[i] == '['``."""
    j = i + 1
    if j < len(body) and body[j] == "^":
        j += 1
    first = True
    while j < len(body):
        ch = body[j]
        if ch == "]":
            if first:
                return j + 1 - i, "an empty class or a leading ']' is read differently by XSD"
            return j + 1 - i, None
        if ch == "[":
            return j + 1 - i, "an unescaped '[' inside a class is read differently by XSD"
        if ch == "-" and j + 1 < len(body) and body[j + 1] == "[":
            return j + 2 - i, "class subtraction (-[...]) is XSD-only"
        if ch == "\\":
            size, error = _escape_at(body, j)
            if error:
                return j + size - i, error
            j += size
        else:
            j += 1
        first = False
    return len(body) - i, "unterminated character class"


def check_pattern(pattern: str) -> list[tuple[str, str]]:  # noqa: PLR0912 (one branch per token)
    """The first problem of one ``pattern`` as ``(code, message)`` pairs (empty when fine).

    Scanning stops at the first problem: what follows it is read differently anyway.
    """
    if len(pattern) < 2 or not pattern.startswith("^") or not pattern.endswith("$"):
        return [("subset-pattern-anchor", f"pattern {pattern!r} is not anchored with ^...$")]
    if pattern.endswith("\\$") and not pattern.endswith("\\\\$"):
        return [("subset-pattern-anchor", f"pattern {pattern!r} ends in an escaped $")]
    body = pattern[1:-1]
    i = 0
    depth = 0
    atom = False  # whether a quantifier may follow here
    while i < len(body):
        ch = body[i]
        size, error, next_atom = 1, None, True
        if ch == "\\":
            size, error = _escape_at(body, i)
        elif ch == "[":
            size, error = _class_at(body, i)
        elif ch == "(":
            if body.startswith("(?", i):
                error = "group extensions ((?:, (?=, (?!, (?<) are outside the common core"
            depth += 1
            next_atom = False
        elif ch == ")":
            depth -= 1
            if depth < 0:
                error = "unbalanced ')'"
        elif ch == "|":
            next_atom = False
        elif ch in "?*+{":
            brace = _QUANT_BRACE.match(body, i) if ch == "{" else None
            if ch == "{" and brace is None:
                error = "'{' is a quantifier only as {n} or {n,m}"
            elif ch == "{" and brace is not None and brace[2] and not brace[3]:
                error = "open-ended {n,} is outside the common core; use {n,m} or *"
            elif not atom:
                error = f"quantifier {ch!r} follows nothing"
            size = len(brace[0]) if brace is not None else 1
            if i + size < len(body) and body[i + size] == "?":
                error = error or "lazy quantifiers are outside the common core"
                size += 1
            next_atom = False
        elif ch in "^$":
            error = f"{ch!r} inside a pattern is an anchor in ECMA-262 but a literal in XSD"
        elif ch in "]}":
            error = f"unescaped {ch!r}"
        if error:
            return [("subset-pattern-syntax", f"pattern {pattern!r}: {error}")]
        atom = next_atom
        i += size
    if depth > 0:
        return [("subset-pattern-syntax", f"pattern {pattern!r}: unbalanced '('")]
    return []


# --- schemas ----------------------------------------------------------------------


class _Checker:
    def __init__(self, file_name: str, schemas: Mapping[str, Any] | None) -> None:
        self.file_name = file_name
        self.schemas = schemas
        self.findings: list[SubsetFinding] = []

    def add(self, code: str, pointer: str, message: str) -> None:
        self.findings.append(SubsetFinding(code, pointer, message))

    def root(self, schema: Any) -> None:
        if not _FILE_NAME.match(self.file_name):
            self.add("subset-file-name", "", f"{self.file_name!r} is not <kebab-name>.json")
        if not isinstance(schema, dict):
            self.add("subset-type", "", "a schema file holds a JSON object")
            return
        if schema.get("$schema") != JSON_SCHEMA_2020_12:
            self.add("subset-schema-uri", "/$schema", f"$schema must be {JSON_SCHEMA_2020_12}")
        expected_id = SCHEMA_BASE + self.file_name
        if schema.get("$id") != expected_id:
            self.add("schema-id", "/$id", f"$id {schema.get('$id')!r} must be {expected_id!r}")
        defs = schema.get("$defs", {})
        if self.file_name == "common.json":
            extra = sorted(set(schema) - _ANNOTATIONS - {"$schema", "$id", "$defs"})
            if extra or not isinstance(defs, dict):
                self.add("subset-common-shape", "", f"common.json holds only $defs, not {extra}")
        else:
            self.object_root(schema)
            self.node(schema, "", root=True)
        if isinstance(defs, dict):
            for name, sub in defs.items():
                self.node(sub, f"/$defs/{_escape(name)}")
        else:
            self.add("subset-keyword", "/$defs", "$defs must be an object of schemas")

    def object_root(self, schema: dict[str, Any]) -> None:
        name = schema.get("x-object")
        if not isinstance(name, str) or not _PASCAL.match(name):
            self.add("subset-x-object", "/x-object", "an object type needs a PascalCase x-object")
            return
        if schema.get("title") != name:
            self.add("subset-x-object", "/title", f"title must equal x-object {name!r}")
        if "x-requirement" not in schema:
            self.add("subset-root-requirement", "", "the root carries no x-requirement")
        props = schema.get("properties")
        member = props.get("objectType") if isinstance(props, dict) else None
        required = schema.get("required")
        if (
            not isinstance(member, dict)
            or member.get("const") != name
            or not isinstance(required, list)
            or "objectType" not in required
        ):
            self.add(
                "subset-object-type-const",
                "/properties/objectType",
                f"objectType must be required with const {name!r}",
            )

    def node(self, schema: Any, pointer: str, *, root: bool = False) -> None:
        if not isinstance(schema, dict):
            self.add("subset-type", pointer, "boolean schemas are outside the subset")
            return
        allowed = set(_ANNOTATIONS) | {"x-requirement"} | (_ROOT_ONLY if root else set())
        req = schema.get("x-requirement")
        if req is not None and not (isinstance(req, str) and _REQUIREMENT.match(req)):
            self.add("subset-requirement-id", f"{pointer}/x-requirement", f"{req!r} is not an id")
        if "$ref" in schema:
            self.ref(schema, pointer, allowed)
            return
        if "oneOf" in schema:
            self.union(schema, pointer, allowed)
            return
        kind = schema.get("type")
        if not isinstance(kind, str) or kind not in _BY_TYPE:
            self.add("subset-type", f"{pointer}/type", f"type {kind!r} is outside the subset")
            return
        allowed |= {"type"} | _BY_TYPE[kind]
        for keyword in schema:
            if keyword not in allowed and not keyword.startswith("x-"):
                self.add(
                    "subset-keyword",
                    f"{pointer}/{_escape(keyword)}",
                    f"{keyword!r} is outside the subset for type {kind}",
                )
            elif keyword == "x-object" and not root:
                self.add("subset-x-object", f"{pointer}/x-object", "x-object only at the root")
        getattr(self, f"type_{kind}")(schema, pointer)

    def type_object(self, schema: dict[str, Any], pointer: str) -> None:
        if not isinstance(schema.get("description"), str):
            self.add("subset-description", pointer, "object schema without a description")
        if schema.get("additionalProperties") is not False:
            self.add(
                "subset-additional-properties",
                f"{pointer}/additionalProperties",
                "objects must set additionalProperties: false",
            )
        props = schema.get("properties", {})
        if not isinstance(props, dict):
            self.add("subset-keyword", f"{pointer}/properties", "properties must be an object")
            return
        for name, sub in props.items():
            here = f"{pointer}/properties/{_escape(name)}"
            if not _PROPERTY.match(name) or name == "item":
                self.add("subset-property-name", here, f"property name {name!r} is not allowed")
            if isinstance(sub, dict) and not isinstance(sub.get("description"), str):
                self.add("subset-description", here, f"property {name!r} has no description")
            self.node(sub, here)

    def type_array(self, schema: dict[str, Any], pointer: str) -> None:
        items = schema.get("items")
        if not isinstance(items, dict):
            self.add("subset-array-items", f"{pointer}/items", "an array needs one items schema")
            return
        self.node(items, f"{pointer}/items")

    def type_string(self, schema: dict[str, Any], pointer: str) -> None:
        if not any(k in schema for k in ("enum", "const", "pattern")):
            self.add(
                "subset-unconstrained-string",
                pointer,
                "a string needs enum, const or pattern (free text: common.json#/$defs/text)",
            )
        pattern = schema.get("pattern")
        if isinstance(pattern, str):
            for code, message in check_pattern(pattern):
                self.add(code, f"{pointer}/pattern", message)

    def type_integer(self, schema: dict[str, Any], pointer: str) -> None:
        values = [schema.get("minimum"), schema.get("maximum"), schema.get("const")]
        enum = schema.get("enum")
        values += enum if isinstance(enum, list) else []
        for value in values:
            if value is None:
                continue
            if (
                isinstance(value, bool)
                or not isinstance(value, int)
                or abs(value) > MAX_SAFE_INTEGER
            ):
                self.add(
                    "subset-integer-range", pointer, f"{value!r} is not an integer within 2^53-1"
                )

    def type_boolean(self, schema: dict[str, Any], pointer: str) -> None:
        const = schema.get("const")
        if const is not None and not isinstance(const, bool):
            self.add("subset-keyword", f"{pointer}/const", "a boolean const must be true or false")

    def ref(self, schema: dict[str, Any], pointer: str, allowed: set[str]) -> None:
        extra = sorted(k for k in schema if k not in allowed | {"$ref"} and not k.startswith("x-"))
        if extra:
            self.add("subset-ref-siblings", pointer, f"$ref carries constraints beside it: {extra}")
        target = schema["$ref"]
        here = f"{pointer}/$ref"
        if not isinstance(target, str):
            self.add("subset-ref-target", here, "$ref must be a string")
            return
        common = _COMMON_DEF.match(target)
        if _LOCAL_DEF.match(target) or common:
            if common and self.file_name == "common.json":
                self.add("subset-ref-target", here, "common.json refers to itself as #/$defs/...")
            return
        if _OBJECT_FILE.match(target) and target != "common.json":
            if not self.is_object_file(target):
                self.add("subset-ref-target", here, f"{target} is not a top-level object schema")
            return
        self.add(
            "subset-ref-target",
            here,
            f"$ref {target!r} is neither a $defs entry (#/$defs/x, common.json#/$defs/x) "
            "nor a top-level object schema (<name>.json)",
        )

    def is_object_file(self, target: str) -> bool:
        if self.schemas is None:
            return True
        other = self.schemas.get(target)
        # A missing target is a dangling reference, reported on its own.
        return other is None or (isinstance(other, dict) and "x-object" in other)

    def union(self, schema: dict[str, Any], pointer: str, allowed: set[str]) -> None:
        extra = sorted(k for k in schema if k not in allowed | {"oneOf"} and not k.startswith("x-"))
        branches = schema["oneOf"]
        here = f"{pointer}/oneOf"
        if extra:
            self.add("subset-union", pointer, f"a union carries only oneOf, not {extra}")
        if not isinstance(branches, list) or len(branches) < 2:
            self.add("subset-union", here, "a union needs at least two branches")
            return
        for index, branch in enumerate(branches):
            target = branch.get("$ref") if isinstance(branch, dict) else None
            if (
                not isinstance(target, str)
                or set(branch) - {"$ref"} - _ANNOTATIONS
                or not _OBJECT_FILE.match(target)
                or target == "common.json"
                or not self.is_object_file(target)
            ):
                self.add(
                    "subset-union",
                    f"{here}/{index}",
                    "each union branch is only a $ref to a top-level object schema",
                )


def check_schema(
    schema: Any, file_name: str, *, schemas: Mapping[str, Any] | None = None
) -> list[SubsetFinding]:
    """Every subset rule ``schema`` (the file ``file_name``) breaks.

    ``schemas`` maps the spec's other schema files by file name; with it, ``$ref``
    targets are checked to be top-level object schemas where the subset requires one.
    """
    checker = _Checker(file_name, schemas)
    checker.root(schema)
    return checker.findings
