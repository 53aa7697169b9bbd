"""The adapter protocol's envelope: start, ids, order, refusals, stop (profile adapter)."""

from __future__ import annotations

import json
from collections.abc import Callable

import pytest

from bmdx.conformance._internal.adapter_client import AdapterClient
from bmdx.conformance.suite._spec import b64

CANONICAL_INPUT = b'{"b":2,"a":1}'


@pytest.mark.requirement("BMDX-ADP-001:920cd8a8e66585c2", "BMDX-ADP-005:43dd719c12f427b5")
def test_start_describes_the_implementation(adapter: AdapterClient) -> None:
    """An adapter MUST answer the start request with its implementation name, version and
    language, the protocol version it speaks, the commands it implements and the BMDX
    profiles it claims, as specified by spec/conformance/adapter/commands/start.schema.json."""
    # The session fixture already sent start through the schema-checking client.
    assert adapter.info is not None
    assert {"start", "stop"} <= adapter.info.commands
    assert adapter.info.implementation["name"]


@pytest.mark.requirement("BMDX-ADP-004:e278d845045eb078", "BMDX-ADP-003:f13087ca9eefa37b")
@pytest.mark.parametrize("request_id", [0, 7, 9007199254740991, "a", "req-\u00e9-42"])
def test_ids_are_echoed(adapter: AdapterClient, request_id: object) -> None:
    """The id of every response MUST equal the id of the request it answers, with the same
    JSON type and value."""
    response = adapter.request("stop-not", {}, request_id=request_id)
    assert response.id == request_id
    assert type(response.id) is type(request_id)


@pytest.mark.requirement("BMDX-ADP-003:f13087ca9eefa37b")
def test_one_response_per_request_in_order(adapter: AdapterClient) -> None:
    """An adapter MUST write exactly one response for each request it reads, in the order
    the requests were read."""
    ids = [f"batch-{i}" for i in range(5)]
    for request_id in ids:
        line = {"id": request_id, "cmd": "no-such-command", "args": {}}
        adapter.send_line(json.dumps(line).encode())
    answered = [adapter.read_response()["id"] for _ in ids]
    assert answered == ids


@pytest.mark.requirement("BMDX-ADP-002:8eb641cba14db698")
def test_unknown_command_is_unsupported(adapter: AdapterClient) -> None:
    """An adapter MUST answer a request for a command it does not list in its start result
    with ok false, an error whose requirement is BMDX-ADP-002 and whose reason is
    unsupported, and MUST keep serving later requests."""
    response = adapter.call("no-such-command")
    assert not response.ok
    assert (response.requirement, response.reason) == ("BMDX-ADP-002", "unsupported")
    for cmd in ("consent-decide", "anomaly-detect", "merkle-root"):
        if not adapter.supports(cmd):
            unlisted = adapter.call(cmd)
            assert (unlisted.requirement, unlisted.reason) == ("BMDX-ADP-002", "unsupported")
    assert adapter.call("no-such-command").reason == "unsupported"


@pytest.mark.requirement("BMDX-ADP-018:e59e6630be8ed68e")
def test_listed_commands_are_implemented(adapter: AdapterClient) -> None:
    """An adapter MUST implement every command it lists in its start result, and MUST NOT
    answer a request for a listed command with reason unsupported."""
    assert adapter.info is not None
    for cmd in sorted(adapter.info.commands - {"start", "stop"}):
        response = adapter.call(cmd)  # empty args: invalid-args, never unsupported
        assert response.reason != "unsupported", cmd


@pytest.mark.requirement("BMDX-ADP-011:6dc1e2b92903388b", "BMDX-ADP-003:f13087ca9eefa37b")
@pytest.mark.parametrize(
    ("line", "request_id"),
    [
        pytest.param(b"not json", None, id="not-json"),
        pytest.param(b"[1,2,3]", None, id="array"),
        pytest.param(b'{"id":5,"cmd":"canonicalize"}', 5, id="no-args"),
        pytest.param(b'{"id":6,"cmd":"x","args":{},"extra":1}', 6, id="extra-member"),
        pytest.param(b'{"id":-1,"cmd":"x","args":{}}', None, id="negative-id"),
        pytest.param(b'{"id":true,"cmd":"x","args":{}}', None, id="boolean-id"),
        pytest.param(b'{"id":8,"id":9,"cmd":"x","args":{}}', None, id="duplicate-member"),
        pytest.param(b'{"id":10,"cmd":"canonicalize","args":[]}', 10, id="args-not-object"),
        pytest.param(b"\xff\xfe{}", None, id="not-utf8"),
    ],
)
def test_malformed_request_line(adapter: AdapterClient, line: bytes, request_id: object) -> None:
    """An adapter MUST answer a request line that is not an I-JSON object valid against
    spec/conformance/adapter/request.schema.json with ok false, requirement BMDX-ADP-011
    and reason malformed-request, with the request's id when it can be read and null
    otherwise, and MUST keep serving the following lines."""
    adapter.send_line(line)
    answer = adapter.read_response()
    assert answer["ok"] is False
    assert (answer["error"]["requirement"], answer["error"]["reason"]) == (
        "BMDX-ADP-011",
        "malformed-request",
    )
    if request_id is not None:
        assert answer["id"] == request_id
    elif line.startswith(b"{") and b'"id":8' not in line:
        assert answer["id"] is None
    follow = adapter.call("no-such-command")
    assert follow.reason == "unsupported"


@pytest.mark.requirement("BMDX-ADP-012:c589296eb4bac0ff")
@pytest.mark.parametrize(
    ("args"),
    [
        pytest.param({}, id="missing-input"),
        pytest.param({"input": "eyJhIjoxfQ=="}, id="padded-base64url"),
        pytest.param({"input": "eyJhIjoxfQ+/"}, id="standard-alphabet"),
        pytest.param({"input": "eyJhIjoxfR"}, id="non-zero-unused-bits"),
        pytest.param({"input": "eyJhIjoxfQ", "unknown": 1}, id="unknown-arg"),
        pytest.param({"input": 12}, id="input-not-a-string"),
    ],
)
def test_invalid_args(
    adapter: AdapterClient, supports: Callable[[str], None], args: dict[str, object]
) -> None:
    """An adapter MUST answer a request whose args are not valid against the args
    definition of its command's schema, including a binary value that is not canonical
    unpadded base64url, with ok false, requirement BMDX-ADP-012 and reason invalid-args."""
    supports("canonicalize")
    response = adapter.request("canonicalize", args)
    assert not response.ok
    assert (response.requirement, response.reason) == ("BMDX-ADP-012", "invalid-args")


@pytest.mark.requirement("BMDX-ADP-014:155769c885c759d9")
def test_refusal_is_an_answer(adapter: AdapterClient, supports: Callable[[str], None]) -> None:
    """An adapter MUST answer a request whose input the implementation refuses with ok
    false and an error whose requirement is the id of the BMDX requirement the input breaks
    and whose reason is a kebab-case diagnostic token, and MUST keep serving later
    requests."""
    supports("canonicalize")
    refused = adapter.call("canonicalize", input=b64(b'{"a":1,"a":2}'))
    assert not refused.ok
    assert refused.requirement == "BMDX-FMT-003"
    accepted = adapter.call("canonicalize", input=b64(CANONICAL_INPUT))
    assert accepted.ok


@pytest.mark.requirement("BMDX-ADP-019:621773e2ce9d86de")
def test_answers_depend_on_args_only(
    adapter: AdapterClient, supports: Callable[[str], None]
) -> None:
    """Every command other than sign and encrypt MUST answer as a function of its args
    alone, so that the same request sent twice gets the same answer."""
    supports("canonicalize")
    requests = [
        ("canonicalize", {"input": b64(CANONICAL_INPUT)}),
        ("canonicalize", {"input": b64(b'{"a":1,"a":2}')}),
    ]
    if adapter.supports("validate"):
        requests.append(("validate", {"input": b64(b'{"objectType":"Participant"}')}))
    for cmd, args in requests:
        first, second = adapter.request(cmd, args), adapter.request(cmd, args)
        assert (first.ok, first.result) == (second.ok, second.result)
        if first.error is not None and second.error is not None:
            assert (first.requirement, first.reason) == (second.requirement, second.reason)


@pytest.mark.requirement("BMDX-ADP-007:a34af79076a60a56")
def test_requests_before_start_are_refused(fresh_adapter: Callable[[], AdapterClient]) -> None:
    """An adapter MUST answer every request other than start that it reads before a
    successful start with ok false, requirement BMDX-ADP-007 and reason not-started."""
    client = fresh_adapter()
    early = client.call("canonicalize", input=b64(CANONICAL_INPUT))
    assert (early.requirement, early.reason) == ("BMDX-ADP-007", "not-started")
    client.start()
    assert client.stop() == 0


@pytest.mark.requirement("BMDX-ADP-006:2e9be1e123372972")
def test_unknown_protocol_version(fresh_adapter: Callable[[], AdapterClient]) -> None:
    """An adapter MUST answer a start request for a protocol version it does not implement
    with ok false, requirement BMDX-ADP-006 and reason protocol-version."""
    client = fresh_adapter()
    response = client.call("start", protocolVersion=999)
    assert not response.ok
    assert (response.requirement, response.reason) == ("BMDX-ADP-006", "protocol-version")
    client.start()
    assert client.stop() == 0


@pytest.mark.requirement("BMDX-ADP-008:a32a2301168b4ec4", "BMDX-ADP-010:0c152ba757590e4e")
def test_stop_exits_zero(fresh_adapter: Callable[[], AdapterClient]) -> None:
    """An adapter MUST answer the stop request with ok true and an empty result, and MUST
    then close its standard output and exit with status 0."""
    client = fresh_adapter()
    client.start()
    # stop() checks the empty result, the exit and that nothing follows on stdout.
    assert client.stop() == 0


@pytest.mark.requirement("BMDX-ADP-009:c00627995dcbdec1")
def test_end_of_input_ends_the_adapter(fresh_adapter: Callable[[], AdapterClient]) -> None:
    """An adapter whose standard input reaches end of file MUST exit without waiting for
    further input."""
    client = fresh_adapter()
    client.start()
    client.close_input()
    client.process.wait(timeout=client.timeout)
    assert client.read_line() is None


@pytest.mark.requirement("BMDX-ADP-010:0c152ba757590e4e", "BMDX-ADP-001:920cd8a8e66585c2")
def test_no_stray_output(fresh_adapter: Callable[[], AdapterClient]) -> None:
    """An adapter MUST NOT write anything to its standard output other than response
    lines; diagnostics belong on standard error."""
    client = fresh_adapter()
    client.start()
    for cmd in sorted((client.info.commands if client.info else set()) - {"start", "stop"}):
        client.call(cmd)  # refused args, each answered by exactly one line
    client.close_input()
    client.process.wait(timeout=client.timeout)
    assert client.read_line() is None


@pytest.mark.requirement("BMDX-ADP-017:c9fe3ce163d84fbd", "BMDX-ADP-013:dadc0ad13788b018")
def test_results_follow_their_schemas(
    adapter: AdapterClient, supports: Callable[[str], None]
) -> None:
    """The result of every response with ok true MUST be valid against the result
    definition of its command's schema in spec/conformance/adapter/commands."""
    supports("canonicalize")
    # The client checks every result against its schema, whose bytes are canonical
    # base64url; a breach raises AdapterProtocolError here and in every other test.
    response = adapter.call("canonicalize", input=b64(b'{"z":[1,"\\u00e9"],"a":{}}'))
    assert response.ok
    assert response.result == {"output": b64('{"a":{},"z":[1,"\u00e9"]}'.encode())}
