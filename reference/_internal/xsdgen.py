"""XML Schema 1.0 generated from the spec's JSON Schemas.

The XSDs in ``spec/schemas/xml/`` are derived artifacts: ``bmdx spec build`` writes what
:func:`generate_xsds` returns and ``bmdx spec lint`` fails when the committed files
differ.  One XSD per JSON Schema file, all in the namespace ``urn:bmdx:1`` and tied
together by ``xs:include``; the mapping is the normative one of
``spec/conventions/schema-subset.md``.  Output is deterministic (sorted, ASCII with
character references, fixed indentation) so that staleness is a byte comparison.
"""

from __future__ import annotations

import functools
import xml.etree.ElementTree as ET
from pathlib import Path

from bmdx.reference._internal.specdata import XML_NAMESPACE, spec_dir
from bmdx.reference._internal.xmlmodel import (
    INT_LIMIT,
    Arr,
    Named,
    Node,
    Obj,
    Simple,
    Union,
    XmlModel,
    effective,
    translate_pattern,
    xml_model,
)

__all__ = ["BUILD_COMMAND", "generate_xsds", "validation_xsd"]

BUILD_COMMAND = "bmdx spec build"
XS = "http://www.w3.org/2001/XMLSchema"
_PREFIX = "bmdx:"
_BUILTIN = {"string": "xs:string", "integer": "xs:long", "boolean": "xs:boolean"}
_LEXICAL = {"integer": "0|-?[1-9][0-9]*"}


def _header(source: str) -> str:
    return (
        f" Generated from schemas/json/{source} by `{BUILD_COMMAND}`. DO NOT EDIT:"
        f" change the JSON Schema and run `{BUILD_COMMAND}`. "
    )


def _lexical(value: str | int | bool) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


class _Generator:
    def __init__(self, model: XmlModel) -> None:
        self.model = model
        self.used_files: set[str] = set()

    def _ref(self, key: str) -> str:
        key = self.model.canonical(key)
        self.used_files.add(self.model.file_of[key])
        return _PREFIX + key

    def _doc(self, parent: ET.Element, text: str | None) -> None:
        if text:
            annotation = ET.SubElement(parent, "xs:annotation")
            ET.SubElement(annotation, "xs:documentation").text = text

    def components(self, stem: str) -> list[ET.Element]:
        """The global components defined by one JSON Schema file, in a fixed order."""
        keys = sorted(
            (k for k, f in self.model.file_of.items() if f == stem and k in self.model.defs),
            key=lambda k: (k not in self.model.roots, k),
        )
        out: list[ET.Element] = []
        for key in keys:
            node = self.model.defs[key]
            description = self.model.descriptions.get(key)
            if key in self.model.roots:
                out.append(ET.Element("xs:element", {"name": key, "type": self._ref(key)}))
            if isinstance(node, Union):
                group = ET.Element("xs:group", {"name": key})
                self._doc(group, description)
                group.append(self._choice(node, 1, 1))
                out.append(group)
            elif isinstance(node, Simple):
                out.append(self._simple(node, key, description))
            elif isinstance(node, Obj | Arr):
                out.append(self._complex(node, key, key, description))
        return out

    def _occurs(self, attrs: dict[str, str], lo: int, hi: int | None) -> dict[str, str]:
        if lo != 1:
            attrs["minOccurs"] = str(lo)
        if hi != 1:
            attrs["maxOccurs"] = "unbounded" if hi is None else str(hi)
        return attrs

    def _choice(self, node: Union, lo: int, hi: int | None) -> ET.Element:
        choice = ET.Element("xs:choice", self._occurs({}, lo, hi))
        for member in node.members:
            ET.SubElement(choice, "xs:element", {"ref": self._ref(member)})
        return choice

    def _element(
        self,
        name: str,
        node: Node,
        scope: str,
        *,
        lo: int = 1,
        hi: int | None = 1,
        description: str | None = None,
    ) -> ET.Element:
        element = ET.Element("xs:element", {"name": name})
        self._doc(element, description)
        if isinstance(node, Named):
            target = self.model.target(node)
            if isinstance(target, Union):
                complex_type = ET.SubElement(element, "xs:complexType")
                ET.SubElement(complex_type, "xs:group", {"ref": self._ref(node.key)})
            else:
                element.set("type", self._ref(node.key))
        elif isinstance(node, Union):
            ET.SubElement(element, "xs:complexType").append(self._choice(node, 1, 1))
        elif isinstance(node, Simple):
            element.append(self._simple(node, None, None))
        else:
            element.append(self._complex(node, None, scope, None))
        self._occurs(element.attrib, lo, hi)
        if isinstance(node, Arr) and node.unique:
            items = self.model.target(node.items)
            if isinstance(items, Simple):
                unique = ET.SubElement(element, "xs:unique", {"name": f"{scope}.unique"})
                ET.SubElement(unique, "xs:selector", {"xpath": _PREFIX + "item"})
                ET.SubElement(unique, "xs:field", {"xpath": "."})
        return element

    def _complex(
        self, node: Obj | Arr, name: str | None, scope: str, description: str | None
    ) -> ET.Element:
        complex_type = ET.Element("xs:complexType", {"name": name} if name else {})
        self._doc(complex_type, description)
        if isinstance(node, Obj):
            props = [p for p in node.props if not (node.object_type and p.name == "objectType")]
            if props:
                group = ET.SubElement(complex_type, "xs:all")
                for prop in props:
                    group.append(
                        self._element(
                            prop.name,
                            prop.node,
                            f"{scope}.{prop.name}",
                            lo=1 if prop.required else 0,
                            description=prop.description,
                        )
                    )
            return complex_type
        sequence = ET.SubElement(complex_type, "xs:sequence")
        items = node.items
        target = self.model.target(items)
        if isinstance(items, Named) and isinstance(target, Union):
            attrs = self._occurs({"ref": self._ref(items.key)}, node.min_items, node.max_items)
            ET.SubElement(sequence, "xs:group", attrs)
        elif isinstance(items, Union):
            sequence.append(self._choice(items, node.min_items, node.max_items))
        else:
            sequence.append(
                self._element("item", items, f"{scope}.item", lo=node.min_items, hi=node.max_items)
            )
        return complex_type

    def _simple(self, node: Simple, name: str | None, description: str | None) -> ET.Element:
        simple = ET.Element("xs:simpleType", {"name": name} if name else {})
        self._doc(simple, description)
        base = self._ref(node.base.key) if node.base else _BUILTIN[node.kind]
        restriction = ET.SubElement(simple, "xs:restriction", {"base": base})
        eff = effective(self.model, node)
        own = node if node.base else eff

        def facet(tag: str, value: str) -> None:
            ET.SubElement(restriction, tag, {"value": value})

        if node.kind == "boolean":
            # xs:boolean admits no enumeration; its lexical pattern says the same.
            values = node.enum if node.enum is not None else (True, False)
            facet("xs:pattern", "|".join(_lexical(v) for v in values))
        else:
            for value in node.enum or ():
                facet("xs:enumeration", _lexical(value))
        if node.pattern is not None:
            facet("xs:pattern", translate_pattern(node.pattern, where=name or "pattern"))
        elif node.base is None and node.kind in _LEXICAL:
            facet("xs:pattern", _LEXICAL[node.kind])
        if own.min_length is not None:
            facet("xs:minLength", str(eff.min_length))
        if own.max_length is not None:
            facet("xs:maxLength", str(eff.max_length))
        if node.kind == "integer":
            low, high = eff.minimum, eff.maximum
            if node.base is None:
                low = -INT_LIMIT if low is None else max(low, -INT_LIMIT)
                high = INT_LIMIT if high is None else min(high, INT_LIMIT)
                facet("xs:minInclusive", str(low))
                facet("xs:maxInclusive", str(high))
            else:
                if node.minimum is not None:
                    facet("xs:minInclusive", str(low))
                if node.maximum is not None:
                    facet("xs:maxInclusive", str(high))
        return simple


def _document(components: list[ET.Element], includes: list[str], source: str | None) -> bytes:
    schema = ET.Element(
        "xs:schema",
        {
            "xmlns:xs": XS,
            "xmlns:bmdx": XML_NAMESPACE,
            "targetNamespace": XML_NAMESPACE,
            "elementFormDefault": "qualified",
        },
    )
    for name in includes:
        ET.SubElement(schema, "xs:include", {"schemaLocation": name})
    schema.extend(components)
    ET.indent(schema, space="  ")
    head = '<?xml version="1.0" encoding="UTF-8"?>\n'
    if source is not None:
        head += f"<!--{_header(source)}-->\n"
    body: bytes = ET.tostring(schema, encoding="us-ascii")
    return head.encode("ascii") + body + b"\n"


@functools.cache
def _generate(root: Path) -> dict[str, bytes]:
    model = xml_model(root)
    out: dict[str, bytes] = {}
    for stem in sorted(model.files):
        generator = _Generator(model)
        components = generator.components(stem)
        includes = sorted(f"{f}.xsd" for f in generator.used_files if f != stem)
        out[f"{stem}.xsd"] = _document(components, includes, f"{stem}.json")
    return out


def generate_xsds(root: Path | None = None) -> dict[str, bytes]:
    """XSD file name -> content, one per JSON Schema file of the spec at ``root``."""
    return dict(_generate(root or spec_dir()))


@functools.cache
def _validation_xsd(root: Path) -> bytes:
    model = xml_model(root)
    generator = _Generator(model)
    components = [c for stem in sorted(model.files) for c in generator.components(stem)]
    return _document(components, [], None)


def validation_xsd(root: Path | None = None) -> bytes:
    """Every generated component in one self-contained schema document.

    The same declarations as :func:`generate_xsds`, without ``xs:include``: readers
    validate against it from memory and never resolve a schema location.
    """
    return _validation_xsd(root or spec_dir())
