"""The FHIR R4 and DICOM / IHE ATNA exports of audit events (BMDX-AUD-010 to -024).

The suite puts the events of spec/vectors/audit-export/ on the node's ledger itself
(``audit.append``, each with a fresh eventId), then asks the node for their exports and
compares them with the vectors' expected outputs, the exporting node's participant id
and the fresh eventId substituted: as JSON for FHIR, after W3C Canonical XML 2.0 with
whitespace-only text removed for DICOM (parsed with defusedxml, no DTD).  Events the
node recorded itself (a session of reads, refusals, an erasure, a break-glass access)
are checked against the same tables: the codes of the vector with the same action and
outcome, and the members the mapping copies from the event.  The node's participant id
is the participant whose registered keys include a key of the capability document's
``nodeKeys``.
"""

from __future__ import annotations

import base64
import copy
import json
import uuid
import xml.etree.ElementTree as ET  # canonicalises only text defusedxml accepted
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import defusedxml.ElementTree as SafeET
import pytest

from bmdx.conformance._internal.http_client import pseudonym, txid
from bmdx.conformance._internal.specdata import spec_dir
from bmdx.conformance._internal.targets import Target
from bmdx.conformance.suite.audit._session import Network, access_request, network

ROLES = {"hospital": "hospital", "stranger": "hospital", "ada": "patient", "regulator": "regulator"}
VECTOR_SOURCE = "urn:bmdx:participant:ledger-node-1"


def _vectors() -> list[tuple[str, dict[str, Any], str]]:
    base = spec_dir() / "vectors" / "audit-export"
    found = []
    for path in sorted(base.glob("*.json")):
        case = json.loads(path.read_bytes())
        xml = path.with_suffix(".xml").read_text(encoding="utf-8")
        found.append((path.stem, case, xml))
    if not found:
        raise RuntimeError("no audit export vectors in the spec: zero vectors would run")
    return found


@dataclass
class Exports:
    net: Network
    source: str
    # case name -> (event as appended, expected FHIR, expected XML)
    cases: dict[str, tuple[dict[str, Any], dict[str, Any], str]] = field(default_factory=dict)
    node_events: list[dict[str, Any]] = field(default_factory=list)
    fhir: dict[str, dict[str, Any]] = field(default_factory=dict)
    atna: dict[str, bytes] = field(default_factory=dict)


def _b64(text: str) -> str:
    return base64.b64encode(text.encode("utf-8")).decode("ascii")


def _node_id(net: Network, sample: dict[str, Any]) -> str:
    """The exporting node's participant id: the participant holding a key of nodeKeys."""
    named = sample["source"]["observer"]["identifier"]["value"]
    kids = {k.get("kid") for k in net.governance.capabilities()["nodeKeys"]}
    participant = net["regulator"].read(f"/participants/{named}")
    registered = {k.get("kid") for k in participant.get("keys", [])}
    assert kids & registered, (
        f"the export names {named} as its source, a participant holding none of the node's "
        "keys (nodeKeys) [BMDX-AUD-010, BMDX-AUD-023]"
    )
    return str(named)


def _session_events(net: Network) -> None:
    """Reads, a query, refusals, a break-glass access and an erasure, by the node."""
    subject = pseudonym()
    hospital, stranger = net["hospital"], net["stranger"]
    net.grant(
        "ada",
        subject,
        {"type": "permit", "actors": [{"participant": hospital.id}], "purposes": ["treatment"]},
    )
    note = net.publish("hospital", subject, "note")
    spare = net.publish("hospital", subject, "spare")
    hospital.get(f"/records/{note['recordId']}", params={"purpose": "treatment"})
    hospital.get("/records", params={"purpose": "treatment", "subject": subject})
    stranger.get(f"/records/{note['recordId']}", params={"purpose": "treatment"})
    emergency = access_request(
        stranger,
        subject,
        note["recordId"],
        "emergency",
        break_glass=True,
        justification="patient unconscious on arrival",
    )
    stranger.post(f"/records/{note['recordId']}/access", json_body=emergency)
    hospital.delete(f"/records/{spare['recordId']}")
    hospital.wait_committed_pool()
    net.subjects["ada"] = subject


@pytest.fixture(scope="module")
def exports(target: Target) -> Iterator[Exports]:
    with network(target, ROLES) as net:
        regulator, hospital = net["regulator"], net["hospital"]
        appended: dict[str, tuple[dict[str, Any], dict[str, Any], str]] = {}
        for name, case, xml in _vectors():
            event = {**case["event"], "eventId": f"urn:uuid:{uuid.uuid4()}"}
            appended[name] = (event, case["fhir"], xml)
        tx = hospital.signed_transaction("audit.append", [e for e, _, _ in appended.values()])
        response = hospital.post("/ledger/transactions", json_body=tx)
        assert response.status_code == 202, f"audit.append refused: {response.text[:300]}"
        hospital.wait_committed(txid(tx))
        _session_events(net)
        first = next(iter(appended.values()))[0]
        sample = regulator.read(f"/audit/events/{first['eventId']}/fhir")
        found = Exports(net, _node_id(net, sample))
        for name, (event, fhir, vector_xml) in appended.items():
            old_id = next(c for n, c, _ in _vectors() if n == name)["event"]["eventId"]
            expected = copy.deepcopy(fhir)
            expected["id"] = event["eventId"].removeprefix("urn:uuid:")
            expected["source"]["observer"]["identifier"]["value"] = found.source
            xml = vector_xml.replace(
                f'AuditSourceID="{VECTOR_SOURCE}"', f'AuditSourceID="{found.source}"'
            ).replace(_b64(old_id), _b64(event["eventId"]))
            found.cases[name] = (event, expected, xml)
        page = regulator.read(
            "/audit/events", params={"subject": net.subjects["ada"], "limit": 1000}
        )
        found.node_events = list(page["items"])
        for event in [*(e for e, _, _ in found.cases.values()), *found.node_events]:
            ident = event["eventId"]
            response = regulator.get(f"/audit/events/{ident}/fhir")
            assert response.status_code == 200, f"FHIR export of {ident}: {response.status_code}"
            assert response.headers.get("content-type", "").startswith("application/fhir+json")
            found.fhir[ident] = regulator.json(response)
            response = regulator.get(f"/audit/events/{ident}/atna")
            assert response.status_code == 200, f"ATNA export of {ident}: {response.status_code}"
            assert response.headers.get("content-type", "").startswith("application/xml")
            found.atna[ident] = response.content
        yield found


# -- FHIR ---------------------------------------------------------------------------------


def _by_action(exports: Exports, event: dict[str, Any]) -> dict[str, Any]:
    """The expected FHIR resource of the vector with the event's action and outcome."""
    for vector_event, fhir, _ in exports.cases.values():
        if (vector_event["action"], vector_event["outcome"]) == (event["action"], event["outcome"]):
            return fhir
    raise AssertionError(f"no vector has action {event['action']} and outcome {event['outcome']}")


@pytest.mark.requirement("BMDX-AUD-010:09509f79ba0d10e3")
def test_fhir_export_equals_mapping(exports: Exports) -> None:
    """The FHIR export of an AuditEvent MUST be a FHIR R4 AuditEvent resource equal, as
    JSON, to the mapping of spec/conventions/audit.md section 4, with id the UUID of
    eventId and recorded copied unchanged."""
    for name, (event, expected, _) in exports.cases.items():
        assert exports.fhir[event["eventId"]] == expected, name
    for event in exports.node_events:
        resource = exports.fhir[event["eventId"]]
        assert resource["resourceType"] == "AuditEvent"
        assert resource["id"] == event["eventId"].removeprefix("urn:uuid:")
        assert resource["recorded"] == event["recorded"]
        assert resource["source"] == _by_action(exports, event)["source"]


_CODES = ("type", "action", "outcome", "outcomeDesc")


@pytest.mark.requirement("BMDX-AUD-011:6a5082f44fee9299")
def test_fhir_codes(exports: Exports) -> None:
    """In the FHIR export, type, subtype, action, outcome and outcomeDesc MUST follow
    tables 4.1 and 4.2 of spec/conventions/audit.md for the event's action and outcome."""
    for name, (event, expected, _) in exports.cases.items():
        resource = exports.fhir[event["eventId"]]
        for member in (*_CODES, "subtype"):
            assert resource.get(member) == expected.get(member), (name, member)
    for event in exports.node_events:
        resource, table = exports.fhir[event["eventId"]], _by_action(exports, event)
        for member in (*_CODES, "subtype"):
            assert resource.get(member) == table.get(member), (event["action"], member)


@pytest.mark.requirement("BMDX-AUD-012:881985eda378fe3c")
def test_fhir_agent(exports: Exports) -> None:
    """In the FHIR export, the single agent MUST name the actor in who.identifier, its role
    in role, requestor true, and the policyHash as the only entry of policy."""
    for name, (event, expected, _) in exports.cases.items():
        assert exports.fhir[event["eventId"]]["agent"] == expected["agent"], name
    for event in exports.node_events:
        (agent,) = exports.fhir[event["eventId"]]["agent"]
        assert agent["who"]["identifier"] == {
            "system": "urn:ietf:rfc:3986",
            "value": event["actor"],
        }
        assert agent["role"][0]["coding"][0]["code"] == event["actorRole"]
        assert agent["requestor"] is True
        assert agent["policy"] == [event["policyHash"]]


@pytest.mark.requirement("BMDX-AUD-013:f09beb4eb56c1192")
def test_fhir_purpose(exports: Exports) -> None:
    """In the FHIR export, an event's purpose MUST be written as the single purposeOfEvent
    coding of table 4.3 (HL7 v3 ActReason), and an event without a purpose MUST have no
    purposeOfEvent."""
    table = {
        e["purpose"]: fhir["purposeOfEvent"]
        for e, fhir, _ in exports.cases.values()
        if "purpose" in e
    }
    for name, (event, expected, _) in exports.cases.items():
        resource = exports.fhir[event["eventId"]]
        assert resource.get("purposeOfEvent") == expected.get("purposeOfEvent"), name
    for event in exports.node_events:
        resource = exports.fhir[event["eventId"]]
        if "purpose" in event:
            assert resource["purposeOfEvent"] == table[event["purpose"]]
        else:
            assert "purposeOfEvent" not in resource


@pytest.mark.requirement("BMDX-AUD-014:f3ecab6fc9aa06e8")
def test_fhir_entities(exports: Exports) -> None:
    """In the FHIR export, entity MUST list the subject pseudonym (when present), the
    record (when present) and the request digest with the decision, in that order, as
    section 4.5 of spec/conventions/audit.md specifies."""
    for name, (event, expected, _) in exports.cases.items():
        assert exports.fhir[event["eventId"]]["entity"] == expected["entity"], name
    for event in exports.node_events:
        values = [
            e["what"]["identifier"]["value"] for e in exports.fhir[event["eventId"]]["entity"]
        ]
        wanted = [event[m] for m in ("subject", "record") if m in event]
        assert values == [*wanted, event["requestDigest"]], event["action"]


# -- DICOM / ATNA -------------------------------------------------------------------------


def _canonical(data: bytes | str) -> str:
    """W3C Canonical XML 2.0, whitespace-only text removed, of a document without DTD."""
    text = data.decode("utf-8") if isinstance(data, bytes) else data
    SafeET.fromstring(text, forbid_dtd=True)  # refuses DTDs and entity declarations
    return ET.canonicalize(
        xml_data=text.split("?>", 1)[-1] if text.startswith("<?xml") else text, strip_text=True
    )


def _part(document: str, tag: str) -> list[str]:
    root = ET.fromstring(document)  # noqa: S314 - canonical text of a checked document
    return [ET.tostring(e, encoding="unicode") for e in root.iter(tag)]


def _atna(exports: Exports, event: dict[str, Any]) -> str:
    return _canonical(exports.atna[event["eventId"]])


@pytest.mark.requirement("BMDX-AUD-020:28ea54b88755c3f6")
def test_atna_equals_mapping(exports: Exports) -> None:
    """The DICOM export of an AuditEvent MUST be a UTF-8 XML AuditMessage without DTD that
    conforms to the DICOM PS3.15 A.5.1 audit message schema and equals, after W3C
    Canonical XML 2.0 with whitespace-only text removed, the mapping of
    spec/conventions/audit.md section 5."""
    for name, (event, _, xml) in exports.cases.items():
        raw = exports.atna[event["eventId"]]
        raw.decode("utf-8")
        assert b"<!DOCTYPE" not in raw, name
        assert _atna(exports, event) == _canonical(xml), name
    for event in exports.node_events:
        root = ET.fromstring(_atna(exports, event))  # noqa: S314 - checked above
        assert root.tag == "AuditMessage"
        assert [c.tag for c in root][:3] == [
            "EventIdentification",
            "ActiveParticipant",
            "AuditSourceIdentification",
        ]


def _each(exports: Exports, tag: str) -> None:
    for name, (event, _, xml) in exports.cases.items():
        assert _part(_atna(exports, event), tag) == _part(_canonical(xml), tag), (name, tag)


@pytest.mark.requirement("BMDX-AUD-021:114478960521f99f")
def test_atna_event_identification(exports: Exports) -> None:
    """In the DICOM export, EventIdentification MUST carry EventActionCode, EventDateTime
    (the recorded time unchanged), EventOutcomeIndicator, EventID, EventTypeCode,
    EventOutcomeDescription and PurposeOfUse as tables 4.1 to 4.3 and section 5.1 of
    spec/conventions/audit.md specify."""
    _each(exports, "EventIdentification")
    for event in exports.node_events:
        (found,) = ET.fromstring(_atna(exports, event)).iter("EventIdentification")  # noqa: S314
        assert found.get("EventDateTime") == event["recorded"]
        types = [e.get("csd-code") for e in found.iter("EventTypeCode")]
        assert types[0] == event["action"]
        assert (found.find("PurposeOfUse") is not None) == ("purpose" in event)


@pytest.mark.requirement("BMDX-AUD-022:be321eb0e1656d9c")
def test_atna_active_participant(exports: Exports) -> None:
    """In the DICOM export, exactly one ActiveParticipant MUST name the actor in UserID with
    UserIsRequestor true and the actor's role as its only RoleIDCode."""
    _each(exports, "ActiveParticipant")
    for event in exports.node_events:
        found = list(ET.fromstring(_atna(exports, event)).iter("ActiveParticipant"))  # noqa: S314
        assert len(found) == 1
        assert (found[0].get("UserID"), found[0].get("UserIsRequestor")) == (event["actor"], "true")
        assert [r.get("csd-code") for r in found[0].iter("RoleIDCode")] == [event["actorRole"]]


@pytest.mark.requirement("BMDX-AUD-023:0857422ad83a25dd")
def test_atna_audit_source(exports: Exports) -> None:
    """In the DICOM export, AuditSourceIdentification MUST name the exporting node's
    participant id in AuditSourceID with AuditSourceTypeCode 4."""
    _each(exports, "AuditSourceIdentification")
    for event in exports.node_events:
        (found,) = ET.fromstring(_atna(exports, event)).iter("AuditSourceIdentification")  # noqa: S314
        assert found.get("AuditSourceID") == exports.source
        assert [c.get("csd-code") for c in found] == ["4"]


@pytest.mark.requirement("BMDX-AUD-024:da4fecf8e28a23d5")
def test_atna_participant_objects(exports: Exports) -> None:
    """In the DICOM export, ParticipantObjectIdentification elements MUST describe the
    subject pseudonym (when present), the record (when present) and the request digest
    with eventId, policyHash and decision details, in that order, as section 5.4 of
    spec/conventions/audit.md specifies."""
    _each(exports, "ParticipantObjectIdentification")
    for event in exports.node_events:
        root = ET.fromstring(_atna(exports, event))  # noqa: S314
        objects = list(root.iter("ParticipantObjectIdentification"))
        wanted = [event[m] for m in ("subject", "record") if m in event]
        assert [o.get("ParticipantObjectID") for o in objects] == [*wanted, event["requestDigest"]]
        details = {
            d.get("type"): base64.b64decode(d.get("value", "")).decode("utf-8")
            for d in objects[-1].iter("ParticipantObjectDetail")
        }
        expected = {"eventId": event["eventId"], "policyHash": event["policyHash"]}
        if "decision" in event:
            expected["decision"] = event["decision"]
        assert details == expected
