"""The consent contract observed on a live node, over HTTP.

A patient grants consents, a laboratory publishes records under them, and hospitals,
an insurer and a regulator ask for them.  Each answer is checked against what
spec/conventions/consent.md decides for that situation: the payload released as a JWE
that the suite opens with the requester's own key (jwcrypto), the uniform 403
otherwise, and every decision and audit event citing the consent version whose hash
the suite computes itself (RFC 8785, SHA-256).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx
import pytest

from bmdx.conformance._internal.http_client import (
    EMPTY_POLICY_HASH,
    NodeClient,
    commitment,
    consent_document,
    digest,
    open_payload,
    pseudonym,
    timestamp,
)
from bmdx.conformance._internal.targets import Evidence, Target
from bmdx.conformance._internal.verifiers.jose import b64url_decode
from bmdx.conformance._internal.verifiers.objects import violations
from bmdx.conformance.suite.consent._world import (
    Actor,
    Grant,
    World,
    access_request,
    audit_events_of,
    build_world,
    quiet_state,
    uniform_denial,
)
from bmdx.conformance.suite.exchange_api._common import problem


@pytest.fixture(scope="module")
def world(target: Target) -> Iterator[World]:
    built = build_world(target)
    yield built
    built.close()


@pytest.fixture(autouse=True)
def _bound(world: World, evidence: Evidence) -> None:
    world.bind(evidence)


def _hour(offset: int, world: World) -> str:
    return timestamp(world.patient.client.clock() + offset * 3600)


@pytest.fixture(scope="module")
def scenes(world: World) -> dict[str, Any]:
    """Every subject's consent granted (one block waited for) and its records published."""
    hospital = {"actors": [{"role": "hospital"}], "purposes": ["treatment"]}
    grants: dict[str, Grant] = {
        "basic": world.grant(),
        "revoke": world.grant(),
        "race": world.grant(),
        "period": world.grant(
            {
                "type": "deny",
                "provisions": [
                    {
                        "type": "permit",
                        **hospital,
                        "recordTypes": ["lab-result"],
                        "period": {"start": _hour(-1, world), "end": _hour(1, world)},
                    },
                    {
                        "type": "permit",
                        **hospital,
                        "recordTypes": ["imaging-study"],
                        "period": {"start": _hour(-2, world), "end": _hour(-1, world)},
                    },
                ],
            }
        ),
        "blanket": world.grant(),
        "separate": world.grant(
            {"type": "permit", **hospital, "dataClasses": ["mental-health"]},
            extra={"separateConsent": True},
        ),
        "border": world.grant(
            extra={
                "jurisdiction": "DE",
                "crossBorder": {"permitted": True, "jurisdictions": ["FR"]},
            }
        ),
        "border_us": world.grant(
            extra={
                "jurisdiction": "DE",
                "crossBorder": {"permitted": True, "jurisdictions": ["US"]},
            }
        ),
    }
    glass = pseudonym()  # a subject without any consent
    mental: dict[str, Any] = {
        "record_type": "emr-document",
        "data_classes": ["mental-health"],
        "sensitivity": "R",
    }
    records = {
        "basic": world.publish(grants["basic"].subject),
        "revoke": world.publish(grants["revoke"].subject),
        "race": world.publish(grants["race"].subject),
        "period_in": world.publish(grants["period"].subject),
        "period_out": world.publish(grants["period"].subject, record_type="imaging-study"),
        "blanket_plain": world.publish(grants["blanket"].subject, record_type="emr-document"),
        "blanket_mental": world.publish(grants["blanket"].subject, **mental),
        "separate_mental": world.publish(grants["separate"].subject, **mental),
        "border": world.publish(grants["border"].subject),
        "border_us": world.publish(grants["border_us"].subject),
        "glass": world.publish(glass),
        "glass_v": world.publish(glass, sensitivity="V"),
    }
    world.settle()
    return {"grants": grants, "records": records, "glass": glass}


def _id(envelope: dict[str, Any]) -> str:
    return str(envelope["header"]["recordId"])


def _read(actor: Actor, envelope: dict[str, Any], purpose: str = "treatment") -> Any:
    """GET the record for ``purpose``; the request sent and the answer."""
    client = actor.client
    request = client.build("GET", f"/records/{_id(envelope)}", params={"purpose": purpose})
    return request, client.send(request)


def _ask(
    actor: Actor, envelope: dict[str, Any], purpose: str = "treatment", **members: Any
) -> tuple[httpx.Request, httpx.Response]:
    """POST an AccessRequest for the record; the request sent and the answer."""
    client = actor.client
    body = access_request(client, envelope["header"]["subject"], _id(envelope), purpose, **members)
    request = client.build("POST", f"/records/{_id(envelope)}/access", json_body=body)
    return request, client.send(request)


def _released(actor: Actor, envelope: dict[str, Any], released: dict[str, Any]) -> None:
    """The released envelope opens with the requester's key alone and matches the sent one."""
    assert violations(released, "RecordEnvelope") == [], "not a RecordEnvelope [BMDX-API-060]"
    kids = [r["header"]["kid"] for r in released["payload"]["recipients"]]
    assert kids == [actor.enc_kid], (
        f"the released JWE is wrapped for {kids}, not only for the requester's encryption key "
        f"{actor.enc_kid} [BMDX-API-060]"
    )
    plaintext = open_payload(released["payload"], actor.encryption_key)
    assert plaintext == envelope["plaintext"], "the released payload is not the published one"
    salt = b64url_decode(released["salt"])
    assert commitment(salt, plaintext) == envelope["header"]["commitment"], (
        "the released salt does not open the header's commitment [BMDX-API-053]"
    )


def _decision(response: httpx.Response, client: NodeClient) -> dict[str, Any]:
    assert response.status_code == 200, (
        f"POST /records/{{id}}/access answered {response.status_code}: {response.text[:300]}"
    )
    body: dict[str, Any] = client.json(response)
    decision: dict[str, Any] = body["decision"]
    assert violations(decision, "AccessDecision") == [], "not an AccessDecision"
    return body


def _members(decision: dict[str, Any]) -> dict[str, Any]:
    return {
        "decision": decision["decision"],
        "reasons": decision["reasons"],
        "consentVersionHash": decision["consentVersionHash"],
        "consent": decision.get("consent"),
        "breakGlass": decision["breakGlass"],
        "scope": decision.get("scope"),
        "obligations": decision.get("obligations", []),
    }


def _permit(grant: Grant, *obligations: str) -> dict[str, Any]:
    return {
        "decision": "permit",
        "reasons": ["consent-permit"],
        "consentVersionHash": digest(grant.consent),
        "consent": grant.consent_id,
        "breakGlass": False,
        "scope": "payload",
        "obligations": [*obligations, "no-redisclosure"],
    }


def _cites(events: list[dict[str, Any]], policy: str, outcome: str) -> None:
    for event in events:
        assert violations(event, "AuditEvent") == [], "not an AuditEvent"
        assert event["policyHash"] == policy, (
            f"audit event {event['eventId']} ({event['action']}) cites {event['policyHash']}, "
            f"not the governing consent version {policy} [BMDX-CON-006]"
        )
        assert event["outcome"] == outcome, (
            f"audit event {event['eventId']} records outcome {event['outcome']}, not {outcome}"
        )


@pytest.mark.requirement("BMDX-CON-006:685fcc7acbf4a574")
@pytest.mark.requirement("BMDX-CON-020:d6211ea38789402a")
@pytest.mark.requirement("BMDX-CON-022:c92b2a4187419850")
def test_consented_hospital_gets_the_payload(world: World, scenes: dict[str, Any]) -> None:
    """A read the consent permits is decided permit, consent-permit, scope payload, with
    the obligation no-redisclosure, citing the hash of the consent version the suite
    computed; the payload comes as a JWE that only the requester's key opens."""
    grant, record = scenes["grants"]["basic"], scenes["records"]["basic"]
    hospital = world.hospital
    request, response = _ask(hospital, record)
    body = _decision(response, hospital.client)
    decision = body["decision"]
    assert _members(decision) == _permit(grant)
    assert decision["requestId"] == json.loads(request.content)["requestId"]
    _released(hospital, record, body["envelope"])
    event = world.regulator.client.read(f"/audit/events/{body['auditEvent']}")
    _cites([event], digest(grant.consent), "success")
    _, response = _read(hospital, record)
    assert response.status_code == 200, response.text[:300]
    _released(hospital, record, hospital.client.json(response))


@pytest.mark.requirement("BMDX-CON-009:0c96f2f7dc8bdfe4")
@pytest.mark.requirement("BMDX-CON-012:366d1f7c4bb0d1ab")
def test_other_roles_and_purposes_are_denied(world: World, scenes: dict[str, Any]) -> None:
    """A provision matches only when each of its criteria matches: a laboratory, or the
    hospital for research, or an insurer for payment, is denied under a consent that
    permits hospitals for treatment, with the one uniform 403, each refusal audited
    under the consent version's hash."""
    grant, record = scenes["grants"]["basic"], scenes["records"]["basic"]
    sent = []
    for actor, purpose in (
        (world.lab, "treatment"),
        (world.hospital, "research"),
        (world.insurer, "payment"),
    ):
        request, response = _read(actor, record, purpose)
        uniform_denial(actor.client, response)
        sent.append((actor, request))
    for actor, request in sent:
        _cites(
            audit_events_of(world.regulator.client, actor.id, [request]),
            digest(grant.consent),
            "denied",
        )


@pytest.mark.requirement("BMDX-CON-005:8652e9b40a56f2d5")
@pytest.mark.requirement("BMDX-API-062:e5471d53b1c8486e")
def test_revocation_cuts_access_at_once(world: World, scenes: dict[str, Any]) -> None:
    """Once a node has answered a consent.revoke transaction with 202, it MUST refuse
    every read it decides from then on that the revoked consent alone would have
    permitted, whether or not the revocation's block is committed yet."""
    grant, record = scenes["grants"]["revoke"], scenes["records"]["revoke"]
    hospital = world.hospital
    before, response = _read(hospital, record)
    assert response.status_code == 200, f"the read before the revocation: {response.text[:300]}"
    revoked = world.revoke(grant)
    assert revoked.status_code == 202, f"the revocation answered {revoked.status_code}"
    after, response = _read(hospital, record)  # no wait for the revocation's block
    uniform_denial(hospital.client, response)
    asked, response = _ask(hospital, record)
    uniform_denial(hospital.client, response)
    events = audit_events_of(world.regulator.client, hospital.id, [before, after, asked])
    _cites(events[:1], digest(grant.versions[0]), "success")
    _cites(events[1:], digest(grant.consent), "denied")


@pytest.mark.requirement("BMDX-CON-005:8652e9b40a56f2d5")
@pytest.mark.requirement("BMDX-API-062:e5471d53b1c8486e")
def test_read_racing_a_revocation_answers_consistently(
    world: World, scenes: dict[str, Any]
) -> None:
    """A read racing a revocation is decided by the version in force when it is decided:
    released and audited under the grant, or refused and audited under the revocation;
    never refused and then released again, and every read after the 202 refused."""
    grant, record = scenes["grants"]["race"], scenes["records"]["race"]
    racer = Actor(
        world.hospital.client.as_participant(world.hospital.client.participant),
        world.hospital.encryption_key,
    )
    try:
        with ThreadPoolExecutor(max_workers=2) as pool:
            reads = pool.submit(lambda: [_read(racer, record) for _ in range(4)])
            revoked = pool.submit(world.revoke, grant).result()
            raced = reads.result()
    finally:
        racer.client.close()
    assert revoked.status_code == 202, f"the revocation answered {revoked.status_code}"
    late, response = _read(world.hospital, record)
    uniform_denial(world.hospital.client, response)
    statuses = [r.status_code for _, r in raced]
    assert set(statuses) <= {200, 403}, f"racing reads answered {statuses}"
    assert statuses == sorted(statuses), (
        f"a read was refused and a later one released again: {statuses} [BMDX-API-062]"
    )
    events = audit_events_of(world.regulator.client, racer.id, [q for q, _ in raced] + [late])
    for (_, response), event in zip(raced, events[:-1], strict=True):
        if response.status_code == 200:
            _released(world.hospital, record, racer.client.json(response))
            _cites([event], digest(grant.versions[0]), "success")
        else:
            _cites([event], digest(grant.consent), "denied")
    _cites(events[-1:], digest(grant.consent), "denied")


@pytest.mark.requirement("BMDX-CON-010:faf09f143e562956")
@pytest.mark.requirement("BMDX-CON-011:54330cd4531bc369")
def test_expired_provision_no_longer_permits(world: World, scenes: dict[str, Any]) -> None:
    """Under a root deny with two nested permits, the permit whose period holds the
    node's time releases its record and the permit whose period ended does not: the
    expired exception no longer overrides the root."""
    grant = scenes["grants"]["period"]
    inside, outside = scenes["records"]["period_in"], scenes["records"]["period_out"]
    hospital = world.hospital
    first, response = _read(hospital, inside)
    assert response.status_code == 200, f"a read inside the period: {response.text[:300]}"
    _released(hospital, inside, hospital.client.json(response))
    second, response = _read(hospital, outside)
    uniform_denial(hospital.client, response)
    events = audit_events_of(world.regulator.client, hospital.id, [first, second])
    _cites(events[:1], digest(grant.consent), "success")
    _cites(events[1:], digest(grant.consent), "denied")


@pytest.mark.requirement("BMDX-CON-008:b21d7ac25571a86c")
@pytest.mark.requirement("BMDX-CON-014:74c48ae60eaadcff")
@pytest.mark.requirement("BMDX-CON-020:d6211ea38789402a")
def test_sensitive_classes_need_separate_consent(world: World, scenes: dict[str, Any]) -> None:
    """A blanket permit releases a diagnosis but not a mental-health record; a consent
    with separateConsent that names mental-health explicitly releases it, and a
    restricted (R) record's permit obliges the node to notify the patient."""
    hospital = world.hospital
    records = scenes["records"]
    _, response = _read(hospital, records["blanket_plain"])
    assert response.status_code == 200, f"a blanket permit of diagnoses: {response.text[:300]}"
    _, response = _read(hospital, records["blanket_mental"])
    uniform_denial(hospital.client, response)
    _, response = _ask(hospital, records["separate_mental"])
    body = _decision(response, hospital.client)
    assert _members(body["decision"]) == _permit(scenes["grants"]["separate"], "notify-patient")
    _released(hospital, records["separate_mental"], body["envelope"])


@pytest.mark.requirement("BMDX-CON-013:6f06c7f98e55e13c")
def test_cross_border_transfer(world: World, scenes: dict[str, Any]) -> None:
    """A consent of jurisdiction DE releases to a DE hospital, refuses a US hospital when
    its cross-border list names only FR, and releases to it when the list names US."""
    records = scenes["records"]
    _, response = _read(world.hospital, records["border"])
    assert response.status_code == 200, f"a domestic read: {response.text[:300]}"
    _, response = _read(world.abroad, records["border"])
    uniform_denial(world.abroad.client, response)
    _, response = _ask(world.abroad, records["border_us"])
    body = _decision(response, world.abroad.client)
    assert _members(body["decision"]) == _permit(scenes["grants"]["border_us"])
    _released(world.abroad, records["border_us"], body["envelope"])


def _emergency(**members: Any) -> dict[str, Any]:
    return {
        "breakGlass": True,
        "justification": "unconscious patient in the emergency department",
        **members,
    }


@pytest.mark.requirement("BMDX-CON-007:8a361f4d4277d585")
@pytest.mark.requirement("BMDX-CON-018:84315758cc349744")
@pytest.mark.requirement("BMDX-CON-019:2d24428200270339")
@pytest.mark.requirement("BMDX-API-063:59f87135f852b904")
def test_break_glass_is_released_flagged_and_reviewed(world: World, scenes: dict[str, Any]) -> None:
    """A node MUST release the payload key on a valid break-glass AccessRequest that the
    consent algorithm permits, record it as an AuditEvent with action break-glass, and
    evaluate its anomaly rules at once so that the break-glass alert is raised on the
    ledger and served to regulators (the review queue)."""
    record = scenes["records"]["glass"]
    hospital = world.hospital
    start = quiet_state(hospital.client, ())
    _, response = _ask(hospital, record, "emergency", **_emergency())
    body = _decision(response, hospital.client)
    assert _members(body["decision"]) == {
        "decision": "permit",
        "reasons": ["break-glass", "no-consent"],
        "consentVersionHash": EMPTY_POLICY_HASH,
        "consent": None,
        "breakGlass": True,
        "scope": "payload",
        "obligations": ["notify-patient", "review-queue", "no-redisclosure"],
    }
    _released(hospital, record, body["envelope"])
    event_id = body["auditEvent"]
    event = world.regulator.client.read(f"/audit/events/{event_id}")
    assert (event["action"], event["outcome"]) == ("break-glass", "success"), (
        f"the break-glass access is audited as {event['action']}/{event['outcome']}"
    )
    _cites([event], EMPTY_POLICY_HASH, "success")
    # Raised at once: on the ledger before any regulator asked for alerts.
    head = hospital.client.wait_committed_pool()
    raised = []
    for height in range(start.height + 1, int(head["height"]) + 1):
        block = hospital.client.read(f"/ledger/blocks/{height}")
        for tx in block["body"]["transactions"]:
            if tx["type"] == "alert.raise":
                raised.extend(tx["outputs"])
    mine = [a for a in raised if a["rule"] == "break-glass-use" and event_id in a["events"]]
    assert mine, "no break-glass-use alert naming the access was raised on the ledger at once"
    served = world.regulator.client.read("/alerts", params={"actor": hospital.id, "limit": 1000})
    assert mine[0]["alertId"] in {a["alertId"] for a in served["items"]}, (
        "the break-glass alert is not served to regulators"
    )


@pytest.mark.requirement("BMDX-CON-016:f3b5a53c7a94694a")
@pytest.mark.requirement("BMDX-CON-018:84315758cc349744")
def test_break_glass_refusals(world: World, scenes: dict[str, Any]) -> None:
    """Break-glass is refused to a requester that is not a care provider, without a
    justification, and on a very restricted (V) record whose profile forbids it: each
    the uniform 403, audited under the empty policy."""
    records = scenes["records"]
    sent = []
    for actor, record, members in (
        (world.insurer, records["glass"], _emergency()),
        (world.hospital, records["glass"], {"breakGlass": True}),
        (world.hospital, records["glass_v"], _emergency()),
    ):
        request, response = _ask(actor, record, "emergency", **members)
        uniform_denial(actor.client, response)
        sent.append((actor, request))
    for actor, request in sent:
        _cites(
            audit_events_of(world.regulator.client, actor.id, [request]),
            EMPTY_POLICY_HASH,
            "denied",
        )


@pytest.mark.requirement("BMDX-CON-017:5de0726b20c5ad5c")
@pytest.mark.requirement("BMDX-CON-023:63fb2f4040f8c3b7")
@pytest.mark.requirement("BMDX-API-064:451f1d33a3ce2210")
def test_regulator_sees_metadata_only(world: World, scenes: dict[str, Any]) -> None:
    """A node MUST NOT answer a payload, a wrapped content key or a salt on a
    metadata-only decision: GET /records/{recordId} is refused with the 403 of
    BMDX-API-061 and POST /records/{recordId}/access answers the decision without an
    envelope."""
    grant, record = scenes["grants"]["basic"], scenes["records"]["basic"]
    regulator = world.regulator
    _, response = _ask(regulator, record, "public-health")
    body = _decision(response, regulator.client)
    assert _members(body["decision"]) == {
        "decision": "permit",
        "reasons": ["regulator-metadata"],
        "consentVersionHash": digest(grant.consent),
        "consent": grant.consent_id,
        "breakGlass": False,
        "scope": "metadata-only",
        "obligations": [],
    }
    assert "envelope" not in body, "a metadata-only decision came with an envelope"
    _, read = _read(regulator, record, "public-health")
    uniform_denial(regulator.client, read)
    listed = regulator.client.read(
        "/records", params={"purpose": "public-health", "subject": grant.subject}
    )
    assert [h["recordId"] for h in listed["items"]] == [_id(record)], (
        "a regulator's query does not list the subject's record headers"
    )
    secret = record["salt"]
    for answer in (response, read):
        for part in (secret, record["payload"]["ciphertext"], record["payload"]["iv"]):
            assert part not in answer.text, "a metadata-only answer carries payload material"


@pytest.mark.requirement("BMDX-CON-024:baade71210ae6f7a")
def test_consent_issued_after_its_transaction_is_refused(world: World) -> None:
    """A node MUST refuse a consent.grant or consent.revoke transaction whose Consent
    output has an issued time later than the transaction's timestamp."""
    patient = world.patient.client
    consent = consent_document(patient, pseudonym(), {"type": "permit"}, issued_ago=-600)
    before = quiet_state(patient, ())
    tx = patient.signed_transaction("consent.grant", [consent])
    document = problem(patient, patient.post("/consents", json_body=tx), 422)
    assert document["requirement"] == "BMDX-CON-024", document
    assert patient.live_version(consent["consentId"]) is None, "the future version is live"
    assert patient.state(()).sequences == before.sequences


@pytest.mark.requirement("BMDX-CON-025:0d42530fde777ba9")
def test_second_consent_for_a_subject_is_refused(world: World) -> None:
    """A subject MUST have at most one consent; a node MUST refuse a version 1 of a new
    consentId for a subject that already has a consent."""
    first = world.grant()
    patient = world.patient.client
    other = consent_document(patient, first.subject, {"type": "permit"})
    before = patient.state(())
    tx = patient.signed_transaction("consent.grant", [other])
    document = problem(patient, patient.post("/consents", json_body=tx), 422)
    assert document["requirement"] == "BMDX-CON-025", document
    assert patient.live_version(other["consentId"]) is None, "a second consent became live"
    assert patient.state(()).sequences == before.sequences
