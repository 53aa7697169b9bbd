"""The suite's AdapterClient, against ``bmdx adapter`` and against broken adapters."""

from __future__ import annotations

import sys
import textwrap

import pytest

from bmdx.conformance._internal.adapter_client import (
    AdapterClient,
    AdapterProtocolError,
    AdapterTimeoutError,
    redact,
)
from bmdx.conformance._internal.targets import Evidence

REFERENCE = (sys.executable, "-m", "bmdx.reference", "adapter")


@pytest.fixture
def reference() -> AdapterClient:
    client = AdapterClient(REFERENCE, timeout=30)
    client.start()
    yield client
    client.kill()


@pytest.mark.requirement("BMDX-ADP-004")
def test_ids_echoed(reference: AdapterClient) -> None:
    for request_id in (3, "three", 2**53 - 1):
        response = reference.request("merkle-root", {"entries": []}, request_id=request_id)
        assert response.ok
        assert response.id == request_id
        assert response.result == {
            "root": "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
            "size": 0,
        }


@pytest.mark.requirement("BMDX-ADP-002")
def test_unsupported(reference: AdapterClient) -> None:
    assert reference.info is not None
    assert "no-such-command" not in reference.info.commands
    response = reference.call("no-such-command")
    assert (response.ok, response.requirement, response.reason) == (
        False,
        "BMDX-ADP-002",
        "unsupported",
    )


@pytest.mark.requirement("BMDX-ADP-011", "BMDX-ADP-008")
def test_malformed_line_then_keeps_going(reference: AdapterClient) -> None:
    reference.send_line(b'{"id": 1, "cmd": ')
    answer = reference.read_response()
    assert answer == {
        "id": None,
        "ok": False,
        "error": {
            "requirement": "BMDX-ADP-011",
            "reason": "malformed-request",
            "message": answer["error"]["message"],
        },
    }
    assert reference.call("merkle-root", entries=["AA"]).ok
    assert reference.stop() == 0


@pytest.mark.requirement("BMDX-ADP-015")
def test_uniform_failures_hide_the_check(reference: AdapterClient) -> None:
    document = {
        "objectType": "KeyRevocation",
        "participant": "urn:bmdx:participant:x",
        "kid": "k",
        "reason": "retired",
        "effectiveHeight": 1,
        "signatures": [{"protected": "eyJhbGciOiJub25lIn0", "signature": ""}],
    }
    key = {
        "kty": "OKP",
        "crv": "Ed25519",
        "x": "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo",
    }
    response = reference.call("verify", document=document, keys=[key])
    assert response.error == {
        "requirement": "BMDX-SEC-010",
        "reason": "signature-invalid",
        "message": "signature verification failed",
    }


def test_evidence_is_redacted(reference: AdapterClient) -> None:
    evidence = Evidence()
    reference.evidence = evidence
    private = {"kty": "OKP", "crv": "X25519", "x": "hxqg", "d": "secret-d"}
    reference.call("encrypt", plaintext="c2VjcmV0", recipients=[private])
    text = repr(evidence.exchanges)
    assert "secret-d" not in text
    assert "c2VjcmV0" not in text
    assert redact({"plaintext": "abcd"}) == {"plaintext": "<redacted 4 base64url characters>"}


def _fake(body: str) -> tuple[str, ...]:
    """A deliberately broken adapter: answers start, then misbehaves as ``body`` says."""
    script = textwrap.dedent(
        """
        import json, sys, time
        start = json.loads(sys.stdin.readline())
        print(json.dumps({"id": start["id"], "ok": True, "result": {
            "implementation": {"name": "broken", "version": "0", "language": "Python"},
            "protocolVersion": 1, "commands": ["start", "stop", "merkle-root"],
            "profiles": []}}), flush=True)
        request = json.loads(sys.stdin.readline())
        """
    ) + textwrap.dedent(body)
    return (sys.executable, "-c", script)


@pytest.mark.parametrize(
    ("body", "requirement"),
    [
        pytest.param(
            'print(json.dumps({"id": 999, "ok": True, "result": {}}), flush=True)',
            "BMDX-ADP-004",
            id="wrong-id",
        ),
        pytest.param('print("debug: hello", flush=True)', "BMDX-ADP-010", id="stray-output"),
        pytest.param(
            'print(json.dumps({"id": request["id"], "ok": True, "result": {"root": "xyz"}}), flush=True)',
            "BMDX-ADP-017",
            id="bad-result",
        ),
        pytest.param(
            'print(json.dumps({"id": request["id"], "ok": "yes"}), flush=True)',
            "BMDX-ADP-001",
            id="bad-envelope",
        ),
        pytest.param("sys.exit(3)", "BMDX-ADP-003", id="exits"),
    ],
)
def test_broken_adapters_are_caught(body: str, requirement: str) -> None:
    client = AdapterClient(_fake(body), timeout=30)
    client.start()
    try:
        with pytest.raises(AdapterProtocolError) as caught:
            client.call("merkle-root", entries=[])
        assert caught.value.requirement == requirement
    finally:
        client.kill()


def test_silent_adapter_times_out() -> None:
    client = AdapterClient(_fake("time.sleep(30)"), timeout=0.5)
    client.start()
    try:
        with pytest.raises(AdapterTimeoutError) as caught:
            client.call("merkle-root", entries=[])
        assert caught.value.requirement == "BMDX-ADP-003"
    finally:
        client.kill()
