"""Governance and key lifecycle: registrations, validator-set changes, rotation, revocation."""

from __future__ import annotations

import copy
from collections.abc import Iterator
from typing import Any

import pytest

from bmdx.reference._internal.errors import LedgerError
from bmdx.reference._internal.keyhistory import make_key_revocation, make_key_rotation
from bmdx.reference._internal.ledger import (
    DevNetwork,
    MemoryChain,
    Validator,
    build_block,
    validate_block,
)
from bmdx.reference._internal.ledger.genesis import Founder, genesis_transactions
from bmdx.reference._internal.signing import sign_document
from tests.ledger.kit import Net, open_net, resign
from tests.storage.conftest import postgres_url, store_url  # noqa: F401 (fixtures)


@pytest.fixture
def net(store_url: str) -> Iterator[Net]:  # noqa: F811
    yield from open_net(store_url)


def _participant_input(net: Net, member: Founder) -> dict[str, str]:
    version = net.ledger.store.object_versions(member.id)[-1].version
    return {"objectId": member.id, "version": version}


def _vset(net: Net, validators: list[Founder], *, threshold: int, effective: int) -> dict[str, Any]:
    return {
        "objectType": "ValidatorSet",
        "version": 2,
        "threshold": threshold,
        "validators": [{"participant": v.id, "kid": v.kid} for v in validators],
        "effectiveHeight": effective,
    }


def _change(net: Net, vset: dict[str, Any], signers: list[Founder]) -> dict[str, Any]:
    current = net.ledger.store.object_versions("urn:bmdx:validator-set")[-1].version
    return net.net.transaction(
        net.net.platform,
        "validator-set.change",
        [vset],
        inputs=[{"objectId": "urn:bmdx:validator-set", "version": current}],
        timestamp=net.now(),
        signers=signers,
    )


@pytest.mark.requirement("BMDX-LED-017")
def test_registration_with_k_minus_one_validators_refused(net: Net) -> None:
    clinic = net.net.member("clinic", ["hospital"])
    tx = net.net.transaction(
        net.net.platform,
        "participant.register",
        [clinic.document(net.height)],
        timestamp=net.now(),
        signers=[net.net.platform, *net.net.validator_members[:2]],
    )
    net.expect_rejected(tx, "type-rule", "BMDX-LED-017")


@pytest.mark.requirement("BMDX-LED-017")
def test_self_registration_outside_genesis_refused(net: Net) -> None:
    clinic = net.net.member("clinic", ["hospital"])
    tx = net.net.transaction(
        net.lab, "participant.register", [clinic.document(net.height)], timestamp=net.now()
    )
    net.expect_rejected(tx, "type-rule", "BMDX-LED-017")


@pytest.mark.requirement("BMDX-LED-017")
def test_registration_at_the_wrong_height_refused(net: Net) -> None:
    clinic = net.net.member("clinic", ["hospital"])
    net.expect_rejected(
        net.net.registration([clinic], height=net.height + 1, timestamp=net.now()),
        "type-rule",
        "BMDX-LED-017",
    )


@pytest.mark.requirement("BMDX-LED-017")
def test_registering_a_participant_twice_refused(net: Net) -> None:
    tx = net.net.registration([net.lab], height=net.height, timestamp=net.now())
    net.expect_rejected(tx, "type-rule", "BMDX-LED-017")


@pytest.mark.requirement("BMDX-LED-022")
def test_validator_set_change_takes_effect_at_its_height(net: Net) -> None:
    v1, v2, v3, v4 = net.net.validator_members
    change_height = net.height
    vset = _vset(net, [v1, v2, v3], threshold=2, effective=change_height + 2)
    net.submit(_change(net, vset, [net.net.platform, v1, v2, v3]))
    net.commit()  # at change_height: the old set (3 of 4) signed
    # change_height + 1: still the old set; two signatures are not enough.
    net.submit(net.audit(net.lab))
    block = net.ledger.seal_pending(net.tick()).block
    net.expect_block_rejected(
        resign(block, [v1.validator, v2.validator]), "insufficient-signatures", "BMDX-LED-021"
    )
    net.ledger.apply_block(resign(block, [v1.validator, v2.validator, v4.validator]))
    # From change_height + 2 the new set is in force: v4 is no longer a validator...
    net.submit(net.audit(net.hospital))
    block = net.ledger.seal_pending(net.tick()).block
    assert block["header"]["height"] == change_height + 2
    net.expect_block_rejected(
        resign(block, [v1.validator, v2.validator, v4.validator]),
        "bad-block-signature",
        "BMDX-LED-021",
    )
    # ...and 2 of the 3 remaining suffice.
    net.ledger.apply_block(resign(block, [v2.validator, v3.validator]))
    assert net.ledger.validator_set_at(change_height + 2) == vset


@pytest.mark.requirement("BMDX-LED-022")
def test_validator_set_change_effective_now_refused(net: Net) -> None:
    v1, v2, v3, _ = net.net.validator_members
    vset = _vset(net, [v1, v2, v3], threshold=2, effective=net.height)
    net.expect_rejected(
        _change(net, vset, [net.net.platform, v1, v2, v3]), "type-rule", "BMDX-LED-022"
    )


@pytest.mark.requirement("BMDX-LED-017")
def test_validator_set_change_below_threshold_refused(net: Net) -> None:
    v1, v2, v3, _ = net.net.validator_members
    vset = _vset(net, [v1, v2, v3], threshold=2, effective=net.height + 1)
    net.expect_rejected(_change(net, vset, [net.net.platform, v1, v2]), "type-rule", "BMDX-LED-017")


@pytest.mark.requirement("BMDX-LED-017")
def test_validator_must_be_a_registered_validator(net: Net) -> None:
    v1, v2, v3, _ = net.net.validator_members
    vset = _vset(net, [v1, v2, net.lab], threshold=2, effective=net.height + 1)
    net.expect_rejected(
        _change(net, vset, [net.net.platform, v1, v2, v3]), "type-rule", "BMDX-LED-017"
    )


def _rotate(net: Net, member: Founder, new_generation: int, effective: int) -> Any:
    new = net.net.new_key(member.id.rsplit(":", 1)[1], new_generation, "ES256")
    rotation = make_key_rotation(member.id, member.signing, new.public, effective)
    tx = net.net.transaction(
        member,
        "key.rotate",
        [rotation],
        inputs=[_participant_input(net, member)],
        timestamp=net.now(),
    )
    return tx, new


@pytest.mark.requirement("BMDX-LED-014")
def test_rotation_moves_validity_at_the_effective_height(net: Net) -> None:
    effective = net.height + 2
    tx, new_key = _rotate(net, net.lab, 2, effective)
    net.submit(tx)
    net.commit()
    # Before the effective height: the new key is not yet valid, the old one is.
    early = net.audit(net.lab, sequence=2)
    early = sign_document({k: v for k, v in early.items() if k != "signatures"}, new_key)
    net.expect_rejected(early, "key-not-valid", "BMDX-LED-014")
    net.submit(net.audit(net.lab, sequence=2))
    net.commit()
    # From the effective height: the old key is out, the new key signs.
    net.expect_rejected(net.audit(net.lab, sequence=3), "key-not-valid", "BMDX-LED-014")
    late = net.audit(net.lab, sequence=3, signers=[])
    late = sign_document({k: v for k, v in late.items() if k != "signatures"}, new_key)
    net.submit(late)
    net.commit()


@pytest.mark.requirement("BMDX-LED-017")
def test_rotation_not_signed_by_the_old_key_refused(net: Net) -> None:
    stranger_key = net.net.new_key("x", 9, "ES256")
    new = net.net.new_key("clearwater-lab", 2, "ES256")
    rotation = make_key_rotation(net.lab.id, stranger_key, new.public, net.height + 1)
    rotation["oldKid"] = net.lab.kid
    tx = net.net.transaction(
        net.lab,
        "key.rotate",
        [rotation],
        inputs=[_participant_input(net, net.lab)],
        timestamp=net.now(),
    )
    net.expect_rejected(tx, "type-rule", "BMDX-LED-017")


@pytest.mark.requirement("BMDX-LED-017")
def test_retroactive_rotation_refused(net: Net) -> None:
    tx, _ = _rotate(net, net.lab, 2, net.height - 1)
    net.expect_rejected(tx, "type-rule", "BMDX-LED-017")


@pytest.mark.requirement("BMDX-LED-016")
def test_second_rotation_of_the_same_participant_version_is_spent(net: Net) -> None:
    first, _ = _rotate(net, net.lab, 2, net.height + 1)
    net.submit(first)
    second, _ = _rotate(net, net.lab, 3, net.height + 1)
    second_doc = copy.deepcopy(second)
    second_doc["inputs"] = first["inputs"]
    net.expect_rejected(
        sign_document({k: v for k, v in second_doc.items() if k != "signatures"}, net.lab.signing),
        "spent-input",
        "BMDX-LED-016",
    )


@pytest.mark.requirement("BMDX-LED-014", "BMDX-SEC-043")
def test_governance_revocation(net: Net) -> None:
    revocation = make_key_revocation(
        net.hospital.id, net.hospital.kid, net.height + 1, "compromised", net.net.platform.signing
    )
    for validator in net.net.validator_members[:3]:
        revocation = validator.sign(revocation)
    tx = net.net.transaction(
        net.net.platform,
        "key.revoke",
        [revocation],
        inputs=[_participant_input(net, net.hospital)],
        timestamp=net.now(),
        signers=net.net.governance,
    )
    net.submit(tx)
    net.commit()
    net.expect_rejected(net.audit(net.hospital), "key-not-valid", "BMDX-LED-014")


@pytest.mark.requirement("BMDX-LED-017")
def test_revocation_by_another_participant_refused(net: Net) -> None:
    revocation = make_key_revocation(
        net.hospital.id, net.hospital.kid, net.height + 1, "compromised", net.lab.signing
    )
    tx = net.net.transaction(
        net.hospital,
        "key.revoke",
        [revocation],
        inputs=[_participant_input(net, net.hospital)],
        timestamp=net.now(),
    )
    net.expect_rejected(tx, "type-rule", "BMDX-LED-017")


# -- genesis ----------------------------------------------------------------------------


@pytest.mark.requirement("BMDX-LED-021")
def test_genesis_needs_the_threshold_of_its_own_set() -> None:
    network = DevNetwork()
    genesis = network.genesis().block
    short = resign(genesis, network.validators[:2])
    with pytest.raises(LedgerError) as info:
        validate_block(short, MemoryChain())
    assert (info.value.reason, info.value.requirement) == (
        "insufficient-signatures",
        "BMDX-LED-021",
    )


@pytest.mark.requirement("BMDX-LED-017")
def test_genesis_registration_must_be_signed_by_every_founder() -> None:
    network = DevNetwork()
    txs = genesis_transactions(
        network.platform, network.validator_members, threshold=3, timestamp=network.time(0)
    )
    unsigned = {k: v for k, v in txs[0].items() if k != "signatures"}
    txs[0] = network.platform.sign(unsigned)
    for founder in network.validator_members[:3]:
        txs[0] = founder.sign(txs[0])
    with pytest.raises(LedgerError) as info:
        build_block(
            MemoryChain(),
            txs,
            proposer=network.validator_members[0].id,
            signers=network.validators,
            now=network.time(0),
        )
    assert (info.value.reason, info.value.requirement, info.value.index) == (
        "type-rule",
        "BMDX-LED-017",
        0,
    )


def test_genesis_of_a_dev_network_is_reproducible() -> None:
    assert DevNetwork().genesis().hash == DevNetwork().genesis().hash
    assert DevNetwork(seed="other").genesis().hash != DevNetwork().genesis().hash


def test_dev_network_validators_sign_separately() -> None:
    network = DevNetwork(validators=5, threshold=4, alg="ES256")
    block = network.genesis().block
    kids = {v.key.kid for v in network.validators}
    assert len(kids) == 5
    assert len(block["tail"]["signatures"]) == 4
    assert all(isinstance(v, Validator) for v in network.validators)
