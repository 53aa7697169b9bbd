"""Commands whose full vectors belong to later profiles: the answer's shape, for now."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest

from bmdx.conformance._internal.adapter_client import AdapterClient
from bmdx.conformance._internal.specdata import spec_dir
from bmdx.conformance.suite._spec import vector_json

NOW = "2025-06-01T12:00:00Z"


def _examples(folder: str) -> list[Any]:
    found = sorted((spec_dir() / "examples" / "valid" / folder).glob("*.json"))
    if not found:
        raise RuntimeError(f"no valid {folder} examples: zero cases would run")
    return [json.loads(p.read_bytes()) for p in found]


def _consent_vectors() -> list[dict[str, Any]]:
    found = sorted((spec_dir() / "vectors" / "consent").glob("[0-9]*.json"))
    vectors = [json.loads(p.read_bytes()) for p in found if not p.stem.endswith("_fail")]
    if not vectors:
        raise RuntimeError("no consent vectors: zero cases would run")
    return vectors


@pytest.mark.requirement("BMDX-ADP-030:1561e700be556e90")
def test_consent_decide_answers_an_access_decision(
    adapter: AdapterClient, supports: Callable[[str], None]
) -> None:
    """The consent-decide command MUST answer with an AccessDecision valid against its
    schema that decides the given access request of the given requester for the given
    records under the given consent versions at the given time, as the algorithm of
    spec/conventions/consent.md decides it."""
    supports("consent-decide")
    for vector in _consent_vectors():
        response = adapter.call(
            "consent-decide",
            consents=vector["consents"],
            request=vector["request"],
            requester=vector["requester"],
            records=vector["records"],
            now=vector["now"],
        )
        # The client has checked the decision against the AccessDecision schema.
        assert response.ok, (vector["description"], response.error)
        decision = response.result["decision"]
        expected = vector["expected"]
        assert decision["decision"] == expected["decision"], vector["description"]
        assert decision["consentVersionHash"] == expected["consentVersionHash"], vector[
            "description"
        ]


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


# The requirement ids the anomaly vectors exercise (each vector's `requirements`), pinned.
_ANOMALY_PINS = {
    "BMDX-AUD-030": pytest.mark.requirement("BMDX-AUD-030:248b187acb2b7a9d"),
    "BMDX-AUD-031": pytest.mark.requirement("BMDX-AUD-031:e4ab536db031f5d3"),
    "BMDX-AUD-032": pytest.mark.requirement("BMDX-AUD-032:cb3ac9b948c1cf4d"),
    "BMDX-AUD-033": pytest.mark.requirement("BMDX-AUD-033:5fd2c119db5d2bbe"),
    "BMDX-AUD-034": pytest.mark.requirement("BMDX-AUD-034:7014d52272025889"),
    "BMDX-AUD-035": pytest.mark.requirement("BMDX-AUD-035:304e2884fa633960"),
    "BMDX-AUD-036": pytest.mark.requirement("BMDX-AUD-036:0c914b48a043632b"),
    "BMDX-AUD-037": pytest.mark.requirement("BMDX-AUD-037:c49d22e629d83d2a"),
    "BMDX-AUD-038": pytest.mark.requirement("BMDX-AUD-038:bc7240cd5c32d932"),
    "BMDX-AUD-039": pytest.mark.requirement("BMDX-AUD-039:f375173cddd04045"),
    "BMDX-AUD-040": pytest.mark.requirement("BMDX-AUD-040:4a8915ad32ad5952"),
    "BMDX-AUD-041": pytest.mark.requirement("BMDX-AUD-041:f217e99ac3270ea0"),
}


def _anomaly_vectors() -> list[Any]:
    found = sorted((spec_dir() / "vectors" / "anomaly").glob("*.json"))
    out = []
    for path in found:
        case = vector_json("anomaly", path.name)
        marks = [_ANOMALY_PINS[r] for r in case["requirements"] if r in _ANOMALY_PINS]
        out.append(pytest.param(case, id=path.stem, marks=marks))
    if not out:
        raise RuntimeError("no anomaly vectors in the spec: zero vectors would run")
    return out


@pytest.mark.requirement("BMDX-ADP-031:cc55514b52d91b12")
@pytest.mark.parametrize("case", _anomaly_vectors())
def test_anomaly_vectors(
    adapter: AdapterClient, supports: Callable[[str], None], case: dict[str, Any]
) -> None:
    """Evaluating the given rules over the given audit events at the given instant MUST
    give exactly the vector's alerts, in order and member for member, or refuse with the
    vector's requirement and reason (spec/vectors/anomaly)."""
    supports("anomaly-detect")
    response = adapter.call(
        "anomaly-detect", events=case["events"], rules=case["rules"], now=case["now"]
    )
    expected = case["expected"]
    if "error" in expected:
        assert not response.ok, "an invalid evaluation was answered"
        assert (response.requirement, response.reason) == (
            expected["error"]["requirement"],
            expected["error"]["reason"],
        )
        return
    assert response.ok, response.error
    assert response.result == {"alerts": expected["alerts"]}
