"""Records over HTTP: publish, retrieval under consent with key release, query, erasure."""

from __future__ import annotations

import base64
import copy
import hashlib
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from bmdx.reference._internal import jwe
from bmdx.reference._internal.keys import import_public_jwk
from bmdx.reference._internal.signing import verify_document
from tests.node.conftest import conforms, problem
from tests.node.exchange_world import World, make_world, pseudonym, treatment_permit

pytestmark = pytest.mark.anyio

ADA = pseudonym("ada")
BO = pseudonym("bo")
FHIR = b'{"resourceType":"Observation","status":"final","code":{"text":"glucose"}}'


@pytest.fixture
async def world(tmp_path: Path) -> AsyncIterator[World]:
    async for made in make_world(tmp_path):
        yield made


async def publish(world: World, envelope: dict[str, Any], author: str = "north-hospital") -> Any:
    return await world.client(author).post("/records", json=envelope)


async def grant(world: World, patient: str, subject: str, *provisions: dict[str, Any]) -> Any:
    consent = world.consent(patient, subject, list(provisions))
    tx = world.transaction(patient, "consent.grant", [consent])
    response = await world.client(patient).post("/consents", json=tx)
    assert response.status_code == 202, response.text
    return consent


async def ada_record_for_hospitals(world: World) -> dict[str, Any]:
    """A record of Ada's, published by north-hospital, that her consent opens to hospitals."""
    envelope = world.envelope("north-hospital", ADA, FHIR)
    await publish(world, envelope)
    await grant(world, "patient-ada", ADA, treatment_permit("hospital"))
    return envelope


def access_request(world: World, requester: str, subject: str, record: str) -> dict[str, Any]:
    """An AccessRequest for treatment by ``requester`` (a member name)."""
    return {
        "objectType": "AccessRequest",
        "requestId": world.new_id(),
        "requester": world.members[requester].id,
        "subject": subject,
        "records": [record],
        "purpose": "treatment",
        "breakGlass": False,
        "requested": world.now(),
    }


def audit_actions(world: World) -> list[tuple[str, str]]:
    events = [e for e, _ in world.exchange.refresh().events.values()]
    return [(e["action"], e["outcome"]) for e in events]


@pytest.mark.requirement("BMDX-API-050")
@pytest.mark.requirement("BMDX-API-051")
async def test_publish_stores_and_anchors_the_header(world: World) -> None:
    envelope = world.envelope("north-hospital", ADA, FHIR)
    response = await publish(world, envelope)
    body = conforms("publishRecord", response)
    assert response.status_code == 201
    assert body["location"] == envelope["header"]["payload"]["location"]
    assert response.headers["location"] == f"/records/{envelope['header']['recordId']}"
    world.commit()
    anchor = world.service.ledger.transaction(body["txid"])
    assert anchor is not None
    assert anchor["type"] == "record.anchor"
    assert anchor["outputs"] == [envelope["header"]]
    stored = world.exchange.payloads.get(body["location"])
    assert stored is not None
    assert stored.jwe.startswith(b"{")
    assert audit_actions(world) == [("publish", "success")]


@pytest.mark.requirement("BMDX-API-052")
async def test_a_header_with_plaintext_digest_is_not_anchored(world: World) -> None:
    envelope = world.envelope("north-hospital", ADA, FHIR)
    header = dict(envelope["header"])
    header.pop("signatures")
    header["plaintextDigest"] = jwe.plaintext_digest(FHIR)
    envelope["header"] = world.members["north-hospital"].sign(header)
    problem(await publish(world, envelope), 422, "BMDX-API-052", "plaintext-digest")
    assert world.service.ledger.pending == ()


@pytest.mark.parametrize(
    ("damage", "status", "requirement", "reason"),
    [
        ("ciphertext", 422, "BMDX-DM-111", "location-mismatch"),
        ("commitment", 422, "BMDX-DM-190", "bad-signature"),
        ("salt", 422, "BMDX-DM-102", "commitment-mismatch"),
        ("no-salt", 422, "BMDX-API-053", "salt-missing"),
        ("author", 403, "BMDX-API-013", "author-mismatch"),
    ],
)
@pytest.mark.requirement("BMDX-API-050")
@pytest.mark.requirement("BMDX-API-053")
async def test_tampered_envelopes_are_refused(
    world: World, damage: str, status: int, requirement: str, reason: str
) -> None:
    envelope = world.envelope("north-hospital", ADA, FHIR)
    if damage == "ciphertext":
        text = envelope["payload"]["ciphertext"]
        envelope["payload"]["ciphertext"] = ("B" if text[0] == "A" else "A") + text[1:]
    elif damage == "commitment":
        envelope["header"]["commitment"] = "sha-256:" + "0" * 64
    elif damage == "salt":
        envelope["salt"] = base64.urlsafe_b64encode(bytes(32)).decode().rstrip("=")
    elif damage == "no-salt":
        del envelope["salt"]
    author = "south-hospital" if damage == "author" else "north-hospital"
    problem(await publish(world, envelope, author), status, requirement, reason)
    assert world.service.ledger.pending == ()
    assert world.exchange.payloads.get(envelope["header"]["payload"]["location"]) is None


@pytest.mark.requirement("BMDX-API-054")
async def test_a_payload_not_encrypted_to_the_node_is_refused(world: World) -> None:
    member = world.members["north-hospital"]
    assert member.encryption is not None
    envelope = world.envelope("north-hospital", ADA, FHIR)
    token = jwe.encrypt(FHIR, [member.encryption.public.to_jwk()])
    data = jwe_bytes(token)
    header = {k: v for k, v in envelope["header"].items() if k != "signatures"}
    header["payload"] = dict(header["payload"], location=sha(data), size=len(data), recipients=1)
    envelope.update(header=member.sign(header), payload=token)
    problem(await publish(world, envelope), 422, "BMDX-API-054", "custodian-not-recipient")


@pytest.mark.requirement("BMDX-API-055")
async def test_a_record_is_published_once(world: World) -> None:
    envelope = world.envelope("north-hospital", ADA, FHIR)
    assert (await publish(world, envelope)).status_code == 201
    problem(await publish(world, copy.deepcopy(envelope)), 409, "BMDX-API-055", "duplicate-record")


@pytest.mark.requirement("BMDX-API-060")
async def test_a_permitted_read_releases_the_key_to_the_requester_alone(world: World) -> None:
    envelope = await ada_record_for_hospitals(world)
    rid = envelope["header"]["recordId"]
    response = await world.client("south-hospital").get(
        f"/records/{rid}", params={"purpose": "treatment"}
    )
    released = conforms("getRecord", response)
    reader = world.members["south-hospital"]
    assert reader.encryption is not None
    assert [r["header"]["kid"] for r in released["payload"]["recipients"]] == [
        reader.encryption.kid
    ]
    for member in ("iv", "ciphertext", "tag", "protected"):
        assert released["payload"][member] == envelope["payload"][member]
    plaintext = jwe.decrypt(released["payload"], _private(reader.encryption))
    assert plaintext == FHIR
    salt = base64.urlsafe_b64decode(released["salt"] + "=")
    assert sha(salt + hashlib.sha256(plaintext).digest()) == released["header"]["commitment"]
    assert "plaintextDigest" not in released["header"]
    assert audit_actions(world)[-1] == ("read", "success")


@pytest.mark.requirement("BMDX-API-060")
@pytest.mark.requirement("BMDX-SEC-115")
async def test_every_release_wraps_the_content_key_afresh(world: World) -> None:
    envelope = await ada_record_for_hospitals(world)
    rid = envelope["header"]["recordId"]
    location = envelope["header"]["payload"]["location"]
    assert location not in world.exchange._content_keys
    reader = world.members["south-hospital"]
    assert reader.encryption is not None
    wraps = []
    for _ in range(3):
        response = await world.client("south-hospital").get(
            f"/records/{rid}", params={"purpose": "treatment"}
        )
        released = conforms("getRecord", response)
        assert jwe.decrypt(released["payload"], _private(reader.encryption)) == FHIR
        [entry] = released["payload"]["recipients"]
        wraps.append((entry["header"]["epk"]["x"], entry["encrypted_key"]))
    # The node unwrapped the content key once and kept it; each release still has an
    # ephemeral key of its own, so no two wraps are alike.
    assert location in world.exchange._content_keys
    assert len(set(wraps)) == 3
    assert audit_actions(world)[-3:] == [("read", "success")] * 3


@pytest.mark.requirement("BMDX-API-080")
async def test_an_erasure_during_an_unwrap_leaves_no_key_cached(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    envelope = await ada_record_for_hospitals(world)
    location = envelope["header"]["payload"]["location"]
    unwrap = jwe.open_content_key

    def erased_meanwhile(token: Any, key: Any) -> bytes:
        cek = unwrap(token, key)
        world.exchange._forget_payload(location)  # the erasure lands mid-read
        return cek

    monkeypatch.setattr(jwe, "open_content_key", erased_meanwhile)
    response = await world.client("south-hospital").get(
        f"/records/{envelope['header']['recordId']}", params={"purpose": "treatment"}
    )
    assert response.status_code == 200  # the read began before the payload went
    assert location not in world.exchange._content_keys
    assert world.exchange.payloads.get(location) is None


@pytest.mark.requirement("BMDX-API-061")
async def test_refusals_do_not_tell_whether_the_record_exists(world: World) -> None:
    envelope = world.envelope("north-hospital", ADA, FHIR)
    await publish(world, envelope)
    bo_record = world.envelope("north-hospital", BO, FHIR)
    await publish(world, bo_record)
    await grant(world, "patient-bo", BO, treatment_permit("hospital"))
    reader = world.client("south-hospital")
    no_consent = await reader.get(
        f"/records/{envelope['header']['recordId']}", params={"purpose": "treatment"}
    )
    missing = await reader.get(f"/records/{world.new_id()}", params={"purpose": "treatment"})
    request = access_request(world, "south-hospital", ADA, bo_record["header"]["recordId"])
    other_patient = await reader.post(
        f"/records/{bo_record['header']['recordId']}/access", json=request
    )
    bodies = [
        problem(r, 403, "BMDX-API-061", "access-denied")
        for r in (no_consent, missing, other_patient)
    ]
    assert bodies[0] == bodies[1] == bodies[2]
    assert audit_actions(world)[-3:] == [("denial", "denied")] * 3


@pytest.mark.requirement("BMDX-AUD-043")
@pytest.mark.requirement("BMDX-AUD-003")
async def test_a_refusal_before_any_decision_names_no_patient(world: World) -> None:
    envelope = await ada_record_for_hospitals(world)
    rid = envelope["header"]["recordId"]
    reader = world.client("south-hospital")
    request = access_request(world, "south-hospital", BO, rid)
    problem(
        await reader.post(f"/records/{rid}/access", json=request),
        403,
        "BMDX-API-061",
        "access-denied",
    )
    missing = world.new_id()
    problem(
        await reader.get(f"/records/{missing}", params={"purpose": "treatment"}),
        403,
        "BMDX-API-061",
        "access-denied",
    )
    decided = await world.client("patient-bo").get(
        f"/records/{rid}", params={"purpose": "treatment"}
    )
    problem(decided, 403, "BMDX-API-061", "access-denied")
    wrong_subject, unknown, refused = _events(world)[-3:]
    for event, record in ((wrong_subject, rid), (unknown, missing)):
        assert (event["action"], event["outcome"], event["record"]) == ("denial", "denied", record)
        assert event["purpose"] == "treatment"
        assert "subject" not in event
        assert "decision" not in event
    # Refused by ADA's consent: a decision governed it, and the event names her.
    assert (refused["subject"], refused["record"]) == (ADA, rid)
    assert "decision" in refused


@pytest.mark.requirement("BMDX-AUD-009")
async def test_a_consent_change_cites_the_version_it_publishes(world: World) -> None:
    first = await grant(world, "patient-ada", ADA, treatment_permit("hospital"))
    [event] = [e for e in _events(world) if e["action"] == "consent-change"]
    assert event["policyHash"] == sha_doc(first)
    assert (event["subject"], event["outcome"]) == (ADA, "success")
    assert "decision" not in event


def _events(world: World) -> list[dict[str, Any]]:
    return [e for e, _ in world.exchange.refresh().events.values()]


@pytest.mark.requirement("BMDX-API-062")
async def test_revocation_takes_effect_before_its_block_is_committed(world: World) -> None:
    envelope = world.envelope("north-hospital", ADA, FHIR)
    await publish(world, envelope)
    consent = await grant(world, "patient-ada", ADA, treatment_permit("hospital"))
    world.commit()
    path = f"/records/{envelope['header']['recordId']}"
    reader = world.client("south-hospital")
    assert (await reader.get(path, params={"purpose": "treatment"})).status_code == 200
    world.clock.advance(1)
    revoked = world.consent(
        "patient-ada",
        ADA,
        [treatment_permit("hospital")],
        version=2,
        consent_id=consent["consentId"],
        previous=consent,
        status="revoked",
    )
    tx = world.transaction(
        "patient-ada",
        "consent.revoke",
        [revoked],
        inputs=[{"objectId": consent["consentId"], "version": sha_doc(consent)}],
    )
    response = await world.client("patient-ada").post(
        f"/consents/{consent['consentId']}/revocations", json=tx
    )
    assert response.status_code == 202, response.text
    problem(
        await reader.get(path, params={"purpose": "treatment"}),
        403,
        "BMDX-API-061",
        "access-denied",
    )
    assert world.service.ledger.store.transaction_by_id(response.json()["txid"]) is None


@pytest.mark.requirement("BMDX-API-065")
async def test_a_query_returns_only_permitted_headers_and_is_audited_once(world: World) -> None:
    ada_record = world.envelope("north-hospital", ADA, FHIR)
    bo_record = world.envelope("north-hospital", BO, FHIR, record_type="lab-result")
    await publish(world, ada_record)
    await publish(world, bo_record)
    await grant(world, "patient-ada", ADA, treatment_permit("hospital"))
    before = len(audit_actions(world))
    response = await world.client("south-hospital").get("/records", params={"purpose": "treatment"})
    page = conforms("queryRecords", response)
    assert [h["recordId"] for h in page["items"]] == [ada_record["header"]["recordId"]]
    assert audit_actions(world)[before:] == [("query", "success")]


@pytest.mark.requirement("BMDX-API-071")
async def test_a_replayed_request_is_refused_and_not_audited(world: World) -> None:
    envelope = await ada_record_for_hospitals(world)
    client = world.client("south-hospital")
    request = client.build(
        "GET", f"/records/{envelope['header']['recordId']}", params={"purpose": "treatment"}
    )
    assert (await client.send(request)).status_code == 200
    before = len(audit_actions(world))
    replay = await client.send(request)
    problem(replay, 401, "BMDX-SEC-206", "replayed-nonce")
    assert len(audit_actions(world)) == before


@pytest.mark.requirement("BMDX-API-080")
@pytest.mark.requirement("BMDX-API-081")
async def test_erasure_shreds_the_payload_and_later_reads_are_gone(world: World) -> None:
    envelope = await ada_record_for_hospitals(world)
    world.commit()
    rid = envelope["header"]["recordId"]
    location = envelope["header"]["payload"]["location"]
    read = await world.client("south-hospital").get(
        f"/records/{rid}", params={"purpose": "treatment"}
    )
    assert read.status_code == 200
    assert location in world.exchange._content_keys
    response = await world.client("patient-ada").delete(f"/records/{rid}")
    receipt = conforms("eraseRecord", response)
    node_key = world.service.identity.signing.public
    verify_document(receipt, {node_key.kid: node_key}, signers=[node_key.kid])
    assert receipt["commitment"] == envelope["header"]["commitment"]
    assert (receipt["wrapsDestroyed"], receipt["ciphertextDestroyed"]) == (2, True)
    assert world.exchange.payloads.get(location) is None
    assert location not in world.exchange._content_keys  # no copy of the key is left
    world.commit()
    gone = problem(
        await world.client("south-hospital").get(
            f"/records/{rid}", params={"purpose": "treatment"}
        ),
        410,
        "BMDX-API-081",
        "erased",
    )
    erase_tx = world.exchange.erasure_of(rid)
    assert erase_tx is not None
    assert erase_tx[1] in gone["detail"]
    anchor = world.exchange.refresh().records[rid].txid
    proof = world.service.ledger.inclusion_proof(anchor)
    assert proof["treeSize"] == world.service.head().tree_size


def sha(data: bytes) -> str:
    return "sha-256:" + hashlib.sha256(data).hexdigest()


def sha_doc(doc: dict[str, Any]) -> str:
    from bmdx.reference._internal.canonical import canonical_bytes  # noqa: PLC0415

    return sha(canonical_bytes(doc))


def jwe_bytes(token: dict[str, Any]) -> bytes:
    from bmdx.reference._internal.canonical import canonical_bytes  # noqa: PLC0415

    return canonical_bytes(token)


def _private(key: Any) -> Any:
    from jwcrypto.jwk import JWK  # noqa: PLC0415

    assert import_public_jwk(key.public.to_jwk()).kid == key.kid
    return JWK.from_pyca(key.key)
