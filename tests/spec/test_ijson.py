"""Strict JSON input: every I-JSON violation is refused with its requirement id."""

from __future__ import annotations

import pytest

from bmdx.reference._internal.errors import IJsonError
from bmdx.reference._internal.ijson import check_ijson_value, loads
from bmdx.reference._internal.limits import limits

CASES = [
    pytest.param(b'{"a": 1,}', "syntax", "BMDX-FMT-001", id="trailing-comma"),
    pytest.param(b"{'a': 1}", "syntax", "BMDX-FMT-001", id="single-quotes"),
    pytest.param(b"", "syntax", "BMDX-FMT-001", id="empty"),
    pytest.param(b'\xef\xbb\xbf{"a": 1}', "bom", "BMDX-FMT-002", id="utf8-bom"),
    pytest.param(b"\xff\xfe{\x00}\x00", "bom", "BMDX-FMT-002", id="utf16-bom"),
    pytest.param(b'{"a": "\xc3\x28"}', "encoding", "BMDX-FMT-002", id="invalid-utf8"),
    pytest.param(b'{"a": "\xed\xa0\x80"}', "encoding", "BMDX-FMT-002", id="raw-surrogate"),
    pytest.param(b'{"a": 1, "a": 2}', "duplicate-key", "BMDX-FMT-003", id="duplicate"),
    pytest.param(
        b'{"x": {"a": 1, "b": 2, "a": 1}}', "duplicate-key", "BMDX-FMT-003", id="nested-dup"
    ),
    pytest.param(b'{"a": "\\ud800"}', "lone-surrogate", "BMDX-FMT-004", id="lone-high"),
    pytest.param(b'{"a": "\\udc00x"}', "lone-surrogate", "BMDX-FMT-004", id="lone-low"),
    pytest.param(b'{"\\ud800": 1}', "lone-surrogate", "BMDX-FMT-004", id="lone-in-key"),
    pytest.param(b'{"a": NaN}', "non-finite-number", "BMDX-FMT-005", id="nan"),
    pytest.param(b'{"a": Infinity}', "non-finite-number", "BMDX-FMT-005", id="infinity"),
    pytest.param(b'{"a": -Infinity}', "non-finite-number", "BMDX-FMT-005", id="neg-infinity"),
    pytest.param(b'{"a": 1e400}', "non-finite-number", "BMDX-FMT-005", id="overflow"),
    pytest.param(b'{"a": 9007199254740992}', "integer-range", "BMDX-FMT-005", id="2^53"),
    pytest.param(b'{"a": -9007199254740992}', "integer-range", "BMDX-FMT-005", id="-2^53"),
]


@pytest.mark.parametrize(("data", "reason", "requirement"), CASES)
def test_violations_are_refused_with_their_requirement(
    data: bytes, reason: str, requirement: str
) -> None:
    with pytest.raises(IJsonError) as info:
        loads(data)
    assert info.value.reason == reason
    assert info.value.requirement == requirement


@pytest.mark.requirement("BMDX-FMT-005")
def test_the_largest_safe_integers_are_accepted() -> None:
    assert loads(b"[9007199254740991, -9007199254740991]") == [
        9007199254740991,
        -9007199254740991,
    ]


@pytest.mark.requirement("BMDX-FMT-004")
def test_surrogate_pairs_are_scalar_values() -> None:
    assert loads(b'{"a": "\\ud83d\\ude00"}') == {"a": "\U0001f600"}


@pytest.mark.requirement("BMDX-FMT-006")
def test_nesting_at_the_limit_passes_and_one_deeper_fails() -> None:
    depth = limits().max_nesting_depth
    assert loads(b"[" * depth + b"]" * depth) is not None
    with pytest.raises(IJsonError) as info:
        loads(b"[" * (depth + 1) + b"]" * (depth + 1))
    assert info.value.reason == "nesting-depth"
    assert info.value.requirement == "BMDX-FMT-006"


@pytest.mark.requirement("BMDX-FMT-006")
def test_a_nesting_bomb_is_refused_without_exhausting_the_stack() -> None:
    with pytest.raises(IJsonError) as info:
        loads(b"[" * 200_000 + b"]" * 200_000)
    assert info.value.reason == "nesting-depth"


@pytest.mark.requirement("BMDX-FMT-007")
def test_oversized_input_is_refused_before_parsing() -> None:
    with pytest.raises(IJsonError) as info:
        loads(b'"' + b"a" * 100 + b'"', max_bytes=50)
    assert info.value.reason == "too-large"
    assert info.value.requirement == "BMDX-FMT-007"


def test_error_pointer_names_the_offending_member() -> None:
    with pytest.raises(IJsonError) as info:
        loads(b'{"outer": [0, {"k/x": "\\udfff"}]}')
    assert info.value.pointer == "/outer/1/k~1x"


def test_already_parsed_values_are_checked_too() -> None:
    with pytest.raises(IJsonError) as info:
        check_ijson_value({"a": [2**60]})
    assert info.value.reason == "integer-range"
    assert info.value.pointer == "/a/0"


def test_valid_i_json_round_trips() -> None:
    text = '{"name": "Zoë", "n": -12, "f": 0.5, "list": [true, false, null], "o": {}}'
    assert loads(text) == {
        "name": "Zoë",
        "n": -12,
        "f": 0.5,
        "list": [True, False, None],
        "o": {},
    }
