"""The transaction state machine: each rejection reason, its requirement, and no change."""

from __future__ import annotations

import copy
import hashlib
import json
from collections.abc import Iterator

import pytest
import rfc8785

from bmdx.reference._internal.canonical import signing_payload
from bmdx.reference._internal.errors import LedgerError
from bmdx.reference._internal.keyhistory import make_key_revocation
from bmdx.reference._internal.ledger.state import _canonical_forms, version_of
from bmdx.reference._internal.specdata import spec_dir
from tests.ledger.kit import Net, open_net, ref
from tests.storage.conftest import postgres_url, store_url  # noqa: F401 (fixtures)


@pytest.fixture
def net(store_url: str) -> Iterator[Net]:  # noqa: F811
    yield from open_net(store_url)


@pytest.mark.requirement("BMDX-LED-011")
def test_valid_transaction_is_pooled_then_committed(net: Net) -> None:
    tx = net.audit(net.lab)
    receipt = net.submit(tx)
    assert (receipt.sender, receipt.sequence, receipt.height, receipt.index) == (
        net.lab.id,
        1,
        2,
        0,
    )
    block = net.commit()
    stored = net.ledger.store.transaction_by_id(receipt.txid)
    assert stored is not None
    assert stored.height == block.height == 2
    assert net.ledger.store.last_sequence(net.lab.id) == 1
    event = tx["outputs"][0]
    record = net.ledger.store.object_version(event["eventId"], version_of(event))
    assert record is not None
    assert record.state == "live"


@pytest.mark.requirement("BMDX-LED-011")
def test_malformed_bytes(net: Net) -> None:
    raw = b'{"objectType": "Transaction", "type": "audit.append", "type": "x"}'
    net.expect_rejected(raw, "malformed", "BMDX-FMT-003")


@pytest.mark.requirement("BMDX-LED-011")
def test_malformed_not_an_object(net: Net) -> None:
    net.expect_rejected(b"[1, 2]", "malformed", "BMDX-FMT-001")


@pytest.mark.requirement("BMDX-LED-011")
def test_schema_violation_names_the_data_model_requirement(net: Net) -> None:
    tx = net.audit(net.lab)
    tx["sequence"] = 0
    error = net.expect_rejected(tx, "schema", "BMDX-DM-050")
    assert error.pointer == "/sequence"


@pytest.mark.requirement("BMDX-LED-012")
def test_unknown_sender(net: Net) -> None:
    stranger = net.net.member("stranger", ["hospital"])
    net.expect_rejected(net.audit(stranger), "unknown-sender", "BMDX-LED-012")


@pytest.mark.requirement("BMDX-LED-013")
def test_tampered_transaction(net: Net) -> None:
    tx = net.audit(net.lab)
    tx["timestamp"] = net.net.time(1)
    net.expect_rejected(tx, "bad-signature", "BMDX-LED-013")


@pytest.mark.requirement("BMDX-LED-013")
def test_no_signature_by_the_sender(net: Net) -> None:
    tx = net.audit(net.lab, signers=[net.hospital])
    net.expect_rejected(tx, "bad-signature", "BMDX-LED-013")


@pytest.mark.requirement("BMDX-LED-013")
def test_signature_by_an_unregistered_key(net: Net) -> None:
    stranger = net.net.member("stranger", ["hospital"])
    tx = net.audit(net.lab, signers=[net.lab, stranger])
    net.expect_rejected(tx, "bad-signature", "BMDX-LED-013")


@pytest.mark.requirement("BMDX-LED-014")
def test_key_revoked_at_this_height(net: Net) -> None:
    revocation = make_key_revocation(
        net.hospital.id, net.hospital.kid, net.height + 1, "compromised", net.hospital.signing
    )
    participant = net.ledger.store.object_versions(net.hospital.id)[-1]
    net.submit(
        net.net.transaction(
            net.hospital,
            "key.revoke",
            [revocation],
            inputs=[{"objectId": net.hospital.id, "version": participant.version}],
            timestamp=net.now(),
        )
    )
    net.commit()
    net.expect_rejected(net.audit(net.hospital), "key-not-valid", "BMDX-LED-014")


@pytest.mark.requirement("BMDX-LED-015")
def test_duplicate_transaction_in_the_pool_is_a_replay(net: Net) -> None:
    tx = net.audit(net.lab)
    net.submit(tx)
    net.expect_rejected(tx, "replay", "BMDX-LED-015")


@pytest.mark.requirement("BMDX-LED-015")
def test_replay_of_a_committed_transaction(net: Net) -> None:
    tx = net.audit(net.lab)
    net.submit(tx)
    net.commit()
    net.expect_rejected(copy.deepcopy(tx), "replay", "BMDX-LED-015")
    # Re-serialised bytes are the same transaction too.
    net.expect_rejected(json.dumps(tx).encode(), "replay", "BMDX-LED-015")


@pytest.mark.requirement("BMDX-LED-015")
def test_sequence_gap(net: Net) -> None:
    net.expect_rejected(net.audit(net.lab, sequence=2), "sequence-gap", "BMDX-LED-015")


@pytest.mark.requirement("BMDX-LED-016")
def test_unknown_input(net: Net) -> None:
    event = net.net.audit_event(net.lab)
    missing = {"objectId": event["eventId"], "version": version_of(event)}
    tx = net.audit(net.lab, event=dict(event, action="share"), inputs=[missing])
    net.expect_rejected(tx, "unknown-input", "BMDX-LED-016")


@pytest.mark.requirement("BMDX-LED-016")
def test_spent_input_committed(net: Net) -> None:
    first = net.net.audit_event(net.lab)
    net.submit(net.audit(net.lab, event=first))
    second = dict(first, action="share")
    net.submit(net.audit(net.lab, event=second, inputs=[ref(first)]))
    net.commit()
    third = dict(first, action="query")
    net.expect_rejected(
        net.audit(net.lab, event=third, inputs=[ref(first)]), "spent-input", "BMDX-LED-016"
    )


@pytest.mark.requirement("BMDX-LED-016")
def test_double_spend_inside_one_block(net: Net) -> None:
    first = net.net.audit_event(net.lab)
    net.submit(net.audit(net.lab, event=first))
    net.commit()
    net.submit(net.audit(net.lab, event=dict(first, action="share"), inputs=[ref(first)]))
    double = net.audit(net.hospital, event=dict(first, action="export"), inputs=[ref(first)])
    net.expect_rejected(double, "spent-input", "BMDX-LED-016")
    block = net.commit()
    assert block.tx_count == 1


@pytest.mark.requirement("BMDX-DM-053")
def test_output_type_not_allowed_for_the_transaction_type(net: Net) -> None:
    # A data-model rule (BMDX-DM-053), so step 2 refuses it before the type rules run.
    tx = net.net.transaction(
        net.lab, "key.rotate", [net.net.audit_event(net.lab)], timestamp=net.now()
    )
    net.expect_rejected(tx, "schema", "BMDX-DM-053")


@pytest.mark.requirement("BMDX-LED-017")
def test_new_version_must_consume_the_live_one(net: Net) -> None:
    first = net.net.audit_event(net.lab)
    net.submit(net.audit(net.lab, event=first))
    tx = net.audit(net.lab, event=dict(first, action="share"))
    net.expect_rejected(tx, "type-rule", "BMDX-LED-017")


@pytest.mark.requirement("BMDX-LED-018")
def test_timestamp_beyond_clock_skew(net: Net) -> None:
    late = net.net.time(net.clock + 31)
    net.expect_rejected(net.audit(net.lab, timestamp=late), "timestamp", "BMDX-LED-018")
    net.submit(net.audit(net.lab, timestamp=net.net.time(net.clock + 30), sequence=1))


@pytest.mark.requirement("BMDX-LED-011")
def test_checks_run_in_the_spec_order(net: Net) -> None:
    # Unknown sender and a broken signature: the sender check comes first.
    stranger = net.net.member("stranger", ["hospital"])
    tx = net.audit(stranger, sequence=7)
    tx["timestamp"] = net.net.time(3)
    net.expect_rejected(tx, "unknown-sender", "BMDX-LED-012")
    # Bad signature and a sequence gap: the signature comes first.
    tx = net.audit(net.lab, sequence=5)
    tx["timestamp"] = net.net.time(3)
    net.expect_rejected(tx, "bad-signature", "BMDX-LED-013")
    # Gap and unknown input: the sequence comes first.
    event = net.net.audit_event(net.lab)
    tx = net.audit(net.lab, sequence=5, event=dict(event, action="share"), inputs=[ref(event)])
    net.expect_rejected(tx, "sequence-gap", "BMDX-LED-015")


@pytest.mark.requirement("BMDX-LED-011")
def test_rejection_leaves_the_pending_block_unchanged(net: Net) -> None:
    first = net.audit(net.lab)
    net.submit(first)
    event = net.net.audit_event(net.hospital)
    bad = net.audit(net.hospital, event=event, timestamp=net.net.time(net.clock + 3600))
    with pytest.raises(LedgerError):
        net.submit(bad)
    # The hospital's sequence 1 and the event id were not taken by the refused one.
    retry = net.audit(net.hospital, event=event, sequence=1)
    receipt = net.submit(retry)
    assert (receipt.sequence, receipt.index) == (1, 1)
    block = net.commit()
    assert block.tx_count == 2


@pytest.mark.requirement("BMDX-LED-001")
def test_canonical_forms_compose_to_rfc8785(net: Net) -> None:
    """The one-pass canonical forms equal rfc8785 over the whole (txid, payload, versions)."""
    docs = [
        net.audit(net.lab),
        net.net.registration([net.net.member("nc-clinic", ["hospital"])], height=2),
        *(
            json.loads(p.read_bytes())
            for p in sorted(spec_dir().glob("examples/valid/transaction/*.json"))
        ),
    ]
    for doc in docs:
        forms = _canonical_forms(doc)
        assert forms.full == rfc8785.dumps(doc)
        assert forms.payload == signing_payload(doc)
        assert forms.outputs == tuple(rfc8785.dumps(o) for o in doc["outputs"])
    effects = net.submit(docs[0])
    assert effects.txid == "sha-256:" + hashlib.sha256(rfc8785.dumps(docs[0])).hexdigest()
