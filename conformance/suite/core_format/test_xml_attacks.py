"""Hostile XML (spec/vectors/xml-attacks): refused, and never a file read or a fetch."""

from __future__ import annotations

import http.server
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from bmdx.conformance._internal.adapter_client import AdapterClient
from bmdx.conformance._internal.specdata import spec_dir
from bmdx.conformance.suite._spec import b64, cases, vector_json

MARKER = "bmdx-suite-marker-7f3a9c"


class _Listener(http.server.ThreadingHTTPServer):
    hits: list[str]


class _Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        assert isinstance(self.server, _Listener)
        self.server.hits.append(self.path)
        body = MARKER.encode()
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        return


@pytest.fixture
def listener() -> Iterator[_Listener]:
    server = _Listener(("127.0.0.1", 0), _Handler)
    server.hits = []
    thread = threading.Thread(
        target=server.serve_forever, kwargs={"poll_interval": 0.01}, daemon=True
    )
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture
def local_file(tmp_path: Path) -> Path:
    path = tmp_path / "secret.txt"
    path.write_text(MARKER)
    return path


def _attacks() -> list[tuple[str, dict[str, Any]]]:
    return [(c["name"], c) for c in vector_json("xml-attacks", "cases.json")]


def _document(case: dict[str, Any], listener: _Listener, local_file: Path) -> bytes:
    raw = (spec_dir() / "vectors" / "xml-attacks" / str(case["file"])).read_bytes()
    host, port = listener.server_address[:2]
    url = f"http://{host!s}:{port}"
    return raw.replace(b"LISTENER", url.encode()).replace(b"LOCAL-FILE", str(local_file).encode())


@pytest.mark.requirement(
    "BMDX-FMT-010:dfc49d5a4fa5a564",
    "BMDX-FMT-011:1e175046d6cf26d1",
    "BMDX-FMT-012:a8fc4afdcc2a0c7a",
    "BMDX-FMT-006:4b6cbc868d90d46a",
)
@pytest.mark.parametrize("case", cases(_attacks(), "XML attack vectors"))
def test_xml_attacks_are_refused(
    adapter: AdapterClient,
    supports: Callable[[str], None],
    listener: _Listener,
    local_file: Path,
    case: dict[str, Any],
) -> None:
    """A receiver MUST reject XML input that contains a document type declaration, an
    entity declaration or an entity reference other than the five predefined entities
    and character references, and MUST NOT open network connections or read local files
    while parsing or validating an XML document."""
    supports("validate")
    data = _document(case, listener, local_file)
    response = adapter.call("validate", input=b64(data))
    assert response.ok, response.error
    result = response.result
    assert result is not None
    assert result["valid"] is False
    assert result["syntax"] == "xml"
    assert case["requirement"] in {v["requirement"] for v in result["violations"]}
    assert listener.hits == [], f"the implementation fetched {listener.hits}"
    assert MARKER not in repr(result)
    if adapter.supports("convert"):
        converted = adapter.call("convert", input=b64(data), to="json")
        assert not converted.ok
        assert converted.requirement == case["requirement"]
        assert listener.hits == []
        assert MARKER not in repr(converted.error)
