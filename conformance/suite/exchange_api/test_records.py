"""Records over HTTP: publishing, key release, queries, refusals, the audit trail, erasure.

BMDX-API-050 to BMDX-API-085.  The suite builds every envelope itself (jwcrypto JWE to
the author and to the node's custodian key, the salted commitment of BMDX-DM-102, the
author's detached JWS), opens what the node releases with the requester's own key, and
checks proofs with its own RFC 9162 verifier.  Each refusal is checked for its status,
the requirement it names, and for the node's trusted state not having moved beyond the
audit event BMDX-API-070 requires.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import re
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from defusedxml import ElementTree
from jwcrypto.common import JWException

from bmdx.conformance._internal.http_client import (
    NodeClient,
    canonical,
    commitment,
    consent_document,
    digest,
    encrypt_payload,
    open_payload,
    pseudonym,
    record_envelope,
    request_digest,
    seal_record,
)
from bmdx.conformance._internal.targets import Evidence, Target
from bmdx.conformance._internal.verifiers.jose import (
    BadSignatureError,
    b64url_decode,
    b64url_encode,
    verify_entry,
)
from bmdx.conformance._internal.verifiers.merkle import leaf_hash, verify_inclusion
from bmdx.conformance._internal.verifiers.objects import violations
from bmdx.conformance.suite.consent._world import (
    Grant,
    World,
    access_request,
    audit_events_of,
    build_world,
    quiet_state,
    same_state,
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


@pytest.fixture(scope="module")
def grant(world: World) -> Grant:
    """A subject whose consent permits hospitals for treatment (committed)."""
    granted = world.grant()
    world.settle()
    return granted


def _raw(value: str) -> bytes:
    return bytes.fromhex(value.removeprefix("sha-256:"))


def _id(envelope: dict[str, Any]) -> str:
    return str(envelope["header"]["recordId"])


def _sent(envelope: dict[str, Any]) -> dict[str, Any]:
    """The envelope as it went on the wire (without what the suite keeps beside it)."""
    return {k: v for k, v in envelope.items() if k not in {"plaintext", "receipt"}}


def _get(client: NodeClient, envelope: dict[str, Any], purpose: str = "treatment") -> Any:
    request = client.build("GET", f"/records/{_id(envelope)}", params={"purpose": purpose})
    return request, client.send(request)


def _verifies(client: NodeClient, status: dict[str, Any]) -> None:
    """The transaction's inclusion proof verifies against a committed block's tree head."""
    proof = client.read("/ledger/proofs/inclusion", params={"txid": status["txid"]})
    block = client.read(f"/ledger/blocks/{proof['height']}")
    assert proof["rootHash"] == block["header"]["treeRoot"]
    assert verify_inclusion(
        leaf_hash(canonical(status["transaction"])),
        proof["leafIndex"],
        proof["treeSize"],
        [_raw(p) for p in proof["path"]],
        _raw(proof["rootHash"]),
    ), f"the inclusion proof of {status['txid']} does not verify [BMDX-API-036]"


# -- publishing ----------------------------------------------------------------------------


@pytest.mark.requirement("BMDX-API-050:f14560d54b061d66")
@pytest.mark.requirement("BMDX-API-051:18077ad342eca358")
@pytest.mark.requirement("BMDX-API-052:96e075e10f84e9dd")
@pytest.mark.requirement("BMDX-API-053:5effd23627730b99")
def test_publish_receipt_and_anchor(world: World, grant: Grant) -> None:
    """A node MUST answer POST /records with 201 and a RecordReceipt for a valid
    envelope, store its JWE at the payload descriptor's location and anchor the header,
    unchanged, as the only output of the record.anchor transaction the receipt names;
    neither plaintextDigest nor the salt reaches the ledger."""
    lab = world.lab.client
    body = b'{"resourceType":"Observation","status":"final"}'
    envelope = record_envelope(lab, grant.subject, body, [world.lab.public_enc(), world.node_key])
    response = lab.post("/records", json_body=envelope)
    assert response.status_code == 201, f"POST /records answered {response.status_code}"
    receipt = lab.json(response)
    assert set(receipt) == {"recordId", "location", "txid", "status"}, receipt
    assert receipt["recordId"] == _id(envelope)
    assert (
        receipt["location"]
        == digest(envelope["payload"])
        == envelope["header"]["payload"]["location"]
    ), "the receipt's location is not the JWE's content address [BMDX-DM-111]"
    assert receipt["status"] in {"pending", "committed"}
    status = lab.wait_committed(receipt["txid"])
    tx = status["transaction"]
    assert tx["type"] == "record.anchor", f"the receipt names a {tx['type']} transaction"
    assert tx["outputs"] == [envelope["header"]], (
        "the anchored output is not the header, unchanged, alone [BMDX-API-051]"
    )
    assert "plaintextDigest" not in tx["outputs"][0], "[BMDX-API-052]"
    assert envelope["salt"] not in canonical(tx).decode(), (
        "the salt was written to the ledger [BMDX-API-053]"
    )
    assert lab.live_version(_id(envelope)) == digest(envelope["header"])
    _verifies(lab, status)


# Each refused envelope: how the suite breaks a valid one, the status and the requirement
# the refusal must name (BMDX-API-050: 403 or 422 naming the broken requirement).
Breaker = Callable[[World, dict[str, Any]], tuple[NodeClient, dict[str, Any]]]


def _fields(envelope: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in envelope["header"].items() if k not in {"signatures", "payload"}}


def _salt(envelope: dict[str, Any]) -> bytes:
    return b64url_decode(envelope["salt"])


def _not_the_author(world: World, valid: dict[str, Any]) -> tuple[NodeClient, dict[str, Any]]:
    return world.hospital.client, valid


def _signed_by_another_key(
    world: World, valid: dict[str, Any]
) -> tuple[NodeClient, dict[str, Any]]:
    forged = seal_record(world.hospital.client, _fields(valid), valid["payload"], _salt(valid))
    return world.lab.client, forged


def _tampered_ciphertext(world: World, valid: dict[str, Any]) -> tuple[NodeClient, dict[str, Any]]:
    token = dict(valid["payload"])
    raw = bytearray(b64url_decode(token["ciphertext"]))
    raw[0] ^= 0x01
    token["ciphertext"] = b64url_encode(bytes(raw))
    # The author signs a descriptor of the tampered JWE: only decryption can tell.
    return world.lab.client, seal_record(world.lab.client, _fields(valid), token, _salt(valid))


def _wrong_commitment(world: World, valid: dict[str, Any]) -> tuple[NodeClient, dict[str, Any]]:
    fields = {**_fields(valid), "commitment": commitment(_salt(valid), b"another plaintext")}
    return world.lab.client, seal_record(world.lab.client, fields, valid["payload"], _salt(valid))


def _other_payload(world: World, valid: dict[str, Any]) -> tuple[NodeClient, dict[str, Any]]:
    other = encrypt_payload(valid["plaintext"], [world.lab.public_enc(), world.node_key])
    return world.lab.client, {**valid, "payload": other}


def _plaintext_digest(world: World, valid: dict[str, Any]) -> tuple[NodeClient, dict[str, Any]]:
    fields = {**_fields(valid), "plaintextDigest": _sha256(valid["plaintext"])}
    return world.lab.client, seal_record(world.lab.client, fields, valid["payload"], _salt(valid))


def _no_salt(world: World, valid: dict[str, Any]) -> tuple[NodeClient, dict[str, Any]]:
    return world.lab.client, {k: v for k, v in valid.items() if k != "salt"}


def _no_custodian(world: World, valid: dict[str, Any]) -> tuple[NodeClient, dict[str, Any]]:
    token = encrypt_payload(valid["plaintext"], [world.lab.public_enc()])
    return world.lab.client, seal_record(world.lab.client, _fields(valid), token, _salt(valid))


def _sha256(data: bytes) -> str:
    return "sha-256:" + hashlib.sha256(data).hexdigest()


_REFUSALS = [
    pytest.param(_not_the_author, 403, {"BMDX-API-013", "BMDX-API-050"}, id="author-not-signer"),
    pytest.param(_signed_by_another_key, 422, {"BMDX-DM-190"}, id="header-signature"),
    # A JWE that does not decrypt is refused as uniformly as any decryption failure.
    pytest.param(
        _tampered_ciphertext, 422, {"BMDX-SEC-114", "BMDX-SEC-118"}, id="tampered-ciphertext"
    ),
    pytest.param(_wrong_commitment, 422, {"BMDX-DM-102"}, id="commitment-mismatch"),
    pytest.param(_other_payload, 422, {"BMDX-DM-111"}, id="payload-not-described"),
    pytest.param(
        _plaintext_digest,
        422,
        {"BMDX-API-052"},
        id="plaintext-digest",
        marks=pytest.mark.requirement("BMDX-API-052:96e075e10f84e9dd"),
    ),
    pytest.param(
        _no_salt,
        422,
        {"BMDX-API-053"},
        id="no-salt",
        marks=pytest.mark.requirement("BMDX-API-053:5effd23627730b99"),
    ),
    pytest.param(
        _no_custodian,
        422,
        {"BMDX-API-054"},
        id="no-custodian-recipient",
        marks=pytest.mark.requirement("BMDX-API-054:b9a46bd0c06c8489"),
    ),
]


@pytest.mark.requirement("BMDX-API-050:f14560d54b061d66")
@pytest.mark.parametrize(("breaker", "status", "requirements"), _REFUSALS)
def test_publish_refusals_store_and_anchor_nothing(
    world: World, grant: Grant, breaker: Breaker, status: int, requirements: set[str]
) -> None:
    """A node MUST answer POST /records with 201 and a RecordReceipt only for a
    RecordEnvelope whose header's author is the participant that signed the request,
    whose header signature verifies with a key of that author, whose payload matches
    the header's payload descriptor, and whose decrypted payload matches the header's
    commitment under the envelope's salt; it MUST refuse any other envelope with 403 or
    422 naming the broken requirement, and store and anchor nothing."""
    lab = world.lab.client
    body = b'{"resourceType":"Observation","status":"preliminary"}'
    valid = record_envelope(lab, grant.subject, body, [world.lab.public_enc(), world.node_key])
    valid["plaintext"] = body
    sender, envelope = breaker(world, valid)
    ids = [lab.id, world.hospital.id]
    before = quiet_state(lab, ids)
    document = problem(sender, sender.post("/records", json_body=_sent(envelope)), status)
    assert document["requirement"] in requirements, (
        f"the refusal names {document['requirement']}, not one of {sorted(requirements)}"
    )
    same_state(lab, before, ids)
    assert lab.live_version(_id(envelope)) is None, "a refused record was anchored"


@pytest.mark.requirement("BMDX-API-055:6f17fd752382d5a2")
def test_republishing_is_a_conflict(world: World, grant: Grant) -> None:
    """A node MUST answer with 409 a RecordEnvelope whose recordId or payload location is
    already published, and change nothing."""
    lab = world.lab.client
    published = world.publish(grant.subject)
    again = seal_record(
        lab,
        {**_fields(published), "recordId": f"urn:uuid:{uuid.uuid4()}"},
        published["payload"],
        _salt(published),
    )
    ids = [lab.id]
    before = quiet_state(lab, ids)
    for envelope in (_sent(published), again):
        document = problem(lab, lab.post("/records", json_body=envelope), 409)
        assert document["requirement"] == "BMDX-API-055", document
    same_state(lab, before, ids)
    assert lab.live_version(_id(again)) is None, "the second record id was anchored"
    assert lab.live_version(_id(published)) == digest(published["header"])


# -- key release and refusals --------------------------------------------------------------


@pytest.mark.requirement("BMDX-API-060:f502dd71c6380206")
def test_read_releases_only_the_requesters_wrap(world: World, grant: Grant) -> None:
    """On a read that the subject's consent permits with scope payload, a node MUST
    answer the record's anchored header, its salt and a JWE whose protected header, iv,
    ciphertext and tag are those stored and whose only recipient is the requester's
    registered encryption key."""
    record = world.publish(grant.subject)
    hospital = world.hospital
    _, response = _get(hospital.client, record)
    assert response.status_code == 200, f"a permitted read answered {response.status_code}"
    released = hospital.client.json(response)
    assert violations(released, "RecordEnvelope") == []
    assert released["header"] == record["header"], "the released header is not the anchored one"
    assert released["salt"] == record["salt"], "the released salt is not the one published"
    for member in ("protected", "iv", "ciphertext", "tag"):
        assert released["payload"][member] == record["payload"][member], (
            f"the released JWE's {member} is not the stored one"
        )
    kids = [r["header"]["kid"] for r in released["payload"]["recipients"]]
    assert kids == [hospital.enc_kid], (
        f"the released JWE names recipients {kids}, not the requester's key alone"
    )
    plaintext = open_payload(released["payload"], hospital.encryption_key)
    assert plaintext == record["plaintext"]
    assert commitment(b64url_decode(released["salt"]), plaintext) == record["header"]["commitment"]
    with pytest.raises(JWException):
        open_payload(released["payload"], world.lab.encryption_key)


@pytest.mark.requirement("BMDX-API-061:ce41ac017363c7f6")
def test_refusals_are_uniform_and_audited(world: World, grant: Grant) -> None:
    """A node MUST answer a record retrieval that consent refuses, one naming a record
    that does not exist, and one whose AccessRequest names another subject than the
    record's with the same status 403 and the same problem document (requirement
    BMDX-API-061, reason access-denied), and MUST record an AuditEvent for each."""
    record = world.publish(grant.subject)
    stranger = world.publish(pseudonym())  # another patient's record, no consent
    hospital, lab = world.hospital.client, world.lab.client
    ids = [hospital.id, lab.id]
    before = quiet_state(lab, ids)
    missing = f"urn:uuid:{uuid.uuid4()}"
    other = access_request(hospital, pseudonym(), _id(record))
    attempts = [
        (lab, lab.build("GET", f"/records/{_id(record)}", params={"purpose": "treatment"})),
        (hospital, hospital.build("GET", f"/records/{missing}", params={"purpose": "treatment"})),
        (hospital, hospital.build("POST", f"/records/{_id(record)}/access", json_body=other)),
        (
            hospital,
            hospital.build("GET", f"/records/{_id(stranger)}", params={"purpose": "treatment"}),
        ),
    ]
    bodies = []
    for client, request in attempts:
        bodies.append(uniform_denial(client, client.send(request)))
    assert all(b == bodies[0] for b in bodies), (
        f"the refusals differ, which tells a record's existence: {bodies}"
    )
    for client, request in attempts:
        (event,) = audit_events_of(world.regulator.client, client.id, [request])
        assert event["outcome"] == "denied", event
    same_state(lab, before, ids)


@pytest.mark.requirement("BMDX-API-065:f218eaa6be85a2eb")
def test_query_answers_only_permitted_live_headers(world: World) -> None:
    """GET /records MUST answer only headers of records that are not erased, match every
    given criterion and that the subject's consent permits the requester for the stated
    purpose, and MUST record exactly one AuditEvent with action query for the query."""
    subject = world.grant()
    world.settle()
    kept = world.publish(subject.subject)
    erased = world.publish(subject.subject, record_type="imaging-study")
    lab, hospital = world.lab.client, world.hospital.client
    assert lab.delete(f"/records/{_id(erased)}").status_code == 200
    cases = [
        (hospital, {"subject": subject.subject, "purpose": "treatment"}, [_id(kept)]),
        (
            hospital,
            {"subject": subject.subject, "purpose": "treatment", "recordType": "lab-result"},
            [_id(kept)],
        ),
        (
            hospital,
            {"subject": subject.subject, "purpose": "treatment", "recordType": "immunisation"},
            [],
        ),
        (hospital, {"subject": subject.subject, "purpose": "research"}, []),
        (lab, {"subject": subject.subject, "purpose": "treatment"}, []),
    ]
    sent = []
    for client, params, expected in cases:
        request = client.build("GET", "/records", params=params)
        response = client.send(request)
        assert response.status_code == 200, f"GET /records answered {response.status_code}"
        page = client.json(response)
        found = [h["recordId"] for h in page["items"]]
        assert found == expected, f"GET /records?{params} listed {found}, not {expected}"
        for header in page["items"]:
            assert violations(header, "RecordHeader") == []
        sent.append((client, request))
    for client, request in sent:
        (event,) = audit_events_of(world.regulator.client, client.id, [request])
        assert event["action"] == "query", f"a query is audited as {event['action']}"


# -- the audit trail -----------------------------------------------------------------------


@pytest.mark.requirement("BMDX-API-070:ccaec6737fc3583a")
@pytest.mark.requirement("BMDX-API-071:69133aaef5eb6ca7")
def test_every_attempt_is_audited_before_its_answer(world: World, grant: Grant) -> None:
    """A node MUST validate the AuditEvent of an access attempt into its pool in an
    audit.append transaction before it sends the response to that attempt, refused and
    failed attempts included; its requestDigest is the SHA-256 of the RFC 8785 form of
    the request's method, target URI, Content-Digest, Signature-Input and Signature."""
    record = world.publish(grant.subject)
    hospital, lab = world.hospital.client, world.lab.client
    body = access_request(hospital, grant.subject, _id(record))
    request = hospital.build("POST", f"/records/{_id(record)}/access", json_body=body)
    answer = hospital.json(hospital.send(request))
    event_id = answer["auditEvent"]
    # No wait: the event must already be in the pool (GET /ledger/objects counts it).
    assert hospital.live_version(event_id) is not None, (
        "the audit event of an answered access is not on the ledger or in its pool"
    )
    refused, response = _get(lab, record)
    uniform_denial(lab, response)
    (denial,) = audit_events_of(world.regulator.client, lab.id, [refused])
    assert denial["outcome"] == "denied"
    assert lab.live_version(denial["eventId"]) is not None
    event = world.regulator.client.read(f"/audit/events/{event_id}")
    assert event["requestDigest"] == request_digest(request), "[BMDX-API-071]"
    assert (event["actor"], event["record"], event["subject"]) == (
        hospital.id,
        _id(record),
        grant.subject,
    )
    assert event["decision"] == body["requestId"]


def _instant(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text.replace("Z", "+00:00"))


@pytest.mark.requirement("BMDX-API-072:d34eff4b2ac5967d")
def test_access_history_with_proofs(world: World, grant: Grant) -> None:
    """GET /subjects/{pseudonym}/access-history MUST answer, to a participant that
    granted a consent of that subject, every AuditEvent about the subject committed at
    the latest block, in the order of BMDX-AUD-005, each with its txid and an inclusion
    proof against that block; any other caller MUST get 403 and the attempt MUST be
    recorded."""
    record = world.publish(grant.subject)
    patient, hospital = world.patient.client, world.hospital.client
    _get(hospital, record)
    _get(world.lab.client, record)
    patient.wait_committed_pool()
    request = patient.build(
        "GET", f"/subjects/{grant.subject}/access-history", params={"limit": 1000}
    )
    response = patient.send(request)
    assert response.status_code == 200, f"the history answered {response.status_code}"
    items = patient.json(response)["items"]
    events = [item["event"] for item in items]
    assert events, "the history of a subject with accesses is empty"
    keys = [(_instant(e["recorded"]), e["eventId"]) for e in events]
    assert keys == sorted(keys), "the history is not ordered by recorded, then eventId"
    for item in items:
        event = item["event"]
        assert violations(event, "AuditEvent") == []
        assert event.get("subject") == grant.subject, "an event about another subject"
        status = patient.read(f"/ledger/transactions/{item['txid']}")
        assert event in status["transaction"]["outputs"], "the txid does not hold the event"
        proof = item["proof"]
        assert violations(proof, "InclusionProof") == []
        assert proof["leafHash"] == "sha-256:" + leaf_hash(canonical(status["transaction"])).hex()
        assert verify_inclusion(
            leaf_hash(canonical(status["transaction"])),
            proof["leafIndex"],
            proof["treeSize"],
            [_raw(p) for p in proof["path"]],
            _raw(proof["rootHash"]),
        ), f"the proof of {item['txid']} does not verify"
    heights = {item["proof"]["height"] for item in items}
    assert len(heights) == 1, f"the proofs are against several blocks: {heights}"
    block = patient.read(f"/ledger/blocks/{heights.pop()}")
    assert {item["proof"]["rootHash"] for item in items} == {block["header"]["treeRoot"]}
    # Completeness: the regulator's view of the subject, less what came after the
    # history was read (its own audit event), is exactly the history.
    trail = world.regulator.client.read(
        "/audit/events", params={"subject": grant.subject, "limit": 1000}
    )["items"]
    listed = {e["eventId"] for e in events}
    later = [e for e in trail if e["eventId"] not in listed]
    assert {e["eventId"] for e in trail} >= listed
    assert all(e["actor"] == patient.id and e["action"] == "query" for e in later), (
        f"committed events about the subject are missing from its history: {later}"
    )
    refused = hospital.build("GET", f"/subjects/{grant.subject}/access-history")
    problem(hospital, hospital.send(refused), 403)
    audit_events_of(world.regulator.client, hospital.id, [refused])


@pytest.mark.requirement("BMDX-API-073:7b282be09a7fdfca")
def test_audit_trail_is_for_regulators(world: World, grant: Grant) -> None:
    """GET /audit/events and its single-event and export operations MUST be answered to
    regulators (and a single event to its subject's consent grantor) with AuditEvent
    metadata only, and MUST be refused to any other participant."""
    record = world.publish(grant.subject)
    regulator, patient, hospital = (
        world.regulator.client,
        world.patient.client,
        world.hospital.client,
    )
    page = regulator.read("/audit/events", params={"subject": grant.subject, "limit": 1000})
    assert page["items"], "the trail of a subject with a published record is empty"
    for event in page["items"]:
        assert violations(event, "AuditEvent") == [], "an event that is not AuditEvent metadata"
        assert record["salt"] not in json.dumps(event)
    event_id = page["items"][0]["eventId"]
    assert regulator.read(f"/audit/events/{event_id}") == page["items"][0]
    assert patient.read(f"/audit/events/{event_id}") == page["items"][0], (
        "the subject's consent grantor cannot read an event about its subject"
    )
    fhir = regulator.get(f"/audit/events/{event_id}/fhir")
    assert fhir.status_code == 200, f"the FHIR export answered {fhir.status_code}"
    assert regulator.json(fhir)["resourceType"] == "AuditEvent"
    atna = regulator.get(f"/audit/events/{event_id}/atna")
    assert atna.status_code == 200, f"the ATNA export answered {atna.status_code}"
    ElementTree.fromstring(atna.content)
    ids = [hospital.id]
    before = quiet_state(hospital, ids)
    problem(hospital, hospital.get("/audit/events"), 403)
    for path in (
        f"/audit/events/{event_id}",
        f"/audit/events/{event_id}/fhir",
        f"/audit/events/{event_id}/atna",
    ):
        response = hospital.get(path)
        assert response.status_code in (403, 404), (
            f"GET {path} answered {response.status_code} to a hospital"
        )
        problem(hospital, response, response.status_code)
    same_state(hospital, before, ids)


@pytest.mark.requirement("BMDX-API-074:5d1c1b4f90aa60b6")
def test_alerts_are_raised_on_the_ledger_for_regulators(world: World, grant: Grant) -> None:
    """GET /alerts MUST evaluate the node's anomaly rules at the time of the request, put
    every alert not yet raised on the ledger in an alert.raise transaction, answer every
    alert raised to a regulator and refuse any other participant with 403."""
    record = world.publish(grant.subject)
    hospital, regulator = world.hospital.client, world.regulator.client
    emergency = access_request(
        hospital,
        grant.subject,
        _id(record),
        "emergency",
        breakGlass=True,
        justification="cardiac arrest on admission",
    )
    response = hospital.post(f"/records/{_id(record)}/access", json_body=emergency)
    assert response.status_code == 200, f"a valid break-glass answered {response.status_code}"
    event_id = hospital.json(response)["auditEvent"]
    page = regulator.read("/alerts", params={"actor": hospital.id, "limit": 1000})
    for alert in page["items"]:
        assert violations(alert, "AnomalyAlert") == []
        assert regulator.live_version(alert["alertId"]) == digest(alert), (
            f"alert {alert['alertId']} is served but not on the ledger"
        )
    assert any(a["rule"] == "break-glass-use" and event_id in a["events"] for a in page["items"]), (
        "no break-glass-use alert names the break-glass access"
    )
    problem(hospital, hospital.get("/alerts"), 403)


# -- erasure -------------------------------------------------------------------------------


def _node_signing_keys(client: NodeClient) -> dict[str, dict[str, Any]]:
    keys = client.capabilities()["nodeKeys"]
    return {k["kid"]: k for k in keys if k.get("use") == "sig"}


@pytest.mark.requirement("BMDX-API-080:698a38f80cf833d3")
@pytest.mark.requirement("BMDX-API-081:097fc71d91ac6ba7")
@pytest.mark.requirement("BMDX-API-053:5effd23627730b99")
def test_erasure_shreds_and_keeps_the_commitment(world: World, grant: Grant) -> None:
    """On DELETE /records/{recordId} by the record's author, a node MUST destroy the
    stored JWE and salt, put an ErasureReceipt signed by its own key on the ledger in a
    record.erase transaction that consumes the header's version, and answer that
    receipt; the anchor transaction and its proofs stay.  A retrieval of the erased
    record that consent would otherwise permit MUST be answered with 410, reason erased,
    and a problem document whose detail names the transaction holding the receipt."""
    record = world.publish(grant.subject)
    lab, hospital = world.lab.client, world.hospital.client
    _, response = _get(hospital, record)
    assert response.status_code == 200, "the record was not readable before its erasure"
    response = lab.delete(f"/records/{_id(record)}")
    assert response.status_code == 200, f"DELETE answered {response.status_code}"
    receipt = lab.json(response)
    assert violations(receipt, "ErasureReceipt") == []
    assert (receipt["recordId"], receipt["commitment"], receipt["requestedBy"]) == (
        _id(record),
        record["header"]["commitment"],
        lab.id,
    )
    unsigned = {k: v for k, v in receipt.items() if k != "signatures"}
    keys = _node_signing_keys(lab)
    try:
        verify_entry(receipt["signatures"][0], canonical(unsigned), keys)
    except BadSignatureError as e:
        raise AssertionError(f"the receipt is not signed by a key of the node: {e}") from e
    assert lab.live_version(_id(record)) == digest(receipt), (
        "the receipt is not the record's live version"
    )
    for attempt in (
        hospital.build("GET", f"/records/{_id(record)}", params={"purpose": "treatment"}),
        hospital.build(
            "POST",
            f"/records/{_id(record)}/access",
            json_body=access_request(hospital, grant.subject, _id(record)),
        ),
    ):
        gone = hospital.send(attempt)
        document = problem(hospital, gone, 410)
        assert (document["requirement"], document["reason"]) == ("BMDX-API-081", "erased")
        for part in (record["salt"], record["payload"]["ciphertext"]):
            assert part not in gone.text, "an erased record's material is still answered"
    match = re.search(r"sha-256:[0-9a-f]{64}", document.get("detail", ""))
    assert match, f"the 410 names no transaction: {document.get('detail')}"
    erasure = lab.wait_committed(match.group(0))
    tx = erasure["transaction"]
    assert tx["type"] == "record.erase"
    assert tx["outputs"] == [receipt]
    assert tx["inputs"] == [{"objectId": _id(record), "version": digest(record["header"])}]
    uniform_denial(lab, _get(lab, record)[1])  # consent would refuse it: still the 403
    anchor = lab.read(f"/ledger/transactions/{record['receipt']['txid']}")
    assert anchor["transaction"]["outputs"] == [record["header"]], "the anchor changed"
    _verifies(lab, anchor)
    _verifies(lab, erasure)


@pytest.mark.requirement("BMDX-API-080:698a38f80cf833d3")
def test_erasure_by_anyone_else_is_refused(world: World, grant: Grant) -> None:
    """Only the record's author, the subject's consent grantor or a regulator erases a
    record: a hospital's DELETE is the uniform 403 and the record stays readable."""
    record = world.publish(grant.subject)
    hospital = world.hospital.client
    ids = [hospital.id, world.lab.id]
    before = quiet_state(hospital, ids)
    uniform_denial(hospital, hospital.delete(f"/records/{_id(record)}"))
    same_state(hospital, before, ids)
    assert hospital.live_version(_id(record)) == digest(record["header"])
    _, response = _get(hospital, record)
    assert response.status_code == 200, "a refused erasure erased the record"


# -- consents ------------------------------------------------------------------------------


@pytest.mark.requirement("BMDX-API-085:ba3d3525ac5ded1a")
def test_consent_endpoints(world: World, grant: Grant) -> None:
    """POST /consents/{consentId}/revocations MUST accept only a consent.revoke
    transaction whose Consent outputs name that consentId and have status revoked, and
    GET /consents/{consentId} MUST answer the latest version to its grantor only and 404
    to anyone else."""
    patient, hospital = world.patient.client, world.hospital.client
    current = grant.consent
    assert patient.read(f"/consents/{grant.consent_id}") == current
    missing = problem(hospital, hospital.get(f"/consents/{grant.consent_id}"), 404)
    unknown = problem(patient, patient.get(f"/consents/urn:uuid:{uuid.uuid4()}"), 404)
    assert missing == unknown, "a consent's existence shows in the answer to a stranger"
    version: dict[str, Any] = {
        "version": int(current["version"]) + 1,
        "issued_ago": 1,
        "extra": {"previous": digest(current)},
    }
    other = world.grant()
    wrong_id = consent_document(
        patient,
        grant.subject,
        current["provision"],
        consent_id=other.consent_id,
        status="revoked",
        **version,
    )
    active = consent_document(
        patient,
        grant.subject,
        current["provision"],
        consent_id=grant.consent_id,
        status="active",
        **version,
    )
    ids = [patient.id]
    before = quiet_state(patient, ids)
    for output in (wrong_id, active):
        tx = patient.signed_transaction(
            "consent.revoke",
            [output],
            inputs=[{"objectId": grant.consent_id, "version": digest(current)}],
        )
        response = patient.post(f"/consents/{grant.consent_id}/revocations", json_body=tx)
        problem(patient, response, 422)
    same_state(patient, before, ids)
    assert patient.live_version(grant.consent_id) == digest(current)
