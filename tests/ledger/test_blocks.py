"""Blocks: building, every validity rule on received blocks, forks, offline verification."""

from __future__ import annotations

import copy
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from bmdx.reference._internal.errors import LedgerError
from bmdx.reference._internal.ledger import (
    DevNetwork,
    Ledger,
    MemoryChain,
    Validator,
    block_hash,
    validate_block,
    verify_ledger,
)
from bmdx.reference._internal.merkle import leaf_hash, verify_inclusion
from bmdx.reference._internal.specdata import spec_dir
from bmdx.reference._internal.storage import open_store
from tests.ledger.kit import Net, open_net, resign
from tests.storage.conftest import postgres_url, store_url  # noqa: F401 (fixtures)


@pytest.fixture
def net(store_url: str) -> Iterator[Net]:  # noqa: F811
    yield from open_net(store_url)


@pytest.fixture
def follower(tmp_path: Path) -> Iterator[Ledger]:
    """A second node of the same network, holding no validator keys."""
    with open_store(f"sqlite:///{tmp_path / 'follower.db'}") as store:
        ledger = Ledger(store)
        ledger.apply_block(DevNetwork().genesis().block)
        yield ledger


def _next_block(net: Net) -> dict[str, Any]:
    """A valid, signed, uncommitted next block of ``net`` holding one audit event."""
    net.submit(net.audit(net.lab))
    sealed = net.ledger.seal_pending(net.tick())
    return sealed.block


def _signers(net: Net, count: int) -> list[Validator]:
    return net.net.validators[:count]


@pytest.mark.requirement("BMDX-LED-020")
def test_a_second_node_applies_the_blocks_of_the_first(net: Net, follower: Ledger) -> None:
    for height in (1, 2):
        if height == 2:
            net.submit(net.audit(net.lab))
            net.commit()
        block = net.ledger.block(height)
        follower.apply_block(json.dumps(block).encode())
    head, copy_head = net.ledger.head(), follower.head()
    assert head is not None
    assert copy_head is not None
    assert (copy_head.height, copy_head.hash, copy_head.tree_root) == (
        head.height,
        head.hash,
        head.tree_root,
    )


@pytest.mark.requirement("BMDX-LED-003")
def test_header_carries_the_tree_head_of_the_whole_log(net: Net) -> None:
    tx = net.audit(net.lab)
    receipt = net.submit(tx)
    block = net.commit()
    assert block.tree_size == net.ledger.store.stats().transactions
    proof = net.ledger.inclusion_proof(receipt.txid)
    stored = net.ledger.store.transaction_by_id(receipt.txid)
    assert stored is not None
    path = [bytes.fromhex(h.removeprefix("sha-256:")) for h in proof["path"]]
    assert verify_inclusion(
        leaf_hash(stored.canonical), proof["leafIndex"], proof["treeSize"], path, block.tree_root
    )


@pytest.mark.requirement("BMDX-LED-020")
def test_bad_height(net: Net) -> None:
    block = _next_block(net)
    block["header"]["height"] += 1
    net.expect_block_rejected(resign(block, _signers(net, 3)), "bad-height", "BMDX-LED-020")


@pytest.mark.requirement("BMDX-LED-020")
def test_bad_previous(net: Net) -> None:
    block = _next_block(net)
    block["header"]["previous"] = "sha-256:" + "1" * 64
    net.expect_block_rejected(resign(block, _signers(net, 3)), "bad-previous", "BMDX-LED-020")


@pytest.mark.requirement("BMDX-LED-018")
def test_block_timestamp_before_the_previous(net: Net) -> None:
    block = _next_block(net)
    block["header"]["timestamp"] = net.net.time(0)
    net.expect_block_rejected(resign(block, _signers(net, 3)), "timestamp", "BMDX-LED-018")


@pytest.mark.requirement("BMDX-LED-020")
def test_bad_count(net: Net) -> None:
    block = _next_block(net)
    block["header"]["txCount"] = 2
    net.expect_block_rejected(resign(block, _signers(net, 3)), "bad-count", "BMDX-LED-020")


@pytest.mark.requirement("BMDX-LED-003")
def test_bad_tree_root(net: Net) -> None:
    block = _next_block(net)
    block["header"]["treeRoot"] = "sha-256:" + "2" * 64
    net.expect_block_rejected(resign(block, _signers(net, 3)), "bad-tree", "BMDX-LED-003")


@pytest.mark.requirement("BMDX-LED-020")
def test_bad_tree_size(net: Net) -> None:
    block = _next_block(net)
    block["header"]["treeSize"] += 1
    net.expect_block_rejected(resign(block, _signers(net, 3)), "bad-tree", "BMDX-LED-020")


@pytest.mark.requirement("BMDX-LED-021")
def test_non_member_proposer_refused(net: Net) -> None:
    block = _next_block(net)
    block["header"]["proposer"] = net.lab.id
    net.expect_block_rejected(resign(block, _signers(net, 3)), "bad-proposer", "BMDX-LED-021")


@pytest.mark.requirement("BMDX-LED-021")
def test_k_minus_one_signatures_refused(net: Net) -> None:
    block = resign(_next_block(net), _signers(net, 2))
    net.expect_block_rejected(block, "insufficient-signatures", "BMDX-LED-021")


@pytest.mark.requirement("BMDX-LED-021")
def test_signatures_of_one_validator_count_once(net: Net) -> None:
    block = resign(_next_block(net), _signers(net, 2))
    block["tail"]["signatures"].append(copy.deepcopy(block["tail"]["signatures"][0]))
    net.expect_block_rejected(block, "insufficient-signatures", "BMDX-LED-021")


@pytest.mark.requirement("BMDX-LED-021")
def test_signature_by_a_non_validator_refused(net: Net) -> None:
    outsider = Validator(net.lab.id, net.lab.signing)
    block = resign(_next_block(net), [*_signers(net, 3), outsider])
    net.expect_block_rejected(block, "bad-block-signature", "BMDX-LED-021")


@pytest.mark.requirement("BMDX-LED-021")
def test_tampered_header_breaks_the_tail(net: Net) -> None:
    block = _next_block(net)
    block["header"]["timestamp"] = net.net.time(net.clock + 1)
    net.expect_block_rejected(block, "bad-block-signature", "BMDX-LED-021")


@pytest.mark.requirement("BMDX-LED-011")
def test_invalid_transaction_in_a_received_block_is_named(net: Net) -> None:
    first = net.audit(net.lab)
    net.submit(first)
    net.submit(net.audit(net.lab))
    block = net.ledger.seal_pending(net.tick()).block
    block["body"]["transactions"][1] = copy.deepcopy(first)  # a replay inside the block
    error = net.expect_block_rejected(block, "replay", "BMDX-LED-015")
    assert (error.height, error.index) == (2, 1)


@pytest.mark.requirement("BMDX-LED-023")
def test_different_block_at_a_stored_height_is_a_fork(net: Net) -> None:
    net.submit(net.audit(net.lab))
    net.commit()
    stored = net.ledger.block(2)
    assert stored is not None
    other = copy.deepcopy(stored)
    other["header"]["timestamp"] = net.net.time(net.clock + 5)
    other = resign(other, _signers(net, 3))
    net.expect_block_rejected(other, "fork", "BMDX-LED-023")
    net.expect_block_rejected(stored, "bad-height", "BMDX-LED-020")


@pytest.mark.requirement("BMDX-LED-023")
def test_storage_conflict_is_reported_as_a_fork(net: Net, store_url: str) -> None:  # noqa: F811
    # Two nodes build height 2 on one store; the second commit finds the height taken.
    with open_store(store_url) as store:
        rival = Ledger(store, validators=net.net.validators)
        net.submit(net.audit(net.lab))
        rival.submit(net.audit(net.hospital), now=net.now())
        net.commit()
        with pytest.raises(LedgerError) as info:
            rival.commit_pending(net.tick())
    assert (info.value.reason, info.value.requirement) == ("fork", "BMDX-LED-023")


@pytest.mark.requirement("BMDX-LED-041")
def test_verify_ledger_replays_from_genesis(net: Net) -> None:
    for _ in range(3):
        net.submit(net.audit(net.lab))
        net.submit(net.audit(net.hospital))
        net.commit()
    seen: list[tuple[int, int]] = []
    result = verify_ledger(net.ledger.blocks(), on_progress=lambda h, s: seen.append((h, s)))
    head = net.ledger.head()
    assert head is not None
    assert (result.height, result.tree_size, result.head_hash) == (
        head.height,
        head.tree_size,
        head.hash,
    )
    assert [h for h, _ in seen] == list(range(head.height + 1))


@pytest.mark.requirement("BMDX-LED-041")
def test_verify_ledger_names_the_first_bad_transaction(net: Net) -> None:
    for _ in range(2):
        net.submit(net.audit(net.lab))
        net.submit(net.audit(net.hospital))
        net.commit()
    blocks = list(net.ledger.blocks())
    blocks[3]["body"]["transactions"][1]["timestamp"] = net.net.time(1)
    with pytest.raises(LedgerError) as info:
        verify_ledger(blocks)
    error = info.value
    assert (error.reason, error.requirement, error.height, error.index) == (
        "bad-signature",
        "BMDX-LED-013",
        3,
        1,
    )


@pytest.mark.requirement("BMDX-LED-023")
def test_verify_ledger_refuses_two_blocks_at_one_height(net: Net) -> None:
    net.submit(net.audit(net.lab))
    net.commit()
    blocks = list(net.ledger.blocks())
    other = copy.deepcopy(blocks[-1])
    other["header"]["timestamp"] = net.net.time(net.clock + 5)
    blocks.append(resign(other, _signers(net, 3)))
    with pytest.raises(LedgerError) as info:
        verify_ledger(blocks)
    assert (info.value.reason, info.value.height) == ("fork", 2)


def test_spec_example_blocks_verify() -> None:
    folder = spec_dir() / "examples" / "valid" / "block"
    names = ["genesis", "height-1-registrations", "height-2-key-changes"]
    blocks = [(folder / f"{n}.json").read_bytes() for n in names]
    result = verify_ledger(blocks)
    assert (result.blocks, result.tree_size) == (3, 6)
    assert result.head_hash == block_hash(json.loads(blocks[-1])["header"])


def test_validate_block_writes_nothing() -> None:
    chain = MemoryChain()
    genesis = DevNetwork().genesis().block
    commit = validate_block(genesis, chain)
    assert chain.head() is None
    chain.commit(commit)
    head = chain.head()
    assert head is not None
    assert head.hash == block_hash(genesis["header"])
