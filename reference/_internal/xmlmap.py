"""The normative JSON <-> XML mapping of BMDX documents, and safe XML input.

Both directions are driven by the JSON Schemas (through :mod:`xmlmodel`), following
``spec/conventions/schema-subset.md`` section 3, so that JSON -> XML -> JSON returns
the identical document and the identical RFC 8785 bytes (BMDX-FMT-020).  Strings are
carried as they are; payloads, being strings, are never re-serialised (BMDX-FMT-021).

XML input is hostile until proven otherwise.  In order, :func:`xml_to_json`:

1. refuses a body over ``max_body_bytes`` before parsing (BMDX-FMT-007);
2. parses with defusedxml, DTDs, entity declarations and external references
   forbidden, the encoding fixed to UTF-8 (BMDX-FMT-010, -012, -040), and stops at an
   element depth no mappable document reaches (BMDX-FMT-006);
3. refuses attributes, comments and processing instructions inside the root element,
   foreign namespaces, undefined elements and mixed content (BMDX-FMT-011);
4. validates against the generated XSD, held in memory: no schema location, in the
   document or elsewhere, is ever resolved (BMDX-FMT-012, -013);
5. maps to JSON and validates that against the JSON Schema, reporting every violation
   with both its JSON pointer and its XPath.
"""

from __future__ import annotations

import functools
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any, NamedTuple

import xmlschema
from defusedxml import DTDForbidden, EntitiesForbidden, ExternalReferenceForbidden
from defusedxml.ElementTree import DefusedXMLParser

from bmdx.reference._internal.errors import (
    ConversionError,
    DocumentError,
    SchemaValidationError,
    Violation,
    XmlSecurityError,
    XmlSyntaxError,
)
from bmdx.reference._internal.ijson import check_ijson_value
from bmdx.reference._internal.limits import limits
from bmdx.reference._internal.schema import schema_set
from bmdx.reference._internal.specdata import XML_NAMESPACE, spec_dir
from bmdx.reference._internal.xmlmodel import (
    Arr,
    Named,
    Node,
    Obj,
    Simple,
    Union,
    XmlModel,
    xml_model,
)
from bmdx.reference._internal.xsdgen import validation_xsd

__all__ = ["json_to_xml", "pointer_to_xpath", "xml_to_json"]

REQ_DEPTH = "BMDX-FMT-006"
REQ_SIZE = "BMDX-FMT-007"
REQ_DTD = "BMDX-FMT-010"
REQ_MAPPING = "BMDX-FMT-011"
REQ_NO_FETCH = "BMDX-FMT-012"
REQ_XSD = "BMDX-FMT-013"
REQ_ENCODING = "BMDX-FMT-040"

_NS = "{" + XML_NAMESPACE + "}"
_XML_WHITESPACE = " \t\r\n"
_BOMS = (b"\xef\xbb\xbf", b"\xff\xfe", b"\xfe\xff")
_EXPAT_UNDEFINED_ENTITY = 11
_DECLARATION = '<?xml version="1.0" encoding="UTF-8"?>\n'


# --- JSON -> XML -----------------------------------------------------------------------


def _lexical(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


class _Writer:
    def __init__(self, model: XmlModel) -> None:
        self.model = model

    def object_element(self, value: dict[str, Any]) -> ET.Element:
        object_type = value["objectType"]
        element = ET.Element(object_type)
        self.fill_object(element, self.model.root_node(object_type), value)
        return element

    def fill_object(self, element: ET.Element, node: Obj, value: dict[str, Any]) -> None:
        for prop in node.props:
            if prop.name in value and not (node.object_type and prop.name == "objectType"):
                element.append(self.element(prop.name, prop.node, value[prop.name]))

    def element(self, name: str, node: Node, value: Any) -> ET.Element:
        target = self.model.target(node)
        element = ET.Element(name)
        if isinstance(target, Obj):
            self.fill_object(element, target, value)
        elif isinstance(target, Arr):
            union = isinstance(self.model.target(target.items), Union)
            for entry in value:
                if union:
                    element.append(self.object_element(entry))
                else:
                    element.append(self.element("item", target.items, entry))
        elif isinstance(target, Union):
            element.append(self.object_element(value))
        else:
            element.text = _lexical(value)
        return element


def json_to_xml(document: dict[str, Any], *, root: Path | None = None) -> bytes:
    """The XML form of a valid BMDX document (UTF-8, deterministic, indented only where
    whitespace is insignificant).

    Raises :class:`SchemaValidationError` when ``document`` is not valid: only valid
    documents have a lossless XML form.
    """
    where = root or spec_dir()
    check_ijson_value(document)
    object_type = schema_set(where).validate(document)
    model = xml_model(where)
    try:
        element = _Writer(model).object_element(document)
    except (KeyError, TypeError) as e:  # the schema and the model disagree: a spec bug
        raise ConversionError(
            f"{object_type} cannot be mapped to XML: {e!r}", reason="model-mismatch"
        ) from e
    element.set("xmlns", XML_NAMESPACE)
    ET.indent(element, space="  ")
    # XML end-of-line handling turns a literal CR into LF; a character reference keeps it.
    text = ET.tostring(element, encoding="unicode").replace("\r", "&#13;")
    return (_DECLARATION + text + "\n").encode("utf-8")


# --- parsing ---------------------------------------------------------------------------


class _Target:
    """Builds the element tree, counting depth so a nesting bomb stops early."""

    def __init__(self, max_elements: int) -> None:
        self.builder = ET.TreeBuilder(insert_comments=True, insert_pis=True)
        self.depth = 0
        self.max_elements = max_elements

    def start(self, tag: str, attrs: dict[str, str]) -> ET.Element:
        self.depth += 1
        if self.depth > self.max_elements:
            raise XmlSyntaxError(
                f"elements nest deeper than {self.max_elements}",
                requirement=REQ_DEPTH,
                reason="nesting-depth",
            )
        return self.builder.start(tag, attrs)

    def end(self, tag: str) -> ET.Element:
        self.depth -= 1
        return self.builder.end(tag)

    def data(self, data: str) -> None:
        self.builder.data(data)

    def comment(self, text: str) -> ET.Element:
        return self.builder.comment(text)

    def pi(self, target: str, text: str | None = None) -> ET.Element:
        return self.builder.pi(target, text)

    def close(self) -> ET.Element:
        return self.builder.close()


def _xml_declaration(version: str | None, encoding: str | None, standalone: int) -> None:
    if encoding is not None and encoding.lower() not in {"utf-8", "utf8"}:
        raise XmlSyntaxError(
            f"XML declares encoding {encoding!r}; BMDX XML is UTF-8",
            requirement=REQ_ENCODING,
            reason="encoding",
            remedy='Save the document as UTF-8 and declare encoding="UTF-8" (or nothing).',
        )


def _parse(data: bytes, max_elements: int) -> ET.Element:
    if data.startswith(_BOMS):
        raise XmlSyntaxError(
            "document starts with a byte-order mark",
            requirement=REQ_ENCODING,
            reason="bom",
            remedy="Save the file as UTF-8 without a BOM.",
        )
    target = _Target(max_elements)
    parser = DefusedXMLParser(
        target=target,
        encoding="utf-8",
        forbid_dtd=True,
        forbid_entities=True,
        forbid_external=True,
    )
    parser.parser.XmlDeclHandler = _xml_declaration
    try:
        parser.feed(data)
        element: ET.Element = parser.close()
    except DTDForbidden as e:
        raise XmlSecurityError(
            "XML input with a document type declaration is refused",
            requirement=REQ_DTD,
            reason="forbidden-dtd",
            remedy="Remove the DOCTYPE: BMDX XML uses no DTD.",
        ) from e
    except EntitiesForbidden as e:
        raise XmlSecurityError(
            "XML input declaring entities is refused",
            requirement=REQ_DTD,
            reason="entity",
        ) from e
    except ExternalReferenceForbidden as e:
        raise XmlSecurityError(
            "XML input referring to an external resource is refused",
            requirement=REQ_NO_FETCH,
            reason="external-reference",
        ) from e
    except ET.ParseError as e:
        if e.code == _EXPAT_UNDEFINED_ENTITY:
            raise XmlSecurityError(
                f"XML input uses an entity reference: {e}",
                requirement=REQ_DTD,
                reason="entity",
                remedy="Write the character itself or a character reference (&#NN;).",
            ) from e
        raise XmlSyntaxError(f"not well-formed XML: {e}", reason="xml-syntax") from e
    return element


def _local(tag: str) -> str:
    return tag[len(_NS) :] if tag.startswith(_NS) else tag


def _check_structure(element: ET.Element) -> None:
    """Refuse what the mapping never produces: foreign names, attributes, comments, PIs."""
    stack: list[tuple[ET.Element, str]] = [(element, "")]
    while stack:
        node, parent_path = stack.pop()
        tag: object = node.tag  # the factory function for comments and PIs
        if not isinstance(tag, str):
            kind = "comment" if tag is ET.Comment else "processing-instruction"
            raise XmlSyntaxError(
                f"a {kind.replace('-', ' ')} inside the document is refused",
                requirement=REQ_MAPPING,
                reason=kind,
                pointer=parent_path or "/",
            )
        path = f"{parent_path}/{_local(node.tag)}"
        if not node.tag.startswith(_NS):
            raise XmlSyntaxError(
                f"element {node.tag} is not in the BMDX namespace {XML_NAMESPACE}",
                requirement=REQ_MAPPING,
                reason="namespace",
                pointer=path,
                remedy=f'Declare xmlns="{XML_NAMESPACE}" on the root element.',
            )
        if node.attrib:
            raise XmlSyntaxError(
                f"attribute {next(iter(node.attrib))} is refused: BMDX XML has no attributes",
                requirement=REQ_MAPPING,
                reason="attribute",
                pointer=path,
            )
        stack.extend((child, path) for child in node)


# --- XML -> JSON -----------------------------------------------------------------------


def _blank(text: str | None) -> bool:
    return not text or not text.strip(_XML_WHITESPACE)


class _At(NamedTuple):
    """Where the reader is: the XPath, the JSON pointer, the requirement a violation
    there breaks, and the JSON nesting depth of the value."""

    xpath: str
    pointer: str
    requirement: str
    depth: int

    def child(self, step: str, token: str | int, *, container: bool = True) -> _At:
        depth = self.depth + 1 if container else self.depth
        return _At(f"{self.xpath}/{step}", f"{self.pointer}/{token}", self.requirement, depth)


class _Reader:
    """Walks an element tree along the model, building the JSON value and, for every
    element, its JSON pointer, XPath and the requirement a violation there breaks."""

    def __init__(self, model: XmlModel, max_depth: int) -> None:
        self.model = model
        self.max_depth = max_depth
        self.places: dict[int, tuple[str, str, str]] = {}
        self.xpaths: dict[str, str] = {}

    def annotated(self, node: Node, at: _At) -> _At:
        requirement = at.requirement
        if isinstance(node, Named):
            requirement = node.requirement or requirement
            for key in self.model.chain(node.key):
                requirement = self.model.requirements.get(key, requirement)
        else:
            requirement = node.requirement or requirement
        return at._replace(requirement=requirement)

    def mapping_error(self, message: str, reason: str, xpath: str) -> XmlSyntaxError:
        return XmlSyntaxError(message, requirement=REQ_MAPPING, reason=reason, pointer=xpath)

    def record(self, element: ET.Element, at: _At) -> None:
        self.places[id(element)] = (at.xpath, at.pointer, at.requirement)
        self.xpaths.setdefault(at.pointer, at.xpath)

    def container(self, element: ET.Element, at: _At) -> None:
        if at.depth > self.max_depth:
            raise XmlSyntaxError(
                f"the document nests deeper than the profile's limit of {self.max_depth}",
                requirement=REQ_DEPTH,
                reason="nesting-depth",
                pointer=at.xpath,
            )
        if not _blank(element.text) or any(not _blank(child.tail) for child in element):
            raise self.mapping_error(
                "text between the elements of an object or array (mixed content) is refused",
                "mixed-content",
                at.xpath,
            )

    def root(self, element: ET.Element, object_type: str) -> dict[str, Any]:
        # The root's own annotation stands for the JSON Schema as a whole; for XML input
        # that is BMDX-FMT-013 (valid against the generated XSD).
        at = _At(f"/{object_type}", "", REQ_XSD, 1)
        self.record(element, at)
        return self.object(element, self.model.root_node(object_type), at)

    def object(self, element: ET.Element, node: Obj, at: _At) -> dict[str, Any]:
        self.container(element, at)
        values: dict[str, Any] = {}
        for child in element:
            name = _local(child.tag)
            prop = node.prop(name)
            if prop is None or (node.object_type and name == "objectType"):
                raise self.mapping_error(
                    f"element {name} is not defined here", "undefined-element", f"{at.xpath}/{name}"
                )
            values[name] = self.value(child, prop.node, at.child(name, name))
        out: dict[str, Any] = {}
        for prop in node.props:
            if node.object_type and prop.name == "objectType":
                out["objectType"] = node.object_type
            elif prop.name in values:
                out[prop.name] = values[prop.name]
        return out

    def union_member(self, element: ET.Element, union: Union, at: _At) -> dict[str, Any]:
        name = _local(element.tag)
        if name not in union.members:
            raise self.mapping_error(
                f"element {name} is not one of {', '.join(union.members)}",
                "undefined-element",
                at.xpath,
            )
        at = self.annotated(Named(name), at)
        self.record(element, at)
        return self.object(element, self.model.root_node(name), at)

    def value(self, element: ET.Element, node: Node, at: _At) -> Any:
        at = self.annotated(node, at)
        self.record(element, at)
        target = self.model.target(node)
        if isinstance(target, Obj):
            return self.object(element, target, at)
        if isinstance(target, Arr):
            return self.array(element, target, at)
        if isinstance(target, Union):
            if not _blank(element.text) or any(not _blank(c.tail) for c in element):
                raise self.mapping_error("mixed content is refused", "mixed-content", at.xpath)
            if not len(element):
                return None  # the XSD reports the missing member
            first = element[0]
            member_at = at._replace(xpath=f"{at.xpath}/{_local(first.tag)}")
            return self.union_member(first, target, member_at)
        if len(element):
            step = _local(element[0].tag)
            raise self.mapping_error(
                f"element {step} inside a {target.kind} is not defined",
                "undefined-element",
                f"{at.xpath}/{step}",
            )
        return _scalar(target, element.text or "")

    def array(self, element: ET.Element, node: Arr, at: _At) -> list[Any]:
        self.container(element, at)
        items = self.model.target(node.items)
        out: list[Any] = []
        seen: dict[str, int] = {}
        for index, child in enumerate(element):
            name = _local(child.tag)
            seen[name] = seen.get(name, 0) + 1
            child_at = at.child(f"{name}[{seen[name]}]", index)
            if isinstance(items, Union):
                out.append(self.union_member(child, items, child_at))
            elif name != "item":
                raise self.mapping_error(
                    f"element {name} in an array is not defined (entries are 'item')",
                    "undefined-element",
                    child_at.xpath,
                )
            else:
                out.append(self.value(child, node.items, child_at))
        return out


def _scalar(node: Simple, text: str) -> Any:
    """The JSON value of a simple element; unparsable text is kept for the XSD to refuse."""
    if node.kind == "string":
        return text
    lexeme = text.strip(_XML_WHITESPACE)
    if node.kind == "boolean":
        return {"true": True, "false": False}.get(lexeme, text)
    try:
        return int(lexeme)
    except ValueError:
        return text


@functools.cache
def _compiled_xsd(root: Path) -> Any:
    return xmlschema.XMLSchema10(
        validation_xsd(root).decode("ascii"), allow="none", defuse="always"
    )


def _strip_prefixes(path: str | None) -> str:
    if not path:
        return "/"
    return "/".join(step.split(":", 1)[-1] for step in path.split("/"))


def xml_to_json(data: bytes, *, root: Path | None = None) -> dict[str, Any]:
    """The JSON document an XML BMDX document maps to; refuses unsafe or invalid input."""
    where = root or spec_dir()
    lim = limits(where)
    if len(data) > lim.max_body_bytes:
        raise XmlSyntaxError(
            f"document of {len(data)} bytes exceeds the limit of {lim.max_body_bytes}",
            requirement=REQ_SIZE,
            reason="too-large",
        )
    # A mappable document of JSON depth d has at most 2d + 1 nested elements.
    element = _parse(data, 2 * lim.max_nesting_depth + 1)
    _check_structure(element)
    object_type = _local(element.tag)
    schemas = schema_set(where)
    try:
        schemas.schema_for(object_type)
    except DocumentError as e:
        raise DocumentError(
            e.message,
            requirement=e.requirement,
            reason=e.reason,
            pointer=f"/{object_type}",
            remedy=e.remedy,
        ) from e
    model = xml_model(where)
    reader = _Reader(model, lim.max_nesting_depth)
    document = reader.root(element, object_type)

    resource = xmlschema.XMLResource(element, allow="none", defuse="always")
    errors = list(_compiled_xsd(where).iter_errors(resource, use_location_hints=False))
    if errors:
        violations = []
        for error in errors:
            place = reader.places.get(id(error.elem))
            xpath, pointer, requirement = place or (_strip_prefixes(error.path), "", REQ_XSD)
            violations.append(
                Violation(
                    pointer=pointer,
                    message=str(error.reason or error.message),
                    requirement=requirement,
                    xpath=xpath,
                )
            )
        raise SchemaValidationError(violations, object_type=object_type)

    found = schemas.violations(document, object_type)
    if found:
        raise SchemaValidationError(
            [
                Violation(
                    pointer=v.pointer,
                    message=v.message,
                    requirement=v.requirement,
                    xpath=reader.xpaths.get(v.pointer)
                    or pointer_to_xpath(v.pointer, object_type, root=where),
                )
                for v in found
            ],
            object_type=object_type,
        )
    return document


def pointer_to_xpath(pointer: str, object_type: str, *, root: Path | None = None) -> str:
    """The XPath (BMDX namespace as the default element namespace) of the element that
    carries the value at ``pointer`` in a document of ``object_type``.

    An entry of a union is written ``*[n]``: which object type it is depends on the
    document, not on the schema.
    """
    model = xml_model(root or spec_dir())
    xpath = f"/{object_type}"
    node: Node | None = model.root_node(object_type)
    steps = [t.replace("~1", "/").replace("~0", "~") for t in pointer.split("/")[1:]]
    for step in steps:
        target = model.target(node) if node is not None else None
        if isinstance(target, Union):
            xpath += "/*"
            target, node = None, None
        if isinstance(target, Obj):
            if target.object_type and step == "objectType":
                return xpath
            prop = target.prop(step)
            xpath += f"/{step}"
            node = prop.node if prop else None
        elif isinstance(target, Arr) and step.isdigit():
            if isinstance(model.target(target.items), Union):
                xpath += f"/*[{int(step) + 1}]"
                node = None
            else:
                xpath += f"/item[{int(step) + 1}]"
                node = target.items
        else:
            xpath += f"/*[{int(step) + 1}]" if step.isdigit() else f"/{step}"
            node = None
    return xpath
