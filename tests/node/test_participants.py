"""Participants and keys: registration by governance, rotation, revocation."""

from __future__ import annotations

from typing import Any

import pytest

from bmdx.reference._internal.keyhistory import make_key_revocation, make_key_rotation
from bmdx.reference._internal.ledger.genesis import Founder
from bmdx.reference._internal.ledger.state import format_timestamp
from bmdx.reference._internal.node import DevNode
from tests.node.conftest import Signed, conforms, problem
from tests.node.kit import audit_tx, snapshot

pytestmark = pytest.mark.anyio


def _tx(node: DevNode, sender: Founder, tx_type: str, outputs: list[Any], **kw: Any) -> Any:
    return node.network.transaction(
        sender,
        tx_type,
        outputs,
        sequence=node.service.sequence(sender.id)[1],
        timestamp=format_timestamp(node.service.now()),
        **kw,
    )


async def _live(signed: Signed, object_id: str) -> list[dict[str, str]]:
    response = await signed("dev-hospital").get(f"/ledger/objects/{object_id}")
    state = conforms("getLedgerObject", response)
    return [{"objectId": object_id, "version": state["version"]}]


def _next_height(node: DevNode) -> int:
    return node.service.head().height + 1


@pytest.mark.requirement("BMDX-API-020")
async def test_governance_transaction_registers_a_participant(
    node: DevNode, signed: Signed
) -> None:
    clinic = node.network.member("north-clinic", ["hospital"])
    tx = _tx(
        node,
        node.network.platform,
        "participant.register",
        [clinic.document(_next_height(node))],
        signers=node.network.governance,
    )
    before = await signed("dev-hospital").get(f"/participants/{clinic.id}")
    problem(before, 404, "BMDX-API-014", "unknown-participant")
    response = await signed("platform").post("/participants", json=tx)
    receipt = conforms("registerParticipants", response)
    assert response.status_code == 202
    assert response.headers["location"] == f"/ledger/transactions/{receipt['txid']}"
    assert (receipt["sender"], receipt["status"]) == (node.network.platform.id, "pending")
    problem(
        await signed(clinic.id, clinic.signing).get("/ledger/head"),
        401,
        "BMDX-SEC-207",
        "unknown-key",
    )
    node.service.commit_now()
    assert (await signed(clinic.id, clinic.signing).get("/ledger/head")).status_code == 200
    registered = conforms(
        "getParticipant", await signed("dev-hospital").get(f"/participants/{clinic.id}")
    )
    assert registered == clinic.document(receipt["height"])


@pytest.mark.requirement("BMDX-API-020")
async def test_dev_node_registers_a_bare_participant_for_governance(
    node: DevNode, signed: Signed
) -> None:
    nurse = node.network.member("night-nurse-station", ["hospital"])
    response = await signed("platform").post("/participants", json=nurse.document(0))
    receipt = conforms("registerParticipants", response)
    assert response.status_code == 202
    node.service.commit_now()
    stored = node.service.transaction(receipt["txid"])
    assert stored.committed
    assert stored.document["outputs"] == [nurse.document(receipt["height"])]
    assert len(stored.document["signatures"]) == 1 + node.network.threshold


@pytest.mark.requirement("BMDX-API-020")
async def test_only_governance_registers_bare_participants(node: DevNode, signed: Signed) -> None:
    before = snapshot(node)
    rogue = node.network.member("rogue", ["hospital"])
    response = await signed("dev-hospital").post("/participants", json=rogue.document(0))
    problem(response, 403, "BMDX-API-020", "not-governance")
    assert snapshot(node) == before


@pytest.mark.requirement("BMDX-API-021")
@pytest.mark.requirement("BMDX-LED-017")
async def test_registration_without_governance_signatures_is_422(
    node: DevNode, signed: Signed
) -> None:
    clinic = node.network.member("south-clinic", ["hospital"])
    tx = _tx(
        node, node.network.platform, "participant.register", [clinic.document(_next_height(node))]
    )
    before = snapshot(node)
    response = await signed("platform").post("/participants", json=tx)
    body = problem(response, 422, "BMDX-LED-017", "type-rule")
    assert body["title"] == "LedgerError"
    assert snapshot(node) == before


@pytest.mark.requirement("BMDX-API-021")
async def test_wrong_transaction_type_is_422(node: DevNode, signed: Signed) -> None:
    tx = audit_tx(node, node.network.platform, node.service.sequence(node.network.platform.id)[1])
    response = await signed("platform").post("/participants", json=tx)
    problem(response, 422, "BMDX-API-021", "wrong-transaction-type")


@pytest.mark.requirement("BMDX-API-021")
async def test_replayed_transaction_is_409(node: DevNode, signed: Signed) -> None:
    hospital = node.members["dev-hospital"]
    tx = audit_tx(node, hospital, 1)
    assert (await signed("dev-hospital").post("/ledger/transactions", json=tx)).status_code == 202
    node.service.commit_now()
    again = audit_tx(node, hospital, 1)
    response = await signed("dev-hospital").post("/ledger/transactions", json=again)
    problem(response, 409, "BMDX-LED-015", "replay")


@pytest.mark.requirement("BMDX-API-023")
async def test_sequence_counts_pooled_transactions(node: DevNode, signed: Signed) -> None:
    hospital = node.members["dev-hospital"]
    path = f"/participants/{hospital.id}/sequence"
    assert conforms("getParticipantSequence", await signed("dev-hospital").get(path)) == {
        "participant": hospital.id,
        "next": 1,
    }
    await signed("dev-hospital").post("/ledger/transactions", json=audit_tx(node, hospital, 1))
    assert (await signed("dev-hospital").get(path)).json() == {
        "participant": hospital.id,
        "next": 2,
    }
    node.service.commit_now()
    assert (await signed("dev-hospital").get(path)).json() == {
        "participant": hospital.id,
        "lastCommitted": 1,
        "next": 2,
    }


@pytest.mark.requirement("BMDX-API-024")
@pytest.mark.requirement("BMDX-API-022")
async def test_rotation_retires_the_old_key(node: DevNode, signed: Signed) -> None:
    hospital = node.members["dev-hospital"]
    new = node.network.new_key("dev-hospital", 2)
    rotation = make_key_rotation(hospital.id, hospital.signing, new.public, _next_height(node))
    inputs = await _live(signed, hospital.id)
    tx = _tx(node, hospital, "key.rotate", [rotation], inputs=inputs)
    response = await signed("dev-hospital").post(
        f"/participants/{hospital.id}/keys/rotations", json=tx
    )
    assert conforms("rotateKey", response)["status"] == "pending"
    assert (await signed("dev-hospital").get("/ledger/head")).status_code == 200
    node.service.commit_now()
    problem(await signed("dev-hospital").get("/ledger/head"), 401, "BMDX-SEC-207", "revoked-key")
    with_new = signed(hospital.id, new)
    current = conforms("getParticipant", await with_new.get(f"/participants/{hospital.id}"))
    kids = {k["kid"] for k in current["keys"]}
    assert new.kid in kids
    assert hospital.kid not in kids


@pytest.mark.requirement("BMDX-API-013")
async def test_rotating_another_participants_key_is_403(node: DevNode, signed: Signed) -> None:
    hospital, lab = node.members["dev-hospital"], node.members["dev-laboratory"]
    new = node.network.new_key("dev-hospital", 2)
    rotation = make_key_rotation(hospital.id, hospital.signing, new.public, _next_height(node))
    tx = _tx(node, hospital, "key.rotate", [rotation])
    before = snapshot(node)
    response = await signed("dev-hospital").post(f"/participants/{lab.id}/keys/rotations", json=tx)
    problem(response, 403, "BMDX-API-013", "not-owner")
    assert snapshot(node) == before


@pytest.mark.requirement("BMDX-API-013")
async def test_rotation_naming_another_participant_than_the_path_is_422(
    node: DevNode, signed: Signed
) -> None:
    lab = node.members["dev-laboratory"]
    hospital = node.members["dev-hospital"]
    new = node.network.new_key("dev-laboratory", 2)
    rotation = make_key_rotation(hospital.id, lab.signing, new.public, _next_height(node))
    tx = _tx(node, lab, "key.rotate", [rotation])
    response = await signed("dev-laboratory").post(
        f"/participants/{lab.id}/keys/rotations", json=tx
    )
    problem(response, 422, "BMDX-API-013", "path-mismatch")


@pytest.mark.requirement("BMDX-API-025")
async def test_revoked_key_gets_401(node: DevNode, signed: Signed) -> None:
    lab = node.members["dev-laboratory"]
    revocation = make_key_revocation(
        lab.id, lab.kid, _next_height(node), "compromised", lab.signing
    )
    tx = _tx(node, lab, "key.revoke", [revocation], inputs=await _live(signed, lab.id))
    response = await signed("dev-laboratory").post(
        f"/participants/{lab.id}/keys/revocations", json=tx
    )
    assert conforms("revokeKey", response)["status"] == "pending"
    node.service.commit_now()
    before = snapshot(node)
    problem(await signed("dev-laboratory").get("/ledger/head"), 401, "BMDX-SEC-207", "revoked-key")
    assert snapshot(node) == before
    remaining = conforms(
        "getParticipant", await signed("dev-hospital").get(f"/participants/{lab.id}")
    )
    assert lab.encryption is not None
    assert [k["kid"] for k in remaining["keys"]] == [lab.encryption.kid]


@pytest.mark.requirement("BMDX-API-021")
async def test_revoking_another_participants_key_needs_governance(
    node: DevNode, signed: Signed
) -> None:
    hospital, lab = node.members["dev-hospital"], node.members["dev-laboratory"]
    revocation = make_key_revocation(
        lab.id, lab.kid, _next_height(node), "compromised", hospital.signing
    )
    tx = _tx(node, hospital, "key.revoke", [revocation])
    response = await signed("dev-hospital").post(
        f"/participants/{lab.id}/keys/revocations", json=tx
    )
    problem(response, 422, "BMDX-LED-017", "type-rule")


@pytest.mark.requirement("BMDX-API-014")
async def test_unknown_and_malformed_participant(node: DevNode, signed: Signed) -> None:
    client = signed("dev-hospital")
    problem(
        await client.get("/participants/urn:bmdx:participant:nobody"),
        404,
        "BMDX-API-014",
        "unknown-participant",
    )
    problem(await client.get("/participants/nobody"), 400, "BMDX-API-014", "bad-parameter")
