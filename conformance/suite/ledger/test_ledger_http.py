"""The ledger of an HTTP node, checked with the suite's own verifier (profile ledger).

Every block the node serves is replayed from genesis by ``verifiers/ledger.py``, with
each block's Checkpoint document and C2SP note checked against the validators in
force; the per-requirement tests below judge that replay (pass when the whole served
ledger verified, fail when the first fault names the test's requirement, not observed
when verification stopped earlier at another fault).  Inclusion and consistency proofs
are fetched for randomly chosen transactions and blocks (the run's seed chooses them)
and verified by the suite's RFC 9162 transcription.  Invalid transactions, built and
signed by the suite with jwcrypto as a configured participant, must be refused with
the requirement and reason of the state machine step they break, and leave the head,
the pool and every sequence unchanged.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import random
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest

from bmdx.conformance._internal.http_client import (
    NodeClient,
    NodeState,
    new_keys,
    public_key_document,
    sign_object,
)
from bmdx.conformance._internal.targets import Target
from bmdx.conformance._internal.verifiers import merkle
from bmdx.conformance._internal.verifiers.ledger import (
    Ledger,
    LedgerFaultError,
    block_hash,
    leaf_hash,
    txid,
)

# The requirements of the transaction state machine's steps 3 to 9.
TRANSACTION_STEPS = (
    "BMDX-LED-012",
    "BMDX-LED-013",
    "BMDX-LED-014",
    "BMDX-LED-015",
    "BMDX-LED-016",
    "BMDX-LED-017",
    "BMDX-LED-018",
)
PROOF_SAMPLES = 12
NOTE = {"Accept": "text/plain"}


@dataclass
class ServedChain:
    """The node's ledger as the suite replayed it, or the first fault it found."""

    ledger: Ledger
    origin: str | None
    height: int
    fault: LedgerFaultError | None


def _replay(client: NodeClient) -> ServedChain:
    head = client.head()
    ledger = Ledger()
    origin: str | None = None
    try:
        for height in range(int(head["height"]) + 1):
            ledger.add_block(client.read(f"/ledger/blocks/{height}"))
            document = client.read(f"/ledger/checkpoints/{height}")
            origin = origin or str(document.get("origin"))
            ledger.check_checkpoint(document, origin=origin, height=height)
            response = client.get(f"/ledger/checkpoints/{height}", headers=NOTE)
            assert response.status_code == 200, (
                f"the note of block {height}: {response.status_code}"
            )
            ledger.check_note(response.content, origin=origin, height=height)
    except LedgerFaultError as fault:
        return ServedChain(ledger, origin, int(head["height"]), fault)
    return ServedChain(ledger, origin, int(head["height"]), None)


@pytest.fixture(scope="module")
def chain(target: Target) -> Iterator[ServedChain]:
    if target.kind not in ("http", "embedded") or not target.url:
        pytest.skip("needs an HTTP node target")
    if not target.participants:
        pytest.skip("the target configuration names no participants")
    client = NodeClient(
        target.url, target.participants[0], timeout=float(target.options.get("timeout", 30.0))
    )
    try:
        yield _replay(client)
    finally:
        client.close()


def observe(chain: ServedChain, *requirements: str) -> None:
    fault = chain.fault
    if fault is None:
        return
    if fault.requirement in requirements:
        pytest.fail(f"the served ledger breaks {fault}")
    pytest.skip(f"not observed: verification of the served ledger stopped first at {fault}")


# -- the served ledger, replayed ----------------------------------------------------------


@pytest.mark.requirement("BMDX-LED-020:abce48800d06febf")
def test_served_blocks_link(chain: ServedChain) -> None:
    """A block MUST link to its predecessor by height and by the hash of the
    predecessor's canonical header, and its transaction count, tree size and tree root
    MUST match its body and the whole log, as specified in spec/conventions/ledger.md."""
    observe(chain, "BMDX-LED-020")
    assert len(chain.ledger.hashes) == chain.height + 1


@pytest.mark.requirement("BMDX-LED-021:30b92c4a31f20180")
def test_served_blocks_signed(chain: ServedChain) -> None:
    """A block MUST be accepted only when its tail holds valid signatures over its
    canonical header by at least the threshold number of distinct validators of the
    validator set in force at its height, and its proposer is a member of that set."""
    observe(chain, "BMDX-LED-021")


@pytest.mark.requirement("BMDX-LED-022:c8d0d7bf819cdd9c")
def test_validator_set_in_force(chain: ServedChain, node: NodeClient, rng: random.Random) -> None:
    """A validator-set change committed at a height MUST take effect no earlier than the
    next height, and the validator set in force at a height MUST be the one with the
    largest effective height at or below it."""
    observe(chain, "BMDX-LED-022")
    for height in sorted(rng.sample(range(chain.height + 1), min(4, chain.height + 1))):
        served = node.read(f"/ledger/validator-sets/{height}")
        expected = chain.ledger.validator_set_at(height)
        assert expected is not None
        assert served == expected.document, f"the set served for height {height}"


@pytest.mark.requirement(
    "BMDX-LED-003:88162862bcdc1dc8",
    "BMDX-LED-001:0fe5e109b8d27e35",
    "BMDX-LED-002:a905279650cc369c",
)
def test_served_tree_heads(chain: ServedChain) -> None:
    """A block header MUST carry the size and root hash of the Merkle tree over all
    transactions of the ledger up to and including that block."""
    observe(chain, "BMDX-LED-003")
    for header in chain.ledger.headers:
        assert header["treeRoot"] == "sha-256:" + chain.ledger.root(header["treeSize"]).hex()


@pytest.mark.requirement("BMDX-LED-023:f148eb5a1f5b4f52")
def test_one_block_per_height(chain: ServedChain, node: NodeClient, rng: random.Random) -> None:
    """A verifier MUST reject a ledger that holds two different blocks at the same
    height."""
    observe(chain, "BMDX-LED-023")
    for height in rng.sample(range(chain.height + 1), min(4, chain.height + 1)):
        again = node.read(f"/ledger/blocks/{height}")
        assert block_hash(again["header"]) == chain.ledger.hashes[height], (
            f"block {height} changed between two reads: a fork [BMDX-LED-023]"
        )


@pytest.mark.requirement("BMDX-LED-012:8b99092b39038df8")
def test_committed_senders_registered(chain: ServedChain) -> None:
    """A node MUST reject a transaction whose sender is not a registered participant."""
    # Over HTTP a request is signed by its sender (BMDX-API-013), so an unregistered
    # sender never reaches the ledger's step 3; the committed history shows the rule.
    observe(chain, "BMDX-LED-012")


@pytest.mark.requirement("BMDX-LED-014:703a5935f57bdf3e")
def test_committed_keys_valid(chain: ServedChain) -> None:
    """A node MUST reject a transaction signed with a key that is not valid at the height
    of the block that would include it, a key being valid from the height at which it was
    registered or rotated in until the effective height of its revocation or rotation."""
    observe(chain, "BMDX-LED-014")


@pytest.mark.requirement("BMDX-LED-030:c6e7b2b77fe94aea")
def test_checkpoint_notes(chain: ServedChain) -> None:
    """A node MUST be able to export the tree head of any block as a C2SP tlog-checkpoint
    signed note, in the form specified in spec/conventions/ledger.md."""
    observe(chain, "BMDX-LED-030")
    assert chain.origin is not None
    assert chain.origin.startswith("bmdx.ledger/")


@pytest.mark.requirement("BMDX-LED-042:084192035a2b9140")
def test_checkpoint_note_signers(chain: ServedChain) -> None:
    """Each signature line of a checkpoint note MUST be an Ed25519 signature over the note
    text by a key of a validator in the validator set in force at the checkpoint's height,
    with the log's origin as its key name."""
    observe(chain, "BMDX-LED-042", "BMDX-LED-043")


@pytest.mark.requirement("BMDX-LED-043:bb7b48b486d142ff")
def test_checkpoint_notes_verify(chain: ServedChain) -> None:
    """A verifier of a checkpoint note MUST reject the note when it is not a well-formed
    C2SP signed note with a tlog-checkpoint body of the form of spec/conventions/ledger.md,
    when a signature line attributed to a trusted validator key does not verify, when it
    names another origin, or when fewer than the threshold of distinct validators in
    force signed it; signature lines by keys it does not know MUST be ignored."""
    observe(chain, "BMDX-LED-043")


@pytest.mark.requirement("BMDX-LED-044:4c47c9730d665c6f")
def test_checkpoint_documents(chain: ServedChain) -> None:
    """The Checkpoint of a block MUST state the block's tree size, tree root, height and
    timestamp and the log's origin, and MUST carry valid signatures by at least the
    threshold of distinct validators of the set in force at that height."""
    observe(chain, "BMDX-LED-044", "BMDX-LED-023")


# -- proofs -------------------------------------------------------------------------------


def _hex(digest: str) -> bytes:
    assert digest.startswith("sha-256:"), digest
    return bytes.fromhex(digest.removeprefix("sha-256:"))


@pytest.mark.requirement("BMDX-LED-004:3ba055903c7dc24b", "BMDX-LED-001:0fe5e109b8d27e35")
def test_inclusion_proofs(chain: ServedChain, node: NodeClient, rng: random.Random) -> None:
    """An inclusion proof served by a node MUST verify with the algorithm of RFC 9162
    section 2.1.3.2 against the tree head of the block it names, for every transaction
    and every block at or after the transaction's block."""
    observe(chain, *TRANSACTION_STEPS, "BMDX-LED-003", "BMDX-LED-020")
    ledger = chain.ledger
    first_block = {}
    for height in range(chain.height + 1):
        block = node.read(f"/ledger/blocks/{height}")
        for tx in block["body"]["transactions"]:
            first_block[txid(tx)] = (height, tx)
    assert first_block, "the node's ledger holds no transaction"
    for ident in rng.sample(sorted(first_block), min(PROOF_SAMPLES, len(first_block))):
        height, tx = first_block[ident]
        at = rng.randint(height, chain.height)
        proof = node.read("/ledger/proofs/inclusion", params={"txid": ident, "height": at})
        header = ledger.headers[at]
        assert proof["objectType"] == "InclusionProof"
        assert proof["height"] == at
        assert (proof["treeSize"], proof["rootHash"]) == (header["treeSize"], header["treeRoot"])
        assert proof["leafIndex"] == ledger.tx_index[ident]
        assert _hex(proof["leafHash"]) == leaf_hash(tx), "the leaf hash is not BMDX-LED-001's"
        path = [_hex(p) for p in proof["path"]]
        assert merkle.verify_inclusion(
            leaf_hash(tx), proof["leafIndex"], proof["treeSize"], path, _hex(proof["rootHash"])
        ), f"the inclusion proof of {ident} against block {at} does not verify"


@pytest.mark.requirement("BMDX-LED-005:c747fff5b9ef935f")
def test_consistency_proofs(chain: ServedChain, node: NodeClient, rng: random.Random) -> None:
    """A consistency proof served by a node between two blocks MUST verify with the
    algorithm of RFC 9162 section 2.1.4.2 against the two blocks' tree heads."""
    observe(chain, "BMDX-LED-003", "BMDX-LED-020")
    headers = chain.ledger.headers
    candidates = [h for h in range(chain.height + 1) if headers[h]["treeSize"] > 0]
    assert candidates, "no block has a non-empty tree"
    for _ in range(PROOF_SAMPLES):
        first = rng.choice(candidates)
        second = rng.randint(first, chain.height)
        proof = node.read("/ledger/proofs/consistency", params={"first": first, "second": second})
        assert proof["objectType"] == "ConsistencyProof"
        assert (proof["firstSize"], proof["firstRoot"]) == (
            headers[first]["treeSize"],
            headers[first]["treeRoot"],
        )
        assert (proof["secondSize"], proof["secondRoot"]) == (
            headers[second]["treeSize"],
            headers[second]["treeRoot"],
        )
        assert merkle.verify_consistency(
            proof["firstSize"],
            proof["secondSize"],
            [_hex(p) for p in proof["path"]],
            _hex(proof["firstRoot"]),
            _hex(proof["secondRoot"]),
        ), f"the consistency proof from block {first} to {second} does not verify"


# -- refused transactions -----------------------------------------------------------------


def _settled(node: NodeClient, timeout: float = 15.0) -> NodeState:
    """The node's state once its pool is empty (earlier submissions committed)."""
    deadline = time.monotonic() + timeout
    while True:
        state = node.state()
        if state.pending == 0:
            return state
        if time.monotonic() >= deadline:
            raise AssertionError(f"the node's pool did not empty in {timeout:g} s")
        time.sleep(0.05)


def _pseudonym(label: str) -> str:
    raw = hashlib.sha256(label.encode("utf-8")).digest()
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def _current(chain: ServedChain, node: NodeClient, participant: str) -> dict[str, Any]:
    """The participant's live document, from the served blocks replayed up to the head."""
    _settled(node)
    head = int(node.head()["height"])
    for height in range(len(chain.ledger.hashes), head + 1):
        chain.ledger.add_block(node.read(f"/ledger/blocks/{height}"))
    document = chain.ledger.participants.get(participant)
    assert document is not None, f"{participant} is not registered on the served ledger"
    return dict(document)


def _audit_event(node: NodeClient) -> dict[str, Any]:
    """An append-only fact the sender may record: an AuditEvent of its own access."""
    now = dt.datetime.now(dt.UTC).replace(microsecond=0)
    return {
        "objectType": "AuditEvent",
        "eventId": f"urn:uuid:{uuid.uuid4()}",
        "recorded": now.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "actor": node.id,
        "actorRole": "hospital",
        "action": "read",
        "subject": "pseud:" + _pseudonym("conformance-suite-subject"),
        "purpose": "treatment",
        "outcome": "success",
        "policyHash": "sha-256:" + "1" * 64,
        "requestDigest": "sha-256:" + "2" * 64,
    }


def _refused(node: NodeClient, tx: dict[str, Any], requirement: str, reason: str) -> None:
    before = _settled(node)
    response = node.post("/ledger/transactions", json_body=tx)
    assert 400 <= response.status_code < 500, (
        f"the node accepted a transaction breaking {requirement} ({response.status_code})"
    )
    problem = node.json(response)
    assert (problem.get("requirement"), problem.get("reason")) == (requirement, reason), problem
    after = node.state()
    assert after == before, "a refused transaction changed the ledger [BMDX-LED-011]"
    lookup = node.get(f"/ledger/transactions/{txid(tx)}")
    assert lookup.status_code == 404, "a refused transaction is known to the node"


def _flip(text: str) -> str:
    return text[:5] + ("A" if text[5] != "A" else "B") + text[6:]


@pytest.mark.requirement("BMDX-LED-015:d49f9433f71f32c4", "BMDX-LED-011:3dd937292f59063c")
def test_replay_refused(node: NodeClient) -> None:
    """A node MUST reject a transaction whose sequence is not exactly one more than the
    last committed sequence of its sender, as a replay when it is not greater and as a
    gap when it is greater."""
    _settled(node)
    last = node.next_sequence() - 1
    if last < 1:
        sent = node.signed_transaction("audit.append", [_audit_event(node)])
        response = node.post("/ledger/transactions", json_body=sent)
        assert response.status_code == 202, response.text
        node.wait_committed(txid(sent))
        last = node.next_sequence() - 1
    tx = node.signed_transaction("audit.append", [_audit_event(node)], sequence=last)
    _refused(node, tx, "BMDX-LED-015", "replay")
    gap = node.signed_transaction("audit.append", [_audit_event(node)], sequence=last + 2)
    _refused(node, gap, "BMDX-LED-015", "sequence-gap")


@pytest.mark.requirement("BMDX-LED-013:336a4cc35082b957", "BMDX-LED-011:3dd937292f59063c")
def test_bad_signature_refused(node: NodeClient, participants: tuple[NodeClient, ...]) -> None:
    """A node MUST reject a transaction unless every signature on it verifies under the
    security profile and at least one signature is made by a key of the sender."""
    tx = node.signed_transaction("audit.append", [_audit_event(node)])
    tx["signatures"][0]["signature"] = _flip(tx["signatures"][0]["signature"])
    _refused(node, tx, "BMDX-LED-013", "bad-signature")
    if len(participants) > 1:
        # Signed only by another registered participant, never by the sender.
        other = participants[1]
        unsigned = node.signed_transaction("audit.append", [_audit_event(node)])
        unsigned["signatures"] = []
        foreign = sign_object(unsigned, other.key, kid=other.kid)
        _refused(node, foreign, "BMDX-LED-013", "bad-signature")


@pytest.mark.requirement("BMDX-LED-016:8528754fc09546c2", "BMDX-LED-011:3dd937292f59063c")
def test_dead_inputs_refused(node: NodeClient, chain: ServedChain) -> None:
    """A node MUST reject a transaction that names as input an object version that does
    not exist on the ledger or that an earlier transaction, or an earlier transaction of
    the same block, already consumed."""
    observe(chain, *TRANSACTION_STEPS, "BMDX-LED-020", "BMDX-LED-021")
    current = _current(chain, node, node.id)
    live = node.live_version(node.id)
    assert live is not None, f"{node.id} has no live version"
    unknown = {"objectId": node.id, "version": "sha-256:" + "7" * 64}
    tx = node.signed_transaction("participant.update", [current], inputs=[unknown])
    _refused(node, tx, "BMDX-LED-016", "unknown-input")
    # Consume the live version with an update, then name it again.
    renamed = {**current, "name": f"{current['name']} (renamed {uuid.uuid4().hex[:8]})"}
    update = node.signed_transaction(
        "participant.update", [renamed], inputs=[{"objectId": node.id, "version": live}]
    )
    response = node.post("/ledger/transactions", json_body=update)
    assert response.status_code == 202, response.text
    node.wait_committed(txid(update))
    again = {**current, "name": f"{current['name']} (again {uuid.uuid4().hex[:8]})"}
    spent = node.signed_transaction(
        "participant.update", [again], inputs=[{"objectId": node.id, "version": live}]
    )
    _refused(node, spent, "BMDX-LED-016", "spent-input")


@pytest.mark.requirement("BMDX-LED-017:73e8a71212657f4c", "BMDX-LED-011:3dd937292f59063c")
def test_type_rule_refused(node: NodeClient, chain: ServedChain) -> None:
    """A node MUST enforce the type rules of spec/conventions/ledger.md, including that
    registering participants and changing the validator set require signatures by at
    least the threshold of the validator set in force, and that a key rotation is signed
    by the key being rotated out."""
    observe(chain, *TRANSACTION_STEPS, "BMDX-LED-020", "BMDX-LED-021")
    current = _current(chain, node, node.id)
    # Registering a participant needs the validators' threshold, not one participant.
    newcomer = {
        **current,
        "id": f"urn:bmdx:participant:conformance-{uuid.uuid4().hex[:12]}",
        "name": "Conformance newcomer",
        "registered": int(node.head()["height"]) + 1,
    }
    register = node.signed_transaction("participant.register", [newcomer])
    _refused(node, register, "BMDX-LED-017", "type-rule")
    # A rotation signed by the new key instead of the key rotated out.  Its effective
    # height lies far ahead, so that a node wrongly accepting it changes nothing the
    # following tests sign with.
    new_key, _ = new_keys()
    rotation = sign_object(
        {
            "objectType": "KeyRotation",
            "participant": node.id,
            "oldKid": node.kid,
            "newKey": public_key_document(new_key, "sig"),
            "effectiveHeight": int(node.head()["height"]) + 100_000,
        },
        new_key,
    )
    live = node.live_version(node.id)
    assert live is not None
    rotate = node.signed_transaction(
        "key.rotate", [rotation], inputs=[{"objectId": node.id, "version": live}]
    )
    _refused(node, rotate, "BMDX-LED-017", "type-rule")


@pytest.mark.requirement("BMDX-LED-018:38c907a5ffbd23d0", "BMDX-LED-011:3dd937292f59063c")
def test_future_timestamp_refused(node: NodeClient, chain: ServedChain) -> None:
    """A node MUST reject a transaction whose timestamp is later than the timestamp of
    the block that would include it plus the security profile's clock skew, and block
    timestamps MUST NOT decrease with height."""
    observe(chain, "BMDX-LED-018")
    ahead = NodeClient(node.base_url, node.participant, clock=lambda: time.time() + 3600)
    try:
        tx = ahead.signed_transaction(
            "audit.append", [_audit_event(node)], sequence=node.next_sequence()
        )
    finally:
        ahead.close()
    _refused(node, tx, "BMDX-LED-018", "timestamp")
