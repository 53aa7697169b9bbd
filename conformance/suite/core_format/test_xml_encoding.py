"""XML input is UTF-8 without a byte-order mark (BMDX-FMT-040), through validate."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from bmdx.conformance._internal.adapter_client import AdapterClient
from bmdx.conformance._internal.specdata import spec_dir
from bmdx.conformance.suite._spec import b64

REQUIREMENT = "BMDX-FMT-040"
_DECLARATION = b'<?xml version="1.0" encoding="UTF-8"?>'
# ASCII only, so that the bytes read the same in every encoding a declaration may name:
# a refusal can only come from the encoding rule, never from undecodable bytes.
_EXAMPLE = ("valid", "public-key", "p256-signing.xml")


def _body() -> bytes:
    """The example's elements, without its XML declaration."""
    data = spec_dir().joinpath("examples", *_EXAMPLE).read_bytes()
    assert data.startswith(_DECLARATION)
    assert data.isascii()
    return data.removeprefix(_DECLARATION).lstrip(b"\r\n")


def _validate(adapter: AdapterClient, data: bytes) -> dict[str, Any]:
    response = adapter.call("validate", input=b64(data))
    assert response.ok, response.error
    return response.result


@pytest.mark.requirement("BMDX-FMT-040:4c61641ee4b088cd", "BMDX-ADP-021:01bcb3230c9fc063")
@pytest.mark.parametrize(
    "prolog",
    [
        pytest.param(b"\xef\xbb\xbf" + _DECLARATION + b"\n", id="utf-8-bom"),
        pytest.param(b'<?xml version="1.0" encoding="ISO-8859-1"?>\n', id="declares-latin-1"),
        pytest.param(b'<?xml version="1.0" encoding="US-ASCII"?>\n', id="declares-us-ascii"),
        pytest.param(b'<?xml version="1.0" encoding="windows-1252"?>\n', id="declares-cp1252"),
    ],
)
def test_xml_in_another_encoding_is_refused(
    adapter: AdapterClient, supports: Callable[[str], None], prolog: bytes
) -> None:
    """XML input MUST be encoded in UTF-8 without a byte-order mark; a receiver MUST
    reject XML input that starts with a byte-order mark or whose XML declaration names
    any encoding other than UTF-8."""
    supports("validate")
    result = _validate(adapter, prolog + _body())
    assert result["valid"] is False
    assert REQUIREMENT in {v["requirement"] for v in result["violations"]}
    if adapter.supports("convert"):
        converted = adapter.call("convert", input=b64(prolog + _body()), to="json")
        assert not converted.ok
        assert converted.requirement == REQUIREMENT


@pytest.mark.requirement("BMDX-FMT-040:4c61641ee4b088cd", "BMDX-ADP-021:01bcb3230c9fc063")
@pytest.mark.parametrize(
    "prolog",
    [
        pytest.param(_DECLARATION + b"\n", id="declares-utf-8"),
        # Encoding names are case-insensitive (XML 1.0 section 4.3.3).
        pytest.param(b'<?xml version="1.0" encoding="utf-8"?>\n', id="declares-utf-8-lower"),
        pytest.param(b'<?xml version="1.0"?>\n', id="declares-no-encoding"),
        pytest.param(b"", id="no-declaration"),
    ],
)
def test_utf8_xml_is_accepted(
    adapter: AdapterClient, supports: Callable[[str], None], prolog: bytes
) -> None:
    """A receiver MUST accept XML that is UTF-8 without a byte-order mark, whether its
    declaration names UTF-8 or no encoding at all, so that the refusals above are the
    encoding rule and nothing else."""
    supports("validate")
    result = _validate(adapter, prolog + _body())
    assert result["violations"] == []
    assert result["valid"] is True
    assert result["syntax"] == "xml"
