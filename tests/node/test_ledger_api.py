"""The ledger over HTTP: head, blocks, transactions, checkpoints, validator sets, proofs."""

from __future__ import annotations

import threading
from typing import Any

import pytest

from bmdx.reference._internal import ijson
from bmdx.reference._internal.canonical import canonical_bytes
from bmdx.reference._internal.checkpoints import (
    verify_checkpoint_against_block,
    verify_checkpoint_document,
)
from bmdx.reference._internal.keyhistory import make_key_rotation
from bmdx.reference._internal.keys import PublicKey
from bmdx.reference._internal.ledger import validate_block
from bmdx.reference._internal.ledger.state import format_timestamp, version_of
from bmdx.reference._internal.ledger.views import MemoryChain
from bmdx.reference._internal.merkle import leaf_hash, verify_consistency, verify_inclusion
from bmdx.reference._internal.node import DevNode
from tests.node.conftest import Signed, conforms, problem
from tests.node.kit import audit_tx

pytestmark = pytest.mark.anyio


def _digest(value: str) -> bytes:
    return bytes.fromhex(value.removeprefix("sha-256:"))


async def _grow(node: DevNode, signed: Signed, blocks: int) -> list[str]:
    """``blocks`` more blocks of one audit transaction each; their txids."""
    txids = []
    hospital = node.members["dev-hospital"]
    for _ in range(blocks):
        sequence = node.service.sequence(hospital.id)[1]
        response = await signed("dev-hospital").post(
            "/ledger/transactions", json=audit_tx(node, hospital, sequence)
        )
        txids.append(conforms("submitTransaction", response)["txid"])
        node.service.commit_now()
    return txids


def _validator_keys(node: DevNode) -> dict[str, PublicKey]:
    return {v.signing.kid: v.signing.public for v in node.network.validator_members}


@pytest.mark.requirement("BMDX-API-030")
async def test_the_head_and_the_pool_are_one_snapshot(
    node: DevNode, signed: Signed, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A block committed while the head is read shows in both members or in neither."""
    await _grow(node, signed, 1)
    hospital = node.members["dev-hospital"]
    sequence = node.service.sequence(hospital.id)[1]
    response = await signed("dev-hospital").post(
        "/ledger/transactions", json=audit_tx(node, hospital, sequence)
    )
    assert response.status_code == 202
    service = node.service
    read_head = service.head
    committer: list[threading.Thread] = []

    def head_then_commit() -> Any:
        found = read_head()
        if not committer:  # the committer wakes just after the head was read
            committer.append(threading.Thread(target=service.commit_now))
            committer[0].start()
            committer[0].join(timeout=0.5)
        return found

    monkeypatch.setattr(service, "head", head_then_commit)
    head = conforms("getLedgerHead", await signed("dev-regulator").get("/ledger/head"))
    committer[0].join()
    assert (head["height"], head["pending"]) == (2, 1)
    monkeypatch.undo()
    head = conforms("getLedgerHead", await signed("dev-regulator").get("/ledger/head"))
    assert (head["height"], head["pending"]) == (3, 0)


@pytest.mark.requirement("BMDX-API-030")
@pytest.mark.requirement("BMDX-API-033")
async def test_head_and_every_block_replay_from_genesis(node: DevNode, signed: Signed) -> None:
    await _grow(node, signed, 2)
    client = signed("dev-regulator")
    head = conforms("getLedgerHead", await client.get("/ledger/head"))
    assert head["height"] == 3
    assert head["pending"] == 0
    chain = MemoryChain()
    for height in range(head["height"] + 1):
        block = conforms("getBlock", await client.get(f"/ledger/blocks/{height}"))
        chain.commit(validate_block(block, chain))
    last = block["header"]
    assert (head["treeSize"], head["treeRoot"], head["timestamp"]) == (
        last["treeSize"],
        last["treeRoot"],
        last["timestamp"],
    )
    assert head["blockHash"] == chain.block_hash(head["height"])
    problem(await client.get("/ledger/blocks/4"), 404, "BMDX-API-014", "unknown-block")
    problem(await client.get("/ledger/blocks/-1"), 400, "BMDX-API-014", "bad-parameter")


@pytest.mark.requirement("BMDX-API-032")
async def test_transaction_is_pending_then_committed(node: DevNode, signed: Signed) -> None:
    hospital = node.members["dev-hospital"]
    tx = audit_tx(node, hospital, 1)
    client = signed("dev-hospital")
    txid = (await client.post("/ledger/transactions", json=tx)).json()["txid"]
    pending = conforms("getTransaction", await client.get(f"/ledger/transactions/{txid}"))
    assert pending == {"txid": txid, "status": "pending", "transaction": tx}
    block = node.service.commit_now()
    assert block is not None
    committed = conforms("getTransaction", await client.get(f"/ledger/transactions/{txid}"))
    assert committed == {
        "txid": txid,
        "status": "committed",
        "transaction": tx,
        "height": block.height,
        "leafIndex": block.tree_size - 1,
    }
    problem(
        await client.get(f"/ledger/transactions/sha-256:{'0' * 64}"),
        404,
        "BMDX-API-014",
        "unknown-transaction",
    )


@pytest.mark.requirement("BMDX-API-034")
@pytest.mark.requirement("BMDX-LED-030")
async def test_checkpoints_verify_against_their_blocks(node: DevNode, signed: Signed) -> None:
    await _grow(node, signed, 1)
    client = signed("dev-regulator")
    keys = _validator_keys(node)
    for height in (0, 1, 2):
        header = (await client.get(f"/ledger/blocks/{height}")).json()["header"]
        vset = (await client.get(f"/ledger/validator-sets/{height}")).json()
        checkpoint = conforms("getCheckpoint", await client.get(f"/ledger/checkpoints/{height}"))
        verify_checkpoint_document(
            checkpoint, header=header, origin="bmdx.ledger/dev", validator_set=vset, keys=keys
        )
        note = await client.get(f"/ledger/checkpoints/{height}", headers={"Accept": "text/plain"})
        assert note.headers["content-type"].startswith("text/plain")
        body = verify_checkpoint_against_block(
            note.text, header=header, origin="bmdx.ledger/dev", validator_set=vset, keys=keys
        )
        assert (body.tree_size, body.height) == (header["treeSize"], height)


@pytest.mark.requirement("BMDX-API-036")
@pytest.mark.requirement("BMDX-LED-004")
async def test_inclusion_proofs_verify(node: DevNode, signed: Signed) -> None:
    txids = await _grow(node, signed, 3)
    client = signed("dev-patient")
    head = (await client.get("/ledger/head")).json()
    for txid in txids:
        tx = (await client.get(f"/ledger/transactions/{txid}")).json()
        for height in (tx["height"], head["height"], None):
            params: dict[str, Any] = {"txid": txid}
            if height is not None:
                params["height"] = height
            proof = conforms(
                "getInclusionProof", await client.get("/ledger/proofs/inclusion", params=params)
            )
            block = (await client.get(f"/ledger/blocks/{proof['height']}")).json()["header"]
            assert proof["rootHash"] == block["treeRoot"]
            leaf = leaf_hash(canonical_bytes(tx["transaction"]))
            assert proof["leafHash"] == "sha-256:" + leaf.hex()
            assert verify_inclusion(
                leaf,
                proof["leafIndex"],
                proof["treeSize"],
                [_digest(p) for p in proof["path"]],
                _digest(proof["rootHash"]),
            )
    early = await client.get("/ledger/proofs/inclusion", params={"txid": txids[-1], "height": 1})
    problem(early, 404, "BMDX-API-036", "unknown-block")
    problem(await client.get("/ledger/proofs/inclusion"), 400, "BMDX-API-014", "bad-parameter")


@pytest.mark.requirement("BMDX-API-037")
@pytest.mark.requirement("BMDX-LED-005")
async def test_consistency_proofs_verify(node: DevNode, signed: Signed) -> None:
    await _grow(node, signed, 3)
    client = signed("dev-laboratory")
    heads = [(await client.get(f"/ledger/blocks/{h}")).json()["header"] for h in range(5)]
    for first in range(5):
        for second in range(first, 5):
            proof = conforms(
                "getConsistencyProof",
                await client.get(
                    "/ledger/proofs/consistency", params={"first": first, "second": second}
                ),
            )
            a, b = heads[first], heads[second]
            assert (proof["firstSize"], proof["secondSize"]) == (a["treeSize"], b["treeSize"])
            assert verify_consistency(
                a["treeSize"],
                b["treeSize"],
                [_digest(p) for p in proof["path"]],
                _digest(a["treeRoot"]),
                _digest(b["treeRoot"]),
            )
    backwards = await client.get("/ledger/proofs/consistency", params={"first": 3, "second": 1})
    problem(backwards, 404, "BMDX-API-037", "unknown-block")


@pytest.mark.requirement("BMDX-API-035")
async def test_validator_set_above_the_head_is_404(node: DevNode, signed: Signed) -> None:
    response = await signed("dev-hospital").get("/ledger/validator-sets/2")
    problem(response, 404, "BMDX-API-014", "unknown-block")


@pytest.mark.requirement("BMDX-API-038")
async def test_live_version_counts_the_pool(node: DevNode, signed: Signed) -> None:
    client = signed("dev-hospital")
    hospital = node.members["dev-hospital"]
    path = f"/ledger/objects/{hospital.id}"
    committed = conforms("getLedgerObject", await client.get(path))
    assert committed["status"] == "committed"
    record = node.service.ledger.store.participant(hospital.id)
    assert record is not None
    assert committed["version"] == version_of(ijson.loads(record.document))

    new = node.network.new_key("dev-hospital", 2)
    rotation = make_key_rotation(
        hospital.id, hospital.signing, new.public, node.service.head().height + 1
    )
    inputs = [{"objectId": hospital.id, "version": committed["version"]}]
    tx = node.network.transaction(
        hospital,
        "key.rotate",
        [rotation],
        inputs=inputs,
        timestamp=format_timestamp(node.service.now()),
        sequence=1,
    )
    await client.post(f"/participants/{hospital.id}/keys/rotations", json=tx)
    pending = conforms("getLedgerObject", await client.get(path))
    assert pending == {
        "objectId": hospital.id,
        "version": version_of(rotation),
        "status": "pending",
    }
    problem(
        await client.get("/ledger/objects/urn:bmdx:participant:nobody"),
        404,
        "BMDX-API-014",
        "unknown-object",
    )
    problem(await client.get("/ledger/objects/nobody"), 400, "BMDX-API-014", "bad-parameter")
