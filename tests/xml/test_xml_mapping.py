"""The normative JSON <-> XML mapping on the fixture schemas, which use every construct
of the subset: unions (inline, named, as a member), recursion, empty arrays, refined
simple types, CR and other significant whitespace in strings."""

from __future__ import annotations

import copy
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import pytest
import rfc8785

from bmdx.reference._internal.errors import SchemaValidationError, Violation
from bmdx.reference._internal.xmlmap import json_to_xml, pointer_to_xpath, xml_to_json

FULL: dict[str, Any] = {
    "objectType": "Alpha",
    "name": "n\r\n1",
    "note": "a\rb\tc\n d \u2028\u00e9\U0001f600",
    "code": " spaced ",
    "ident": "AB.x]y.x",
    "tags": [],
    "count": -5,
    "small": 10,
    "level": 2,
    "flag": False,
    "yes": True,
    "pair": [9007199254740991, 0],
    "betas": [{"objectType": "Beta", "value": "", "flags": [True, False]}],
    "distinct": [{"objectType": "Beta", "value": "a"}, {"objectType": "Beta", "value": "b"}],
    "mixed": [
        {"objectType": "Beta", "value": "v"},
        {"objectType": "Alpha", "name": "x", "tags": ["a"]},
    ],
    "others": [{"objectType": "Beta", "value": "w"}],
    "one": {"objectType": "Alpha", "name": "y", "tags": ["b", "c"]},
    "inline": {"objectType": "Beta", "value": "<&>]]>"},
    "tree": {"value": "r", "children": [{"value": "c1", "children": []}, {"value": "c2"}]},
    "nested": {"country": "DE", "empty": {}},
}
NS = "{urn:bmdx:1}"


@pytest.mark.requirement("BMDX-FMT-020", "BMDX-FMT-030")
def test_json_to_xml_to_json_is_the_identity(fixture_spec: Path) -> None:
    xml = json_to_xml(FULL, root=fixture_spec)
    back = xml_to_json(xml, root=fixture_spec)
    assert back == FULL
    assert list(back) == list(FULL)  # members come back in schema order
    assert rfc8785.dumps(back) == rfc8785.dumps(FULL)


@pytest.mark.requirement("BMDX-FMT-020")
def test_the_xml_form_follows_the_mapping(fixture_spec: Path) -> None:
    xml = json_to_xml(FULL, root=fixture_spec)
    assert xml.startswith(b'<?xml version="1.0" encoding="UTF-8"?>\n<Alpha xmlns="urn:bmdx:1">')
    assert b"<name>n&#13;\n1</name>" in xml  # CR survives XML end-of-line handling
    assert b"<tags />" in xml  # an empty array is an empty element ...
    assert b"<flag>false</flag>" in xml
    assert b"<pair>\n    <item>9007199254740991</item>\n    <item>0</item>\n  </pair>" in xml
    root = ET.fromstring(xml)
    assert root.find(f"{NS}objectType") is None  # the root element carries it
    assert [child.tag for child in root.find(f"{NS}mixed")] == [f"{NS}Beta", f"{NS}Alpha"]
    assert [child.tag for child in root.find(f"{NS}one")] == [f"{NS}Alpha"]
    assert [child.tag for child in root.find(f"{NS}betas")] == [f"{NS}item"]
    assert root.find(f"{NS}note").text == FULL["note"]


def test_empty_array_and_absent_member_stay_distinct(fixture_spec: Path) -> None:
    with_empty = {"objectType": "Beta", "value": "x", "flags": []}
    without = {"objectType": "Beta", "value": "x"}
    assert json_to_xml(with_empty, root=fixture_spec) != json_to_xml(without, root=fixture_spec)
    assert xml_to_json(json_to_xml(with_empty, root=fixture_spec), root=fixture_spec) == with_empty
    assert xml_to_json(json_to_xml(without, root=fixture_spec), root=fixture_spec) == without


def test_the_xml_form_is_deterministic_whatever_the_member_order(fixture_spec: Path) -> None:
    reordered = dict(reversed(list(copy.deepcopy(FULL).items())))
    assert json_to_xml(reordered, root=fixture_spec) == json_to_xml(FULL, root=fixture_spec)


@pytest.mark.requirement("BMDX-FMT-021")
def test_payload_strings_are_carried_byte_exact(fixture_spec: Path) -> None:
    # A compact JWE and an embedded FHIR fragment: strings, never re-serialised.
    jwe = "eyJhbGciOiJFQ0RILUVTK0EyNTZLVyJ9.Zm9v.YmFy.YmF6.cXV4"
    fhir = '{"resourceType" : "Patient",\r\n "id":"p1" }\n'
    document = {"objectType": "Beta", "value": jwe + fhir}
    back = xml_to_json(json_to_xml(document, root=fixture_spec), root=fixture_spec)
    assert back["value"].encode("utf-8") == (jwe + fhir).encode("utf-8")


def test_readers_accept_any_member_order_and_insignificant_whitespace(fixture_spec: Path) -> None:
    data = (
        b'<Beta xmlns="urn:bmdx:1">\n\t<flags> <item> true </item>\n</flags>\r\n'
        b"  <value><![CDATA[ <x> ]]></value></Beta>"
    )
    assert xml_to_json(data, root=fixture_spec) == {
        "objectType": "Beta",
        "value": " <x> ",
        "flags": [True],
    }


@pytest.mark.requirement("BMDX-FMT-013")
def test_json_to_xml_refuses_an_invalid_document(fixture_spec: Path) -> None:
    with pytest.raises(SchemaValidationError) as info:
        json_to_xml({"objectType": "Beta", "value": 5}, root=fixture_spec)
    assert [v.pointer for v in info.value.violations] == ["/value"]


def _violations(data: bytes, root: Path) -> list[Violation]:
    with pytest.raises(SchemaValidationError) as info:
        xml_to_json(data, root=root)
    return info.value.violations


ALPHA = b'<Alpha xmlns="urn:bmdx:1"><name>x</name><tags/>%s</Alpha>'


@pytest.mark.requirement("BMDX-FMT-013")
@pytest.mark.parametrize(
    ("data", "pointer", "xpath", "requirement"),
    [
        (b'<Beta xmlns="urn:bmdx:1"/>', "", "/Beta", "BMDX-FMT-013"),
        (ALPHA % b"<count>+5</count>", "/count", "/Alpha/count", "BMDX-FMT-013"),
        (ALPHA % b"<count>-6</count>", "/count", "/Alpha/count", "BMDX-FMT-013"),
        (ALPHA % b"<count>9007199254740992</count>", "/count", "/Alpha/count", "BMDX-FMT-013"),
        (ALPHA % b"<small>11</small>", "/small", "/Alpha/small", "BMDX-FMT-013"),
        (ALPHA % b"<flag>1</flag>", "/flag", "/Alpha/flag", "BMDX-FMT-013"),
        (ALPHA % b"<yes>false</yes>", "/yes", "/Alpha/yes", "BMDX-FMT-013"),
        (ALPHA % b"<code>a.b</code>", "/code", "/Alpha/code", "BMDX-FMT-013"),
        (ALPHA % b"<pair><item>1</item></pair>", "/pair", "/Alpha/pair", "BMDX-FMT-013"),
        (ALPHA % b"<tree/>", "/tree", "/Alpha/tree", "BMDX-FMT-006"),
        (ALPHA % b"<one/>", "/one", "/Alpha/one", "BMDX-FMT-013"),
        (
            ALPHA
            % b"<betas><item><value>\xc2\x85</value><flags><item>no</item></flags></item></betas>",
            "/betas/0/flags/0",
            "/Alpha/betas/item[1]/flags/item[1]",
            "BMDX-FMT-013",
        ),
    ],
    ids=[
        "missing-required",
        "integer-not-minimal",
        "below-minimum",
        "beyond-2^53-1",
        "refined-maximum",
        "boolean-lexical",
        "const-boolean",
        "enumeration",
        "min-items",
        "annotated-subschema",
        "empty-union-member",
        "nested-boolean",
    ],
)
def test_xsd_violations_name_place_and_requirement(
    data: bytes, pointer: str, xpath: str, requirement: str, fixture_spec: Path
) -> None:
    found = _violations(data, fixture_spec)
    # One place may break several facets (e.g. the lexical space and the pattern).
    assert {(v.pointer, v.xpath, v.requirement) for v in found} == {(pointer, xpath, requirement)}


@pytest.mark.requirement("BMDX-FMT-013")
def test_annotated_array_violations_carry_their_requirement(fixture_spec: Path) -> None:
    data = (
        b'<Alpha xmlns="urn:bmdx:1"><name>x</name><tags><item>a</item><item>a</item></tags></Alpha>'
    )
    found = _violations(data, fixture_spec)
    assert [(v.pointer, v.xpath, v.requirement) for v in found] == [
        ("/tags/1", "/Alpha/tags/item[2]", "BMDX-FMT-021")
    ]


def test_json_schema_violations_of_xml_input_carry_pointer_and_xpath(fixture_spec: Path) -> None:
    # Equal objects in a uniqueItems array: valid against the XSD, invalid as JSON.
    data = (
        b'<Alpha xmlns="urn:bmdx:1"><name>x</name><tags/><distinct>'
        b"<item><value>a</value></item><item><value>a</value></item>"
        b"</distinct></Alpha>"
    )
    found = _violations(data, fixture_spec)
    assert [(v.pointer, v.xpath, v.requirement) for v in found] == [
        ("/distinct", "/Alpha/distinct", "BMDX-FMT-030")
    ]


@pytest.mark.parametrize(
    ("pointer", "xpath"),
    [
        ("", "/Alpha"),
        ("/objectType", "/Alpha"),
        ("/name", "/Alpha/name"),
        ("/tags/0", "/Alpha/tags/item[1]"),
        ("/betas/1/flags/2", "/Alpha/betas/item[2]/flags/item[3]"),
        ("/betas/0/objectType", "/Alpha/betas/item[1]"),
        ("/mixed/1/name", "/Alpha/mixed/*[2]/name"),
        ("/one/name", "/Alpha/one/*/name"),
        (
            "/tree/children/0/children/3/value",
            "/Alpha/tree/children/item[1]/children/item[4]/value",
        ),
        ("/unknown/0", "/Alpha/unknown/*[1]"),
    ],
)
def test_pointer_to_xpath(pointer: str, xpath: str, fixture_spec: Path) -> None:
    assert pointer_to_xpath(pointer, "Alpha", root=fixture_spec) == xpath
