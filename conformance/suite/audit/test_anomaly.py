"""Anomaly alerts raised by a node and served to regulators (BMDX-AUD-008).

The suite makes the default rules fire (spec/anomaly/rules.yaml): a break-glass access
(``break-glass-use``, threshold 0) and six refused reads by one participant
(``repeated-denials``, threshold 5), then reads ``GET /alerts`` as a regulator.  The
alerts must name the session's events, every alert the node put on the ledger during
the session must be served, and the retrieval itself must be an audited query, which
the audit oracle checks with the rest of the session's trail.  The rule arithmetic
itself is judged by the anomaly vectors through the adapter (adapter/test_commands.py).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest

from bmdx.conformance._internal.http_client import pseudonym
from bmdx.conformance._internal.oracle import Attempt, Findings
from bmdx.conformance._internal.targets import Target
from bmdx.conformance._internal.verifiers.objects import violations
from bmdx.conformance.suite.audit._session import Network, access_request, network, oracle_of

ROLES = {"doctor": "hospital", "prober": "hospital", "ada": "patient", "regulator": "regulator"}
DENIALS = 6


@dataclass
class Alerts:
    net: Network
    served: list[dict[str, Any]]
    on_ledger: list[dict[str, Any]]
    findings: Findings
    break_glass: Attempt
    denials: list[Attempt]
    retrieval: Attempt


@pytest.fixture(scope="module")
def alerts(target: Target) -> Iterator[Alerts]:
    with network(target, ROLES) as net:
        oracle = oracle_of(net)
        start = oracle.checkpoint()
        subject = pseudonym()
        doctor, prober, regulator = net["doctor"], net["prober"], net["regulator"]
        net.grant(
            "ada",
            subject,
            {"type": "permit", "actors": [{"participant": doctor.id}], "purposes": ["research"]},
        )
        record = net.publish("doctor", subject, "chart")["recordId"]
        denials = []
        for _ in range(DENIALS):
            response = prober.get(f"/records/{record}", params={"purpose": "treatment"})
            assert response.status_code == 403, response.text[:300]
            denials.append(oracle.attempts()[-1])
        emergency = access_request(
            doctor,
            subject,
            record,
            "emergency",
            break_glass=True,
            justification="cardiac arrest in the ward",
        )
        response = doctor.post(f"/records/{record}/access", json_body=emergency)
        assert response.status_code == 200, response.text[:300]
        break_glass = oracle.attempts()[-1]
        response = regulator.get("/alerts", params={"limit": 1000})
        assert response.status_code == 200, response.text[:300]
        retrieval = oracle.attempts()[-1]
        served = list(regulator.json(response).get("items", []))
        findings = oracle.check([subject])
        on_ledger: list[dict[str, Any]] = []
        first = 0 if start is None else start.height + 1
        last = findings.after.height if findings.after is not None else first - 1
        for height in range(first, last + 1):
            block = regulator.read(f"/ledger/blocks/{height}")
            for tx in block["body"]["transactions"]:
                on_ledger.extend(o for o in tx["outputs"] if o.get("objectType") == "AnomalyAlert")
        yield Alerts(net, served, on_ledger, findings, break_glass, denials, retrieval)


def _event_id(alerts: Alerts, attempt: Attempt) -> str:
    event = alerts.findings.event_of(attempt)
    assert event is not None, f"no event records {attempt} [BMDX-AUD-001]"
    return str(event["eventId"])


def _alert(alerts: Alerts, rule: str, actor: str) -> dict[str, Any]:
    found = [a for a in alerts.served if a.get("rule") == rule and a.get("actor") == actor]
    assert found, f"no {rule} alert about {actor} is served to the regulator [BMDX-AUD-008]"
    return found[-1]


@pytest.mark.requirement("BMDX-AUD-008:2d03ea776052692b")
def test_alerts_served_and_audited(alerts: Alerts) -> None:
    """A node MUST serve every AnomalyAlert it raised to regulators and MUST record each
    such retrieval as an AuditEvent."""
    for alert in alerts.served:
        assert violations(alert, "AnomalyAlert") == [], alert
    served = {a["alertId"] for a in alerts.served}
    session_actors = {c.id for c in alerts.net.clients.values()}
    for alert in alerts.on_ledger:
        if alert["actor"] in session_actors:
            assert alert["alertId"] in served, f"alert {alert['alertId']} is not served"
    glass = _alert(alerts, "break-glass-use", alerts.net["doctor"].id)
    assert _event_id(alerts, alerts.break_glass) in glass["events"]
    probing = _alert(alerts, "repeated-denials", alerts.net["prober"].id)
    denied = {_event_id(alerts, a) for a in alerts.denials}
    assert denied <= set(probing["events"]), "the repeated-denials alert omits refusals"
    assert probing["observed"] >= DENIALS
    assert not alerts.findings.of("BMDX-AUD-008"), alerts.findings.report("BMDX-AUD-008")
    retrieval = alerts.findings.event_of(alerts.retrieval)
    assert retrieval is not None, "the alert retrieval left no audit event [BMDX-AUD-008]"
    assert (retrieval["action"], retrieval["actor"]) == ("query", alerts.net["regulator"].id)
    assert not alerts.findings.of("BMDX-AUD-001"), alerts.findings.report("BMDX-AUD-001")
