"""Participants, keys and the ledger over HTTP (BMDX-API-013, -014, -020 to -038)."""

from __future__ import annotations

import base64
from typing import Any

import pytest

from bmdx.conformance._internal.http_client import (
    NodeClient,
    canonical,
    digest,
    new_keys,
    register_participant,
    txid,
)
from bmdx.conformance._internal.verifiers.merkle import (
    leaf_hash,
    verify_consistency,
    verify_inclusion,
)
from bmdx.conformance._internal.verifiers.objects import violations
from bmdx.conformance.suite.exchange_api._common import by_role, grant, patient, problem


def _raw(value: str) -> bytes:
    return bytes.fromhex(value.removeprefix("sha-256:"))


def _committed_grant(writer: NodeClient) -> tuple[dict[str, Any], dict[str, Any]]:
    tx, consent = grant(writer)
    response = writer.post("/consents", json_body=tx)
    assert response.status_code == 202, response.text[:300]
    return writer.wait_committed(txid(tx)), consent


@pytest.mark.requirement("BMDX-API-013:792cf27b6c1f35a4")
def test_sender_must_be_the_signer(participants: tuple[NodeClient, ...]) -> None:
    """A node MUST answer with 403 a request that submits a transaction whose sender is
    not the participant owning the key that signed the request, or that acts through a
    path on an object of another participant it may not act for."""
    owner = patient(participants)
    intruder = by_role(participants, "hospital")
    owner.wait_committed_pool()
    before = owner.state([intruder.id])
    tx, consent = grant(owner)
    problem(intruder, intruder.post("/consents", json_body=tx), 403)
    assert owner.live_version(consent["consentId"]) is None
    assert owner.state([intruder.id]) == before


@pytest.mark.requirement("BMDX-API-014:73f9a74c83c1c9ba")
@pytest.mark.parametrize(
    ("path", "status"),
    [
        ("/participants/urn:bmdx:participant:conformance-missing", 404),
        ("/ledger/transactions/sha-256:" + "0" * 64, 404),
        ("/ledger/blocks/9007199254740991", 404),
        ("/ledger/checkpoints/9007199254740991", 404),
        ("/ledger/validator-sets/9007199254740991", 404),
        ("/ledger/objects/urn:uuid:00000000-0000-4000-8000-000000000000", 404),
        ("/participants/not-a-participant-id", 400),
        ("/ledger/blocks/-1", 400),
        ("/ledger/transactions/md5:abc", 400),
        ("/ledger/proofs/consistency?first=zero", 400),
    ],
)
def test_missing_and_malformed(node: NodeClient, path: str, status: int) -> None:
    """A node MUST answer with 404 a signed request for a participant, transaction, block,
    checkpoint, validator set or other resource that does not exist, and with 400 a path
    or query parameter outside its schema."""
    problem(node, node.get(path), status)


@pytest.mark.requirement("BMDX-API-020:08250033cab40cf9")
def test_registered_participant_can_sign(governance: NodeClient) -> None:
    """A node MUST answer a POST /participants carrying a valid participant.register
    transaction signed by the governance threshold of the validator set in force with
    202, and the participants it registers MUST be able to sign requests once the block
    holding it is committed."""
    member, _ = register_participant(governance, ["laboratory"])
    client = governance.as_participant(member)
    assert client.get(f"/participants/{member.id}/sequence").status_code == 200
    assert client.read(f"/participants/{member.id}")["roles"] == ["laboratory"]


@pytest.mark.requirement("BMDX-API-021:141dc7587a10d6e4")
@pytest.mark.parametrize("case", ["replay", "sequence-gap", "wrong-type"])
def test_state_machine_refusals(participants: tuple[NodeClient, ...], case: str) -> None:
    """A node MUST refuse a transaction submitted to any operation that the state machine
    of spec/conventions/ledger.md rejects, with 409 for the reasons replay, sequence-gap
    and spent-input and 422 for every other reason, naming the requirement and reason of
    the state machine, and MUST answer with 422 a transaction whose type the operation
    does not accept."""
    writer = patient(participants)
    if case == "replay":
        status, _ = _committed_grant(writer)
        tx, consent = grant(writer)
        tx = writer.signed_transaction(
            "consent.grant", [consent], sequence=status["transaction"]["sequence"]
        )
        expected, reason = 409, "replay"
    elif case == "sequence-gap":
        tx, consent = grant(writer)
        tx = writer.signed_transaction(
            "consent.grant", [consent], sequence=writer.next_sequence() + 3
        )
        expected, reason = 409, "sequence-gap"
    else:
        tx, consent = grant(writer)
        tx = writer.signed_transaction("consent.revoke", [consent])
        expected, reason = 422, None
    writer.wait_committed_pool()
    before = writer.state()
    path = "/ledger/objects/" if case == "wrong-type" else "/consents"
    path = "/participants" if case == "wrong-type" else path
    document = problem(
        writer, writer.post(path, json_body=tx), expected if case != "wrong-type" else 422
    )
    if reason is not None:
        assert document["requirement"] == "BMDX-LED-015", document
        assert document["reason"] == reason, document
    assert writer.state() == before


@pytest.mark.requirement("BMDX-API-022:71d99a23351e77ee")
@pytest.mark.requirement("BMDX-API-025:82bd7f94a4477bd5")
def test_revocation(governance: NodeClient) -> None:
    """Once a key.revoke transaction is committed and its effective height reached, a node
    MUST answer requests signed with the revoked key with 401 reason revoked-key; GET
    /participants/{participantId} MUST then leave the key out."""
    member, keys = register_participant(governance, ["hospital"], signing_keys=2)
    first = governance.as_participant(member)
    listed = {k["kid"] for k in first.read(f"/participants/{member.id}")["keys"]}
    assert keys[1]["kid"] in listed
    first.revoke_key(keys[1]["kid"])
    listed = {k["kid"] for k in first.read(f"/participants/{member.id}")["keys"]}
    assert keys[1]["kid"] not in listed, "a revoked key is still listed [BMDX-API-022]"
    assert keys[0]["kid"] in listed
    revoked = first.with_key(keys[1])
    document = problem(revoked, revoked.get("/ledger/head"), 401)
    assert document["reason"] == "revoked-key", document


@pytest.mark.requirement("BMDX-API-024:fe1109598afa8306")
def test_rotation(governance: NodeClient) -> None:
    """Once a key.rotate transaction is committed and its effective height reached, a
    node MUST answer requests signed with the rotated-out key with 401 reason
    revoked-key and accept requests signed with the new key."""
    member, _ = register_participant(governance, ["hospital"])
    old = governance.as_participant(member)
    new_key, _ = new_keys()
    old.rotate_key(new_key)
    document = problem(old, old.get("/ledger/head"), 401)
    assert document["reason"] == "revoked-key", document
    assert old.with_key(new_key).get("/ledger/head").status_code == 200


@pytest.mark.requirement("BMDX-API-023:cdd8e30f8b3520f6")
def test_sequence_counts_pool(participants: tuple[NodeClient, ...]) -> None:
    """GET /participants/{participantId}/sequence MUST answer the sequence number that
    the participant's next transaction must carry, counting the participant's
    transactions already accepted into the pool."""
    writer = patient(participants)
    first = writer.next_sequence()
    tx, _ = grant(writer)
    assert tx["sequence"] == first
    assert writer.post("/consents", json_body=tx).status_code == 202
    assert writer.next_sequence() == first + 1
    writer.wait_committed(txid(tx))
    assert writer.next_sequence() == first + 1


@pytest.mark.requirement("BMDX-API-030:cc5f0f539f727b39")
@pytest.mark.requirement("BMDX-API-033:0bcce840efffa513")
def test_head_and_block(node: NodeClient) -> None:
    """GET /ledger/head MUST answer the height, header hash, timestamp, tree size and tree
    root of the node's latest committed block, equal to those of GET
    /ledger/blocks/{height}; the block MUST be a valid Block and 404 answers a height
    above the latest committed block."""
    head = node.head()
    block = node.read(f"/ledger/blocks/{head['height']}")
    assert violations(block, "Block") == []
    header = block["header"]
    assert digest(header) == head["blockHash"]
    assert (header["height"], header["treeSize"], header["treeRoot"]) == (
        head["height"],
        head["treeSize"],
        head["treeRoot"],
    )
    assert header["timestamp"] == head["timestamp"]
    assert node.get(f"/ledger/blocks/{head['height'] + 1000}").status_code == 404


@pytest.mark.requirement("BMDX-API-031:b942bfd733694adc")
@pytest.mark.requirement("BMDX-API-032:5c90cca475c27094")
def test_receipt_and_status(participants: tuple[NodeClient, ...]) -> None:
    """A node MUST answer a valid transaction with 202 and a receipt whose txid is the
    transaction id; GET /ledger/transactions/{txid} MUST answer it pending, then
    committed with its height and leaf index."""
    writer = patient(participants)
    tx, _ = grant(writer)
    response = writer.post("/consents", json_body=tx)
    assert response.status_code == 202
    receipt = writer.json(response)
    assert receipt["txid"] == txid(tx)
    assert receipt["sender"] == writer.id
    assert receipt["sequence"] == tx["sequence"]
    status = writer.wait_committed(txid(tx))
    assert status["transaction"] == tx
    assert isinstance(status["height"], int)
    assert isinstance(status["leafIndex"], int)


@pytest.mark.requirement("BMDX-API-034:050701c3e699bab3")
def test_checkpoint(node: NodeClient) -> None:
    """GET /ledger/checkpoints/{height} MUST answer the Checkpoint of the block at that
    height, and with Accept text/plain its C2SP tlog-checkpoint signed note, whose tree
    size and root equal the block header's."""
    head = node.head()
    checkpoint = node.read(f"/ledger/checkpoints/{head['height']}")
    assert violations(checkpoint, "Checkpoint") == []
    assert (checkpoint["treeSize"], checkpoint["rootHash"]) == (head["treeSize"], head["treeRoot"])
    note = node.get(f"/ledger/checkpoints/{head['height']}", headers={"Accept": "text/plain"})
    assert note.status_code == 200
    lines = note.text.split("\n")
    assert int(lines[1]) == head["treeSize"]
    assert base64.b64decode(lines[2]) == _raw(head["treeRoot"])


@pytest.mark.requirement("BMDX-API-035:ad1283157cd48b06")
def test_validator_set(node: NodeClient) -> None:
    """GET /ledger/validator-sets/{height} MUST answer the ValidatorSet in force at that
    height, and 404 for a height above the latest committed block."""
    head = node.head()
    current = node.read(f"/ledger/validator-sets/{head['height']}")
    assert violations(current, "ValidatorSet") == []
    assert current["effectiveHeight"] <= head["height"]
    assert node.get(f"/ledger/validator-sets/{head['height'] + 1000}").status_code == 404


@pytest.mark.requirement("BMDX-API-036:c5bb2b04322874a3")
def test_inclusion_proof(participants: tuple[NodeClient, ...]) -> None:
    """GET /ledger/proofs/inclusion MUST answer, for a committed transaction and a block
    at or after it, an InclusionProof that verifies under RFC 9162 against that block's
    tree head, and 404 for a transaction not committed or a block that does not exist or
    precedes it."""
    writer = patient(participants)
    status, _ = _committed_grant(writer)
    head = writer.head()
    proof = writer.read("/ledger/proofs/inclusion", params={"txid": status["txid"]})
    assert violations(proof, "InclusionProof") == []

    leaf = leaf_hash(canonical(status["transaction"]))
    assert proof["leafHash"] == "sha-256:" + leaf.hex()
    assert proof["treeSize"] >= status["leafIndex"] + 1
    block = writer.read(f"/ledger/blocks/{proof['height']}")
    assert proof["rootHash"] == block["header"]["treeRoot"]
    assert verify_inclusion(
        leaf,
        proof["leafIndex"],
        proof["treeSize"],
        [_raw(p) for p in proof["path"]],
        _raw(proof["rootHash"]),
    )
    early = status["height"] - 1
    assert (
        writer.get(
            "/ledger/proofs/inclusion", params={"txid": status["txid"], "height": early}
        ).status_code
        == 404
    )
    assert (
        writer.get("/ledger/proofs/inclusion", params={"txid": "sha-256:" + "1" * 64}).status_code
        == 404
    )
    assert head["height"] >= status["height"]


@pytest.mark.requirement("BMDX-API-037:d978a429e9574e41")
def test_consistency_proof(participants: tuple[NodeClient, ...]) -> None:
    """GET /ledger/proofs/consistency MUST answer, for two committed blocks in order whose
    first tree is not empty, a ConsistencyProof that verifies under RFC 9162 between
    their tree heads, and 404 otherwise."""
    writer = patient(participants)
    first = writer.head()
    _committed_grant(writer)
    second = writer.head()
    proof = writer.read(
        "/ledger/proofs/consistency", params={"first": first["height"], "second": second["height"]}
    )
    assert violations(proof, "ConsistencyProof") == []
    assert (proof["firstSize"], proof["secondSize"]) == (first["treeSize"], second["treeSize"])
    assert verify_consistency(
        first["treeSize"],
        second["treeSize"],
        [_raw(p) for p in proof["path"]],
        _raw(first["treeRoot"]),
        _raw(second["treeRoot"]),
    )
    backwards = writer.get(
        "/ledger/proofs/consistency", params={"first": second["height"], "second": first["height"]}
    )
    assert backwards.status_code == 404


@pytest.mark.requirement("BMDX-API-038:41494dea03051daf")
def test_live_object_version(participants: tuple[NodeClient, ...]) -> None:
    """GET /ledger/objects/{objectId} MUST answer the live version of the ledger object,
    counting transactions accepted into the pool, and 404 for an object without a live
    version."""
    writer = patient(participants)
    tx, consent = grant(writer)
    assert writer.live_version(consent["consentId"]) is None
    assert writer.post("/consents", json_body=tx).status_code == 202
    assert writer.live_version(consent["consentId"]) == digest(consent)
    writer.wait_committed(txid(tx))
    assert writer.live_version(consent["consentId"]) == digest(consent)
