"""Validation and JSON <-> XML conversion of the spec's examples (profile core-format)."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest
import rfc8785
from defusedxml import ElementTree as SafeET

from bmdx.conformance._internal.adapter_client import AdapterClient
from bmdx.conformance._internal.verifiers import ijson
from bmdx.conformance.suite._spec import (
    Example,
    b64,
    cases,
    invalid_examples,
    unb64,
    valid_examples,
)

BMDX_NS = "{urn:bmdx:1}"


def _validate(adapter: AdapterClient, data: bytes) -> dict[str, Any]:
    response = adapter.call("validate", input=b64(data))
    assert response.ok, response.error
    assert response.result is not None
    return response.result


@pytest.mark.requirement(
    "BMDX-ADP-021:01bcb3230c9fc063",
    "BMDX-DM-001:ac8af1f55d4e7fea",
    "BMDX-FMT-013:b26e45b00d112a12",
)
@pytest.mark.parametrize("example", cases(valid_examples(), "valid examples"))
def test_valid_examples_are_accepted(
    adapter: AdapterClient, supports: Callable[[str], None], example: Example
) -> None:
    """The validate command MUST answer valid true with no violations for a valid BMDX
    document in either syntax, and valid false with violations that name every
    requirement the document breaks otherwise."""
    supports("validate")
    result = _validate(adapter, example.path.read_bytes())
    assert result["violations"] == []
    assert result["valid"] is True
    assert result["syntax"] == example.syntax


# The requirement each invalid example is labelled with, pinned: the example's test
# verifies it.  `bmdx spec lint` reads these literals.
_LABEL_PINS = {
    "BMDX-DM-001": pytest.mark.requirement("BMDX-DM-001:ac8af1f55d4e7fea"),
    "BMDX-DM-010": pytest.mark.requirement("BMDX-DM-010:867c2ac540ec524f"),
    "BMDX-DM-011": pytest.mark.requirement("BMDX-DM-011:87e9c6d46ed0c9db"),
    "BMDX-DM-012": pytest.mark.requirement("BMDX-DM-012:a23c594e6ed02635"),
    "BMDX-DM-020": pytest.mark.requirement("BMDX-DM-020:ad2ecaf15d564643"),
    "BMDX-DM-021": pytest.mark.requirement("BMDX-DM-021:0b3b21ba4bd28f98"),
    "BMDX-DM-022": pytest.mark.requirement("BMDX-DM-022:f507e004bb59c5d1"),
    "BMDX-DM-023": pytest.mark.requirement("BMDX-DM-023:0774f44b9608d9dc"),
    "BMDX-DM-025": pytest.mark.requirement("BMDX-DM-025:7291e97398548f09"),
    "BMDX-DM-026": pytest.mark.requirement("BMDX-DM-026:f8e4111b87d30bec"),
    "BMDX-DM-027": pytest.mark.requirement("BMDX-DM-027:aa2f90c0dadc984a"),
    "BMDX-DM-028": pytest.mark.requirement("BMDX-DM-028:074ff7ed4991b8fe"),
    "BMDX-DM-030": pytest.mark.requirement("BMDX-DM-030:c88bf6db86306cca"),
    "BMDX-DM-033": pytest.mark.requirement("BMDX-DM-033:fe9f6e0153afb661"),
    "BMDX-DM-034": pytest.mark.requirement("BMDX-DM-034:ee61957b674e5b79"),
    "BMDX-DM-036": pytest.mark.requirement("BMDX-DM-036:dec908457ec8fec7"),
    "BMDX-DM-040": pytest.mark.requirement("BMDX-DM-040:f316a06951722363"),
    "BMDX-DM-045": pytest.mark.requirement("BMDX-DM-045:3fdafbeb272b8e3c"),
    "BMDX-DM-046": pytest.mark.requirement("BMDX-DM-046:90eabbcc374424d0"),
    "BMDX-DM-047": pytest.mark.requirement("BMDX-DM-047:3fc78096dd3048ce"),
    "BMDX-DM-048": pytest.mark.requirement("BMDX-DM-048:970a20aaa4426f92"),
    "BMDX-DM-050": pytest.mark.requirement("BMDX-DM-050:782f33c077cf9ad2"),
    "BMDX-DM-051": pytest.mark.requirement("BMDX-DM-051:7cb85a59e1805ff9"),
    "BMDX-DM-052": pytest.mark.requirement("BMDX-DM-052:65bf49ef3d244e21"),
    "BMDX-DM-053": pytest.mark.requirement("BMDX-DM-053:a17ba80027850f36"),
    "BMDX-DM-060": pytest.mark.requirement("BMDX-DM-060:122e877c5bfe2ec9"),
    "BMDX-DM-061": pytest.mark.requirement("BMDX-DM-061:7a5dda2f8e01803e"),
    "BMDX-DM-065": pytest.mark.requirement("BMDX-DM-065:8f9c959997e607f2"),
    "BMDX-DM-070": pytest.mark.requirement("BMDX-DM-070:dffa34113ab5b13d"),
    "BMDX-DM-071": pytest.mark.requirement("BMDX-DM-071:003f7c8942ec1ed9"),
    "BMDX-DM-075": pytest.mark.requirement("BMDX-DM-075:dc12cf4630bca1c1"),
    "BMDX-DM-076": pytest.mark.requirement("BMDX-DM-076:f719f97ea27a0c25"),
    "BMDX-DM-080": pytest.mark.requirement("BMDX-DM-080:6df0acbee468f9b9"),
    "BMDX-DM-081": pytest.mark.requirement("BMDX-DM-081:96d22e6ceb7259a7"),
    "BMDX-DM-090": pytest.mark.requirement("BMDX-DM-090:c9987c367be4d1bb"),
    "BMDX-DM-091": pytest.mark.requirement("BMDX-DM-091:2d7beda02dd351c1"),
    "BMDX-DM-100": pytest.mark.requirement("BMDX-DM-100:a85ce1ed3a2880ba"),
    "BMDX-DM-101": pytest.mark.requirement("BMDX-DM-101:0b5fc859f52edff5"),
    "BMDX-DM-102": pytest.mark.requirement("BMDX-DM-102:da7c1abba86da6c3"),
    "BMDX-DM-103": pytest.mark.requirement("BMDX-DM-103:96f1f844a23e9803"),
    "BMDX-DM-104": pytest.mark.requirement("BMDX-DM-104:cacd462a2ae072c2"),
    "BMDX-DM-105": pytest.mark.requirement("BMDX-DM-105:84308725a8ca9135"),
    "BMDX-DM-110": pytest.mark.requirement("BMDX-DM-110:000d4403cde6b93b"),
    "BMDX-DM-111": pytest.mark.requirement("BMDX-DM-111:985bde47edd86bdc"),
    "BMDX-DM-112": pytest.mark.requirement("BMDX-DM-112:393677eca4fd8162"),
    "BMDX-DM-113": pytest.mark.requirement("BMDX-DM-113:4d770e82e9fcb135"),
    "BMDX-DM-115": pytest.mark.requirement("BMDX-DM-115:2bd2789b0aa168f5"),
    "BMDX-DM-120": pytest.mark.requirement("BMDX-DM-120:bff4794187684789"),
    "BMDX-DM-121": pytest.mark.requirement("BMDX-DM-121:37ca6a571f2eed64"),
    "BMDX-DM-122": pytest.mark.requirement("BMDX-DM-122:a5a89bfc2a28008e"),
    "BMDX-DM-123": pytest.mark.requirement("BMDX-DM-123:6409ed67ff0d51a6"),
    "BMDX-DM-124": pytest.mark.requirement("BMDX-DM-124:c9cfef83f600f8e7"),
    "BMDX-DM-125": pytest.mark.requirement("BMDX-DM-125:1b1cf32d76705a44"),
    "BMDX-DM-130": pytest.mark.requirement("BMDX-DM-130:431c20257710b72d"),
    "BMDX-DM-131": pytest.mark.requirement("BMDX-DM-131:6876fb27b796bc86"),
    "BMDX-DM-132": pytest.mark.requirement("BMDX-DM-132:05e4afae66a84ae5"),
    "BMDX-DM-135": pytest.mark.requirement("BMDX-DM-135:0d8e0ae155a83ecd"),
    "BMDX-DM-136": pytest.mark.requirement("BMDX-DM-136:d02a34778ae990df"),
    "BMDX-DM-137": pytest.mark.requirement("BMDX-DM-137:79130feb35a7948e"),
    "BMDX-DM-138": pytest.mark.requirement("BMDX-DM-138:21ad00e2132a4b44"),
    "BMDX-DM-140": pytest.mark.requirement("BMDX-DM-140:1b1c73dc757b47c4"),
    "BMDX-DM-141": pytest.mark.requirement("BMDX-DM-141:61cbafa61466a191"),
    "BMDX-DM-145": pytest.mark.requirement("BMDX-DM-145:ea0af233720426f0"),
    "BMDX-DM-146": pytest.mark.requirement("BMDX-DM-146:fef33d244a837cd1"),
    "BMDX-DM-150": pytest.mark.requirement("BMDX-DM-150:d3bbc1e351a3bb3b"),
    "BMDX-DM-151": pytest.mark.requirement("BMDX-DM-151:03a51640d5fcf100"),
    "BMDX-DM-155": pytest.mark.requirement("BMDX-DM-155:119e5d0d1542e88e"),
    "BMDX-DM-156": pytest.mark.requirement("BMDX-DM-156:ea07a6c9319dbaa9"),
    "BMDX-DM-157": pytest.mark.requirement("BMDX-DM-157:16dbec1af8c565ed"),
    "BMDX-DM-158": pytest.mark.requirement("BMDX-DM-158:16454adac4f183da"),
    "BMDX-DM-159": pytest.mark.requirement("BMDX-DM-159:979e3a68e315e192"),
    "BMDX-DM-160": pytest.mark.requirement("BMDX-DM-160:5fe573e45598a969"),
    "BMDX-DM-165": pytest.mark.requirement("BMDX-DM-165:08ae6ccbb9e6306c"),
    "BMDX-DM-166": pytest.mark.requirement("BMDX-DM-166:567aac5446e6bb87"),
    "BMDX-DM-167": pytest.mark.requirement("BMDX-DM-167:78cfdc1104227f29"),
    "BMDX-DM-168": pytest.mark.requirement("BMDX-DM-168:6413d47f3c9eff6c"),
    "BMDX-DM-170": pytest.mark.requirement("BMDX-DM-170:123338a1babd2d7f"),
    "BMDX-DM-171": pytest.mark.requirement("BMDX-DM-171:8088d20f3451521c"),
    "BMDX-DM-175": pytest.mark.requirement("BMDX-DM-175:dec59e72697dac81"),
    "BMDX-DM-176": pytest.mark.requirement("BMDX-DM-176:f7bc517e7d3337a2"),
    "BMDX-DM-177": pytest.mark.requirement("BMDX-DM-177:ee8b302a81803691"),
    "BMDX-DM-180": pytest.mark.requirement("BMDX-DM-180:6ffff4989abf0733"),
    "BMDX-DM-181": pytest.mark.requirement("BMDX-DM-181:b8dc9e2b6f7b9f83"),
    "BMDX-DM-182": pytest.mark.requirement("BMDX-DM-182:69996561f72c3b3b"),
    "BMDX-DM-191": pytest.mark.requirement("BMDX-DM-191:165fed70b1b37b36"),
    "BMDX-FMT-011": pytest.mark.requirement("BMDX-FMT-011:1e175046d6cf26d1"),
    "BMDX-FMT-013": pytest.mark.requirement("BMDX-FMT-013:b26e45b00d112a12"),
    "BMDX-LED-040": pytest.mark.requirement("BMDX-LED-040:0a68c7d6e2c031b6"),
    "BMDX-LED-045": pytest.mark.requirement("BMDX-LED-045:c07b783fb4c0ed44"),
}


def _labelled(found: list[tuple[str, Example]]) -> list[Any]:
    if not found:
        return cases([], "invalid examples")
    out = []
    for name, example in found:
        # A label added to the spec after this table still runs; `bmdx spec lint`
        # reports its requirement as untested until a pinned line is added here.
        mark = _LABEL_PINS.get(example.requirement or "")
        out.append(pytest.param(example, id=name, marks=[mark] if mark else []))
    return out


@pytest.mark.requirement("BMDX-ADP-021:01bcb3230c9fc063", "BMDX-ADP-014:155769c885c759d9")
@pytest.mark.parametrize("example", _labelled(invalid_examples()))
def test_invalid_examples_are_refused(
    adapter: AdapterClient, supports: Callable[[str], None], example: Example
) -> None:
    """The validate command MUST answer valid false with violations that name every
    requirement the document breaks (each invalid example breaks the requirement its
    expected.yaml labels it with)."""
    supports("validate")
    data = example.path.read_bytes()
    if example.syntax == "json":
        assert ijson.check(data) is None, "the example itself must be I-JSON"
    result = _validate(adapter, data)
    assert result["valid"] is False
    named = {v["requirement"] for v in result["violations"]}
    assert example.requirement in named


def _json_examples() -> list[Any]:
    return cases(valid_examples("json"), "valid JSON examples")


@pytest.mark.requirement(
    "BMDX-FMT-020:719ccd724906c65c",
    "BMDX-FMT-021:f5fe5715c98860ee",
    "BMDX-ADP-022:1b6948a8eb6d968a",
)
@pytest.mark.parametrize("example", _json_examples())
def test_json_xml_json_is_identity(
    adapter: AdapterClient, supports: Callable[[str], None], example: Example
) -> None:
    """Converting a valid BMDX document from JSON to XML and back MUST yield an identical
    JSON document, and therefore identical RFC 8785 canonical bytes, following the
    normative mapping in spec/conventions/schema-subset.md."""
    supports("convert")
    original = example.path.read_bytes()
    to_xml = adapter.call("convert", input=b64(original), to="xml")
    assert to_xml.ok, to_xml.error
    xml = unb64(to_xml.result["output"])
    # Third-party oracle: the XML is well formed, safe, and rooted in the BMDX namespace.
    root = SafeET.fromstring(xml, forbid_dtd=True)
    document = json.loads(original)
    assert root.tag == BMDX_NS + document["objectType"]
    back = adapter.call("convert", input=b64(xml), to="json")
    assert back.ok, back.error
    returned = unb64(back.result["output"])
    assert ijson.check(returned) is None
    assert json.loads(returned) == document
    assert rfc8785.dumps(json.loads(returned)) == rfc8785.dumps(document)
    # The published XML counterpart, when the spec has one, is what the mapping gives.
    counterpart = example.path.with_suffix(".xml")
    if counterpart.is_file():
        from_spec = adapter.call("convert", input=b64(counterpart.read_bytes()), to="json")
        assert from_spec.ok, from_spec.error
        assert json.loads(unb64(from_spec.result["output"])) == document


@pytest.mark.requirement("BMDX-ADP-022:1b6948a8eb6d968a", "BMDX-ADP-014:155769c885c759d9")
@pytest.mark.parametrize("example", cases(invalid_examples(), "invalid examples"))
def test_convert_refuses_invalid_documents(
    adapter: AdapterClient, supports: Callable[[str], None], example: Example
) -> None:
    """The convert command MUST refuse input that is not a valid BMDX document naming the
    requirement it breaks."""
    supports("convert")
    response = adapter.call("convert", input=b64(example.path.read_bytes()), to="xml")
    assert not response.ok
    assert response.requirement is not None
    assert response.requirement.startswith("BMDX-")
