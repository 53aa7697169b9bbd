"""Commands whose full vectors belong to later profiles: the answer's shape, for now."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest

from bmdx.conformance._internal.adapter_client import AdapterClient
from bmdx.conformance._internal.specdata import spec_dir

NOW = "2025-06-01T12:00:00Z"


def _examples(folder: str) -> list[Any]:
    found = sorted((spec_dir() / "examples" / "valid" / folder).glob("*.json"))
    if not found:
        raise RuntimeError(f"no valid {folder} examples: zero cases would run")
    return [json.loads(p.read_bytes()) for p in found]


@pytest.mark.requirement("BMDX-ADP-030:a1444942a0200f83")
def test_consent_decide_answers_an_access_decision(
    adapter: AdapterClient, supports: Callable[[str], None]
) -> None:
    """The consent-decide command MUST answer with an AccessDecision valid against its
    schema that decides the given access request under the given consents at the given
    time."""
    supports("consent-decide")
    consents = _examples("consent")
    for request in _examples("access-request"):
        response = adapter.call("consent-decide", consents=consents, request=request, now=NOW)
        # The client has checked the decision against the AccessDecision schema.
        assert response.ok, response.error
        decision = response.result["decision"]
        assert decision["objectType"] == "AccessDecision"


@pytest.mark.requirement("BMDX-ADP-031:cc55514b52d91b12")
def test_anomaly_detect_answers_alerts(
    adapter: AdapterClient, supports: Callable[[str], None]
) -> None:
    """The anomaly-detect command MUST answer with the AnomalyAlert objects, each valid
    against its schema, that the given rules raise over the given audit events at the
    given time."""
    supports("anomaly-detect")
    response = adapter.call("anomaly-detect", events=_examples("audit-event"), rules=[], now=NOW)
    assert response.ok, response.error
    # No rules, no alerts; the client has checked the answer's schema.
    assert response.result == {"alerts": []}
