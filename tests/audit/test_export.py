"""FHIR and DICOM exports of audit events, and a patient's access history."""

from __future__ import annotations

import base64
import copy
import json
from pathlib import Path
from typing import Any
from xml.etree.ElementTree import Element, canonicalize

import defusedxml.ElementTree as SafeET
import pytest
from fhir.resources.R4B.auditevent import AuditEvent as FhirAuditEvent

from bmdx.reference._internal.audit import (
    ACTIONS,
    access_history,
    to_dicom_audit_message,
    to_fhir_audit_event,
)
from bmdx.reference._internal.errors import AuditError, SchemaValidationError
from bmdx.reference._internal.schema import schema_set
from tests.thirdparty import require_vectors
from tests.vectors import assert_regenerates, vector_dir
from tools.vectors import gen_audit_export

SET = "audit-export"
FILES = sorted(vector_dir(SET).glob("*.json"))
IDS = [p.stem for p in FILES]
DCM = "http://dicom.nema.org/resources/ontology/DCM"
EXAMPLES = Path(__file__).resolve().parents[2] / "spec" / "examples" / "valid" / "audit-event"


def _case(path: Path) -> dict[str, Any]:
    value = json.loads(path.read_bytes())
    assert isinstance(value, dict)
    return value


def _c14n(xml: bytes) -> str:
    # Parse through defusedxml first: the expected files are data, and so is our output.
    SafeET.fromstring(xml)
    return canonicalize(xml.decode("utf-8"), strip_text=True)


def test_vectors_exist_and_cover_every_action_and_outcome() -> None:
    require_vectors(len(FILES), SET)
    events = [_case(p)["event"] for p in FILES]
    assert {e["action"] for e in events} == set(ACTIONS)
    assert {e["outcome"] for e in events} == {"success", "denied", "error"}
    assert all(p.with_suffix(".xml").is_file() for p in FILES)


@pytest.mark.requirement("BMDX-AUD-010")
def test_regenerates_byte_identical() -> None:
    assert_regenerates(SET, gen_audit_export.build)


@pytest.mark.requirement("BMDX-AUD-010")
@pytest.mark.parametrize("path", FILES, ids=IDS)
def test_fhir_export_meets_vector(path: Path) -> None:
    case = _case(path)
    assert schema_set().validate(case["event"]) == "AuditEvent"
    assert to_fhir_audit_event(case["event"], source=case["source"]) == case["fhir"]


@pytest.mark.requirement("BMDX-AUD-020")
@pytest.mark.parametrize("path", FILES, ids=IDS)
def test_dicom_export_meets_vector(path: Path) -> None:
    case = _case(path)
    produced = to_dicom_audit_message(case["event"], source=case["source"])
    assert _c14n(produced) == _c14n(path.with_suffix(".xml").read_bytes())


# --- FHIR shape ---------------------------------------------------------------------


@pytest.mark.requirement("BMDX-AUD-010")
@pytest.mark.parametrize("path", FILES, ids=IDS)
def test_fhir_resource_is_a_valid_r4_audit_event(path: Path) -> None:
    case = _case(path)
    resource = to_fhir_audit_event(case["event"], source=case["source"])
    # The R4B AuditEvent model is the R4 one (AuditEvent did not change in R4B).
    parsed = FhirAuditEvent.model_validate(resource)
    assert parsed.id == case["event"]["eventId"].removeprefix("urn:uuid:")
    assert resource["recorded"] == case["event"]["recorded"]
    assert set(resource) >= {"resourceType", "type", "recorded", "agent", "source"}


@pytest.mark.requirement("BMDX-AUD-011")
@pytest.mark.parametrize("path", FILES, ids=IDS)
def test_fhir_codes(path: Path) -> None:
    event = _case(path)["event"]
    resource = to_fhir_audit_event(event, source="urn:bmdx:participant:node")
    assert resource["type"]["system"] == DCM
    assert resource["type"]["code"] in {"110106", "110107", "110110", "110112", "110113"}
    assert resource["action"] in {"C", "R", "U", "D", "E"}
    assert resource["outcome"] == {"success": "0", "denied": "4", "error": "8"}[event["outcome"]]
    assert ("outcomeDesc" in resource) == (event["outcome"] != "success")
    assert resource["subtype"][0]["code"] == event["action"]
    assert (event["action"] == "denial") == (resource["type"]["code"] == "110113")


@pytest.mark.requirement("BMDX-AUD-012")
@pytest.mark.requirement("BMDX-AUD-013")
@pytest.mark.requirement("BMDX-AUD-014")
@pytest.mark.parametrize("path", FILES, ids=IDS)
def test_fhir_agent_purpose_and_entities(path: Path) -> None:
    event = _case(path)["event"]
    resource = to_fhir_audit_event(event, source="urn:bmdx:participant:node")
    (agent,) = resource["agent"]
    assert agent["who"]["identifier"]["value"] == event["actor"]
    assert agent["requestor"] is True
    assert agent["policy"] == [event["policyHash"]]
    assert agent["role"][0]["coding"][0]["code"] == event["actorRole"]
    if "purpose" in event:
        (concept,) = resource["purposeOfEvent"]
        assert (
            concept["coding"][0]["system"] == "http://terminology.hl7.org/CodeSystem/v3-ActReason"
        )
    else:
        assert "purposeOfEvent" not in resource
    values = [e["what"]["identifier"]["value"] for e in resource["entity"]]
    expected = [event[k] for k in ("subject", "record") if k in event] + [event["requestDigest"]]
    assert values == expected


# --- DICOM structure, from the PS3.15 A.5.1 schema ---------------------------------------

_CODED = {"csd-code", "codeSystemName", "displayName", "originalText"}


def _coded(element: Element) -> None:
    assert set(element.attrib) <= _CODED, element.attrib
    assert {"csd-code", "codeSystemName", "originalText"} <= set(element.attrib)
    assert len(element) == 0


def _order(element: Element, allowed: list[str]) -> list[str]:
    tags = [child.tag for child in element]
    ranks = [allowed.index(tag) for tag in tags]  # ValueError: an element not in the schema
    assert ranks == sorted(ranks), tags
    return tags


def check_audit_message(root: Element) -> None:
    """The DICOM PS3.15 A.5.1 audit message schema, transcribed as structural checks."""
    assert root.tag == "AuditMessage"
    assert not root.attrib
    tags = _order(
        root,
        [
            "EventIdentification",
            "ActiveParticipant",
            "AuditSourceIdentification",
            "ParticipantObjectIdentification",
        ],
    )
    assert tags.count("EventIdentification") == 1
    assert tags.count("ActiveParticipant") >= 1
    assert tags.count("AuditSourceIdentification") == 1
    ident = root.find("EventIdentification")
    assert ident is not None
    assert set(ident.attrib) <= {"EventActionCode", "EventDateTime", "EventOutcomeIndicator"}
    assert ident.get("EventActionCode") in {None, "C", "R", "U", "D", "E"}
    assert ident.get("EventOutcomeIndicator") in {"0", "4", "8", "12"}
    assert ident.get("EventDateTime")
    order = ["EventID", "EventTypeCode", "EventOutcomeDescription", "PurposeOfUse"]
    assert _order(ident, order).count("EventID") == 1
    for child in ident:
        if child.tag == "EventOutcomeDescription":
            assert child.text
            assert len(child) == 0
        else:
            _coded(child)
    for part in root.findall("ActiveParticipant"):
        assert {"UserID", "UserIsRequestor"} <= set(part.attrib)
        assert part.get("UserIsRequestor") in {"true", "false"}
        _order(part, ["RoleIDCode", "MediaIdentifier"])
        for child in part.findall("RoleIDCode"):
            _coded(child)
    source = root.find("AuditSourceIdentification")
    assert source is not None
    assert "AuditSourceID" in source.attrib
    assert set(source.attrib) <= {"AuditSourceID", "AuditEnterpriseSiteID"}
    for child in source:
        assert child.tag == "AuditSourceTypeCode"
        assert "csd-code" in child.attrib
    for obj in root.findall("ParticipantObjectIdentification"):
        assert "ParticipantObjectID" in obj.attrib
        assert obj.get("ParticipantObjectTypeCode") in {None, "1", "2", "3", "4"}
        assert obj.get("ParticipantObjectTypeCodeRole") in {None, *map(str, range(1, 27))}
        assert obj.get("ParticipantObjectDataLifeCycle") in {None, *map(str, range(1, 16))}
        tags = _order(
            obj,
            [
                "ParticipantObjectIDTypeCode",
                "ParticipantObjectName",
                "ParticipantObjectQuery",
                "ParticipantObjectDetail",
                "ParticipantObjectDescription",
            ],
        )
        assert tags.count("ParticipantObjectIDTypeCode") == 1
        assert tags.count("ParticipantObjectName") + tags.count("ParticipantObjectQuery") == 1
        id_type = obj.find("ParticipantObjectIDTypeCode")
        assert id_type is not None
        _coded(id_type)
        for detail in obj.findall("ParticipantObjectDetail"):
            assert set(detail.attrib) == {"type", "value"}
            base64.b64decode(detail.attrib["value"], validate=True)


@pytest.mark.requirement("BMDX-AUD-020")
@pytest.mark.parametrize("path", FILES, ids=IDS)
def test_dicom_message_follows_the_audit_schema(path: Path) -> None:
    case = _case(path)
    produced = to_dicom_audit_message(case["event"], source=case["source"])
    assert produced.startswith(b"<?xml version='1.0' encoding='utf-8'?>")
    assert b"<!DOCTYPE" not in produced
    check_audit_message(SafeET.fromstring(produced))
    check_audit_message(SafeET.fromstring(path.with_suffix(".xml").read_bytes()))


@pytest.mark.requirement("BMDX-AUD-021")
@pytest.mark.requirement("BMDX-AUD-022")
@pytest.mark.requirement("BMDX-AUD-023")
@pytest.mark.requirement("BMDX-AUD-024")
@pytest.mark.parametrize("path", FILES, ids=IDS)
def test_dicom_fields_parse_back(path: Path) -> None:
    case = _case(path)
    event = case["event"]
    root = SafeET.fromstring(to_dicom_audit_message(event, source=case["source"]))
    ident = root.find("EventIdentification")
    assert ident is not None
    assert ident.get("EventDateTime") == event["recorded"]
    assert ident.get("EventActionCode") == to_fhir_audit_event(event, source="x:y")["action"]
    event_id = ident.find("EventID")
    assert event_id is not None
    assert event_id.get("codeSystemName") == "DCM"
    assert ident.findall("EventTypeCode")[0].get("csd-code") == event["action"]
    purposes = ident.findall("PurposeOfUse")
    assert len(purposes) == (1 if "purpose" in event else 0)
    (participant,) = root.findall("ActiveParticipant")
    assert participant.get("UserID") == event["actor"]
    assert participant.get("UserIsRequestor") == "true"
    assert [r.get("csd-code") for r in participant.findall("RoleIDCode")] == [event["actorRole"]]
    source = root.find("AuditSourceIdentification")
    assert source is not None
    assert source.get("AuditSourceID") == case["source"]
    objects = root.findall("ParticipantObjectIdentification")
    expected = [event[k] for k in ("subject", "record") if k in event] + [event["requestDigest"]]
    assert [o.get("ParticipantObjectID") for o in objects] == expected
    details = {
        d.get("type"): base64.b64decode(d.get("value", "")).decode()
        for d in objects[-1].findall("ParticipantObjectDetail")
    }
    want = {"eventId": event["eventId"], "policyHash": event["policyHash"]}
    if "decision" in event:
        want["decision"] = event["decision"]
    assert details == want


def test_hostile_text_is_escaped_not_interpreted() -> None:
    event = _case(FILES[0])["event"]
    source = 'urn:bmdx:participant:n"><x/>&amp;'
    root = SafeET.fromstring(to_dicom_audit_message(event, source=source))
    assert root.find("AuditSourceIdentification").get("AuditSourceID") == source  # type: ignore[union-attr]
    assert root.find(".//x") is None


@pytest.mark.requirement("BMDX-DM-140")
def test_export_refuses_an_invalid_event() -> None:
    event = copy.deepcopy(_case(FILES[0])["event"])
    event["action"] = "peek"
    for export in (to_fhir_audit_event, to_dicom_audit_message):
        with pytest.raises(SchemaValidationError) as info:
            export(event, source="urn:bmdx:participant:node")
        assert info.value.requirement == "BMDX-DM-140"


def test_example_events_export() -> None:
    for path in sorted(EXAMPLES.glob("*.json")):
        event = json.loads(path.read_bytes())
        FhirAuditEvent.model_validate(to_fhir_audit_event(event, source="urn:bmdx:participant:n"))
        check_audit_message(
            SafeET.fromstring(to_dicom_audit_message(event, source="urn:bmdx:participant:n"))
        )


# --- access history ------------------------------------------------------------------


def _trail() -> list[dict[str, Any]]:
    night = json.loads((vector_dir("anomaly") / "night-scenario-default-rules.json").read_bytes())
    events: list[dict[str, Any]] = night["events"]
    return events


@pytest.mark.requirement("BMDX-AUD-005")
def test_access_history_lists_every_event_of_the_subject_in_trail_order() -> None:
    events = _trail()
    subject = next(e["subject"] for e in events if e["action"] == "denial")
    history = access_history(list(reversed(events)), subject)
    assert [e["eventId"] for e in history] == [
        e["eventId"]
        for e in sorted(events, key=lambda e: (e["recorded"], e["eventId"]))
        if e.get("subject") == subject
    ]
    assert len(history) == 6
    assert all(e["outcome"] == "denied" for e in history)
    assert access_history(events, "pseud:" + "Z" * 43) == []


@pytest.mark.requirement("BMDX-AUD-005")
def test_access_history_orders_equal_times_by_event_id() -> None:
    base = _trail()[0]
    twins = [
        base | {"eventId": "urn:uuid:00000000-0000-4000-8000-00000000000b"},
        base | {"eventId": "urn:uuid:00000000-0000-4000-8000-00000000000a"},
    ]
    history = access_history(twins, base["subject"])
    assert [e["eventId"][-1] for e in history] == ["a", "b"]


def test_access_history_refuses_a_reused_event_id() -> None:
    events = _trail()
    with pytest.raises(AuditError) as info:
        access_history([*events, events[0]], events[0]["subject"])
    assert (info.value.requirement, info.value.reason) == ("BMDX-AUD-005", "duplicate-event")
