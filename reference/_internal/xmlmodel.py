"""The BMDX schema subset, read once into the type model that both XML tools share.

``spec/conventions/schema-subset.md`` defines which JSON Schema constructs BMDX uses and
how each maps to XML.  This module reads the spec's JSON Schemas into that model (named
definitions, objects, arrays, unions, simple types with facets) and refuses anything
outside the subset with a :class:`SpecError`, so the XSD generator and the JSON <-> XML
mapping cannot disagree about what a schema means.  It also translates the subset's
ECMA-262 patterns into XML Schema regular expressions.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urldefrag, urljoin

from bmdx.reference._internal.errors import SpecError
from bmdx.reference._internal.specdata import schema_by_id, spec_dir

__all__ = [
    "INT_LIMIT",
    "Arr",
    "Named",
    "Node",
    "Obj",
    "Prop",
    "Resolved",
    "Simple",
    "Union",
    "XmlModel",
    "effective",
    "translate_pattern",
    "xml_model",
]

INT_LIMIT = 2**53 - 1
REQ_SUBSET = "BMDX-SPEC-002"

_ANNOTATIONS = frozenset(
    {"$schema", "$id", "$comment", "title", "description", "examples", "default", "format"}
)
_PROPERTY_NAME = re.compile(r"[A-Za-z][A-Za-z0-9_]*")
_DEF_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_.-]*")
_KEYS: dict[str, frozenset[str]] = {
    "object": frozenset({"type", "properties", "required", "additionalProperties"}),
    "array": frozenset({"type", "items", "minItems", "maxItems", "uniqueItems"}),
    "string": frozenset({"type", "enum", "const", "pattern", "minLength", "maxLength"}),
    "integer": frozenset({"type", "enum", "const", "minimum", "maximum"}),
    "boolean": frozenset({"type", "enum", "const"}),
}

SimpleKind = Literal["string", "integer", "boolean"]


@dataclass(frozen=True, slots=True)
class Named:
    """A reference to a named definition (an XSD global type or group)."""

    key: str
    requirement: str | None = None


@dataclass(frozen=True, slots=True)
class Prop:
    name: str
    node: Node
    required: bool
    description: str | None = None


@dataclass(frozen=True, slots=True)
class Obj:
    """An object; ``object_type`` is set when its ``objectType`` member is implied by
    the element that carries it (and so is not written as a child element)."""

    props: tuple[Prop, ...]
    object_type: str | None = None
    requirement: str | None = None

    def prop(self, name: str) -> Prop | None:
        for p in self.props:
            if p.name == name:
                return p
        return None


@dataclass(frozen=True, slots=True)
class Arr:
    items: Node
    min_items: int = 0
    max_items: int | None = None
    unique: bool = False
    requirement: str | None = None


@dataclass(frozen=True, slots=True)
class Union:
    """A ``oneOf`` of top-level object types, discriminated by ``objectType``."""

    members: tuple[str, ...]
    requirement: str | None = None


@dataclass(frozen=True, slots=True)
class Simple:
    """A string, integer or boolean with its facets (``base`` when it refines a
    named simple type: the named type's facets apply as well)."""

    kind: SimpleKind
    base: Named | None = None
    enum: tuple[str | int | bool, ...] | None = None
    pattern: str | None = None
    min_length: int | None = None
    max_length: int | None = None
    minimum: int | None = None
    maximum: int | None = None
    requirement: str | None = None


Node = Named | Obj | Arr | Union | Simple
Resolved = Obj | Arr | Union | Simple


@dataclass(slots=True)
class XmlModel:
    """Every named definition of a spec, keyed by its XSD name.

    Object types are named as their ``x-object``; ``$defs`` entries as
    ``<file stem>.<def name>``; other file roots as the file stem.
    """

    defs: dict[str, Node] = field(default_factory=dict)
    aliases: dict[str, str] = field(default_factory=dict)
    file_of: dict[str, str] = field(default_factory=dict)
    descriptions: dict[str, str] = field(default_factory=dict)
    requirements: dict[str, str] = field(default_factory=dict)
    roots: dict[str, str] = field(default_factory=dict)
    files: dict[str, str] = field(default_factory=dict)

    def canonical(self, key: str) -> str:
        seen: set[str] = set()
        while key in self.aliases:
            if key in seen:
                raise SpecError(f"definition {key} refers to itself", reason="schema-subset")
            seen.add(key)
            key = self.aliases[key]
        return key

    def chain(self, key: str) -> list[str]:
        """``key`` and every definition it is an alias of, in order."""
        out = [key]
        while out[-1] in self.aliases and len(out) <= len(self.aliases):
            out.append(self.aliases[out[-1]])
        return out

    def target(self, node: Node) -> Resolved:
        """``node`` with named references followed to the definition they name."""
        while isinstance(node, Named):
            node = self.defs[self.canonical(node.key)]
        return node

    def root_node(self, object_type: str) -> Obj:
        node = self.defs.get(object_type)
        if not isinstance(node, Obj):
            raise SpecError(f"no object type {object_type!r}", reason="schema-subset")
        return node


def _subset_error(where: str, message: str) -> SpecError:
    return SpecError(
        f"{where}: {message}",
        requirement=REQ_SUBSET,
        reason="schema-subset",
        remedy="Keep the schema inside spec/conventions/schema-subset.md.",
    )


def _stem(schema_id: str) -> str:
    name = schema_id.rstrip("/").rsplit("/", 1)[-1]
    return name.removesuffix(".json")


class _Reader:
    """Reads the raw schemas of one spec into an :class:`XmlModel`."""

    def __init__(self, schemas: dict[str, dict[str, Any]]) -> None:
        self.schemas = schemas
        self.model = XmlModel()

    def run(self) -> XmlModel:
        for sid in sorted(self.schemas):
            schema = self.schemas[sid]
            stem = _stem(sid)
            self.model.files[stem] = sid
            name = schema.get("x-object")
            if isinstance(name, str):
                self._define(name, schema, sid, stem, "")
                self.model.roots[name] = name
            elif "type" in schema or "$ref" in schema or "oneOf" in schema:
                self._define(stem, schema, sid, stem, "")
            self._read_defs(schema, sid, stem, "", "")
        for key, node in self.model.defs.items():
            if isinstance(node, Simple) and node.base is not None:
                self._check_simple_base(key, node)
        return self.model

    def _read_defs(
        self, schema: dict[str, Any], sid: str, stem: str, prefix: str, path: str
    ) -> None:
        defs = schema.get("$defs", {})
        if not isinstance(defs, dict):
            raise _subset_error(f"{stem}{path}", "$defs is not an object")
        for def_name in sorted(defs):
            if not _DEF_NAME.fullmatch(def_name):
                raise _subset_error(f"{stem}{path}/$defs/{def_name}", "not an XML name")
            sub = defs[def_name]
            full = f"{prefix}{def_name}"
            sub_path = f"{path}/$defs/{def_name}"
            self._define(f"{stem}.{full}", sub, sid, stem, sub_path)
            if isinstance(sub, dict) and "$defs" in sub:
                self._read_defs(sub, sid, stem, f"{full}.", sub_path)

    def _define(self, key: str, schema: Any, sid: str, stem: str, path: str) -> None:
        where = f"{stem}.json#{path}"
        if not isinstance(schema, dict):
            raise _subset_error(where, "a schema must be an object")
        self.model.file_of[key] = stem
        if isinstance(schema.get("description"), str):
            self.model.descriptions[key] = schema["description"]
        if isinstance(schema.get("x-requirement"), str):
            self.model.requirements[key] = schema["x-requirement"]
        if "$ref" in schema and not (
            set(schema) - _ANNOTATIONS - {"$ref", "$defs"} - _xkeys(schema)
        ):
            target = self._ref_key(schema["$ref"], sid, where)
            self.model.aliases[key] = target
            return
        node = self._node(schema, sid, where, top=True)
        if key in self.model.defs:
            raise _subset_error(where, f"the XSD name {key} is defined twice")
        self.model.defs[key] = node

    def _ref_key(self, ref: Any, sid: str, where: str) -> str:
        if not isinstance(ref, str):
            raise _subset_error(where, "$ref is not a string")
        doc, fragment = urldefrag(urljoin(sid, ref))
        target = self.schemas.get(doc)
        if target is None:
            raise SpecError(
                f"{where}: $ref {ref!r} names no schema of the spec",
                requirement=REQ_SUBSET,
                reason="dangling-ref",
            )
        stem = _stem(doc)
        if fragment in {"", "/"}:
            name = target.get("x-object")
            if isinstance(name, str):
                return name
            return stem
        parts = fragment.lstrip("/").split("/")
        if len(parts) % 2 or any(p != "$defs" for p in parts[::2]):
            raise _subset_error(where, f"$ref {ref!r} is not to a $defs entry or a file")
        node: Any = target
        for token in parts[1::2]:
            node = node.get("$defs", {}).get(token) if isinstance(node, dict) else None
        if node is None:
            raise SpecError(
                f"{where}: $ref {ref!r} names no definition",
                requirement=REQ_SUBSET,
                reason="dangling-ref",
            )
        return f"{stem}." + ".".join(parts[1::2])

    def _raw_target(self, ref: str, sid: str) -> tuple[dict[str, Any], str]:
        doc, fragment = urldefrag(urljoin(sid, ref))
        node: Any = self.schemas[doc]
        for token in fragment.lstrip("/").split("/") if fragment.strip("/") else []:
            node = node[token]
        return node, doc

    def _kind_of(self, schema: dict[str, Any], sid: str, depth: int = 0) -> str:
        if depth > 32:
            raise _subset_error(sid, "$ref chain does not end")
        if "$ref" in schema:
            target, doc = self._raw_target(schema["$ref"], sid)
            return self._kind_of(target, doc, depth + 1)
        if "oneOf" in schema:
            return "union"
        return _type_of(schema, sid)

    def _node(self, schema: Any, sid: str, where: str, *, top: bool = False) -> Node:
        if not isinstance(schema, dict):
            raise _subset_error(where, "a schema must be an object (no boolean schemas)")
        requirement = schema.get("x-requirement")
        requirement = requirement if isinstance(requirement, str) else None
        allowed_extra = _ANNOTATIONS | _xkeys(schema) | ({"$defs"} if top else set())
        if "$ref" in schema:
            extra = set(schema) - allowed_extra - {"$ref"}
            key = self._ref_key(schema["$ref"], sid, where)
            if not extra:
                return Named(key, requirement)
            kind = self._kind_of(schema, sid)
            if kind not in {"string", "integer", "boolean"}:
                raise _subset_error(where, f"$ref to a {kind} cannot carry constraints")
            if "type" in schema and schema["type"] != kind:
                raise _subset_error(where, "type contradicts the referenced definition")
            refined = {k: v for k, v in schema.items() if k != "$ref"}
            refined["type"] = kind
            simple = self._simple(refined, kind, sid, where, allowed_extra)
            return Simple(
                kind=simple.kind,
                base=Named(key),
                enum=simple.enum,
                pattern=simple.pattern,
                min_length=simple.min_length,
                max_length=simple.max_length,
                minimum=simple.minimum,
                maximum=simple.maximum,
                requirement=requirement,
            )
        if "oneOf" in schema:
            extra = set(schema) - allowed_extra - {"oneOf"}
            if extra:
                raise _subset_error(where, f"oneOf with {sorted(extra)} is outside the subset")
            return self._union(schema["oneOf"], sid, where, requirement)
        kind = _type_of(schema, where)
        extra = set(schema) - allowed_extra - _KEYS[kind]
        if extra:
            raise _subset_error(where, f"{kind} schema uses {sorted(extra)}, outside the subset")
        if kind == "object":
            return self._object(schema, sid, where, requirement)
        if kind == "array":
            return self._array(schema, sid, where, requirement)
        simple = self._simple(schema, kind, sid, where, allowed_extra)
        return Simple(
            kind=simple.kind,
            enum=simple.enum,
            pattern=simple.pattern,
            min_length=simple.min_length,
            max_length=simple.max_length,
            minimum=simple.minimum,
            maximum=simple.maximum,
            requirement=requirement,
        )

    def _union(self, branches: Any, sid: str, where: str, requirement: str | None) -> Union:
        if not isinstance(branches, list) or not branches:
            raise _subset_error(where, "oneOf needs a non-empty list")
        members: list[str] = []
        for index, branch in enumerate(branches):
            at = f"{where}/oneOf/{index}"
            if not isinstance(branch, dict) or "$ref" not in branch:
                raise _subset_error(at, "every oneOf branch must be a $ref to an object type")
            if set(branch) - {"$ref"} - _ANNOTATIONS - _xkeys(branch):
                raise _subset_error(at, "a oneOf branch is a bare $ref")
            key = self._ref_key(branch["$ref"], sid, at)
            target, _ = self._raw_target(branch["$ref"], sid)
            if not isinstance(target.get("x-object"), str) or key in members:
                raise _subset_error(at, "oneOf branches must be distinct top-level object types")
            members.append(key)
        return Union(tuple(members), requirement)

    def _object(self, schema: dict[str, Any], sid: str, where: str, req: str | None) -> Obj:
        if schema.get("additionalProperties") is not False:
            raise _subset_error(where, "objects must say additionalProperties: false")
        properties = schema.get("properties", {})
        required = schema.get("required", [])
        if not isinstance(properties, dict) or not isinstance(required, list):
            raise _subset_error(where, "properties must be an object and required a list")
        unknown = [r for r in required if r not in properties]
        if unknown:
            raise _subset_error(where, f"required names undefined properties {unknown}")
        props: list[Prop] = []
        object_type: str | None = None
        for name, sub in properties.items():
            at = f"{where}/properties/{name}"
            if not _PROPERTY_NAME.fullmatch(name) or name == "item":
                raise _subset_error(at, "property names match ^[A-Za-z][A-Za-z0-9_]*$, not 'item'")
            node = self._node(sub, sid, at)
            description = sub.get("description") if isinstance(sub, dict) else None
            is_required = name in required
            if (
                name == "objectType"
                and is_required
                and isinstance(node, Simple)
                and node.kind == "string"
                and node.enum is not None
                and len(node.enum) == 1
            ):
                object_type = str(node.enum[0])
            props.append(Prop(name, node, is_required, description))
        return Obj(tuple(props), object_type, req)

    def _array(self, schema: dict[str, Any], sid: str, where: str, req: str | None) -> Arr:
        if "items" not in schema:
            raise _subset_error(where, "arrays must define items")
        min_items = _int(schema.get("minItems", 0), where)
        max_items = schema.get("maxItems")
        unique = schema.get("uniqueItems", False)
        if not isinstance(unique, bool):
            raise _subset_error(where, "uniqueItems must be a boolean")
        return Arr(
            items=self._node(schema["items"], sid, f"{where}/items"),
            min_items=min_items,
            max_items=None if max_items is None else _int(max_items, where),
            unique=unique,
            requirement=req,
        )

    def _simple(
        self,
        schema: dict[str, Any],
        kind: str,
        sid: str,
        where: str,
        allowed: frozenset[str] | set[str],
    ) -> Simple:
        extra = set(schema) - set(allowed) - _KEYS[kind]
        if extra:
            raise _subset_error(where, f"{kind} schema uses {sorted(extra)}, outside the subset")
        py_type: type = {"string": str, "integer": int, "boolean": bool}[kind]
        enum: tuple[str | int | bool, ...] | None = None
        if "const" in schema:
            enum = (schema["const"],)
        if "enum" in schema:
            values = schema["enum"]
            if not isinstance(values, list) or not values:
                raise _subset_error(where, "enum must be a non-empty list")
            enum = tuple(v for v in values if enum is None or v in enum)
        for value in enum or ():
            if type(value) is not py_type:
                raise _subset_error(where, f"enum value {value!r} is not a {kind}")
        pattern = schema.get("pattern")
        if pattern is not None:
            translate_pattern(pattern, where=where)
        minimum = schema.get("minimum")
        maximum = schema.get("maximum")
        for bound in (minimum, maximum):
            if bound is not None and (type(bound) is not int or abs(bound) > INT_LIMIT):
                raise _subset_error(where, "integer bounds are integers within +/-(2^53-1)")
        return Simple(
            kind=kind,  # type: ignore[arg-type]
            enum=enum,
            pattern=pattern,
            min_length=_opt_int(schema.get("minLength"), where),
            max_length=_opt_int(schema.get("maxLength"), where),
            minimum=minimum,
            maximum=maximum,
        )

    def _check_simple_base(self, key: str, node: Simple) -> None:
        assert node.base is not None
        base = self.model.target(node.base)
        if not isinstance(base, Simple) or base.kind != node.kind:
            raise _subset_error(key, "a refined $ref must name a simple type of the same kind")


def _xkeys(schema: dict[str, Any]) -> set[str]:
    return {k for k in schema if k.startswith("x-")}


def _type_of(schema: dict[str, Any], where: str) -> str:
    kind = schema.get("type")
    if kind is None and ("const" in schema or "enum" in schema):
        values = [schema["const"]] if "const" in schema else list(schema.get("enum") or [])
        kinds = {_json_kind(v) for v in values}
        if len(kinds) == 1:
            kind = kinds.pop()
    if not isinstance(kind, str) or kind not in _KEYS:
        raise _subset_error(where, f"type {kind!r} is outside the subset")
    return str(kind)


def _json_kind(value: Any) -> str:
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, str):
        return "string"
    return "other"


def _int(value: Any, where: str) -> int:
    if type(value) is not int or value < 0:
        raise _subset_error(where, f"{value!r} is not a non-negative integer")
    return value


def _opt_int(value: Any, where: str) -> int | None:
    return None if value is None else _int(value, where)


def effective(model: XmlModel, node: Simple) -> Simple:
    """The facets that apply to ``node`` once its base's facets are folded in."""
    if node.base is None:
        return node
    base_node = model.target(node.base)
    if not isinstance(base_node, Simple):
        raise _subset_error(node.base.key, "a refined $ref must name a simple type")
    base = effective(model, base_node)

    def tighter(a: int | None, b: int | None, pick: Any) -> int | None:
        return b if a is None else a if b is None else pick(a, b)

    return Simple(
        kind=node.kind,
        base=node.base,
        enum=node.enum if node.enum is not None else base.enum,
        pattern=node.pattern,
        min_length=tighter(node.min_length, base.min_length, max),
        max_length=tighter(node.max_length, base.max_length, min),
        minimum=tighter(node.minimum, base.minimum, max),
        maximum=tighter(node.maximum, base.maximum, min),
        requirement=node.requirement,
    )


# --- patterns ------------------------------------------------------------------------

# The characters XML 1.0 can carry (production [2] Char).
_XML_CHARS = (
    (0x9, 0x9),
    (0xA, 0xA),
    (0xD, 0xD),
    (0x20, 0xD7FF),
    (0xE000, 0xFFFD),
    (0x10000, 0x10FFFF),
)
_XSD_META_OUTSIDE = set(".\\?*+{}()|[]")
_XSD_META_INSIDE = set("\\[]-^")
_XSD_CHAR_ESCAPES = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}
_ECMA_CONTROL = {"n": "\n", "r": "\r", "t": "\t", "f": "\f", "v": "\v"}
_ECMA_ANY = "[^\\n\\r\u2028\u2029]"  # ECMA-262 '.' (no dotAll): any but line terminators
_QUANTIFIER = re.compile(r"\{([0-9]+)(,([0-9]*))?\}")


def _xml_legal(lo: int, hi: int) -> list[tuple[int, int]]:
    out = []
    for a, b in _XML_CHARS:
        if lo <= b and hi >= a:
            out.append((max(lo, a), min(hi, b)))
    return out


def _emit_char(cp: int, *, inside: bool) -> str:
    char = chr(cp)
    if char in _XSD_CHAR_ESCAPES:
        return _XSD_CHAR_ESCAPES[char]
    if char in (_XSD_META_INSIDE if inside else _XSD_META_OUTSIDE):
        return "\\" + char
    return char


class _PatternTranslator:
    def __init__(self, pattern: str, where: str) -> None:
        self.src = pattern
        self.pos = 0
        self.where = where
        self.depth = 0
        self.last_atom = False

    def fail(self, message: str) -> SpecError:
        return _subset_error(self.where, f"pattern {self.src!r}: {message}")

    def escape(self) -> int:
        """Read an escape after the backslash; return the code point it denotes."""
        if self.pos >= len(self.src):
            raise self.fail("ends with a backslash")
        c = self.src[self.pos]
        self.pos += 1
        if c in "xu":
            width = 2 if c == "x" else 4
            digits = self.src[self.pos : self.pos + width]
            if len(digits) != width or not all(d in "0123456789abcdefABCDEF" for d in digits):
                raise self.fail(f"\\{c} needs {width} hex digits")
            self.pos += width
            return int(digits, 16)
        if c in _ECMA_CONTROL:
            return ord(_ECMA_CONTROL[c])
        if c.isalnum():
            raise self.fail(f"\\{c} is outside the subset (no class escapes or backreferences)")
        return ord(c)

    def translate(self) -> str:
        src = self.src
        if not (src.startswith("^") and src.endswith("$")) or src.endswith("\\$") or len(src) < 2:
            raise self.fail("patterns are anchored with ^ and $")
        self.src = src[1:-1]
        out = []
        while self.pos < len(self.src):
            out.append(self.token())
        if self.depth:
            raise self.fail("unbalanced parenthesis")
        return "".join(out)

    def atom(self, text: str) -> str:
        self.last_atom = True
        return text

    def literal(self, cp: int) -> str:
        if not _xml_legal(cp, cp):
            raise self.fail(f"U+{cp:04X} cannot occur in XML")
        return self.atom(_emit_char(cp, inside=False))

    def token(self) -> str:
        """Translate the next token: an atom, a group bracket, a quantifier or '|'."""
        c = self.src[self.pos]
        self.pos += 1
        if c in "()":
            return self.group(c)
        if c in "?*+{":
            return self.quantifier(c)
        if c == "|":
            self.last_atom = False
            return "|"
        if c in "^$]}":
            raise self.fail(f"unescaped {c!r} (anchors only at the very start and end)")
        if c == "\\":
            return self.literal(self.escape())
        if c == "[":
            return self.atom(self.char_class())
        return self.atom(_ECMA_ANY) if c == "." else self.literal(ord(c))

    def group(self, c: str) -> str:
        if c == ")":
            self.depth -= 1
            if self.depth < 0:
                raise self.fail("unbalanced parenthesis")
            return self.atom(")")
        if self.src.startswith("?:", self.pos):
            self.pos += 2
        elif self.src.startswith("?", self.pos):
            raise self.fail("lookaround and named groups are outside the subset")
        self.depth += 1
        self.last_atom = False
        return "("

    def quantifier(self, c: str) -> str:
        if not self.last_atom:
            raise self.fail(f"quantifier {c!r} follows nothing")
        text = c
        if c == "{":
            m = _QUANTIFIER.match(self.src, self.pos - 1)
            if not m:
                raise self.fail("'{' starts no quantifier (escape a literal brace)")
            self.pos = m.end()
            text = m.group(0)
        if self.src.startswith("?", self.pos):
            raise self.fail("lazy quantifiers are outside the subset")
        self.last_atom = False
        return text

    def class_atom(self) -> int:
        c = self.src[self.pos]
        self.pos += 1
        if c == "\\":
            return self.escape()
        return ord(c)

    def char_class(self) -> str:
        src = self.src
        negated = src.startswith("^", self.pos)
        if negated:
            self.pos += 1
        ranges: list[tuple[int, int]] = []
        first = True
        while True:
            if self.pos >= len(src):
                raise self.fail("unterminated character class")
            if src[self.pos] == "]":
                if first:
                    raise self.fail("empty character class")
                self.pos += 1
                break
            if src[self.pos] == "[":
                raise self.fail("escape '[' inside a character class")
            first = False
            lo = self.class_atom()
            hi = lo
            if src.startswith("-", self.pos) and not src.startswith("-]", self.pos):
                self.pos += 1
                hi = self.class_atom()
                if hi < lo:
                    raise self.fail("character range out of order")
            ranges.extend(_xml_legal(lo, hi))
        parts = []
        for lo, hi in ranges:
            parts.append(_emit_char(lo, inside=True))
            if hi > lo:
                parts.append("-" + _emit_char(hi, inside=True))
        if not parts:
            if negated:
                return "[\\s\\S]"  # excludes only what XML cannot carry: any character
            raise self.fail("the class matches no character XML can carry")
        return ("[^" if negated else "[") + "".join(parts) + "]"


def translate_pattern(pattern: Any, *, where: str = "pattern") -> str:
    """The XSD regular expression equivalent to a subset ECMA-262 ``pattern``.

    Equivalent on every string XML can carry: anchors are dropped (XSD patterns are
    implicitly anchored), ``\\xNN``/``\\uNNNN`` become the characters they denote, and
    characters XML cannot carry are dropped from classes.
    """
    if not isinstance(pattern, str):
        raise _subset_error(where, "pattern must be a string")
    return _PatternTranslator(pattern, where).translate()


@functools.cache
def _model(root: Path) -> XmlModel:
    return _Reader(dict(schema_by_id(root))).run()


def xml_model(root: Path | None = None) -> XmlModel:
    """The type model of the spec at ``root`` (cached)."""
    return _model(root or spec_dir())
