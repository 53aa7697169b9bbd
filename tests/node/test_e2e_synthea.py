"""End to end: two hospitals, a lab, a patient, an insurer and a regulator exchange
Synthea records (and DICOM imaging metadata from pydicom's test files) under consent,
over the node's HTTP interface.

Revocation cuts access; break-glass is permitted, flagged and queued as an alert; the
regulator sees metadata only; the patient's access history lists every attempt on the
patient's data exactly once, each with an inclusion proof that verifies against the
latest checkpoint; erasure leaves a receipt and later reads answer 410.
"""

from __future__ import annotations

import base64
import hashlib
import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pydicom
import pytest
from defusedxml import ElementTree
from jwcrypto.jwk import JWK
from pydicom.data import get_testdata_file

from bmdx.reference._internal import jwe, merkle
from bmdx.reference._internal.canonical import canonical_bytes
from tests.node.conftest import conforms, problem
from tests.node.exchange_world import World, make_world, pseudonym, treatment_permit
from tests.thirdparty import dataset, files

pytestmark = pytest.mark.anyio

ADA = pseudonym("synthea-ada")


@pytest.fixture
async def world(tmp_path: Path) -> AsyncIterator[World]:
    async for made in make_world(tmp_path):
        yield made


def synthea_payloads() -> list[tuple[str, bytes, str, str]]:
    """(record type, bytes, content type, data class) from one Synthea patient."""
    path = sorted(p for p in dataset("synthea").glob("*.json") if "Information" not in p.name)[0]
    bundle = json.loads(path.read_bytes())
    resources = [e["resource"] for e in bundle["entry"]]
    lab = next(
        r
        for r in resources
        if r["resourceType"] == "Observation"
        and "valueQuantity" in r
        and r["category"][0]["coding"][0]["code"] == "laboratory"
    )
    assert lab["code"]["coding"][0]["system"] == "http://loinc.org"
    assert lab["valueQuantity"]["system"] == "http://unitsofmeasure.org"
    condition = next(r for r in resources if r["resourceType"] == "Condition")
    vital = next(
        r
        for r in resources
        if r["resourceType"] == "Observation"
        and r["category"][0]["coding"][0]["code"] == "vital-signs"
        and "valueQuantity" in r
    )
    claim = next(r for r in resources if r["resourceType"] == "Claim")
    encode = lambda r: json.dumps(r, indent=1).encode()  # noqa: E731
    return [
        ("lab-result", encode(lab), "application/fhir+json", "laboratory"),
        ("emr-document", encode(condition), "application/fhir+json", "diagnoses"),
        ("health-measurement", encode(vital), "application/fhir+json", "vital-signs"),
        ("insurance-claim", encode(claim), "application/fhir+json", "financial"),
        ("imaging-study", imaging_metadata(), "application/dicom+json", "imaging"),
    ]


def imaging_metadata() -> bytes:
    """DICOM JSON metadata (PS3.18 F.2) of pydicom's CT test image, pixel data left out."""
    dataset_ = pydicom.dcmread(get_testdata_file("CT_small.dcm"))
    del dataset_.PixelData
    metadata = dataset_.to_json().encode()
    assert b'"00080060": {"Value": ["CT"]' in metadata  # Modality
    return metadata


def private(world: World, slug: str) -> JWK:
    key = world.members[slug].encryption
    assert key is not None
    return JWK.from_pyca(key.key)


def check_released(world: World, slug: str, envelope: dict[str, Any], expected: bytes) -> None:
    plaintext = jwe.decrypt(envelope["payload"], private(world, slug))
    salt = base64.urlsafe_b64decode(envelope["salt"] + "=")
    commitment = "sha-256:" + hashlib.sha256(salt + hashlib.sha256(plaintext).digest()).hexdigest()
    assert commitment == envelope["header"]["commitment"]
    assert plaintext == expected


@pytest.mark.requirement("BMDX-API-063")
@pytest.mark.requirement("BMDX-API-064")
@pytest.mark.requirement("BMDX-API-072")
@pytest.mark.requirement("BMDX-API-073")
@pytest.mark.requirement("BMDX-API-074")
@pytest.mark.requirement("BMDX-AUD-005")
@pytest.mark.requirement("BMDX-AUD-006")
async def test_synthea_exchange_end_to_end(world: World) -> None:
    published: dict[str, tuple[dict[str, Any], bytes]] = {}
    authors = {"lab-result": "central-lab", "insurance-claim": "north-hospital"}
    for record_type, data, content_type, data_class in synthea_payloads():
        author = authors.get(record_type, "north-hospital")
        envelope = world.envelope(
            author,
            ADA,
            data,
            record_type=record_type,
            content_type=content_type,
            # DICOM metadata follows a DICOM edition, the FHIR resources FHIR R4.
            content_version="2024b" if content_type == "application/dicom+json" else "4.0.1",
            data_classes=[data_class],
        )
        response = await world.client(author).post("/records", json=envelope)
        assert response.status_code == 201, response.text
        published[record_type] = (envelope, data)
    # An XML FHIR resource, carried byte-exact.
    xml = files("fhir-r4", "examples/observation-example.xml")[0].read_bytes()
    xml_envelope = world.envelope(
        "central-lab", ADA, xml, record_type="lab-result", content_type="application/fhir+xml"
    )
    assert (
        await world.client("central-lab").post("/records", json=xml_envelope)
    ).status_code == 201
    published["xml"] = (xml_envelope, xml)

    # The patient consents: hospitals and the lab for treatment, the insurer for payment.
    consent = world.consent(
        "patient-ada",
        ADA,
        [
            treatment_permit("hospital", "laboratory"),
            {
                "type": "permit",
                "actors": [{"role": "insurer"}],
                "purposes": ["payment"],
                "recordTypes": ["insurance-claim"],
            },
        ],
    )
    tx = world.transaction("patient-ada", "consent.grant", [consent])
    assert (await world.client("patient-ada").post("/consents", json=tx)).status_code == 202
    world.commit()

    south = world.client("south-hospital")
    lab_envelope, lab_bytes = published["lab-result"]
    response = await south.get(
        f"/records/{lab_envelope['header']['recordId']}", params={"purpose": "treatment"}
    )
    check_released(world, "south-hospital", conforms("getRecord", response), lab_bytes)
    response = await south.get(
        f"/records/{xml_envelope['header']['recordId']}", params={"purpose": "treatment"}
    )
    check_released(world, "south-hospital", response.json(), xml)

    claim_envelope, claim_bytes = published["insurance-claim"]
    insurer = world.client("acme-insurer")
    response = await insurer.get(
        f"/records/{claim_envelope['header']['recordId']}", params={"purpose": "payment"}
    )
    check_released(world, "acme-insurer", response.json(), claim_bytes)
    problem(
        await insurer.get(
            f"/records/{lab_envelope['header']['recordId']}", params={"purpose": "payment"}
        ),
        403,
        "BMDX-API-061",
        "access-denied",
    )

    # The regulator: metadata only.
    regulator = world.client("health-regulator")
    problem(
        await regulator.get(
            f"/records/{lab_envelope['header']['recordId']}", params={"purpose": "public-health"}
        ),
        403,
        "BMDX-API-061",
        "access-denied",
    )
    page = conforms(
        "queryRecords", await regulator.get("/records", params={"purpose": "public-health"})
    )
    assert len(page["items"]) == len(published)
    assert all("plaintextDigest" not in h and "payload" in h for h in page["items"])

    # Revocation cuts access.
    world.clock.advance(60)
    revoked = world.consent(
        "patient-ada",
        ADA,
        consent["provision"]["provisions"],
        version=2,
        consent_id=consent["consentId"],
        previous=consent,
        status="revoked",
    )
    version = "sha-256:" + hashlib.sha256(canonical_bytes(consent)).hexdigest()
    tx = world.transaction(
        "patient-ada",
        "consent.revoke",
        [revoked],
        inputs=[{"objectId": consent["consentId"], "version": version}],
    )
    path = f"/consents/{consent['consentId']}/revocations"
    assert (await world.client("patient-ada").post(path, json=tx)).status_code == 202
    problem(
        await south.get(
            f"/records/{lab_envelope['header']['recordId']}", params={"purpose": "treatment"}
        ),
        403,
        "BMDX-API-061",
        "access-denied",
    )

    # Break-glass: permitted, flagged, queued as an alert for the regulator.
    emr_envelope, emr_bytes = published["emr-document"]
    request = {
        "objectType": "AccessRequest",
        "requestId": world.new_id(),
        "requester": world.members["south-hospital"].id,
        "subject": ADA,
        "records": [emr_envelope["header"]["recordId"]],
        "purpose": "emergency",
        "breakGlass": True,
        "justification": "unconscious patient in the emergency department",
        "requested": world.now(),
    }
    response = await south.post(
        f"/records/{emr_envelope['header']['recordId']}/access", json=request
    )
    result = conforms("requestRecordAccess", response)
    assert result["decision"]["breakGlass"] is True
    assert result["decision"]["obligations"][:2] == ["notify-patient", "review-queue"]
    check_released(world, "south-hospital", result["envelope"], emr_bytes)
    alerts = conforms("listAlerts", await regulator.get("/alerts"))
    assert any(
        a["rule"] == "break-glass-use" and result["auditEvent"] in a["events"]
        for a in alerts["items"]
    )
    problem(await south.get("/alerts"), 403, "BMDX-API-074", "not-a-regulator")

    # Erasure, then 410.
    vital_envelope, _ = published["health-measurement"]
    erase = await world.client("patient-ada").delete(
        f"/records/{vital_envelope['header']['recordId']}"
    )
    assert conforms("eraseRecord", erase)["commitment"] == vital_envelope["header"]["commitment"]

    # The patient's history: every attempt on the patient's data, once, with proofs.
    world.commit()
    trail = [e for e, _ in world.exchange.refresh().events.values() if e.get("subject") == ADA]
    history = conforms(
        "getAccessHistory",
        await world.client("patient-ada").get(f"/subjects/{ADA}/access-history"),
    )
    assert [i["event"]["eventId"] for i in history["items"]] == [e["eventId"] for e in trail]
    actions = [i["event"]["action"] for i in history["items"]]
    assert actions.count("publish") == len(published)
    assert actions.count("break-glass") == 1
    assert actions.count("erasure") == 1
    assert actions.count("denial") == 3
    head = world.service.head()
    checkpoint = conforms(
        "getCheckpoint",
        await world.client("patient-ada").get(f"/ledger/checkpoints/{head.height}"),
    )
    root = bytes.fromhex(checkpoint["rootHash"].removeprefix("sha-256:"))
    for item in history["items"]:
        proof = item["proof"]
        assert proof["treeSize"] == checkpoint["treeSize"]
        tx_doc = world.service.ledger.transaction(item["txid"])
        assert tx_doc is not None
        assert item["event"] in tx_doc["outputs"]
        assert merkle.verify_inclusion(
            merkle.leaf_hash(canonical_bytes(tx_doc)),
            proof["leafIndex"],
            proof["treeSize"],
            [bytes.fromhex(h.removeprefix("sha-256:")) for h in proof["path"]],
            root,
        )
    problem(
        await south.get(f"/subjects/{ADA}/access-history"), 403, "BMDX-API-072", "not-the-patient"
    )

    # The regulator reads audit metadata and its exports, never payloads.
    events = conforms(
        "queryAuditEvents", await regulator.get("/audit/events", params={"subject": ADA})
    )
    assert events["items"]
    assert all(set(e) <= AUDIT_MEMBERS for e in events["items"])
    event_id = history["items"][0]["event"]["eventId"]
    fhir = conforms("getAuditEventFhir", await regulator.get(f"/audit/events/{event_id}/fhir"))
    assert fhir["resourceType"] == "AuditEvent"
    atna = await regulator.get(f"/audit/events/{event_id}/atna")
    assert ElementTree.fromstring(atna.content).tag == "AuditMessage"
    problem(await south.get("/audit/events"), 403, "BMDX-API-073", "not-a-regulator")


AUDIT_MEMBERS = {
    "objectType",
    "eventId",
    "recorded",
    "actor",
    "actorRole",
    "action",
    "subject",
    "record",
    "purpose",
    "outcome",
    "policyHash",
    "requestDigest",
    "decision",
}
