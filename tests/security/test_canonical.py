"""RFC 8785 canonical form: the JCS project's test data and our own vectors."""

from __future__ import annotations

from pathlib import Path

import pytest

from bmdx.reference._internal import ijson
from bmdx.reference._internal.canonical import canonical_bytes, signing_payload
from bmdx.reference._internal.errors import IJsonError
from tests import vectors
from tests.thirdparty import files, require_vectors
from tools.vectors import gen_canonicalization

CASES = vectors.load("canonicalization", "cases.json")


def _jcs_inputs() -> list[Path]:
    return files("jcs", "input/*.json")


def test_every_jcs_case_canonicalises_to_the_expected_bytes() -> None:
    inputs = _jcs_inputs()
    for path in inputs:
        expected = (path.parent.parent / "output" / path.name).read_bytes()
        assert canonical_bytes(ijson.loads(path.read_bytes())) == expected, path.name
        hexed = (path.parent.parent / "outhex" / path.with_suffix(".txt").name).read_text()
        assert bytes.fromhex("".join(hexed.split())) == expected, path.name
    require_vectors(len(inputs), "JCS")


@pytest.mark.requirement("BMDX-FMT-030")
@pytest.mark.parametrize("case", CASES, ids=[c["name"] for c in CASES])
def test_vector(case: dict[str, str]) -> None:
    folder = vectors.vector_dir("canonicalization")
    text = (folder / case["input"]).read_bytes()
    operation = signing_payload if case["use"] == "signing-payload" else canonical_bytes
    if case["name"].endswith("_fail"):
        with pytest.raises(IJsonError) as info:
            operation(ijson.loads(text))
        assert (info.value.requirement, info.value.reason) == (case["requirement"], case["reason"])
    else:
        output = operation(ijson.loads(text))
        assert output == (folder / case["output"]).read_bytes()
        assert output.hex() == case["output_hex"]


def test_committed_vectors_are_what_the_generator_writes() -> None:
    vectors.assert_regenerates("canonicalization", gen_canonicalization.build)


@pytest.mark.requirement("BMDX-FMT-005")
def test_signing_payload_excludes_signatures_and_refuses_decimals() -> None:
    doc = {"b": 1, "a": "x", "signatures": [{"protected": "p", "signature": "s"}]}
    assert signing_payload(doc) == b'{"a":"x","b":1}'
    with pytest.raises(IJsonError) as info:
        signing_payload({"a": {"b": [1, 2.5]}})
    assert (info.value.reason, info.value.pointer) == ("non-integer-number", "/a/b/1")
    assert info.value.requirement == "BMDX-FMT-005"


def test_canonical_bytes_refuses_values_outside_ijson() -> None:
    with pytest.raises(IJsonError) as info:
        canonical_bytes({"a": 2**53})
    assert info.value.reason == "integer-range"
    with pytest.raises(IJsonError) as info:
        canonical_bytes({"a": "\ud800"})
    assert info.value.reason == "lone-surrogate"
