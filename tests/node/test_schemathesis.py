"""schemathesis against a live ``bmdx node serve --dev``, from spec/api/openapi.yaml.

Every operation of the interface document is run with positive and negative cases
(schemathesis' coverage and fuzzing phases), each request signed (RFC 9421) as a dev
participant whose role the operation serves, under six checks:

* ``not_a_server_error``: no 5xx, however hostile the input (BMDX-API-004);
* ``status_code_conformance``: only the statuses the operation declares;
* ``content_type_conformance``: only the media types declared for that status;
* ``response_schema_conformance``: bodies valid against the declared schemas,
  problem documents included (BMDX-API-003);
* ``negative_data_rejection``: a request outside the document is refused with a 4xx
  (BMDX-API-007, -008, -009, -014);
* ``ignored_auth``: on every success schemathesis replays the request without its
  signature and with forged signature fields, and must get 401 (BMDX-API-015).

The six operations that take a ``Transaction`` body share one body schema and its
coverage cases (about 4,300 each); those are sampled one in :data:`TRANSACTION_SAMPLE`
by a stable hash so the run stays within a few minutes.  Fuzzed cases are never
sampled.  A deeper run sets ``BMDX_SCHEMATHESIS_FULL=1`` (every coverage case),
``BMDX_SCHEMATHESIS_EXAMPLES`` (fuzzed cases per operation, default 15) and
``BMDX_SCHEMATHESIS_SEED``.

Generated cases rarely name an object that exists, so object-level authorisation is
tested with explicit cases of the same operations, sent and checked the same way: a
second participant tries every read and write on objects of a first one and its
patient, and must get the answer it gets for an object that does not exist.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import uuid
from collections import Counter, defaultdict
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import (
    content_type_conformance,
    ignored_auth,
    negative_data_rejection,
    not_a_server_error,
    response_schema_conformance,
    status_code_conformance,
)
from schemathesis.core.failures import FailureGroup
from schemathesis.generation import GenerationMode
from schemathesis.openapi.checks import IgnoredAuth

from bmdx.reference._internal import jwe
from bmdx.reference._internal.canonical import canonical_bytes
from bmdx.reference._internal.consent import consent_version_hash
from bmdx.reference._internal.keyhistory import make_key_revocation, make_key_rotation
from bmdx.reference._internal.keys import generate_key, import_private_jwk
from bmdx.reference._internal.ledger.genesis import Founder
from bmdx.reference._internal.ledger.state import format_timestamp
from bmdx.reference._internal.node import SignedClient
from bmdx.reference._internal.schema import schema_set
from bmdx.reference._internal.specdata import spec_dir
from tests.node.schemathesis_auth import LiveNode, SignatureAuth, live_node

CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
    negative_data_rejection,
    ignored_auth,
]

# A deeper run (nightly, or after changing the node's edge) sets these.
SEED = int(os.environ.get("BMDX_SCHEMATHESIS_SEED", "20260301"))
MAX_EXAMPLES = int(os.environ.get("BMDX_SCHEMATHESIS_EXAMPLES", "15"))
FULL = os.environ.get("BMDX_SCHEMATHESIS_FULL") == "1"
TRANSACTION_SAMPLE = 16

#: Operations that any well-formed signed case reaches with a 2xx.
ALWAYS_SUCCEED = {
    "GET /.well-known/bmdx",
    "GET /ledger/head",
    "GET /records",
    "GET /audit/events",
    "GET /alerts",
}

#: Responses of the run, by operation and status: the run must have reached every
#: operation, and signed requests must never have been refused for their signature.
STATUSES: defaultdict[str, Counter[int]] = defaultdict(Counter)


def _schema() -> schemathesis.schemas.BaseSchema:
    loaded = schemathesis.openapi.from_path(spec_dir() / "api" / "openapi.yaml")
    loaded.config.generation.update(
        modes=[GenerationMode.POSITIVE, GenerationMode.NEGATIVE],
        # The signature fields are the auth's to set; generated ones would be replaced.
        with_security_parameters=False,
    )
    loaded.config.phases.update(phases=["examples", "coverage", "fuzzing"])
    loaded.config.seed = SEED
    return loaded


schema = _schema()


@pytest.fixture(scope="module")
def node(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveNode]:
    with live_node(tmp_path_factory.mktemp("schemathesis")) as running:
        yield running


def role_for(definition: dict[str, Any]) -> str:
    """The dev participant an operation is sent as: one it serves, so successes happen."""
    if definition["operationId"] == "registerParticipants":
        return "governance"
    if "audit" in definition.get("tags", []):
        return "regulator"
    return "hospital"


def _takes_transactions(operation: schemathesis.schemas.APIOperation) -> bool:
    body = operation.definition.raw.get("requestBody", {}).get("content", {})
    refs = json.dumps(body)
    return "transaction.json" in refs


def _sampled_out(case: schemathesis.Case) -> bool:
    """Whether this coverage case of a Transaction operation is left out of the sample."""
    if FULL or case.meta is None or case.meta.phase.name.value != "coverage":
        return False
    if not _takes_transactions(case.operation):
        return False
    key = json.dumps(
        [case.method, case.formatted_path, case.query, case.headers, case.body],
        sort_keys=True,
        default=repr,
    )
    return int(hashlib.sha256(key.encode()).hexdigest(), 16) % TRANSACTION_SAMPLE != 0


@pytest.mark.slow
@pytest.mark.timeout(900)
@pytest.mark.requirement("BMDX-API-003")
@pytest.mark.requirement("BMDX-API-004")
@pytest.mark.requirement("BMDX-API-014")
@pytest.mark.requirement("BMDX-API-015")
@schema.parametrize()
@settings(
    max_examples=MAX_EXAMPLES,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[
        HealthCheck.too_slow,
        HealthCheck.filter_too_much,
        HealthCheck.data_too_large,
    ],
)
def test_interface_conforms(case: schemathesis.Case, node: LiveNode) -> None:
    if _sampled_out(case):
        return
    auth = node.auth(role_for(case.operation.definition.raw))
    response = case.call(base_url=node.url, auth=auth)
    STATUSES[case.operation.label][response.status_code] += 1
    case.validate_response(
        response, checks=CHECKS, transport_kwargs={"base_url": node.url, "auth": auth}
    )


@pytest.mark.slow
def test_the_run_reached_every_operation() -> None:
    """Each operation was sent cases, and successes happened (so ignored_auth replayed them)."""
    if not STATUSES:
        pytest.skip("runs after test_interface_conforms, in the same session")
    labels = {op.ok().label for op in schema.get_all_operations()}
    assert set(STATUSES) == labels
    # Every signature verified: a signed case is refused for its content, never with 401.
    refused = {label: c[401] for label, c in STATUSES.items() if c[401]}
    assert not refused, refused
    succeeded = sorted(label for label, c in STATUSES.items() if any(200 <= s < 300 for s in c))
    assert ALWAYS_SUCCEED.issubset(succeeded), succeeded
    total = sum(sum(c.values()) for c in STATUSES.values())
    print(f"schemathesis: {len(labels)} operations, {total} cases, successes on {succeeded}")


def test_ignored_auth_catches_an_operation_that_ignores_signatures(node: LiveNode) -> None:
    """The check is live: an operation declared signed that answers unsigned requests fails."""
    doctored = schemathesis.openapi.from_path(spec_dir() / "api" / "openapi.yaml")
    del doctored.raw_schema["paths"]["/.well-known/bmdx"]["get"]["security"]
    case = doctored["/.well-known/bmdx"]["GET"].Case()
    with pytest.raises(FailureGroup) as caught:
        case.call_and_validate(base_url=node.url, checks=[ignored_auth], auth=node.auth("hospital"))
    (failure,) = caught.value.exceptions
    assert isinstance(failure, IgnoredAuth)
    assert "without authentication" in failure.title


# -- object-level authorisation across participants ------------------------------------------

FHIR = b'{"resourceType":"Observation","status":"final","code":{"text":"glucose"}}'
UNKNOWN_ID = "urn:uuid:00000000-0000-4000-8000-00000000dead"


def _now() -> str:
    return format_timestamp(datetime.now(UTC))


def _member(node: LiveNode, role: str) -> Founder:
    entry = node.entry(role)
    return Founder(
        id=entry["id"], name=entry["id"], roles=[role], signing=import_private_jwk(entry["jwk"])
    )


def _client(node: LiveNode, role: str) -> SignedClient:
    member = _member(node, role)
    return SignedClient(node.url, member.id, member.signing)


def _public(key: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in key.items() if k != "objectType"}


@dataclass(frozen=True, slots=True)
class Owned:
    """Objects of the hospital and its patient that the laboratory must not reach."""

    record: str
    anchor: str
    subject: str
    consent: str
    consent_version: dict[str, Any]
    event: str
    hospital: Founder
    patient: Founder


def _transaction(
    client: SignedClient, member: Founder, tx_type: str, outputs: list[Any], inputs: list[Any]
) -> dict[str, Any]:
    sequence = client.get(f"/participants/{member.id}/sequence").json()["next"]
    return member.sign(
        {
            "objectType": "Transaction",
            "type": tx_type,
            "sender": member.id,
            "sequence": sequence,
            "timestamp": _now(),
            "inputs": inputs,
            "outputs": outputs,
        }
    )


def _publish(node: LiveNode) -> Owned:
    """The hospital publishes a record of a patient, who consents to hospitals treating."""
    hospital, patient = _member(node, "hospital"), _member(node, "patient")
    subject = "pseud:" + base64.urlsafe_b64encode(os.urandom(32)).decode().rstrip("=")
    with _client(node, "hospital") as client:
        capability = client.get("/.well-known/bmdx").json()
        custodian = next(k for k in capability["nodeKeys"] if k["use"] == "enc")
        own = client.get(f"/participants/{hospital.id}").json()
        mine = next(k for k in own["keys"] if k["use"] == "enc")
        salt = os.urandom(32)
        token = jwe.encrypt(FHIR, [_public(mine), _public(custodian)])
        stored = canonical_bytes(token)
        header = {
            "objectType": "RecordHeader",
            "recordId": f"urn:uuid:{uuid.uuid4()}",
            "recordType": "emr-document",
            "subject": subject,
            "author": hospital.id,
            "created": _now(),
            "contentType": "application/fhir+json",
            "contentVersion": "4.0.1",
            "sensitivity": "N",
            "commitment": "sha-256:"
            + hashlib.sha256(salt + hashlib.sha256(FHIR).digest()).hexdigest(),
            "payload": {
                "objectType": "PayloadDescriptor",
                "location": "sha-256:" + hashlib.sha256(stored).hexdigest(),
                "size": len(stored),
                "mediaType": "application/jose+json",
                "encryption": {"enc": "A256GCM", "keyAgreement": "ECDH-ES+A256KW"},
                "recipients": len(token["recipients"]),
            },
        }
        envelope = {
            "objectType": "RecordEnvelope",
            "header": hospital.sign(header),
            "payload": token,
            "salt": base64.urlsafe_b64encode(salt).decode().rstrip("="),
        }
    published = _send(node, node.auth("hospital"), "POST", "/records", {}, body=envelope)
    assert published.status_code == 201, published.text
    consent = patient.sign(
        {
            "objectType": "Consent",
            "consentId": f"urn:uuid:{uuid.uuid4()}",
            "version": 1,
            "subject": subject,
            "grantor": patient.id,
            "status": "active",
            "issued": _now(),
            "provision": {
                "type": "deny",
                "provisions": [
                    {"type": "permit", "actors": [{"role": "hospital"}], "purposes": ["treatment"]}
                ],
            },
            "separateConsent": False,
            "crossBorder": {"permitted": False},
        }
    )
    with _client(node, "patient") as client:
        tx = _transaction(client, patient, "consent.grant", [consent], [])
    granted = _send(node, node.auth("patient"), "POST", "/consents", {}, body=tx)
    assert granted.status_code == 202, granted.text
    with _client(node, "regulator") as client:
        events = client.get("/audit/events", params={"subject": subject}).json()["items"]
    (event,) = [e for e in events if e["action"] == "publish"]
    return Owned(
        header["recordId"],
        published.json()["txid"],
        subject,
        consent["consentId"],
        consent,
        event["eventId"],
        hospital,
        patient,
    )


def _send(
    node: LiveNode,
    auth: SignatureAuth,
    method: str,
    path: str,
    params: dict[str, str],
    query: dict[str, str] | None = None,
    body: Any = None,
) -> Any:
    """One request as a schemathesis case of its operation, checked like the run's cases."""
    kwargs: dict[str, Any] = {"path_parameters": params}
    if query is not None:
        kwargs["query"] = query
    if body is not None:
        kwargs["body"] = body
        kwargs["media_type"] = "application/json"
    case = schema[path][method].Case(**kwargs)
    response = case.call(base_url=node.url, auth=auth)
    case.validate_response(
        response, checks=CHECKS, transport_kwargs={"base_url": node.url, "auth": auth}
    )
    return response


def _refusal(response: Any) -> tuple[int, str, str]:
    body = response.json()
    return response.status_code, body["requirement"], body["reason"]


DENIED = (403, "BMDX-API-061", "access-denied")
NO_CONSENT = (404, "BMDX-API-014", "not-found")
NO_EVENT = (404, "BMDX-API-073", "not-found")
NOT_THE_PATIENT = (403, "BMDX-API-072", "not-the-patient")


@pytest.mark.requirement("BMDX-API-013")
@pytest.mark.requirement("BMDX-API-061")
@pytest.mark.requirement("BMDX-API-072")
@pytest.mark.requirement("BMDX-API-073")
@pytest.mark.requirement("BMDX-API-085")
def test_a_participant_cannot_reach_another_participants_objects(node: LiveNode) -> None:
    """The laboratory, signing as itself, tries every operation on the hospital's and its
    patient's objects: it is refused, with the very answer it gets for an object that does
    not exist, and nothing changes; the owners reach the same objects."""
    owned = _publish(node)
    lab = _member(node, "laboratory")
    as_lab = node.auth("laboratory")
    treatment = {"purpose": "treatment"}
    reads: list[tuple[str, str, str, str, dict[str, str] | None, tuple[int, str, str]]] = [
        ("GET", "/records/{recordId}", "recordId", owned.record, treatment, DENIED),
        ("DELETE", "/records/{recordId}", "recordId", owned.record, None, DENIED),
        ("GET", "/consents/{consentId}", "consentId", owned.consent, None, NO_CONSENT),
        ("GET", "/audit/events/{eventId}", "eventId", owned.event, None, NO_EVENT),
        ("GET", "/audit/events/{eventId}/fhir", "eventId", owned.event, None, NO_EVENT),
        ("GET", "/audit/events/{eventId}/atna", "eventId", owned.event, None, NO_EVENT),
    ]
    for method, path, name, value, query, expected in reads:
        refused = _send(node, as_lab, method, path, {name: value}, query)
        missing = _send(node, as_lab, method, path, {name: UNKNOWN_ID}, query)
        assert _refusal(refused) == expected, (path, refused.text)
        assert refused.json() == missing.json(), path
    history = "/subjects/{pseudonym}/access-history"
    refused = _send(node, as_lab, "GET", history, {"pseudonym": owned.subject})
    missing = _send(node, as_lab, "GET", history, {"pseudonym": "pseud:" + "A" * 43})
    assert _refusal(refused) == NOT_THE_PATIENT
    assert refused.json() == missing.json()

    access = {
        "objectType": "AccessRequest",
        "requestId": f"urn:uuid:{uuid.uuid4()}",
        "requester": lab.id,
        "subject": owned.subject,
        "records": [owned.record],
        "purpose": "treatment",
        "breakGlass": False,
        "requested": _now(),
    }
    path = "/records/{recordId}/access"
    refused = _send(node, as_lab, "POST", path, {"recordId": owned.record}, body=access)
    unknown = {**access, "records": [UNKNOWN_ID]}
    missing = _send(node, as_lab, "POST", path, {"recordId": UNKNOWN_ID}, body=unknown)
    assert _refusal(refused) == DENIED
    assert refused.json() == missing.json()

    query = {"purpose": "treatment", "subject": owned.subject}
    listed = _send(node, as_lab, "GET", "/records", {}, query)
    assert listed.status_code == 200
    assert listed.json()["items"] == []

    with _client(node, "laboratory") as client:
        live = client.get(f"/ledger/objects/{owned.consent}").json()["version"]
        hospital_version = client.get(f"/ledger/objects/{owned.hospital.id}").json()["version"]
        height = client.get("/ledger/head").json()["height"] + 1
        revoked = owned.patient.sign(
            {
                **owned.consent_version,
                "version": 2,
                "previous": consent_version_hash(owned.consent_version),
                "status": "revoked",
                "issued": _now(),
            }
        )
        revocation = _transaction(
            client, lab, "consent.revoke", [revoked], [{"objectId": owned.consent, "version": live}]
        )
        rotation = make_key_rotation(
            owned.hospital.id, lab.signing, generate_key("Ed25519").public, height
        )
        key_revocation = make_key_revocation(
            owned.hospital.id, owned.hospital.kid, height, "compromised", lab.signing
        )
        hospital_input = [{"objectId": owned.hospital.id, "version": hospital_version}]
        writes = [
            (
                "/consents/{consentId}/revocations",
                {"consentId": owned.consent},
                revocation,
                (403, "BMDX-API-013", "not-grantor"),
            ),
            (
                "/participants/{participantId}/keys/rotations",
                {"participantId": owned.hospital.id},
                _transaction(client, lab, "key.rotate", [rotation], hospital_input),
                (403, "BMDX-API-013", "not-owner"),
            ),
            (
                # Governance may revoke anyone's key; the ledger refuses anyone else.
                "/participants/{participantId}/keys/revocations",
                {"participantId": owned.hospital.id},
                _transaction(client, lab, "key.revoke", [key_revocation], hospital_input),
                (422, "BMDX-LED-017", "type-rule"),
            ),
        ]
        before = client.get(f"/participants/{lab.id}/sequence").json()
        for path, params, tx, expected in writes:
            answer = _send(node, as_lab, "POST", path, params, body=tx)
            assert _refusal(answer) == expected, answer.text
        assert client.get(f"/participants/{lab.id}/sequence").json() == before
        assert client.get(f"/ledger/objects/{owned.consent}").json()["version"] == live
        assert client.get(f"/ledger/objects/{owned.hospital.id}").json()["version"] == (
            hospital_version
        )

    # The owners reach what the laboratory could not, answered as the document declares.
    as_hospital, as_patient = node.auth("hospital"), node.auth("patient")
    read = _send(
        node, as_hospital, "GET", "/records/{recordId}", {"recordId": owned.record}, treatment
    )
    assert read.status_code == 200, read.text
    assert read.json()["header"]["recordId"] == owned.record
    consent = _send(node, as_patient, "GET", "/consents/{consentId}", {"consentId": owned.consent})
    assert consent.json() == owned.consent_version
    assert _send(node, as_patient, "GET", history, {"pseudonym": owned.subject}).status_code == 200
    for path in (
        "/audit/events/{eventId}",
        "/audit/events/{eventId}/fhir",
        "/audit/events/{eventId}/atna",
    ):
        answer = _send(node, as_patient, "GET", path, {"eventId": owned.event})
        assert answer.status_code == 200, (path, answer.text)
    anchor = _send(node, as_hospital, "GET", "/ledger/transactions/{txid}", {"txid": owned.anchor})
    assert anchor.json()["transaction"]["outputs"][0]["recordId"] == owned.record
    hospital = {"participantId": owned.hospital.id}
    keys = _send(node, as_hospital, "GET", "/participants/{participantId}", hospital).json()["keys"]
    assert owned.hospital.kid in {k["kid"] for k in keys}
    sequence = _send(node, as_hospital, "GET", "/participants/{participantId}/sequence", hospital)
    assert sequence.status_code == 200


# -- what the run found, pinned --------------------------------------------------------------


@pytest.mark.requirement("BMDX-API-003")
@pytest.mark.parametrize(
    ("sender", "quoted"),
    [
        pytest.param("urn:bmdx:participant:" + "x" * 5000, "x" * 4000, id="long"),
        pytest.param("urn:bmdx:participant:\uffff", "\N{REPLACEMENT CHARACTER}", id="non-xml"),
    ],
)
def test_a_violation_quoting_the_input_stays_within_the_error_schema(
    node: LiveNode, sender: str, quoted: str
) -> None:
    """Violation messages quote the offending value; the problem document keeps them to
    the ErrorResponse's free text (at most 4096 XML characters)."""
    tx = {
        "objectType": "Transaction",
        "type": "audit.append",
        "sender": sender,
        "sequence": 1,
        "timestamp": _now(),
        "inputs": [],
        "outputs": [],
    }
    answer = _send(node, node.auth("hospital"), "POST", "/ledger/transactions", {}, body=tx)
    body = answer.json()
    assert (answer.status_code, body["reason"]) == (422, "schema")
    schema_set().validate(body, "ErrorResponse")
    messages = [v["message"] for v in body["violations"]]
    assert any(quoted in m for m in messages), messages
    assert all(len(m) <= 4096 for m in messages)


@pytest.mark.requirement("BMDX-API-014")
@pytest.mark.parametrize(
    "bound",
    [
        pytest.param({"to": "2026-01-01T02:35:60Z"}, id="leap-second-not-at-midnight"),
        pytest.param({"from": "2026-02-30T00:00:00Z"}, id="no-such-day"),
    ],
)
def test_a_timestamp_parameter_outside_date_time_is_400(
    node: LiveNode, bound: dict[str, str]
) -> None:
    """The timestamp pattern admits these; the parameter's date-time format does not."""
    answer = _send(node, node.auth("regulator"), "GET", "/audit/events", {}, bound)
    assert _refusal(answer) == (400, "BMDX-API-014", "bad-parameter")


@pytest.mark.requirement("BMDX-API-004")
def test_year_zero_bounds_a_period(node: LiveNode) -> None:
    """RFC 3339 year 0000 lies before every recorded event, not in a server error."""
    as_regulator = node.auth("regulator")
    _send(node, as_regulator, "GET", "/audit/events", {})  # audited: the trail is not empty
    since = _send(node, as_regulator, "GET", "/audit/events", {}, {"from": "0000-01-01T00:00:00Z"})
    until = _send(node, as_regulator, "GET", "/audit/events", {}, {"to": "0000-12-31T23:59:60Z"})
    assert (since.status_code, until.status_code) == (200, 200)
    assert since.json()["items"]
    assert until.json()["items"] == []
