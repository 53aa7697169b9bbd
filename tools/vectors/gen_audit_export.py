"""Generate spec/vectors/audit-export/: BMDX AuditEvents and their two export forms.

For each case, ``<name>.json`` holds the BMDX AuditEvent, the exporting node
(``source``) and the expected FHIR R4 AuditEvent resource; ``<name>.xml`` holds the
expected DICOM PS3.15 A.5 audit message.  Both expected forms are written here from the
tables of spec/conventions/audit.md sections 4 and 5, transcribed below as literal data,
with ``xml.dom.minidom`` for the XML: a construction independent of the reference
implementation (which uses ElementTree), so the tests compare two separate readings of
the spec.  XML is compared after W3C Canonical XML 2.0 with whitespace-only text
dropped, not byte for byte.

Run ``python tools/vectors/gen_audit_export.py [OUTDIR]``.
"""

from __future__ import annotations

import base64
import hashlib
import json
import sys
import uuid
from pathlib import Path
from typing import Any
from xml.dom import minidom

ROOT = Path(__file__).resolve().parents[2]
DEFAULT_OUT = ROOT / "spec" / "vectors" / "audit-export"
SOURCE = "urn:bmdx:participant:ledger-node-1"
_NS = uuid.uuid5(uuid.NAMESPACE_URL, "https://bmdx.org/spec/1/vectors/audit-export")

DCM = "http://dicom.nema.org/resources/ontology/DCM"
BMDX_CODES = "https://bmdx.org/spec/1/codes/"
BMDX_IDS = "https://bmdx.org/spec/1/identifiers/"

# audit.md table 4.1: action -> (EventID code, meaning, action code, lifecycle, extra type)
TABLE: dict[str, tuple[str, str, str, tuple[str, str] | None, tuple[str, str] | None]] = {
    "read": ("110110", "Patient Record", "R", ("6", "Access / Use"), None),
    "query": ("110112", "Query", "E", ("6", "Access / Use"), None),
    "share": ("110106", "Export", "R", ("11", "Disclosure"), None),
    "key-release": ("110106", "Export", "E", ("11", "Disclosure"), None),
    "denial": ("110113", "Security Alert", "E", None, None),
    "erasure": (
        "110110",
        "Patient Record",
        "D",
        ("15", "Permanent erasure / Physical destruction"),
        None,
    ),
    "break-glass": (
        "110110",
        "Patient Record",
        "R",
        ("6", "Access / Use"),
        ("110127", "Emergency Override Started"),
    ),
    "publish": ("110107", "Import", "C", ("1", "Origination / Creation"), None),
    "consent-change": ("110110", "Patient Record", "U", ("3", "Amendment"), None),
    "export": ("110106", "Export", "R", ("10", "Export / Copy to target"), None),
}
# audit.md table 4.2
OUTCOME = {"success": ("0", None), "denied": ("4", "refused by policy"), "error": ("8", "failed")}
# audit.md table 4.3
PURPOSE = {
    "treatment": ("TREAT", "treatment"),
    "payment": ("HPAYMT", "healthcare payment"),
    "research": ("HRESCH", "healthcare research"),
    "public-health": ("PUBHLTH", "public health"),
    "emergency": ("ETREAT", "Emergency Treatment"),
}
ACTORS = {
    "hospital": "urn:bmdx:participant:riverside-hospital",
    "laboratory": "urn:bmdx:participant:lakeside-laboratory",
    "insurer": "urn:bmdx:participant:acme-health-insurance",
    "research-body": "urn:bmdx:participant:north-cohort-institute",
    "patient": "urn:bmdx:participant:p-7f3a9c21e04b",
    "regulator": "urn:bmdx:participant:north-sea-health-data-authority",
}


def _id(label: str) -> str:
    return f"urn:uuid:{uuid.uuid5(_NS, label)}"


def _digest(label: str) -> str:
    return "sha-256:" + hashlib.sha256(f"bmdx-vector/audit-export/{label}".encode()).hexdigest()


def _pseudonym(label: str) -> str:
    raw = hashlib.sha256(f"bmdx-vector/audit-export/subject/{label}".encode()).digest()
    return "pseud:" + base64.urlsafe_b64encode(raw).decode().rstrip("=")


# name, description, action, outcome, role, has subject, has record, purpose, has decision
CASES: list[tuple[str, str, str, str, str, bool, bool, str | None, bool]] = [
    ("read-success", "A permitted read of one record for treatment.",
     "read", "success", "hospital", True, True, "treatment", True),
    ("read-error", "A permitted read that failed (outcome error, code 8).",
     "read", "error", "hospital", True, True, "treatment", True),
    ("query-success", "A query for research across subjects: no subject, no record.",
     "query", "success", "research-body", False, False, "research", True),
    ("query-minimal", "Only the required members: no subject, record, purpose or decision.",
     "query", "success", "regulator", False, False, None, False),
    ("share-success", "A record shared with another institution (disclosure).",
     "share", "success", "hospital", True, True, "treatment", True),
    ("key-release-success", "A content key released to a permitted recipient.",
     "key-release", "success", "laboratory", True, True, "treatment", True),
    ("key-release-error", "A key release that failed.",
     "key-release", "error", "laboratory", True, True, "treatment", True),
    ("denial-denied", "An insurer's request refused by policy (outcome code 4).",
     "denial", "denied", "insurer", True, False, "payment", True),
    ("denial-emergency-refused", "A break-glass request refused: a denial, purpose emergency.",
     "denial", "denied", "hospital", True, True, "emergency", True),
    ("erasure-success", "Crypto-shredding of a record at the patient's request.",
     "erasure", "success", "patient", True, True, None, False),
    ("break-glass-success", "Emergency access granted under break-glass.",
     "break-glass", "success", "hospital", True, True, "emergency", True),
    ("publish-success", "A laboratory puts a new record on the ledger.",
     "publish", "success", "laboratory", True, True, None, False),
    ("consent-change-success", "A patient publishes a new consent version.",
     "consent-change", "success", "patient", True, False, None, False),
    ("export-success", "A research export for an approved study, purpose public health.",
     "export", "success", "research-body", False, True, "public-health", True),
]  # fmt: skip


def event(case: tuple[Any, ...]) -> dict[str, Any]:
    name, _, action, outcome, role, has_subject, has_record, purpose, has_decision = case
    out: dict[str, Any] = {
        "objectType": "AuditEvent",
        "eventId": _id(f"{name}/event"),
        "recorded": "2024-07-08T10:15:02.611Z",
        "actor": ACTORS[role],
        "actorRole": role,
        "action": action,
    }
    if has_subject:
        out["subject"] = _pseudonym(name)
    if has_record:
        out["record"] = _id(f"{name}/record")
    if purpose is not None:
        out["purpose"] = purpose
    out["outcome"] = outcome
    out["policyHash"] = _digest(f"{name}/policy")
    out["requestDigest"] = _digest(f"{name}/request")
    if has_decision:
        out["decision"] = _id(f"{name}/decision")
    return out


def _c(system: str, code: str, display: str | None = None) -> dict[str, str]:
    return {"system": system, "code": code} | ({"display": display} if display else {})


def fhir(ev: dict[str, Any]) -> dict[str, Any]:
    code, meaning, action_code, lifecycle, extra = TABLE[ev["action"]]
    outcome, desc = OUTCOME[ev["outcome"]]
    res: dict[str, Any] = {
        "resourceType": "AuditEvent",
        "id": ev["eventId"][len("urn:uuid:") :],
        "type": _c(DCM, code, meaning),
        "subtype": [_c(BMDX_CODES + "audit-action", ev["action"])]
        + ([_c(DCM, *extra)] if extra else []),
        "action": action_code,
        "recorded": ev["recorded"],
        "outcome": outcome,
    }
    if desc:
        res["outcomeDesc"] = desc
    if "purpose" in ev:
        res["purposeOfEvent"] = [
            {
                "coding": [
                    _c(
                        "http://terminology.hl7.org/CodeSystem/v3-ActReason",
                        *PURPOSE[ev["purpose"]],
                    )
                ]
            }
        ]
    res["agent"] = [
        {
            "role": [{"coding": [_c(BMDX_CODES + "participant-role", ev["actorRole"])]}],
            "who": {"identifier": {"system": "urn:ietf:rfc:3986", "value": ev["actor"]}},
            "requestor": True,
            "policy": [ev["policyHash"]],
        }
    ]
    res["source"] = {
        "observer": {"identifier": {"system": "urn:ietf:rfc:3986", "value": SOURCE}},
        "type": [
            _c(
                "http://terminology.hl7.org/CodeSystem/security-source-type",
                "4",
                "Application Server",
            )
        ],
    }
    etype = "http://terminology.hl7.org/CodeSystem/audit-entity-type"
    erole = "http://terminology.hl7.org/CodeSystem/object-role"
    entities: list[dict[str, Any]] = []
    if "subject" in ev:
        entities.append(
            {
                "what": {"identifier": {"system": BMDX_IDS + "pseudonym", "value": ev["subject"]}},
                "type": _c(etype, "1", "Person"),
                "role": _c(erole, "1", "Patient"),
            }
        )
    if "record" in ev:
        rec = {
            "what": {"identifier": {"system": "urn:ietf:rfc:3986", "value": ev["record"]}},
            "type": _c(etype, "2", "System Object"),
            "role": _c(erole, "3", "Report"),
        }
        if lifecycle:
            rec["lifecycle"] = _c(
                "http://terminology.hl7.org/CodeSystem/dicom-audit-lifecycle", *lifecycle
            )
        entities.append(rec)
    req: dict[str, Any] = {
        "what": {
            "identifier": {"system": BMDX_IDS + "request-digest", "value": ev["requestDigest"]}
        },
        "type": _c(etype, "2", "System Object"),
        "name": "BMDX request",
    }
    if "decision" in ev:
        req["detail"] = [{"type": "decision", "valueString": ev["decision"]}]
    entities.append(req)
    res["entity"] = entities
    return res


def dicom(ev: dict[str, Any]) -> bytes:
    code, meaning, action_code, lifecycle, extra = TABLE[ev["action"]]
    outcome, desc = OUTCOME[ev["outcome"]]
    doc = minidom.getDOMImplementation().createDocument(None, "AuditMessage", None)
    top = doc.documentElement

    def el(
        parent: Any, tag: str, attrs: dict[str, str] | None = None, text: str | None = None
    ) -> Any:
        node = doc.createElement(tag)
        for k, v in (attrs or {}).items():
            node.setAttribute(k, v)
        if text is not None:
            node.appendChild(doc.createTextNode(text))
        parent.appendChild(node)
        return node

    def coded(parent: Any, tag: str, c: str, system: str, text: str) -> None:
        el(parent, tag, {"csd-code": c, "codeSystemName": system, "originalText": text})

    def b64(value: str) -> str:
        return base64.b64encode(value.encode()).decode()

    ident = el(
        top,
        "EventIdentification",
        {
            "EventActionCode": action_code,
            "EventDateTime": ev["recorded"],
            "EventOutcomeIndicator": outcome,
        },
    )
    coded(ident, "EventID", code, "DCM", meaning)
    coded(ident, "EventTypeCode", ev["action"], BMDX_CODES + "audit-action", ev["action"])
    if extra:
        coded(ident, "EventTypeCode", extra[0], "DCM", extra[1])
    if desc:
        el(ident, "EventOutcomeDescription", text=desc)
    if "purpose" in ev:
        purpose_code, purpose_text = PURPOSE[ev["purpose"]]
        coded(ident, "PurposeOfUse", purpose_code, "2.16.840.1.113883.5.8", purpose_text)
    ap = el(top, "ActiveParticipant", {"UserID": ev["actor"], "UserIsRequestor": "true"})
    coded(ap, "RoleIDCode", ev["actorRole"], BMDX_CODES + "participant-role", ev["actorRole"])
    src = el(top, "AuditSourceIdentification", {"AuditSourceID": SOURCE})
    el(src, "AuditSourceTypeCode", {"csd-code": "4"})
    if "subject" in ev:
        po = el(
            top,
            "ParticipantObjectIdentification",
            {
                "ParticipantObjectID": ev["subject"],
                "ParticipantObjectTypeCode": "1",
                "ParticipantObjectTypeCodeRole": "1",
            },
        )
        coded(po, "ParticipantObjectIDTypeCode", "2", "RFC-3881", "Patient Number")
        el(po, "ParticipantObjectName", text=ev["subject"])
    if "record" in ev:
        attrs = {
            "ParticipantObjectID": ev["record"],
            "ParticipantObjectTypeCode": "2",
            "ParticipantObjectTypeCodeRole": "3",
        }
        if lifecycle:
            attrs["ParticipantObjectDataLifeCycle"] = lifecycle[0]
        po = el(top, "ParticipantObjectIdentification", attrs)
        coded(po, "ParticipantObjectIDTypeCode", "12", "RFC-3881", "URI")
        el(po, "ParticipantObjectName", text=ev["record"])
    po = el(
        top,
        "ParticipantObjectIdentification",
        {"ParticipantObjectID": ev["requestDigest"], "ParticipantObjectTypeCode": "2"},
    )
    coded(
        po,
        "ParticipantObjectIDTypeCode",
        "request-digest",
        BMDX_CODES + "identifier-type",
        "BMDX request digest",
    )
    el(po, "ParticipantObjectName", text="BMDX request")
    el(po, "ParticipantObjectDetail", {"type": "eventId", "value": b64(ev["eventId"])})
    el(po, "ParticipantObjectDetail", {"type": "policyHash", "value": b64(ev["policyHash"])})
    if "decision" in ev:
        el(po, "ParticipantObjectDetail", {"type": "decision", "value": b64(ev["decision"])})
    return doc.toprettyxml(indent="  ", encoding="UTF-8")


def _requirements(ev: dict[str, Any]) -> list[str]:
    base = ["BMDX-AUD-010", "BMDX-AUD-011", "BMDX-AUD-012", "BMDX-AUD-014"]
    if "purpose" in ev:
        base.append("BMDX-AUD-013")
    return [*base, "BMDX-AUD-020", "BMDX-AUD-021", "BMDX-AUD-022", "BMDX-AUD-023", "BMDX-AUD-024"]


def _dump(value: Any) -> bytes:
    return (json.dumps(value, indent=2, ensure_ascii=False) + "\n").encode("utf-8")


def build() -> dict[str, bytes]:
    out: dict[str, bytes] = {}
    for case in CASES:
        ev = event(case)
        out[f"{case[0]}.json"] = _dump(
            {
                "description": case[1],
                "requirements": _requirements(ev),
                "source": SOURCE,
                "event": ev,
                "fhir": fhir(ev),
            }
        )
        out[f"{case[0]}.xml"] = dicom(ev)
    return out


def main(argv: list[str]) -> int:
    out = Path(argv[1]) if len(argv) > 1 else DEFAULT_OUT
    out.mkdir(parents=True, exist_ok=True)
    for rel, data in build().items():
        (out / rel).write_bytes(data)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
