"""RFC 8785 canonical form and strict I-JSON input (profile core-format)."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest
import rfc8785

from bmdx.conformance._internal.adapter_client import AdapterClient
from bmdx.conformance._internal.specdata import spec_dir
from bmdx.conformance._internal.verifiers import ijson
from bmdx.conformance.suite._spec import b64, cases, unb64, vector_json


def _vectors() -> list[tuple[str, dict[str, Any]]]:
    return [(c["name"], c) for c in vector_json("canonicalization", "cases.json")]


def _canonicalize(adapter: AdapterClient, data: bytes, mode: str = "canonical") -> Any:
    return adapter.call("canonicalize", input=b64(data), mode=mode)


@pytest.mark.requirement(
    "BMDX-FMT-030:0979291e951b2ea7",
    "BMDX-ADP-020:37d0edf96d89198f",
    "BMDX-FMT-003:9277a5a4ffed4cc5",
    "BMDX-FMT-004:eddba7b5e5dd975d",
    "BMDX-FMT-005:76e60f9231cf72fb",
)
@pytest.mark.parametrize("case", cases(_vectors(), "canonicalization vectors"))
def test_canonicalization_vectors(
    adapter: AdapterClient, supports: Callable[[str], None], case: dict[str, Any]
) -> None:
    """Hashes and signatures over BMDX objects MUST be computed over the RFC 8785 (JCS)
    canonical form of the object's JSON representation."""
    supports("canonicalize")
    folder = spec_dir() / "vectors" / "canonicalization"
    data = (folder / case["input"]).read_bytes()
    response = _canonicalize(adapter, data, case["use"])
    if case["name"].endswith("_fail"):
        assert not response.ok, "a non-I-JSON input was canonicalised"
        assert response.requirement == case["requirement"]
        return
    assert response.ok, response.error
    expected = (folder / case["output"]).read_bytes()
    assert unb64(response.result["output"]) == expected
    assert expected == bytes.fromhex(case["output_hex"])
    if case["use"] == "canonical":
        # Third-party oracle: the rfc8785 package agrees with the vector.
        assert rfc8785.dumps(json.loads(data)) == expected


# Each hostile input and the requirement it breaks, checked by the suite's own I-JSON
# verifier before it is sent (so the expectation does not rest on the implementation).
_DEEP = b"[" * 65 + b"]" * 65
_HOSTILE: list[tuple[str, bytes, str]] = [
    ("truncated", b'{"a":', "BMDX-FMT-001"),
    ("trailing-comma", b'{"a":1,}', "BMDX-FMT-001"),
    ("single-quotes", b"{'a':1}", "BMDX-FMT-001"),
    ("comment", b'{"a":1 /* note */}', "BMDX-FMT-001"),
    ("two-values", b'{"a":1} {"b":2}', "BMDX-FMT-001"),
    ("bom-utf8", b'\xef\xbb\xbf{"a":1}', "BMDX-FMT-002"),
    ("bom-utf16", b"\xff\xfe{\x00}\x00", "BMDX-FMT-002"),
    ("invalid-utf8", b'{"a":"\xc3\x28"}', "BMDX-FMT-002"),
    ("overlong-utf8", b'{"a":"\xc0\xaf"}', "BMDX-FMT-002"),
    ("duplicate-key", b'{"a":1,"a":2}', "BMDX-FMT-003"),
    ("duplicate-key-nested", b'{"x":{"k":true,"k":false}}', "BMDX-FMT-003"),
    ("duplicate-key-escaped", b'{"a":1,"\\u0061":2}', "BMDX-FMT-003"),
    ("lone-high-surrogate", b'{"a":"\\ud800"}', "BMDX-FMT-004"),
    ("lone-low-surrogate-name", b'{"\\udc00":1}', "BMDX-FMT-004"),
    ("nan", b'{"a":NaN}', "BMDX-FMT-005"),
    ("infinity", b'{"a":-Infinity}', "BMDX-FMT-005"),
    ("overflow", b'{"a":1e400}', "BMDX-FMT-005"),
    ("integer-above-2-53", b'{"a":9007199254740992}', "BMDX-FMT-005"),
    ("integer-below-minus-2-53", b'{"a":-9007199254740992}', "BMDX-FMT-005"),
    ("too-deep", _DEEP, "BMDX-FMT-006"),
]


def _hostile() -> list[tuple[str, tuple[bytes, str]]]:
    return [(name, (data, req)) for name, data, req in _HOSTILE]


@pytest.mark.parametrize("case", cases(_hostile(), "hostile JSON inputs"))
def test_hostile_inputs_are_what_they_claim(case: tuple[bytes, str]) -> None:
    """The suite's own verifier labels each hostile input as the test expects."""
    data, requirement = case
    finding = ijson.check(data)
    assert finding is not None
    assert finding.requirement == requirement


def _refused(adapter: AdapterClient, data: bytes, requirement: str) -> None:
    assert ijson.check(data) is not None
    response = _canonicalize(adapter, data)
    assert not response.ok, "the input was accepted"
    assert response.requirement == requirement


def _by_requirement(requirement: str) -> list[Any]:
    return cases([(n, d) for n, d, r in _HOSTILE if r == requirement], requirement)


@pytest.mark.requirement("BMDX-FMT-001:c5b0c7b77176a8b0")
@pytest.mark.parametrize("data", _by_requirement("BMDX-FMT-001"))
def test_syntax(adapter: AdapterClient, supports: Callable[[str], None], data: bytes) -> None:
    """A receiver MUST reject JSON input that is not syntactically valid JSON (RFC 8259)."""
    supports("canonicalize")
    _refused(adapter, data, "BMDX-FMT-001")


@pytest.mark.requirement("BMDX-FMT-002:41ba42a612ce08cc")
@pytest.mark.parametrize("data", _by_requirement("BMDX-FMT-002"))
def test_utf8_without_bom(
    adapter: AdapterClient, supports: Callable[[str], None], data: bytes
) -> None:
    """JSON input MUST be UTF-8 without a byte-order mark; a receiver MUST reject any other
    encoding and any leading byte-order mark."""
    supports("canonicalize")
    _refused(adapter, data, "BMDX-FMT-002")


@pytest.mark.requirement("BMDX-FMT-003:9277a5a4ffed4cc5")
@pytest.mark.parametrize("data", _by_requirement("BMDX-FMT-003"))
def test_duplicate_names(
    adapter: AdapterClient, supports: Callable[[str], None], data: bytes
) -> None:
    """A receiver MUST reject a JSON object in which a member name appears more than once."""
    supports("canonicalize")
    _refused(adapter, data, "BMDX-FMT-003")


@pytest.mark.requirement("BMDX-FMT-004:eddba7b5e5dd975d")
@pytest.mark.parametrize("data", _by_requirement("BMDX-FMT-004"))
def test_lone_surrogates(
    adapter: AdapterClient, supports: Callable[[str], None], data: bytes
) -> None:
    """A receiver MUST reject JSON strings, including member names, that contain an escaped
    lone surrogate or any code point that is not a Unicode scalar value."""
    supports("canonicalize")
    _refused(adapter, data, "BMDX-FMT-004")


@pytest.mark.requirement("BMDX-FMT-005:76e60f9231cf72fb")
@pytest.mark.parametrize("data", _by_requirement("BMDX-FMT-005"))
def test_numbers(adapter: AdapterClient, supports: Callable[[str], None], data: bytes) -> None:
    """A receiver MUST reject NaN, Infinity, numbers that overflow to infinity, and integers
    whose magnitude exceeds 2^53-1; signed BMDX objects MUST NOT contain non-integer
    numbers, which travel as strings."""
    supports("canonicalize")
    _refused(adapter, data, "BMDX-FMT-005")


# A receiver that validates reads its input as strictly as one that canonicalises: the
# I-JSON cases go to validate too, each pinned to the input requirement it breaks.
_VALIDATE_PINS = {
    "BMDX-FMT-003": pytest.mark.requirement(
        "BMDX-FMT-003:9277a5a4ffed4cc5", "BMDX-ADP-021:01bcb3230c9fc063"
    ),
    "BMDX-FMT-004": pytest.mark.requirement(
        "BMDX-FMT-004:eddba7b5e5dd975d", "BMDX-ADP-021:01bcb3230c9fc063"
    ),
    "BMDX-FMT-005": pytest.mark.requirement(
        "BMDX-FMT-005:76e60f9231cf72fb", "BMDX-ADP-021:01bcb3230c9fc063"
    ),
}


def _not_ijson() -> list[Any]:
    found = [
        pytest.param(data, requirement, id=name, marks=_VALIDATE_PINS[requirement])
        for name, data, requirement in _HOSTILE
        if requirement in _VALIDATE_PINS
    ]
    if not found:
        raise RuntimeError("no I-JSON cases for validate: zero vectors would run")
    return found


@pytest.mark.parametrize(("data", "requirement"), _not_ijson())
def test_validate_reports_not_ijson(
    adapter: AdapterClient, supports: Callable[[str], None], data: bytes, requirement: str
) -> None:
    """The validate command MUST answer valid true with no violations for a valid BMDX
    document in either syntax, and valid false with violations that name every
    requirement the document breaks otherwise."""
    supports("validate")
    finding = ijson.check(data)
    assert finding is not None
    assert finding.requirement == requirement
    response = adapter.call("validate", input=b64(data))
    assert response.ok, response.error
    assert response.result is not None
    assert response.result["valid"] is False, f"validate accepted input breaking {requirement}"
    named = {v["requirement"] for v in response.result["violations"]}
    assert requirement in named, f"validate named {sorted(named)}, not {requirement}"


@pytest.mark.requirement("BMDX-FMT-005:76e60f9231cf72fb")
def test_signed_objects_hold_no_decimals(
    adapter: AdapterClient, supports: Callable[[str], None]
) -> None:
    """Signed BMDX objects MUST NOT contain non-integer numbers, which travel as strings."""
    supports("canonicalize")
    document = b'{"objectType":"Participant","weight":72.5,"signatures":[]}'
    response = _canonicalize(adapter, document, "signing-payload")
    assert not response.ok
    assert response.requirement == "BMDX-FMT-005"
    as_string = _canonicalize(adapter, document.replace(b"72.5", b'"72.5"'), "signing-payload")
    assert as_string.ok
    assert unb64(as_string.result["output"]) == b'{"objectType":"Participant","weight":"72.5"}'


@pytest.mark.requirement("BMDX-FMT-006:4b6cbc868d90d46a")
def test_nesting_limit(adapter: AdapterClient, supports: Callable[[str], None]) -> None:
    """A receiver MUST reject a document whose arrays, objects or XML elements nest deeper
    than the security profile's max_nesting_depth."""
    supports("canonicalize")
    depth = ijson.profile_limits().max_nesting_depth
    at_limit = b"[" * depth + b"]" * depth
    assert ijson.check(at_limit) is None
    accepted = _canonicalize(adapter, at_limit)
    assert accepted.ok, accepted.error
    for deeper in (depth + 1, 100_000):
        data = b'{"a":' * deeper + b"1" + b"}" * deeper
        _refused(adapter, data, "BMDX-FMT-006")


@pytest.mark.requirement("BMDX-FMT-007:12446e6b64bb0fb3", "BMDX-ADP-032:ed7678f4ec659dc4")
def test_body_size_limit(adapter: AdapterClient, supports: Callable[[str], None]) -> None:
    """A receiver MUST reject a document or request body larger than the security
    profile's max_body_bytes before parsing it."""
    supports("canonicalize")
    limit = ijson.profile_limits().max_body_bytes
    # A valid JSON string of exactly limit + 1 bytes: only its size is wrong.
    data = b'"' + b"a" * (limit - 1) + b'"'
    assert len(data) == limit + 1
    _refused(adapter, data, "BMDX-FMT-007")
    # Not valid JSON either: refused before parsing, so for its size.
    _refused(adapter, b"[" * (limit + 1), "BMDX-FMT-007")
