"""Generate the examples of the record, consent, audit and domain object types.

Writes ``spec/examples/valid/<stem>/*.json`` and ``spec/examples/invalid/<stem>/*.json``
with one ``expected.yaml`` per invalid folder, for the stems in :data:`STEMS`.

Deterministic: every key, salt, content key, IV and ephemeral key is derived from a
fixed label with SHA-256, so a run reproduces the files byte for byte (the test suite
checks this).  The derived secrets are public and exist for these examples only.

The examples are internally consistent, as a real exchange would be: plaintext digests,
salted commitments and content addresses are computed over the actual payload and JWE;
consent version 2 chains to version 1; decisions and audit events cite the canonical
digests of the consent version and request they rest on; every signature verifies with
the signer's key; supply-chain event hashes are computed with the GS1 reference
implementation of the CBV 2.0 event hash algorithm (``epcis-event-hash-generator``) from
the EPCIS 2.0 event each example summarises.  Each invalid example is a valid one with
one defect (re-signed where it is signed, so that it breaks only the labelled
requirement).

Run ``python -m tools.examples.gen_exchange_examples [SPEC_DIR]``.
"""

from __future__ import annotations

import copy
import hashlib
import hmac
import json
import sys
import uuid
import xml.etree.ElementTree as ET
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, x25519
from epcis_event_hash_generator import hash_generator, xml_to_py
from jwcrypto.jwk import JWK

from bmdx.reference._internal.b64 import b64url_encode
from bmdx.reference._internal.canonical import canonical_bytes
from bmdx.reference._internal.jwe import Deterministic, encrypt
from bmdx.reference._internal.keys import PrivateKey, load_private_pem
from bmdx.reference._internal.signing import sign_document
from tools.examples import hand_written_expectations

STEMS = (
    "record-header",
    "payload-descriptor",
    "record-envelope",
    "consent",
    "access-request",
    "access-decision",
    "audit-event",
    "anomaly-alert",
    "erasure-receipt",
    "supply-chain-event",
    "insurance-claim",
    "claim-adjudication",
    "research-export",
    "quality-report",
)

DEFAULT_SPEC = Path(__file__).resolve().parents[2] / "spec"

# SHA-256 of the two bytes '{}': the policy cited when a subject has no consent
# (BMDX-DM-137).
EMPTY_POLICY_DIGEST = "sha-256:" + hashlib.sha256(b"{}").hexdigest()

_UUID_NAMESPACE = uuid.UUID("6f1c3c1e-3f7b-5d7e-9a51-0b4d5e6a7c80")


def _secret(label: str, size: int = 32) -> bytes:
    return hashlib.sha256(b"BMDX example secret:" + label.encode()).digest()[:size]


def object_id(label: str) -> str:
    return f"urn:uuid:{uuid.uuid5(_UUID_NAMESPACE, label)}"


def pseudonym(label: str) -> str:
    """A keyed-hash pseudonym, as a pseudonymisation service would issue it."""
    mac = hmac.new(_secret("pseudonymisation key"), label.encode(), hashlib.sha256)
    return "pseud:" + b64url_encode(mac.digest())


def participant(slug: str) -> str:
    return f"urn:bmdx:participant:{slug}"


def digest(data: bytes) -> str:
    return "sha-256:" + hashlib.sha256(data).hexdigest()


def document_digest(document: dict[str, Any]) -> str:
    """The digest a decision, audit event or consent chain cites: over the RFC 8785 form."""
    return digest(canonical_bytes(document))


def signing_key(label: str) -> PrivateKey:
    key = ed25519.Ed25519PrivateKey.from_private_bytes(_secret("sig:" + label))
    pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    return load_private_pem(pem)


def encryption_key(label: str, curve: str) -> JWK:
    if curve == "X25519":
        return JWK.from_pyca(x25519.X25519PrivateKey.from_private_bytes(_secret("enc:" + label)))
    scalar = int.from_bytes(_secret("enc:" + label), "big") % (2**255)
    return JWK.from_pyca(ec.derive_private_key(scalar, ec.SECP256R1()))


def sign(document: dict[str, Any], signer: str) -> dict[str, Any]:
    unsigned = {k: v for k, v in document.items() if k != "signatures"}
    return sign_document(unsigned, signing_key(signer))


def gs1_check_digit(digits: str) -> str:
    """The GS1 mod-10 check digit of a GTIN body (weights 3, 1, 3, ... from the right)."""
    total = sum(int(d) * (3 if i % 2 == 0 else 1) for i, d in enumerate(reversed(digits)))
    return str((10 - total % 10) % 10)


def gtin14(company_prefix: str, item_reference: str, indicator: str = "0") -> str:
    body = indicator + company_prefix + item_reference
    return body + gs1_check_digit(body)


def sgtin(company_prefix: str, item_reference: str, serial: str, indicator: str = "0") -> str:
    return f"urn:epc:id:sgtin:{company_prefix}.{indicator}{item_reference}.{serial}"


# --- participants and subjects --------------------------------------------------------

LAB = participant("central-lab")
IMAGING = participant("northside-imaging")
HOSPITAL = participant("riverside-hospital")
PHARMACY = participant("northside-pharmacy")
INSURER = participant("acme-health-insurance")
REGULATOR = participant("national-health-regulator")
RESEARCH = participant("city-university-research")
NODE = participant("platform-node-1")
MANUFACTURER = participant("meridian-vaccines")
PATIENT_A = participant("patient-2c9e41d7")
SUBJECT_A = pseudonym("patient-a")
SUBJECT_B = pseudonym("patient-b")
SUBJECT_C = pseudonym("patient-c")

# --- payloads -------------------------------------------------------------------------


def _glucose_observation() -> bytes:
    observation = {
        "resourceType": "Observation",
        "id": "glucose-20240311",
        "status": "final",
        "category": [
            {
                "coding": [
                    {
                        "system": "http://terminology.hl7.org/CodeSystem/observation-category",
                        "code": "laboratory",
                        "display": "Laboratory",
                    }
                ]
            }
        ],
        "code": {
            "coding": [
                {
                    "system": "http://loinc.org",
                    "code": "2339-0",
                    "display": "Glucose [Mass/volume] in Blood",
                }
            ]
        },
        "subject": {"identifier": {"system": "urn:bmdx:pseudonym", "value": SUBJECT_A}},
        "effectiveDateTime": "2024-03-11T07:45:00Z",
        "issued": "2024-03-11T09:12:04Z",
        "valueQuantity": {
            "value": 95,
            "unit": "mg/dL",
            "system": "http://unitsofmeasure.org",
            "code": "mg/dL",
        },
        "referenceRange": [
            {
                "low": {
                    "value": 70,
                    "unit": "mg/dL",
                    "system": "http://unitsofmeasure.org",
                    "code": "mg/dL",
                },
                "high": {
                    "value": 99,
                    "unit": "mg/dL",
                    "system": "http://unitsofmeasure.org",
                    "code": "mg/dL",
                },
            }
        ],
    }
    return (json.dumps(observation, indent=2) + "\n").encode()


def _chest_xray_dicom_json() -> bytes:
    study = [
        {
            "00080020": {"vr": "DA", "Value": ["20240402"]},
            "00080050": {"vr": "SH", "Value": ["ACC20240402117"]},
            "00080061": {"vr": "CS", "Value": ["DX"]},
            "00081030": {"vr": "LO", "Value": ["Chest PA and lateral"]},
            "0020000D": {"vr": "UI", "Value": ["1.2.826.0.1.3680043.8.498.11437208841790254117"]},
            "00201206": {"vr": "IS", "Value": [1]},
            "00201208": {"vr": "IS", "Value": [2]},
        }
    ]
    return (json.dumps(study, indent=2) + "\n").encode()


@dataclass
class Record:
    header: dict[str, Any]
    jwe: dict[str, Any]


def make_record(
    label: str,
    *,
    record_type: str,
    data_classes: list[str],
    subject: str,
    author: str,
    created: str,
    content_type: str,
    content_version: str,
    sensitivity: str,
    plaintext: bytes,
    recipients: list[JWK],
) -> Record:
    ephemerals = [
        encryption_key(f"{label}:epk:{i}", "X25519" if r["kty"] == "OKP" else "P-256")
        for i, r in enumerate(recipients)
    ]
    jwe = encrypt(
        plaintext,
        recipients,
        cty=content_type.split(";", maxsplit=1)[0],
        deterministic=Deterministic(
            cek=_secret(f"{label}:cek"), iv=_secret(f"{label}:iv", 12), ephemeral_keys=ephemerals
        ),
    )
    for recipient in jwe["recipients"]:  # members in schema order (jwe.json#/$defs/ephemeralKey)
        epk = recipient["header"]["epk"]
        recipient["header"]["epk"] = {k: epk[k] for k in ("kty", "crv", "x", "y") if k in epk}
    stored = canonical_bytes(jwe)
    plaintext_digest = hashlib.sha256(plaintext).digest()
    salt = _secret(f"{label}:salt")
    header = {
        "objectType": "RecordHeader",
        "recordId": object_id(f"record:{label}"),
        "recordType": record_type,
        "dataClasses": data_classes,
        "subject": subject,
        "author": author,
        "created": created,
        "contentType": content_type,
        "contentVersion": content_version,
        "sensitivity": sensitivity,
        "plaintextDigest": "sha-256:" + plaintext_digest.hex(),
        "commitment": digest(salt + plaintext_digest),
        "payload": {
            "objectType": "PayloadDescriptor",
            "location": digest(stored),
            "size": len(stored),
            "mediaType": "application/jose+json",
            "encryption": {"enc": "A256GCM", "keyAgreement": "ECDH-ES+A256KW"},
            "recipients": len(jwe["recipients"]),
        },
    }
    return Record(header=sign(header, author), jwe=jwe)


def records() -> dict[str, Record]:
    glucose = make_record(
        "glucose",
        record_type="lab-result",
        data_classes=["laboratory"],
        subject=SUBJECT_A,
        author=LAB,
        created="2024-03-11T09:12:30Z",
        content_type="application/fhir+json; fhirVersion=4.0",
        content_version="4.0.1",
        sensitivity="N",
        plaintext=_glucose_observation(),
        recipients=[
            encryption_key("central-lab", "X25519"),
            encryption_key("riverside-hospital", "P-256"),
        ],
    )
    xray = make_record(
        "chest-xray",
        record_type="imaging-study",
        data_classes=["imaging"],
        subject=SUBJECT_A,
        author=IMAGING,
        created="2024-04-02T14:03:11.250Z",
        content_type="application/dicom+json",
        content_version="2024b",
        sensitivity="N",
        plaintext=_chest_xray_dicom_json(),
        recipients=[encryption_key("northside-imaging", "X25519")],
    )
    return {"glucose": glucose, "chest-xray": xray}


# --- consent, requests, decisions, audit ----------------------------------------------

NON_SENSITIVE = [
    "demographics",
    "diagnoses",
    "medications",
    "laboratory",
    "imaging",
    "vital-signs",
    "immunisations",
]


def consents() -> dict[str, dict[str, Any]]:
    care = {
        "type": "permit",
        "actors": [
            {"role": "hospital"},
            {"role": "laboratory"},
            {"role": "imaging-centre"},
            {"role": "pharmacy"},
        ],
        "purposes": ["treatment", "emergency"],
        "dataClasses": NON_SENSITIVE,
        "sensitivity": ["N", "R"],
        "period": {"start": "2024-01-15T00:00:00Z", "end": "2029-01-14T23:59:59Z"},
        "provisions": [
            {
                "type": "deny",
                "actors": [{"participant": PHARMACY}],
                "dataClasses": ["diagnoses"],
            }
        ],
    }
    billing = {
        "type": "permit",
        "actors": [{"role": "insurer"}],
        "purposes": ["payment"],
        "dataClasses": ["financial"],
        "recordTypes": ["insurance-claim"],
    }
    v1 = sign(
        {
            "objectType": "Consent",
            "consentId": object_id("consent:patient-a"),
            "version": 1,
            "subject": SUBJECT_A,
            "grantor": PATIENT_A,
            "status": "active",
            "issued": "2024-01-15T09:30:00Z",
            "provision": {"type": "deny", "provisions": [care, billing]},
            "separateConsent": False,
            "crossBorder": {"permitted": False},
            "fhirConsent": "consent-2c9e41d7-v1",
        },
        PATIENT_A,
    )
    research = {
        "type": "permit",
        "actors": [{"role": "research-body"}],
        "purposes": ["research"],
        "dataClasses": ["laboratory", "vital-signs", "genetics"],
        "recordTypes": ["lab-result", "health-measurement", "research-dataset"],
        "sensitivity": ["N", "R"],
        "period": {"start": "2024-06-01T00:00:00Z", "end": "2027-05-31T23:59:59Z"},
    }
    v2 = sign(
        {
            "objectType": "Consent",
            "consentId": v1["consentId"],
            "version": 2,
            "previous": document_digest(v1),
            "subject": SUBJECT_A,
            "grantor": PATIENT_A,
            "status": "active",
            "issued": "2024-06-02T16:04:51Z",
            "provision": {"type": "deny", "provisions": [care, billing, research]},
            "separateConsent": True,
            "crossBorder": {"permitted": True, "jurisdictions": ["DE", "NL"]},
            "fhirConsent": "consent-2c9e41d7-v2",
        },
        PATIENT_A,
    )
    return {"treatment-and-billing-v1": v1, "research-cross-border-v2": v2}


def access_requests(recs: dict[str, Record]) -> dict[str, dict[str, Any]]:
    return {
        "named-record-treatment": {
            "objectType": "AccessRequest",
            "requestId": object_id("request:glucose-read"),
            "requester": HOSPITAL,
            "subject": SUBJECT_A,
            "records": [recs["glucose"].header["recordId"]],
            "purpose": "treatment",
            "breakGlass": False,
            "requested": "2024-07-08T10:15:02Z",
        },
        "break-glass-query": {
            "objectType": "AccessRequest",
            "requestId": object_id("request:emergency"),
            "requester": HOSPITAL,
            "subject": SUBJECT_C,
            "query": {
                "recordTypes": ["emr-document", "lab-result"],
                "dataClasses": ["diagnoses", "medications", "laboratory"],
                "from": "2023-07-01T00:00:00Z",
            },
            "purpose": "emergency",
            "breakGlass": True,
            "justification": (
                "Unconscious patient admitted to the emergency department; current "
                "medications and recent results are needed before anaesthesia."
            ),
            "requested": "2024-07-09T02:41:17Z",
        },
        "query-without-consent": {
            "objectType": "AccessRequest",
            "requestId": object_id("request:no-consent"),
            "requester": INSURER,
            "subject": SUBJECT_B,
            "query": {"recordTypes": ["insurance-claim"], "dataClasses": ["financial"]},
            "purpose": "payment",
            "breakGlass": False,
            "requested": "2024-07-10T13:20:45Z",
        },
    }


def access_decisions(
    requests: dict[str, dict[str, Any]], consent: dict[str, Any]
) -> dict[str, dict[str, Any]]:
    return {
        "permit-by-consent": {
            "objectType": "AccessDecision",
            "requestId": requests["named-record-treatment"]["requestId"],
            "decision": "permit",
            "consentVersionHash": document_digest(consent),
            "consent": consent["consentId"],
            "breakGlass": False,
            "reasons": ["consent-permit"],
            "decided": "2024-07-08T10:15:02.184Z",
            "obligations": ["no-redisclosure"],
        },
        "break-glass-permit": {
            "objectType": "AccessDecision",
            "requestId": requests["break-glass-query"]["requestId"],
            "decision": "permit",
            "consentVersionHash": EMPTY_POLICY_DIGEST,
            "breakGlass": True,
            "reasons": ["break-glass", "no-consent"],
            "decided": "2024-07-09T02:41:17.530Z",
            "obligations": ["notify-patient", "review-queue"],
        },
        "deny-no-consent": {
            "objectType": "AccessDecision",
            "requestId": requests["query-without-consent"]["requestId"],
            "decision": "deny",
            "consentVersionHash": EMPTY_POLICY_DIGEST,
            "breakGlass": False,
            "reasons": ["no-consent"],
            "decided": "2024-07-10T13:20:45.092Z",
        },
    }


def audit_events(
    recs: dict[str, Record],
    requests: dict[str, dict[str, Any]],
    decisions: dict[str, dict[str, Any]],
) -> dict[str, dict[str, Any]]:
    read = requests["named-record-treatment"]
    emergency = requests["break-glass-query"]
    refused = requests["query-without-consent"]
    return {
        "read-permitted": {
            "objectType": "AuditEvent",
            "eventId": object_id("audit:glucose-read"),
            "recorded": "2024-07-08T10:15:02.611Z",
            "actor": HOSPITAL,
            "actorRole": "hospital",
            "action": "read",
            "subject": SUBJECT_A,
            "record": recs["glucose"].header["recordId"],
            "purpose": "treatment",
            "outcome": "success",
            "policyHash": decisions["permit-by-consent"]["consentVersionHash"],
            "requestDigest": document_digest(read),
            "decision": read["requestId"],
        },
        "break-glass": {
            "objectType": "AuditEvent",
            "eventId": object_id("audit:break-glass"),
            "recorded": "2024-07-09T02:41:17.902Z",
            "actor": HOSPITAL,
            "actorRole": "hospital",
            "action": "break-glass",
            "subject": SUBJECT_C,
            "purpose": "emergency",
            "outcome": "success",
            "policyHash": decisions["break-glass-permit"]["consentVersionHash"],
            "requestDigest": document_digest(emergency),
            "decision": emergency["requestId"],
        },
        "denial": {
            "objectType": "AuditEvent",
            "eventId": object_id("audit:denial"),
            "recorded": "2024-07-10T13:20:45.140Z",
            "actor": INSURER,
            "actorRole": "insurer",
            "action": "denial",
            "subject": SUBJECT_B,
            "purpose": "payment",
            "outcome": "denied",
            "policyHash": EMPTY_POLICY_DIGEST,
            "requestDigest": document_digest(refused),
            "decision": refused["requestId"],
        },
    }


def anomaly_alerts(events: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {
        "break-glass-use": {
            "objectType": "AnomalyAlert",
            "alertId": object_id("alert:break-glass"),
            "rule": "break-glass-use",
            "actor": HOSPITAL,
            "window": {"start": "2024-07-09T02:00:00Z", "end": "2024-07-09T03:00:00Z"},
            "observed": 1,
            "threshold": 0,
            "events": [events["break-glass"]["eventId"]],
            "raised": "2024-07-09T02:41:18.004Z",
            "severity": "high",
        },
        "repeated-denials": {
            "objectType": "AnomalyAlert",
            "alertId": object_id("alert:denials"),
            "rule": "repeated-denials",
            "actor": INSURER,
            "window": {"start": "2024-07-10T13:00:00Z", "end": "2024-07-10T14:00:00Z"},
            "observed": 6,
            "threshold": 5,
            "events": [events["denial"]["eventId"]]
            + [object_id(f"audit:denial:{i}") for i in range(2, 7)],
            "raised": "2024-07-10T13:52:09.377Z",
            "severity": "medium",
        },
    }


def erasure_receipts(recs: dict[str, Record]) -> dict[str, dict[str, Any]]:
    glucose, xray = recs["glucose"], recs["chest-xray"]
    return {
        "keys-and-ciphertext": sign(
            {
                "objectType": "ErasureReceipt",
                "recordId": glucose.header["recordId"],
                "commitment": glucose.header["commitment"],
                "requestedBy": PATIENT_A,
                "erased": "2024-09-30T11:00:04Z",
                "wrapsDestroyed": glucose.header["payload"]["recipients"],
                "ciphertextDestroyed": True,
                "ledgerHeight": 18342,
            },
            NODE,
        ),
        "keys-only": sign(
            {
                "objectType": "ErasureReceipt",
                "recordId": xray.header["recordId"],
                "commitment": xray.header["commitment"],
                "requestedBy": REGULATOR,
                "erased": "2024-10-01T08:30:00Z",
                "wrapsDestroyed": xray.header["payload"]["recipients"],
                "ciphertextDestroyed": False,
                "ledgerHeight": 18410,
            },
            NODE,
        ),
    }


# --- supply chain ---------------------------------------------------------------------

COMPANY_PREFIX = "4012345"
VACCINE_ITEM = "07001"
VACCINE_LOT = "MV24A117"
FACTORY = "urn:epc:id:sgln:4012345.00001.0"
FACTORY_DOCK = "urn:epc:id:sgln:4012345.00001.12"
CLINIC = "urn:epc:id:sgln:4098765.00020.0"

_EPCIS_NS = "urn:epcglobal:epcis:xsd:2"
_CBVMDA_NS = "urn:epcglobal:cbv:mda"


def epcis_document(event: dict[str, Any]) -> str:
    """The EPCIS 2.0 XML document holding the event a SupplyChainEvent summarises."""
    ET.register_namespace("epcis", _EPCIS_NS)
    ET.register_namespace("cbvmda", _CBVMDA_NS)
    root = ET.Element(
        f"{{{_EPCIS_NS}}}EPCISDocument",
        {"schemaVersion": "2.0", "creationDate": event["eventTime"]},
    )
    body = ET.SubElement(ET.SubElement(root, "EPCISBody"), "EventList")
    ev = ET.SubElement(body, event["eventType"])
    ET.SubElement(ev, "eventTime").text = event["eventTime"]
    ET.SubElement(ev, "eventTimeZoneOffset").text = event["eventTimeZoneOffset"]
    if "parentID" in event:
        ET.SubElement(ev, "parentID").text = event["parentID"]
    if "epcList" in event:
        list_name = {
            "AggregationEvent": "childEPCs",
            "AssociationEvent": "childEPCs",
            "TransformationEvent": "outputEPCList",
        }.get(event["eventType"], "epcList")
        epcs = ET.SubElement(ev, list_name)
        for epc in event["epcList"]:
            ET.SubElement(epcs, "epc").text = epc
    if "action" in event:
        ET.SubElement(ev, "action").text = event["action"]
    ET.SubElement(ev, "bizStep").text = event["bizStep"]
    if "disposition" in event:
        ET.SubElement(ev, "disposition").text = event["disposition"]
    for where in ("readPoint", "bizLocation"):
        if where in event:
            ET.SubElement(ET.SubElement(ev, where), "id").text = event[where]
    product = event.get("product", {})
    if event["bizStep"].endswith("commissioning") and ("lot" in product or "expiry" in product):
        ilmd = ET.SubElement(ev, "ilmd")
        if "lot" in product:
            ET.SubElement(ilmd, f"{{{_CBVMDA_NS}}}lotNumber").text = product["lot"]
        if "expiry" in product:
            ET.SubElement(ilmd, f"{{{_CBVMDA_NS}}}itemExpirationDate").text = product["expiry"]
    return ET.tostring(root, encoding="unicode")


def event_hash(event: dict[str, Any]) -> str:
    """The CBV 2.0 event hash, computed by the GS1 reference implementation."""
    events = xml_to_py.event_list_from_epcis_document_str(epcis_document(event))
    (value,) = hash_generator.epcis_hashes_from_events(events)
    return str(value)


def _with_hash(event: dict[str, Any]) -> dict[str, Any]:
    out = {k: v for k, v in event.items() if k not in ("vaccination", "recall")}
    out["eventHash"] = event_hash(event)
    for k in ("vaccination", "recall"):
        if k in event:
            out[k] = event[k]
    return out


def supply_chain_events() -> dict[str, dict[str, Any]]:
    gtin = gtin14(COMPANY_PREFIX, VACCINE_ITEM)
    serials = ["10000231", "10000232", "10000233"]
    epcs = [sgtin(COMPANY_PREFIX, VACCINE_ITEM, s) for s in serials]
    product = {"gtin": gtin, "lot": VACCINE_LOT, "expiry": "2025-11-30"}
    return {
        "vaccine-commissioning": _with_hash(
            {
                "objectType": "SupplyChainEvent",
                "eventType": "ObjectEvent",
                "action": "ADD",
                "eventTime": "2024-05-06T06:12:40.000Z",
                "eventTimeZoneOffset": "+02:00",
                "epcList": epcs,
                "product": product,
                "bizStep": "urn:epcglobal:cbv:bizstep:commissioning",
                "disposition": "urn:epcglobal:cbv:disp:active",
                "readPoint": FACTORY,
                "bizLocation": FACTORY,
            }
        ),
        "pallet-shipping": _with_hash(
            {
                "objectType": "SupplyChainEvent",
                "eventType": "AggregationEvent",
                "action": "OBSERVE",
                "eventTime": "2024-05-08T14:30:00.000Z",
                "eventTimeZoneOffset": "+02:00",
                "parentID": "urn:epc:id:sscc:4012345.0000004711",
                "epcList": epcs,
                "bizStep": "https://ref.gs1.org/cbv/BizStep-shipping",
                "disposition": "https://ref.gs1.org/cbv/Disp-in_transit",
                "readPoint": FACTORY_DOCK,
            }
        ),
        "vaccine-administration": _with_hash(
            {
                "objectType": "SupplyChainEvent",
                "eventType": "ObjectEvent",
                "action": "OBSERVE",
                "eventTime": "2024-10-14T08:05:12.000Z",
                "eventTimeZoneOffset": "+01:00",
                "epcList": [epcs[0]],
                "product": {"gtin": gtin, "serial": serials[0], "lot": VACCINE_LOT},
                "bizStep": "urn:epcglobal:cbv:bizstep:dispensing",
                "disposition": "urn:epcglobal:cbv:disp:dispensed",
                "readPoint": CLINIC,
                "vaccination": {"cvx": "208", "administeredTo": SUBJECT_A, "doseNumber": 1},
            }
        ),
        "batch-recall": _with_hash(
            {
                "objectType": "SupplyChainEvent",
                "eventType": "ObjectEvent",
                "action": "OBSERVE",
                "eventTime": "2024-10-20T09:00:00.000Z",
                "eventTimeZoneOffset": "+02:00",
                "epcList": epcs[1:],
                "product": {"gtin": gtin, "lot": VACCINE_LOT},
                "bizStep": "urn:epcglobal:cbv:bizstep:holding",
                "disposition": "urn:epcglobal:cbv:disp:recalled",
                "readPoint": CLINIC,
                "bizLocation": CLINIC,
                "recall": True,
            }
        ),
    }


# --- payment and insurance ------------------------------------------------------------


def claims(recs: dict[str, Record]) -> dict[str, dict[str, Any]]:
    return {
        "outpatient-glucose-test": {
            "objectType": "InsuranceClaim",
            "claimId": object_id("claim:glucose"),
            "patient": SUBJECT_A,
            "provider": LAB,
            "insurer": INSURER,
            "created": "2024-03-12T10:00:00Z",
            "items": [
                {
                    "sequence": 1,
                    "code": {"system": "http://www.ama-assn.org/go/cpt", "code": "82947"},
                    "quantity": 1,
                    "unitPrice": "18.40",
                    "net": "18.40",
                    "currency": "USD",
                },
                {
                    "sequence": 2,
                    "code": {"system": "http://www.ama-assn.org/go/cpt", "code": "36415"},
                    "quantity": 1,
                    "unitPrice": "3.00",
                    "net": "3.00",
                    "currency": "USD",
                },
            ],
            "total": {"value": "21.40", "currency": "USD"},
            "supportingRecords": [recs["glucose"].header["recordId"]],
            "fhirClaim": "claim-glucose-20240312",
        },
        "chest-xray-consultation": {
            "objectType": "InsuranceClaim",
            "claimId": object_id("claim:chest-xray"),
            "patient": SUBJECT_A,
            "provider": IMAGING,
            "insurer": INSURER,
            "created": "2024-04-03T08:00:00Z",
            "items": [
                {
                    "sequence": 1,
                    "code": {"system": "http://snomed.info/sct", "code": "399208008"},
                    "quantity": 1,
                    "unitPrice": "48.50",
                    "net": "48.50",
                    "currency": "EUR",
                },
                {
                    "sequence": 2,
                    "code": {"system": "http://snomed.info/sct", "code": "11429006"},
                    "quantity": 2,
                    "unitPrice": "17.25",
                    "net": "34.50",
                    "currency": "EUR",
                },
            ],
            "total": {"value": "83.00", "currency": "EUR"},
            "supportingRecords": [recs["chest-xray"].header["recordId"]],
        },
    }


def adjudications(claim_docs: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
    lab, xray = claim_docs["outpatient-glucose-test"], claim_docs["chest-xray-consultation"]
    return {
        "complete-with-copay": sign(
            {
                "objectType": "ClaimAdjudication",
                "claimId": lab["claimId"],
                "adjudicator": INSURER,
                "outcome": "complete",
                "items": [
                    {
                        "sequence": 1,
                        "eligible": "18.40",
                        "benefit": "14.72",
                        "reason": "partially-covered",
                    },
                    {"sequence": 2, "eligible": "3.00", "benefit": "3.00", "reason": "covered"},
                ],
                "totalBenefit": {"value": "17.72", "currency": "USD"},
                "adjudicated": "2024-03-12T10:00:41Z",
            },
            INSURER,
        ),
        "partial-not-covered": sign(
            {
                "objectType": "ClaimAdjudication",
                "claimId": xray["claimId"],
                "adjudicator": INSURER,
                "outcome": "partial",
                "items": [
                    {"sequence": 1, "eligible": "48.50", "benefit": "48.50", "reason": "covered"},
                    {"sequence": 2, "eligible": "0.00", "benefit": "0.00", "reason": "not-covered"},
                ],
                "totalBenefit": {"value": "48.50", "currency": "EUR"},
                "adjudicated": "2024-04-03T08:02:15Z",
            },
            INSURER,
        ),
    }


# --- research and evaluation ----------------------------------------------------------


def research_exports(consent: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {
        "diabetes-cohort-k-anonymity": {
            "objectType": "ResearchExport",
            "exportId": object_id("export:diabetes-cohort"),
            "requester": RESEARCH,
            "purpose": "research",
            "consentBasis": [consent["consentId"], object_id("consent:patient-d")],
            "cohort": {
                "recordTypes": ["lab-result", "health-measurement"],
                "from": "2023-01-01T00:00:00Z",
                "to": "2024-06-30T23:59:59Z",
                "criteria": "Adults aged 40-75 with at least two fasting blood glucose results (LOINC 2339-0) of 126 mg/dL or more.",
            },
            "deidentification": {"method": "k-anonymity", "k": 5},
            "recordCount": 1284,
            "datasetDigest": digest(b"diabetes-cohort-2024-06.csv"),
            "created": "2024-07-15T12:00:00Z",
        },
        "glucose-aggregates-dp": {
            "objectType": "ResearchExport",
            "exportId": object_id("export:glucose-aggregates"),
            "requester": RESEARCH,
            "purpose": "research",
            "consentBasis": [consent["consentId"]],
            "cohort": {
                "recordTypes": ["lab-result"],
                "from": "2024-01-01T00:00:00Z",
                "to": "2024-06-30T23:59:59Z",
                "criteria": "Monthly counts of blood glucose results by 10 mg/dL band.",
            },
            "deidentification": {"method": "differential-privacy", "epsilon": "0.5"},
            "recordCount": 6,
            "datasetDigest": digest(b"glucose-aggregates-2024h1.csv"),
            "created": "2024-07-16T09:30:00Z",
        },
    }


def quality_reports() -> dict[str, dict[str, Any]]:
    def indicator(name: str, value: str, threshold: str, unit: str, status: str) -> dict[str, str]:
        return {
            "name": name,
            "value": value,
            "threshold": threshold,
            "unit": unit,
            "status": status,
        }

    return {
        "hospital-quarterly": sign(
            {
                "objectType": "QualityReport",
                "reportId": object_id("quality:riverside-2024q2"),
                "subject": HOSPITAL,
                "period": {"start": "2024-04-01T00:00:00Z", "end": "2024-06-30T23:59:59Z"},
                "indicators": [
                    indicator("completeness", "98.7", "95", "%", "pass"),
                    indicator("conformance", "99.96", "99.5", "%", "pass"),
                    indicator("timeliness", "91.2", "95", "%", "warn"),
                    indicator("exchange-volume", "1523", "1000", "{exchanges}/d", "pass"),
                    indicator("exchange-latency", "420", "1000", "ms", "pass"),
                    indicator("security-incidents", "0", "0", "1", "pass"),
                    indicator("consent-compliance", "100", "100", "%", "pass"),
                ],
                "generated": "2024-07-05T06:00:00Z",
            },
            REGULATOR,
        ),
        "laboratory-monthly": sign(
            {
                "objectType": "QualityReport",
                "reportId": object_id("quality:central-lab-2024-06"),
                "subject": LAB,
                "period": {"start": "2024-06-01T00:00:00Z", "end": "2024-06-30T23:59:59Z"},
                "indicators": [
                    indicator("accuracy", "99.2", "99", "%", "pass"),
                    indicator("uniqueness", "97.9", "99.9", "%", "fail"),
                    indicator("consistency", "98.4", "98", "%", "pass"),
                ],
                "generated": "2024-07-02T06:00:00Z",
            },
            REGULATOR,
        ),
    }


# --- assembling valid and invalid examples ----------------------------------------------


@dataclass
class Examples:
    valid: dict[str, dict[str, dict[str, Any]]] = field(default_factory=dict)
    invalid: dict[str, dict[str, tuple[dict[str, Any], str]]] = field(default_factory=dict)


Mutation = Callable[[dict[str, Any]], None]

SIGNERS = {
    "RecordHeader": lambda d: d["author"],
    "Consent": lambda d: d["grantor"],
    "ErasureReceipt": lambda d: NODE,
    "ClaimAdjudication": lambda d: d["adjudicator"],
    "QualityReport": lambda d: REGULATOR,
}


def _resign(doc: dict[str, Any]) -> dict[str, Any]:
    """Sign a mutated document again, so that only the labelled defect remains."""
    signer = SIGNERS.get(doc["objectType"])
    if signer is None:
        if doc["objectType"] == "RecordEnvelope":
            doc["header"] = _resign(doc["header"])
        return doc
    return sign(doc, signer(doc))


def _invalid(
    base: dict[str, Any], mutate: Mutation, requirement: str, *, resign: bool = True
) -> tuple[dict[str, Any], str]:
    doc = copy.deepcopy(base)
    mutate(doc)
    return (_resign(doc) if resign else doc), requirement


def _set(path: str, value: Any) -> Mutation:
    def mutate(doc: dict[str, Any]) -> None:
        *parents, last = path.split("/")
        node: Any = doc
        for part in parents:
            node = node[int(part)] if isinstance(node, list) else node[part]
        if isinstance(node, list):
            node[int(last)] = value
        else:
            node[last] = value

    return mutate


def _delete(path: str) -> Mutation:
    def mutate(doc: dict[str, Any]) -> None:
        *parents, last = path.split("/")
        node: Any = doc
        for part in parents:
            node = node[int(part)] if isinstance(node, list) else node[part]
        del node[last]

    return mutate


def build() -> Examples:
    recs = records()
    consent = consents()
    requests = access_requests(recs)
    decisions = access_decisions(requests, consent["research-cross-border-v2"])
    events = audit_events(recs, requests, decisions)
    claim_docs = claims(recs)
    ex = Examples()
    ex.valid["record-header"] = {
        "lab-result-glucose": recs["glucose"].header,
        "imaging-study-chest-xray": recs["chest-xray"].header,
    }
    ex.valid["payload-descriptor"] = {
        "fhir-observation-two-recipients": recs["glucose"].header["payload"],
        "dicom-study-one-recipient": recs["chest-xray"].header["payload"],
    }
    ex.valid["record-envelope"] = {
        name: {"objectType": "RecordEnvelope", "header": r.header, "payload": r.jwe}
        for name, r in (
            ("lab-result-glucose", recs["glucose"]),
            ("imaging-study-chest-xray", recs["chest-xray"]),
        )
    }
    ex.valid["consent"] = consent
    ex.valid["access-request"] = requests
    ex.valid["access-decision"] = decisions
    ex.valid["audit-event"] = events
    ex.valid["anomaly-alert"] = anomaly_alerts(events)
    ex.valid["erasure-receipt"] = erasure_receipts(recs)
    ex.valid["supply-chain-event"] = supply_chain_events()
    ex.valid["insurance-claim"] = claim_docs
    ex.valid["claim-adjudication"] = adjudications(claim_docs)
    ex.valid["research-export"] = research_exports(consent["research-cross-border-v2"])
    ex.valid["quality-report"] = quality_reports()

    v = ex.valid
    header = v["record-header"]["lab-result-glucose"]
    envelope = v["record-envelope"]["lab-result-glucose"]
    consent1 = v["consent"]["treatment-and-billing-v1"]
    consent2 = v["consent"]["research-cross-border-v2"]
    request = v["access-request"]["named-record-treatment"]
    decision = v["access-decision"]["permit-by-consent"]
    event = v["audit-event"]["read-permitted"]
    alert = v["anomaly-alert"]["repeated-denials"]
    receipt = v["erasure-receipt"]["keys-and-ciphertext"]
    commissioning = v["supply-chain-event"]["vaccine-commissioning"]
    shipping = v["supply-chain-event"]["pallet-shipping"]
    claim = v["insurance-claim"]["outpatient-glucose-test"]
    adjudication = v["claim-adjudication"]["partial-not-covered"]
    export_k = v["research-export"]["diabetes-cohort-k-anonymity"]
    export_dp = v["research-export"]["glucose-aggregates-dp"]
    report = v["quality-report"]["hospital-quarterly"]
    gtin = commissioning["product"]["gtin"]

    ex.invalid = {
        "record-header": {
            "subject-is-a-name": _invalid(
                header, _set("subject", "Maria Garcia (MRN 00482913)"), "BMDX-DM-101"
            ),
            "unknown-record-type": _invalid(
                header, _set("recordType", "prescription"), "BMDX-DM-105"
            ),
            "commitment-not-a-digest": _invalid(
                header,
                _set("commitment", "sha256:" + header["commitment"][8:].upper()),
                "BMDX-DM-102",
            ),
            "content-type-not-a-media-type": _invalid(
                header, _set("contentType", "FHIR JSON"), "BMDX-DM-104"
            ),
            "plaintext-digest-base64": _invalid(
                header,
                _set("plaintextDigest", "sha-256:" + b64url_encode(bytes(32))),
                "BMDX-DM-103",
            ),
        },
        "payload-descriptor": {
            "aes-128-content-encryption": _invalid(
                header["payload"], _set("encryption/enc", "A128GCM"), "BMDX-DM-112"
            ),
            "location-is-a-url": _invalid(
                header["payload"],
                _set("location", "https://storage.example.org/objects/4711"),
                "BMDX-DM-111",
            ),
            "zero-recipients": _invalid(header["payload"], _set("recipients", 0), "BMDX-DM-113"),
        },
        "record-envelope": {
            "missing-payload": _invalid(envelope, _delete("payload"), "BMDX-DM-115"),
            "header-subject-is-an-email": _invalid(
                envelope, _set("header/subject", "maria.garcia@example.org"), "BMDX-DM-101"
            ),
        },
        "consent": {
            "unknown-purpose": _invalid(
                consent1, _set("provision/provisions/0/purposes/1", "marketing"), "BMDX-DM-125"
            ),
            "jurisdiction-by-name": _invalid(
                consent2, _set("crossBorder/jurisdictions/0", "Germany"), "BMDX-DM-124"
            ),
            "actor-with-name": _invalid(
                consent1,
                _set(
                    "provision/provisions/0/provisions/0/actors/0",
                    {"participant": PHARMACY, "name": "Northside Pharmacy"},
                ),
                "BMDX-DM-121",
            ),
            "version-zero": _invalid(consent1, _set("version", 0), "BMDX-DM-122"),
            "unknown-data-class": _invalid(
                consent2, _set("provision/provisions/2/dataClasses/2", "genomics"), "BMDX-DM-105"
            ),
        },
        "access-request": {
            "purpose-marketing": _invalid(request, _set("purpose", "marketing"), "BMDX-DM-125"),
            "subject-is-a-record-number": _invalid(
                request, _set("subject", "MRN-00482913"), "BMDX-DM-101"
            ),
            "empty-record-list": _invalid(request, _set("records", []), "BMDX-DM-131"),
        },
        "access-decision": {
            "consent-version-hash-not-a-digest": _invalid(
                decision, _set("consentVersionHash", decision["consent"]), "BMDX-DM-136"
            ),
            "unknown-obligation": _invalid(
                decision, _set("obligations", ["email-patient"]), "BMDX-DM-138"
            ),
            "decision-maybe": _invalid(decision, _set("decision", "maybe"), "BMDX-DM-135"),
        },
        "audit-event": {
            "unknown-action": _invalid(event, _set("action", "download"), "BMDX-DM-140"),
            "subject-is-an-email": _invalid(
                event, _set("subject", "maria.garcia@example.org"), "BMDX-DM-101"
            ),
            "policy-hash-md5": _invalid(
                event,
                _set("policyHash", "md5:99914b932bd37a50b983c5e7c90ae93b"),
                "BMDX-DM-141",
            ),
        },
        "anomaly-alert": {
            "unknown-rule": _invalid(alert, _set("rule", "geo-velocity"), "BMDX-DM-145"),
            "no-triggering-events": _invalid(alert, _set("events", []), "BMDX-DM-146"),
            "observed-as-string": _invalid(alert, _set("observed", "6"), "BMDX-DM-145"),
        },
        "erasure-receipt": {
            "commitment-not-a-digest": _invalid(
                receipt, _set("commitment", receipt["recordId"]), "BMDX-DM-151"
            ),
            "unsigned": _invalid(receipt, _delete("signatures"), "BMDX-DM-150", resign=False),
        },
        "supply-chain-event": {
            "gtin-13-digits": _invalid(
                commissioning, _set("product/gtin", gtin[1:]), "BMDX-DM-156"
            ),
            "epc-as-digital-link": _invalid(
                commissioning,
                _set("epcList/0", f"https://id.gs1.org/01/{gtin}/21/10000231"),
                "BMDX-DM-157",
            ),
            "sgtin-thirteen-digit-mismatch": _invalid(
                commissioning,
                _set("epcList/1", "urn:epc:id:sgtin:4012345.0070011.10000232"),
                "BMDX-DM-157",
            ),
            "event-hash-base64url": _invalid(
                commissioning,
                _set(
                    "eventHash",
                    "ni:///sha-256;"
                    + b64url_encode(bytes.fromhex(commissioning["eventHash"][14:78])),
                ),
                "BMDX-DM-159",
            ),
            "biz-step-free-text": _invalid(
                shipping, _set("bizStep", "shipped to distributor"), "BMDX-DM-158"
            ),
            "action-lower-case": _invalid(shipping, _set("action", "observe"), "BMDX-DM-160"),
        },
        "insurance-claim": {
            "currency-lower-case": _invalid(claim, _set("items/0/currency", "usd"), "BMDX-DM-166"),
            "total-in-no-currency": _invalid(claim, _set("total/currency", "XXX"), "BMDX-DM-166"),
            "unit-price-as-number": _invalid(claim, _set("items/0/unitPrice", 18.4), "BMDX-DM-167"),
            "patient-is-a-name": _invalid(claim, _set("patient", "Maria Garcia"), "BMDX-DM-101"),
        },
        "claim-adjudication": {
            "outcome-approved": _invalid(adjudication, _set("outcome", "approved"), "BMDX-DM-170"),
            "benefit-with-decimal-comma": _invalid(
                adjudication, _set("items/0/benefit", "48,50"), "BMDX-DM-167"
            ),
            "total-currency-word": _invalid(
                adjudication, _set("totalBenefit/currency", "EURO"), "BMDX-DM-166"
            ),
        },
        "research-export": {
            "purpose-treatment": _invalid(export_k, _set("purpose", "treatment"), "BMDX-DM-177"),
            "no-consent-basis": _invalid(export_k, _set("consentBasis", []), "BMDX-DM-177"),
            "k-of-one": _invalid(export_k, _set("deidentification/k", 1), "BMDX-DM-176"),
            "epsilon-as-number": _invalid(
                export_dp, _set("deidentification/epsilon", 0.5), "BMDX-DM-167"
            ),
        },
        "quality-report": {
            "unit-with-space": _invalid(
                report, _set("indicators/0/unit", "per cent"), "BMDX-DM-182"
            ),
            "unknown-indicator": _invalid(
                report, _set("indicators/1/name", "patient-satisfaction"), "BMDX-DM-181"
            ),
            "value-with-percent-sign": _invalid(
                report, _set("indicators/0/value", "98.7%"), "BMDX-DM-167"
            ),
        },
    }
    _add_rule_breaking(ex)
    return ex


def _swap(path: str, first: str, last: str) -> Mutation:
    """Exchange the two ends of the time range at ``path``."""

    def mutate(doc: dict[str, Any]) -> None:
        node: Any = doc
        for part in path.split("/"):
            node = node[int(part)] if isinstance(node, list) else node[part]
        node[first], node[last] = node[last], node[first]

    return mutate


def _each(*mutations: Mutation) -> Mutation:
    def mutate(doc: dict[str, Any]) -> None:
        for mutation in mutations:
            mutation(doc)

    return mutate


def _add_rule_breaking(ex: Examples) -> None:
    """Documents their schema accepts that break a rule checked by code (semantic.py),
    and schema violations of the object types whose own schema requirement had none."""
    v = ex.valid
    header = v["record-header"]["lab-result-glucose"]
    envelope = v["record-envelope"]["lab-result-glucose"]
    other_location = v["record-envelope"]["imaging-study-chest-xray"]["header"]["payload"][
        "location"
    ]
    consent1 = v["consent"]["treatment-and-billing-v1"]
    consent2 = v["consent"]["research-cross-border-v2"]
    named = v["access-request"]["named-record-treatment"]
    emergency = v["access-request"]["break-glass-query"]
    by_consent = v["access-decision"]["permit-by-consent"]
    break_glass = v["access-decision"]["break-glass-permit"]
    alert = v["anomaly-alert"]["repeated-denials"]
    commissioning = v["supply-chain-event"]["vaccine-commissioning"]
    shipping = v["supply-chain-event"]["pallet-shipping"]
    claim = v["insurance-claim"]["outpatient-glucose-test"]
    adjudication = v["claim-adjudication"]["partial-not-covered"]
    export_k = v["research-export"]["diabetes-cohort-k-anonymity"]
    export_dp = v["research-export"]["glucose-aggregates-dp"]
    report = v["quality-report"]["hospital-quarterly"]
    gtin = commissioning["product"]["gtin"]
    wrong_check = gtin[:13] + str((int(gtin[13]) + 1) % 10)
    records_and_query = {k: named[k] for k in ("objectType", "requestId", "requester")}
    records_and_query.update(subject=named["subject"], records=named["records"])
    records_and_query["query"] = emergency["query"]
    records_and_query.update({k: named[k] for k in ("purpose", "breakGlass", "requested")})
    cases: dict[str, dict[str, tuple[dict[str, Any], str]]] = {
        "record-header": {
            "object-type-missing": _invalid(
                header, _delete("objectType"), "BMDX-DM-001", resign=False
            ),
            "missing-created": _invalid(header, _delete("created"), "BMDX-DM-100"),
        },
        "payload-descriptor": {
            "size-zero": _invalid(header["payload"], _set("size", 0), "BMDX-DM-110"),
        },
        "record-envelope": {
            "location-of-another-payload": _invalid(
                envelope, _set("header/payload/location", other_location), "BMDX-DM-111"
            ),
            "descriptor-counts-one-recipient": _invalid(
                envelope, _set("header/payload/recipients", 1), "BMDX-DM-113"
            ),
        },
        "consent": {
            "status-suspended": _invalid(consent1, _set("status", "suspended"), "BMDX-DM-120"),
            "actor-with-participant-and-role": _invalid(
                consent1,
                _set(
                    "provision/provisions/0/actors/0",
                    {"participant": HOSPITAL, "role": "hospital"},
                ),
                "BMDX-DM-121",
            ),
            "version-2-without-previous": _invalid(consent2, _delete("previous"), "BMDX-DM-122"),
            "genetics-without-separate-consent": _invalid(
                consent2, _set("separateConsent", False), "BMDX-DM-123"
            ),
            "jurisdictions-without-permission": _invalid(
                consent1,
                _set("crossBorder", {"permitted": False, "jurisdictions": ["DE"]}),
                "BMDX-DM-124",
            ),
            "period-ends-before-it-starts": _invalid(
                consent1, _swap("provision/provisions/0/period", "start", "end"), "BMDX-DM-191"
            ),
        },
        "access-request": {
            "missing-requested": _invalid(named, _delete("requested"), "BMDX-DM-130"),
            "records-and-query": (records_and_query, "BMDX-DM-131"),
            "break-glass-without-justification": _invalid(
                emergency, _delete("justification"), "BMDX-DM-132"
            ),
            "break-glass-for-treatment": _invalid(
                emergency, _set("purpose", "treatment"), "BMDX-DM-132"
            ),
            "query-to-before-from": _invalid(
                emergency, _set("query/to", "2023-06-30T23:59:59Z"), "BMDX-DM-191"
            ),
        },
        "access-decision": {
            "no-consent-cites-a-version": _invalid(by_consent, _delete("consent"), "BMDX-DM-137"),
            "break-glass-permit-without-review": _invalid(
                break_glass, _set("obligations", ["notify-patient"]), "BMDX-DM-138"
            ),
        },
        "anomaly-alert": {
            "window-ends-before-it-starts": _invalid(
                alert, _swap("window", "start", "end"), "BMDX-DM-191"
            ),
        },
        "supply-chain-event": {
            "time-zone-offset-beyond-14-hours": _invalid(
                commissioning, _set("eventTimeZoneOffset", "+15:00"), "BMDX-DM-155"
            ),
            "gtin-wrong-check-digit": _invalid(
                commissioning, _set("product/gtin", wrong_check), "BMDX-DM-156"
            ),
            "aggregation-without-parent": _invalid(shipping, _delete("parentID"), "BMDX-DM-160"),
            "transformation-with-action": _invalid(
                commissioning, _set("eventType", "TransformationEvent"), "BMDX-DM-160"
            ),
        },
        "insurance-claim": {
            "quantity-zero": _invalid(claim, _set("items/0/quantity", 0), "BMDX-DM-165"),
            "net-not-quantity-times-price": _invalid(
                claim, _set("items/0/quantity", 2), "BMDX-DM-168"
            ),
            "total-not-the-sum": _invalid(
                claim,
                _set("total/value", str(Decimal(claim["total"]["value"]) + Decimal("0.10"))),
                "BMDX-DM-168",
            ),
        },
        "claim-adjudication": {
            "benefit-above-eligible": _invalid(
                adjudication,
                _each(_set("items/1/benefit", "5.00"), _set("totalBenefit/value", "53.50")),
                "BMDX-DM-171",
            ),
            "total-benefit-not-the-sum": _invalid(
                adjudication, _set("totalBenefit/value", "50.00"), "BMDX-DM-171"
            ),
        },
        "research-export": {
            "negative-record-count": _invalid(export_k, _set("recordCount", -1), "BMDX-DM-175"),
            "differential-privacy-without-epsilon": _invalid(
                export_dp, _delete("deidentification/epsilon"), "BMDX-DM-176"
            ),
            "k-anonymity-with-epsilon": _invalid(
                export_k, _set("deidentification/epsilon", "1.0"), "BMDX-DM-176"
            ),
            "cohort-ends-before-it-starts": _invalid(
                export_k, _swap("cohort", "from", "to"), "BMDX-DM-191"
            ),
        },
        "quality-report": {
            "missing-generated": _invalid(report, _delete("generated"), "BMDX-DM-180"),
            "indicator-twice": _invalid(
                report, _set("indicators/1", report["indicators"][0]), "BMDX-DM-181"
            ),
            "period-ends-before-it-starts": _invalid(
                report, _swap("period", "start", "end"), "BMDX-DM-191"
            ),
        },
    }
    for stem, found in cases.items():
        ex.invalid[stem].update(found)


def render(document: dict[str, Any]) -> str:
    return json.dumps(document, indent=2, ensure_ascii=False) + "\n"


def render_expected(invalid: dict[str, tuple[dict[str, Any], str]], existing: Path) -> str:
    lines = [
        "# The requirement each invalid example breaks (JSON lines generated by",
        "# tools/examples/gen_exchange_examples.py; XML lines written by hand).",
    ]
    lines += [f"{name}.json: {requirement}" for name, (_, requirement) in sorted(invalid.items())]
    lines += [f"{k}: {v}" for k, v in sorted(hand_written_expectations(existing).items())]
    return "\n".join(lines) + "\n"


def files(examples: Examples, spec: Path = DEFAULT_SPEC) -> dict[str, str]:
    """Every generated file, by path relative to spec/examples."""
    out: dict[str, str] = {}
    for stem, docs in examples.valid.items():
        for name, doc in docs.items():
            out[f"valid/{stem}/{name}.json"] = render(doc)
    for stem, cases in examples.invalid.items():
        for name, (doc, _) in cases.items():
            out[f"invalid/{stem}/{name}.json"] = render(doc)
        out[f"invalid/{stem}/expected.yaml"] = render_expected(
            cases, spec / "examples" / "invalid" / stem / "expected.yaml"
        )
    return out


def main(argv: list[str]) -> int:
    spec = Path(argv[1]) if len(argv) > 1 else DEFAULT_SPEC
    for relative, text in files(build(), spec).items():
        path = spec / "examples" / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
