"""Audit events out of the ledger: FHIR R4 AuditEvent, DICOM / IHE ATNA audit message,
and a patient's access history (spec/conventions/audit.md sections 3 to 5).

The mapping is one table, :data:`ACTIONS`, read by both exports, so that the FHIR and
the DICOM form of an event can never disagree on what happened.  The XML is built with
ElementTree (never by string assembly), so every attribute value and text node is
escaped by the library; parsing XML back is the reader's business (defusedxml).
"""

from __future__ import annotations

import base64
import xml.etree.ElementTree as ET
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bmdx.reference._internal.anomaly import parse_instant
from bmdx.reference._internal.errors import AuditError
from bmdx.reference._internal.schema import schema_set

__all__ = [
    "ACTIONS",
    "ActionCodes",
    "access_history",
    "to_dicom_audit_message",
    "to_fhir_audit_event",
]

REQ_HISTORY = "BMDX-AUD-005"

DCM = "http://dicom.nema.org/resources/ontology/DCM"
ACTION_SYSTEM = "https://bmdx.org/spec/1/codes/audit-action"
ROLE_SYSTEM = "https://bmdx.org/spec/1/codes/participant-role"
ID_TYPE_SYSTEM = "https://bmdx.org/spec/1/codes/identifier-type"
PSEUDONYM_SYSTEM = "https://bmdx.org/spec/1/identifiers/pseudonym"
REQUEST_SYSTEM = "https://bmdx.org/spec/1/identifiers/request-digest"
URI_SYSTEM = "urn:ietf:rfc:3986"
ACT_REASON = "http://terminology.hl7.org/CodeSystem/v3-ActReason"
ACT_REASON_OID = "2.16.840.1.113883.5.8"
ENTITY_TYPE = "http://terminology.hl7.org/CodeSystem/audit-entity-type"
OBJECT_ROLE = "http://terminology.hl7.org/CodeSystem/object-role"
LIFECYCLE = "http://terminology.hl7.org/CodeSystem/dicom-audit-lifecycle"
SOURCE_TYPE = "http://terminology.hl7.org/CodeSystem/security-source-type"


@dataclass(frozen=True, slots=True)
class ActionCodes:
    """How one BMDX audit action is written in FHIR and DICOM (audit.md table 4.1)."""

    event_id: tuple[str, str]
    action_code: str
    lifecycle: tuple[str, str] | None
    event_type: tuple[str, str] | None = None


ACTIONS: Mapping[str, ActionCodes] = {
    "read": ActionCodes(("110110", "Patient Record"), "R", ("6", "Access / Use")),
    "query": ActionCodes(("110112", "Query"), "E", ("6", "Access / Use")),
    "share": ActionCodes(("110106", "Export"), "R", ("11", "Disclosure")),
    "key-release": ActionCodes(("110106", "Export"), "E", ("11", "Disclosure")),
    "denial": ActionCodes(("110113", "Security Alert"), "E", None),
    "erasure": ActionCodes(
        ("110110", "Patient Record"), "D", ("15", "Permanent erasure / Physical destruction")
    ),
    "break-glass": ActionCodes(
        ("110110", "Patient Record"),
        "R",
        ("6", "Access / Use"),
        ("110127", "Emergency Override Started"),
    ),
    "publish": ActionCodes(("110107", "Import"), "C", ("1", "Origination / Creation")),
    "consent-change": ActionCodes(("110110", "Patient Record"), "U", ("3", "Amendment")),
    "export": ActionCodes(("110106", "Export"), "R", ("10", "Export / Copy to target")),
}

# outcome -> (FHIR/DICOM outcome code, description); 12 (major failure) is never produced.
OUTCOMES: Mapping[str, tuple[str, str | None]] = {
    "success": ("0", None),
    "denied": ("4", "refused by policy"),
    "error": ("8", "failed"),
}

# BMDX purpose -> HL7 v3 ActReason (PurposeOfUse) code and display.
PURPOSES: Mapping[str, tuple[str, str]] = {
    "treatment": ("TREAT", "treatment"),
    "payment": ("HPAYMT", "healthcare payment"),
    "research": ("HRESCH", "healthcare research"),
    "public-health": ("PUBHLTH", "public health"),
    "emergency": ("ETREAT", "Emergency Treatment"),
}


def _checked(event: Mapping[str, Any], root: Path | None) -> Mapping[str, Any]:
    schema_set(root).validate(dict(event), "AuditEvent")
    return event


def _coding(system: str, code: str, display: str | None = None) -> dict[str, str]:
    out = {"system": system, "code": code}
    if display is not None:
        out["display"] = display
    return out


def to_fhir_audit_event(
    event: Mapping[str, Any], *, source: str, root: Path | None = None
) -> dict[str, Any]:
    """The FHIR R4 AuditEvent resource of a BMDX AuditEvent (audit.md section 4).

    ``source`` is the participant id of the node that recorded and exports the event
    (``AuditEvent.source.observer``): the BMDX event does not carry it.
    """
    event = _checked(event, root)
    codes = ACTIONS[event["action"]]
    outcome, description = OUTCOMES[event["outcome"]]
    subtype = [_coding(ACTION_SYSTEM, event["action"])]
    if codes.event_type is not None:
        subtype.append(_coding(DCM, *codes.event_type))
    resource: dict[str, Any] = {
        "resourceType": "AuditEvent",
        "id": event["eventId"].removeprefix("urn:uuid:"),
        "type": _coding(DCM, *codes.event_id),
        "subtype": subtype,
        "action": codes.action_code,
        "recorded": event["recorded"],
        "outcome": outcome,
    }
    if description is not None:
        resource["outcomeDesc"] = description
    if "purpose" in event:
        resource["purposeOfEvent"] = [
            {"coding": [_coding(ACT_REASON, *PURPOSES[event["purpose"]])]}
        ]
    resource["agent"] = [
        {
            "role": [{"coding": [_coding(ROLE_SYSTEM, event["actorRole"])]}],
            "who": {"identifier": {"system": URI_SYSTEM, "value": event["actor"]}},
            "requestor": True,
            "policy": [event["policyHash"]],
        }
    ]
    resource["source"] = {
        "observer": {"identifier": {"system": URI_SYSTEM, "value": source}},
        "type": [_coding(SOURCE_TYPE, "4", "Application Server")],
    }
    entities: list[dict[str, Any]] = []
    if "subject" in event:
        entities.append(
            {
                "what": {"identifier": {"system": PSEUDONYM_SYSTEM, "value": event["subject"]}},
                "type": _coding(ENTITY_TYPE, "1", "Person"),
                "role": _coding(OBJECT_ROLE, "1", "Patient"),
            }
        )
    if "record" in event:
        record: dict[str, Any] = {
            "what": {"identifier": {"system": URI_SYSTEM, "value": event["record"]}},
            "type": _coding(ENTITY_TYPE, "2", "System Object"),
            "role": _coding(OBJECT_ROLE, "3", "Report"),
        }
        if codes.lifecycle is not None:
            record["lifecycle"] = _coding(LIFECYCLE, *codes.lifecycle)
        entities.append(record)
    request: dict[str, Any] = {
        "what": {"identifier": {"system": REQUEST_SYSTEM, "value": event["requestDigest"]}},
        "type": _coding(ENTITY_TYPE, "2", "System Object"),
        "name": "BMDX request",
    }
    if "decision" in event:
        request["detail"] = [{"type": "decision", "valueString": event["decision"]}]
    entities.append(request)
    resource["entity"] = entities
    return resource


def _coded(parent: ET.Element, tag: str, code: str, system: str, text: str) -> None:
    ET.SubElement(parent, tag, {"csd-code": code, "codeSystemName": system, "originalText": text})


def _detail(parent: ET.Element, kind: str, value: str) -> None:
    encoded = base64.b64encode(value.encode("utf-8")).decode("ascii")
    ET.SubElement(parent, "ParticipantObjectDetail", {"type": kind, "value": encoded})


def _object(
    parent: ET.Element, object_id: str, attributes: dict[str, str], id_type: tuple[str, str, str]
) -> ET.Element:
    element = ET.SubElement(
        parent, "ParticipantObjectIdentification", {"ParticipantObjectID": object_id, **attributes}
    )
    _coded(element, "ParticipantObjectIDTypeCode", *id_type)
    return element


def to_dicom_audit_message(
    event: Mapping[str, Any], *, source: str, root: Path | None = None
) -> bytes:
    """The DICOM PS3.15 A.5 / IHE ATNA audit message (UTF-8 XML) of a BMDX AuditEvent
    (audit.md section 5).  ``source`` is as for :func:`to_fhir_audit_event`."""
    event = _checked(event, root)
    codes = ACTIONS[event["action"]]
    outcome, description = OUTCOMES[event["outcome"]]
    message = ET.Element("AuditMessage")
    ident = ET.SubElement(
        message,
        "EventIdentification",
        {
            "EventActionCode": codes.action_code,
            "EventDateTime": event["recorded"],
            "EventOutcomeIndicator": outcome,
        },
    )
    _coded(ident, "EventID", codes.event_id[0], "DCM", codes.event_id[1])
    _coded(ident, "EventTypeCode", event["action"], ACTION_SYSTEM, event["action"])
    if codes.event_type is not None:
        _coded(ident, "EventTypeCode", codes.event_type[0], "DCM", codes.event_type[1])
    if description is not None:
        ET.SubElement(ident, "EventOutcomeDescription").text = description
    if "purpose" in event:
        code, display = PURPOSES[event["purpose"]]
        _coded(ident, "PurposeOfUse", code, ACT_REASON_OID, display)
    participant = ET.SubElement(
        message, "ActiveParticipant", {"UserID": event["actor"], "UserIsRequestor": "true"}
    )
    _coded(participant, "RoleIDCode", event["actorRole"], ROLE_SYSTEM, event["actorRole"])
    audit_source = ET.SubElement(message, "AuditSourceIdentification", {"AuditSourceID": source})
    ET.SubElement(audit_source, "AuditSourceTypeCode", {"csd-code": "4"})
    if "subject" in event:
        patient = _object(
            message,
            event["subject"],
            {"ParticipantObjectTypeCode": "1", "ParticipantObjectTypeCodeRole": "1"},
            ("2", "RFC-3881", "Patient Number"),
        )
        ET.SubElement(patient, "ParticipantObjectName").text = event["subject"]
    if "record" in event:
        attributes = {"ParticipantObjectTypeCode": "2", "ParticipantObjectTypeCodeRole": "3"}
        if codes.lifecycle is not None:
            attributes["ParticipantObjectDataLifeCycle"] = codes.lifecycle[0]
        record = _object(message, event["record"], attributes, ("12", "RFC-3881", "URI"))
        ET.SubElement(record, "ParticipantObjectName").text = event["record"]
    request = _object(
        message,
        event["requestDigest"],
        {"ParticipantObjectTypeCode": "2"},
        ("request-digest", ID_TYPE_SYSTEM, "BMDX request digest"),
    )
    ET.SubElement(request, "ParticipantObjectName").text = "BMDX request"
    _detail(request, "eventId", event["eventId"])
    _detail(request, "policyHash", event["policyHash"])
    if "decision" in event:
        _detail(request, "decision", event["decision"])
    ET.indent(message, space="  ")
    xml: bytes = ET.tostring(message, encoding="utf-8", xml_declaration=True)
    return xml + b"\n"


def access_history(
    events: Iterable[Mapping[str, Any]], subject: str, *, root: Path | None = None
) -> list[dict[str, Any]]:
    """A patient's access history: every audit event about ``subject``, in trail order
    (recorded, then eventId), refused attempts included (audit.md section 3)."""
    seen: set[str] = set()
    keyed: list[tuple[tuple[int, str], dict[str, Any]]] = []
    for i, event in enumerate(events):
        document = dict(_checked(event, root))
        if document["eventId"] in seen:
            raise AuditError(
                f"eventId {document['eventId']} appears twice in the trail",
                requirement=REQ_HISTORY,
                reason="duplicate-event",
                pointer=f"/events/{i}/eventId",
            )
        seen.add(document["eventId"])
        if document.get("subject") == subject:
            at = parse_instant(document["recorded"], root=root)
            keyed.append(((at, document["eventId"]), document))
    keyed.sort(key=lambda pair: pair[0])
    return [document for _, document in keyed]
