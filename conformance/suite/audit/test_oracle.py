"""The audit trail against the audit oracle (profile audit, BMDX-AUD-001 to -007).

One scripted session per module: consents, records, permitted reads, a query, refusals
(no consent, another patient's record, a patient reading another's history, a
non-regulator reading the trail), a key release by access request, a break-glass read,
an erasure and a read of the erased record, a regulator's metadata access and alert
retrieval.  :class:`AuditOracle` derives from the requests alone the events each must
leave (spec/conventions/audit.md section 2), reads the patients' access histories and
the regulator's views, verifies every inclusion proof against a checkpoint it verified
itself and the consistency of the checkpoints taken before and after; each test below
judges the discrepancies that break its requirement.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest

from bmdx.conformance._internal.http_client import digest, pseudonym
from bmdx.conformance._internal.oracle import Attempt, AuditOracle, Findings
from bmdx.conformance._internal.targets import Target
from bmdx.conformance.suite.audit._session import Network, access_request, network, oracle_of

ROLES = {
    "hospital": "hospital",
    "stranger": "hospital",
    "ada": "patient",
    "bo": "patient",
    "regulator": "regulator",
}


@dataclass
class Session:
    net: Network
    oracle: AuditOracle
    findings: Findings
    steps: dict[str, Attempt]

    def event(self, step: str) -> dict[str, Any]:
        found = self.findings.event_of(self.steps[step])
        assert found is not None, f"no event was found for {self.steps[step]} [BMDX-AUD-001]"
        return found


def _last(oracle: AuditOracle) -> Attempt:
    return oracle.attempts()[-1]


def _script(net: Network, oracle: AuditOracle) -> dict[str, Attempt]:  # noqa: PLR0915
    steps: dict[str, Attempt] = {}
    hospital, stranger, regulator = net["hospital"], net["stranger"], net["regulator"]
    ada_subject, bo_subject = net.subjects["ada"], net.subjects["bo"]
    only_hospital = {
        "type": "permit",
        "actors": [{"participant": hospital.id}],
        "purposes": ["treatment"],
    }
    net.grant("ada", ada_subject, only_hospital)
    steps["consent"] = _last(oracle)
    net.grant("bo", bo_subject, only_hospital)
    note = net.publish("hospital", ada_subject, "note")
    steps["publish"] = _last(oracle)
    spare = net.publish("hospital", ada_subject, "spare")
    scan = net.publish("hospital", bo_subject, "scan")

    response = hospital.get(f"/records/{note['recordId']}", params={"purpose": "treatment"})
    assert response.status_code == 200, response.text[:300]
    steps["read"] = _last(oracle)
    request = access_request(hospital, bo_subject, scan["recordId"], "treatment")
    response = hospital.post(f"/records/{scan['recordId']}/access", json_body=request)
    assert response.status_code == 200, response.text[:300]
    steps["key-release"] = _last(oracle)
    response = hospital.get("/records", params={"purpose": "treatment", "subject": ada_subject})
    assert response.status_code == 200, response.text[:300]
    steps["query"] = _last(oracle)

    response = stranger.get(f"/records/{note['recordId']}", params={"purpose": "treatment"})
    assert response.status_code == 403, response.text[:300]
    steps["no-consent"] = _last(oracle)
    response = net["bo"].get(f"/records/{note['recordId']}", params={"purpose": "treatment"})
    assert response.status_code == 403, response.text[:300]
    steps["another-patient"] = _last(oracle)
    request = access_request(hospital, bo_subject, note["recordId"], "treatment")
    response = hospital.post(f"/records/{note['recordId']}/access", json_body=request)
    assert response.status_code == 403, response.text[:300]
    steps["wrong-subject"] = _last(oracle)
    response = net["ada"].get(f"/subjects/{bo_subject}/access-history")
    assert response.status_code == 403, response.text[:300]
    steps["other-history"] = _last(oracle)
    response = stranger.get("/audit/events")
    assert response.status_code == 403, response.text[:300]
    steps["not-regulator"] = _last(oracle)

    emergency = access_request(
        stranger,
        ada_subject,
        note["recordId"],
        "emergency",
        break_glass=True,
        justification="unconscious patient in the emergency department",
    )
    response = stranger.post(f"/records/{note['recordId']}/access", json_body=emergency)
    assert response.status_code == 200, response.text[:300]
    steps["break-glass"] = _last(oracle)

    response = hospital.delete(f"/records/{spare['recordId']}")
    assert response.status_code == 200, response.text[:300]
    steps["erasure"] = _last(oracle)
    response = hospital.get(f"/records/{spare['recordId']}", params={"purpose": "treatment"})
    assert response.status_code == 410, response.text[:300]
    steps["read-erased"] = _last(oracle)

    metadata = access_request(regulator, ada_subject, note["recordId"], "public-health")
    response = regulator.post(f"/records/{note['recordId']}/access", json_body=metadata)
    assert response.status_code == 200, response.text[:300]
    steps["regulator-metadata"] = _last(oracle)
    response = regulator.get("/alerts")
    assert response.status_code == 200, response.text[:300]
    steps["alerts"] = _last(oracle)
    return steps


@pytest.fixture(scope="module")
def session(target: Target) -> Iterator[Session]:
    with network(target, ROLES) as net:
        net.subjects.update({"ada": _fresh(), "bo": _fresh()})
        oracle = oracle_of(net)
        oracle.checkpoint()
        steps = _script(net, oracle)
        findings = oracle.check([net.subjects["ada"], net.subjects["bo"]])
        yield Session(net, oracle, findings, steps)


def _fresh() -> str:
    return pseudonym()


def _clean(session: Session, requirement: str) -> None:
    found = session.findings.of(requirement)
    assert not found, f"{len(found)} discrepancies:\n{session.findings.report(requirement)}"


@pytest.mark.requirement("BMDX-AUD-001:54635c829ca2bb33")
def test_one_event_per_attempt(session: Session) -> None:
    """A node MUST record exactly one AuditEvent on the ledger for every access attempt it
    handles (read, query, share, key release, erasure, break-glass, export), whether the
    attempt is permitted, refused or fails."""
    _clean(session, "BMDX-AUD-001")
    for step in session.steps:
        session.event(step)
    assert session.event("read")["action"] == "read"
    assert session.event("query")["action"] == "query"
    assert (session.event("erasure")["action"], session.event("erasure")["outcome"]) == (
        "erasure",
        "success",
    )
    assert (session.event("read-erased")["action"], session.event("read-erased")["outcome"]) == (
        "read",
        "error",
    )


@pytest.mark.requirement("BMDX-AUD-002:7d50ad3ea1f5226e")
def test_refusals_are_denials(session: Session) -> None:
    """An attempt refused by policy MUST be recorded with action denial and outcome denied,
    and an AuditEvent MUST NOT have action denial with any other outcome or outcome
    denied with any other action."""
    _clean(session, "BMDX-AUD-002")
    for step in ("no-consent", "another-patient", "wrong-subject", "other-history"):
        event = session.event(step)
        assert (event["action"], event["outcome"]) == ("denial", "denied"), step
    for event in session.findings.events.values():
        assert (event["action"] == "denial") == (event["outcome"] == "denied"), event


@pytest.mark.requirement("BMDX-AUD-003:83151ab2f8187ac3")
def test_decision_and_policy_recorded(session: Session) -> None:
    """An AuditEvent for an operation that an access decision permitted or refused MUST
    carry that decision's requestId in decision and the decision's consentVersionHash in
    policyHash."""
    _clean(session, "BMDX-AUD-003")
    answer = session.steps["break-glass"].answer
    assert isinstance(answer, dict), "the break-glass answer is not an AccessResult"
    event = session.event("break-glass")
    assert event.get("decision") == answer["decision"]["requestId"]
    assert event["policyHash"] == answer["decision"]["consentVersionHash"]
    for step in ("read", "no-consent", "key-release"):
        assert "decision" in session.event(step), f"the {step} event cites no decision"


@pytest.mark.requirement("BMDX-AUD-004:b2d0da38e4cdab12")
def test_break_glass_recorded(session: Session) -> None:
    """An access granted under the break-glass procedure MUST be recorded with action
    break-glass and purpose emergency."""
    _clean(session, "BMDX-AUD-004")
    event = session.event("break-glass")
    assert (event["action"], event.get("purpose")) == ("break-glass", "emergency")


@pytest.mark.requirement("BMDX-AUD-005:7dac0ac249784efa")
def test_access_history_complete(session: Session) -> None:
    """A patient's access history MUST list every AuditEvent whose subject is the
    patient's pseudonym, refused attempts included, and no other event, ordered by
    recorded and then by eventId."""
    _clean(session, "BMDX-AUD-005")
    ada = session.net.subjects["ada"]
    listed = {e["event"]["eventId"] for e in session.findings.history[ada]}
    for step in ("no-consent", "another-patient", "break-glass", "erasure", "consent"):
        assert session.event(step)["eventId"] in listed, f"the {step} event is not listed"


@pytest.mark.requirement("BMDX-AUD-006:182ba43e1acc55c5")
def test_access_history_proofs(session: Session) -> None:
    """Each entry of a patient's access history MUST come with an inclusion proof of the
    transaction carrying the event that verifies against a checkpoint of the ledger."""
    _clean(session, "BMDX-AUD-006")
    assert session.findings.before is not None
    assert session.findings.after is not None
    assert all(session.findings.history.values()), "a history came back empty"


@pytest.mark.requirement("BMDX-AUD-007:361f4209c0996671")
def test_regulator_sees_metadata_only(session: Session) -> None:
    """An audit answer given to a regulator MUST NOT contain record payloads, content
    keys or any member other than those of AuditEvent and AnomalyAlert documents."""
    _clean(session, "BMDX-AUD-007")
    answer = session.steps["regulator-metadata"].answer
    assert isinstance(answer, dict)
    assert "envelope" not in answer, "a regulator's metadata-only access was answered a payload"


@pytest.mark.requirement("BMDX-AUD-009:4484a70ea79e9711")
def test_consent_change_cites_the_version_it_publishes(session: Session) -> None:
    """The AuditEvent of a consent change MUST carry in policyHash the version hash of the
    Consent version that the change publishes, a revocation included, and MUST NOT carry
    a decision."""
    _clean(session, "BMDX-AUD-009")
    body = session.steps["consent"].body
    assert isinstance(body, dict)
    [consent] = [o for o in body["outputs"] if o.get("objectType") == "Consent"]
    event = session.event("consent")
    assert event["action"] == "consent-change"
    assert event["policyHash"] == digest(consent)
    assert "decision" not in event


@pytest.mark.requirement("BMDX-AUD-043:f2dfc98ccc8f68c9")
def test_refusal_on_an_unknown_record_names_no_patient(session: Session) -> None:
    """The AuditEvent of a refused attempt on a record that the node treats as unknown (no
    such record, or an AccessRequest naming another subject than the record's) MUST carry
    the record id the request named and MUST NOT carry a subject or a decision."""
    _clean(session, "BMDX-AUD-043")
    event = session.event("wrong-subject")
    request = session.steps["wrong-subject"].body
    assert isinstance(request, dict)
    assert (event["action"], event["outcome"]) == ("denial", "denied")
    assert event.get("record") == request["records"][0]
    assert "subject" not in event, "the refusal names a patient the request never reached"
    assert "decision" not in event


@pytest.mark.requirement("BMDX-AUD-044:5027ae3058c987d8")
def test_metadata_only_permit_is_a_query(session: Session) -> None:
    """An access that a decision permitted with scope metadata-only (the record header
    delivered, no key released) MUST be recorded with action query, the record, the
    declared purpose and the decision applied."""
    _clean(session, "BMDX-AUD-044")
    answer = session.steps["regulator-metadata"].answer
    request = session.steps["regulator-metadata"].body
    assert isinstance(answer, dict)
    assert isinstance(request, dict)
    assert answer["decision"].get("scope") == "metadata-only"
    event = session.event("regulator-metadata")
    assert (event["action"], event["outcome"]) == ("query", "success")
    assert event.get("record") == request["records"][0]
    assert event.get("purpose") == request["purpose"]
    assert event.get("decision") == answer["decision"]["requestId"]
