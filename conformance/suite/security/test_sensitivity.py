"""Sensitivity labels observed on a live node, over HTTP.

The protections each label requires are read from spec/security/profile.yaml (section
``sensitivity``); a laboratory publishes N, R and V records, a patient grants blanket
and separate consents, and a hospital asks for the records.  Each answer is checked
against the profile and spec/conventions/consent.md: the obligations of a release
(patient notification per label), break-glass refused on V, V released only under a
separate consent naming the record's data class and label and wrapped for the reader
at that access, and the recipient limit per label.  Refusals must change nothing but
the audit trail.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from bmdx.conformance._internal.http_client import (
    digest,
    enrol,
    open_payload,
    pseudonym,
    public_key_document,
    record_envelope,
    seal_record,
)
from bmdx.conformance._internal.specdata import load_yaml, spec_dir
from bmdx.conformance._internal.targets import Evidence, Target
from bmdx.conformance._internal.verifiers.jose import b64url_decode
from bmdx.conformance.suite.consent._world import (
    PERMIT_HOSPITAL_TREATMENT,
    Actor,
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

LABELS = ("N", "R", "V")
# A record without a label of the profile breaks the RecordHeader schema (BMDX-DM-100)
# and BMDX-SEC-050; the envelope carrying it breaks the RecordEnvelope schema (DM-115).
LABEL_RULES = {"BMDX-SEC-050", "BMDX-DM-100", "BMDX-DM-115"}
SUBSTANCE_USE: dict[str, Any] = {"record_type": "emr-document", "data_classes": ["substance-use"]}


def _profile() -> dict[str, Any]:
    section: dict[str, Any] = load_yaml(spec_dir() / "security" / "profile.yaml")["sensitivity"]
    assert set(section) == set(LABELS), f"the profile's labels are {sorted(section)}"
    return section


@pytest.fixture(scope="module")
def world(target: Target) -> Iterator[World]:
    built = build_world(target)
    yield built
    built.close()


@pytest.fixture(autouse=True)
def _bound(world: World, evidence: Evidence) -> None:
    world.bind(evidence)


def _separate(data_class: str) -> dict[str, Any]:
    """A permit for hospitals' treatment naming ``data_class`` and the label V."""
    return {**PERMIT_HOSPITAL_TREATMENT, "dataClasses": [data_class], "sensitivity": ["V"]}


@pytest.fixture(scope="module")
def scenes(world: World) -> dict[str, Any]:
    """Consents granted, records published, extra recipients registered (one block)."""
    extra = [enrol(world.governance, ["hospital"]) for _ in range(3)]
    grants: dict[str, Grant] = {
        "blanket": world.grant(),
        "separate": world.grant(_separate("substance-use"), extra={"separateConsent": True}),
        # A separate consent for V that names another sensitive class.
        "other_class": world.grant(_separate("mental-health"), extra={"separateConsent": True}),
    }
    glass = pseudonym()  # no consent at all
    records = {
        "N": world.publish(grants["blanket"].subject, sensitivity="N"),
        "R": world.publish(grants["blanket"].subject, sensitivity="R"),
        "blanket_v": world.publish(grants["blanket"].subject, sensitivity="V", **SUBSTANCE_USE),
        "separate_v": world.publish(grants["separate"].subject, sensitivity="V", **SUBSTANCE_USE),
        "other_class_v": world.publish(
            grants["other_class"].subject, sensitivity="V", **SUBSTANCE_USE
        ),
        "glass_n": world.publish(glass, sensitivity="N"),
        "glass_v": world.publish(glass, sensitivity="V", **SUBSTANCE_USE),
    }
    world.governance.wait_committed(extra[-1].txid)
    world.settle()
    recipients = [public_key_document(m.encryption_key, "enc") for m in extra]
    return {"grants": grants, "records": records, "glass": glass, "extra": recipients}


def _id(envelope: dict[str, Any]) -> str:
    return str(envelope["header"]["recordId"])


def _ask(
    actor: Actor, envelope: dict[str, Any], purpose: str = "treatment", **members: Any
) -> tuple[httpx.Request, httpx.Response]:
    client = actor.client
    body = access_request(client, envelope["header"]["subject"], _id(envelope), purpose, **members)
    request = client.build("POST", f"/records/{_id(envelope)}/access", json_body=body)
    return request, client.send(request)


def _permitted(actor: Actor, envelope: dict[str, Any], response: httpx.Response) -> dict[str, Any]:
    """The decision of a permitted access; its envelope is wrapped for the reader alone."""
    assert response.status_code == 200, (
        f"POST /records/{{id}}/access answered {response.status_code}: {response.text[:300]}"
    )
    body: dict[str, Any] = actor.client.json(response)
    decision: dict[str, Any] = body["decision"]
    assert decision["decision"] == "permit", decision
    released = body["envelope"]
    kids = [r["header"]["kid"] for r in released["payload"]["recipients"]]
    assert kids == [actor.enc_kid], (
        f"the released JWE is wrapped for {kids}, not for the reader's key {actor.enc_kid} alone"
    )
    assert open_payload(released["payload"], actor.encryption_key) == envelope["plaintext"]
    return decision


def _emergency() -> dict[str, Any]:
    return {
        "breakGlass": True,
        "justification": "unconscious patient in the emergency department",
    }


def _denied_and_unchanged(
    world: World, actor: Actor, attempts: list[tuple[dict[str, Any], dict[str, Any]]]
) -> None:
    """Each attempt is refused with the uniform 403, audited as denied, and moves nothing."""
    ids = [a.id for a in world.actors()]
    before = quiet_state(actor.client, ids)
    sent = []
    for envelope, members in attempts:
        request, response = _ask(actor, envelope, members.pop("purpose", "treatment"), **members)
        uniform_denial(actor.client, response)
        for secret in (envelope["salt"], envelope["payload"]["ciphertext"]):
            assert secret not in response.text, "a refused access carries payload material"
        sent.append(request)
    for event in audit_events_of(world.regulator.client, actor.id, sent):
        assert event["outcome"] == "denied", f"a refused access is audited as {event['outcome']}"
    same_state(actor.client, before, ids)


@pytest.mark.requirement("BMDX-SEC-050:62a64dfdd5c31224")
@pytest.mark.parametrize("label", [None, "U", "n"])
def test_record_needs_a_label(world: World, label: str | None) -> None:
    """Every record MUST carry a sensitivity label N, R or V, and an implementation MUST
    apply at least the protections the security profile lists for that label (payload
    encryption, author signature, key release, consent, patient notification,
    break-glass and recipient limits)."""
    lab = world.lab.client
    plaintext = b'{"resourceType":"Observation","status":"final"}'
    envelope = record_envelope(
        lab, pseudonym(), plaintext, [world.lab.public_enc(), world.node_key]
    )
    fields = {k: v for k, v in envelope["header"].items() if k not in {"signatures", "payload"}}
    if label is None:
        del fields["sensitivity"]
    else:
        fields["sensitivity"] = label
    unlabelled = seal_record(lab, fields, envelope["payload"], b64url_decode(envelope["salt"]))
    ids = [lab.id]
    before = quiet_state(lab, ids)
    found = problem(lab, lab.post("/records", json_body=unlabelled), 422)
    assert found["requirement"] in LABEL_RULES, found
    same_state(lab, before, ids)
    assert lab.live_version(_id(unlabelled)) is None, "a record without a label was anchored"


@pytest.mark.requirement("BMDX-SEC-050:62a64dfdd5c31224")
@pytest.mark.parametrize("label", ["N", "R"])
def test_release_carries_the_labels_notification(
    world: World, scenes: dict[str, Any], label: str
) -> None:
    """Every record MUST carry a sensitivity label N, R or V, and an implementation MUST
    apply at least the protections the security profile lists for that label (payload
    encryption, author signature, key release, consent, patient notification, break-
    glass and recipient limits)."""
    rules = _profile()[label]
    hospital = world.hospital
    record = scenes["records"][label]
    _, response = _ask(hospital, record)
    decision = _permitted(hospital, record, response)
    notify = "notify-patient" in decision.get("obligations", [])
    assert notify == (rules["patient_notification"] == "each-access"), (
        f"a release of an {label} record (patient_notification "
        f"{rules['patient_notification']}) has obligations {decision.get('obligations')}"
    )


@pytest.mark.requirement("BMDX-SEC-051:a1d16f4e3a13554f")
def test_no_break_glass_on_v(world: World, scenes: dict[str, Any]) -> None:
    """An implementation MUST NOT grant break-glass access to a record labelled V."""
    assert _profile()["V"]["break_glass"] == "forbidden"
    records = scenes["records"]
    hospital = world.hospital
    # Control: the same valid break-glass request releases an N record of the subject.
    _, response = _ask(hospital, records["glass_n"], "emergency", **_emergency())
    decision = _permitted(hospital, records["glass_n"], response)
    assert decision["breakGlass"] is True
    _denied_and_unchanged(
        world,
        hospital,
        [
            # No consent at all, and a blanket consent without the separate one.
            (records["glass_v"], {"purpose": "emergency", **_emergency()}),
            (records["blanket_v"], {"purpose": "emergency", **_emergency()}),
        ],
    )


@pytest.mark.requirement("BMDX-SEC-052:c197c7ccaa3ed027")
def test_v_released_only_under_separate_consent(world: World, scenes: dict[str, Any]) -> None:
    """A record labelled V MUST be released (its content key wrapped for a reader) only
    after a consent decision for that access, under a separate consent that names the
    record's data class; a JWE of an R or V record MUST NOT name more recipients than
    the profile's max_recipients for its label."""
    assert _profile()["V"]["consent"] == "separate"
    assert _profile()["V"]["key_release"] == "per-access"
    records, grants = scenes["records"], scenes["grants"]
    hospital = world.hospital
    published = records["separate_v"]
    stored = [r["header"]["kid"] for r in published["payload"]["recipients"]]
    assert hospital.enc_kid not in stored, "suite self-check: the V record was published wrapped"
    _denied_and_unchanged(
        world, hospital, [(records["blanket_v"], {}), (records["other_class_v"], {})]
    )
    request, response = _ask(hospital, published)
    decision = _permitted(hospital, published, response)
    assert decision["consentVersionHash"] == digest(grants["separate"].consent), (
        "the release of the V record does not cite the separate consent's version"
    )
    assert decision["consent"] == grants["separate"].consent_id
    event = audit_events_of(world.regulator.client, hospital.id, [request])[0]
    assert (event["outcome"], event["policyHash"]) == ("success", decision["consentVersionHash"])


@pytest.mark.requirement("BMDX-SEC-052:c197c7ccaa3ed027")
@pytest.mark.parametrize("label", ["R", "V"])
def test_recipient_limit_per_label(world: World, scenes: dict[str, Any], label: str) -> None:
    """A record labelled V MUST be released (its content key wrapped for a reader) only
    after a consent decision for that access, under a separate consent that names the
    record's data class; a JWE of an R or V record MUST NOT name more recipients than
    the profile's max_recipients for its label."""
    limit = int(_profile()[label]["max_recipients"])
    lab = world.lab.client
    registered = [world.lab.public_enc(), world.node_key]
    registered += [a.public_enc() for a in world.actors() if a is not world.lab]
    registered += scenes["extra"]
    assert len(registered) > limit, "suite self-check: too few registered recipients"
    subject = scenes["grants"]["blanket"].subject
    body = b'{"resourceType":"Observation","status":"amended"}'
    extra: dict[str, Any] = SUBSTANCE_USE if label == "V" else {}
    # Control: exactly the limit is accepted.
    at_limit = record_envelope(lab, subject, body, registered[:limit], sensitivity=label, **extra)
    response = lab.post("/records", json_body=at_limit)
    assert response.status_code == 201, (
        f"a {label} record with {limit} recipients answered {response.status_code}: "
        f"{response.text[:300]}"
    )
    over = record_envelope(lab, subject, body, registered[: limit + 1], sensitivity=label, **extra)
    ids = [lab.id]
    before = quiet_state(lab, ids)
    found = problem(lab, lab.post("/records", json_body=over), 422)
    assert found["requirement"] == "BMDX-SEC-052", found
    same_state(lab, before, ids)
    assert lab.live_version(_id(over)) is None, "a record over the recipient limit was anchored"
