"""The suite's own ledger verifier, cross-checked against the reference's (N-version).

Both verifiers read the same export of a populated reference ledger; on every tamper
they must name the same requirement.  The suite's verifier never imports the
reference; this test module does, only to compare the two.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest
from jwcrypto import jwk

from bmdx.conformance._internal.http_client import sign_object
from bmdx.conformance._internal.verifiers import checkpoint as notes
from bmdx.conformance._internal.verifiers import jose
from bmdx.conformance._internal.verifiers.ledger import (
    Ledger,
    LedgerFaultError,
    canonical,
    verify_export,
    verify_exports,
)
from bmdx.conformance.suite.artifacts._tamper import TAMPERS, Tamper, reseal
from bmdx.reference._internal.errors import BmdxError
from bmdx.reference._internal.export import write_export
from bmdx.reference._internal.keys import private_key_to_pem
from bmdx.reference._internal.populate import populate
from bmdx.reference._internal.storage import open_store
from bmdx.reference._internal.verify import verify_path

REPO = Path(__file__).resolve().parents[2]
ORIGIN = "bmdx.ledger/devnet"


def _export(root: Path, transactions: int) -> tuple[Path, list[dict[str, Any]]]:
    url = f"sqlite:///{root / 'l.db'}"
    result = populate(url, transactions, seed="1", block_size=40)
    out = root / "export"
    with open_store(url) as store:
        write_export(store, out, origin=ORIGIN, keys=result.validator_keys)
    keys = [
        jwk.JWK.from_pem(private_key_to_pem(k)).export_private(as_dict=True)
        for k in result.validator_keys
    ]
    return out, keys


@pytest.fixture(scope="module")
def exported(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[dict[str, Any]]]:
    return _export(tmp_path_factory.mktemp("ledger"), 150)


def test_a_valid_export_verifies_like_the_reference_says(
    exported: tuple[Path, list[dict[str, Any]]],
) -> None:
    path, _ = exported
    summary = verify_export(path)
    manifest = json.loads((path / "manifest.json").read_bytes())
    assert (summary.height, summary.tree_size, summary.tree_root, summary.head_hash) == (
        manifest["height"],
        manifest["treeSize"],
        manifest["treeRoot"],
        manifest["headHash"],
    )
    assert summary.transactions == manifest["treeSize"]
    reference = verify_path(path)
    assert reference.result.head_hash == summary.head_hash
    assert reference.result.tree_root == summary.tree_root


def _reference_fault(path: Path) -> str:
    with pytest.raises(BmdxError) as caught:
        verify_path(path)
    return str(caught.value.requirement)


@pytest.mark.parametrize("tamper", [pytest.param(t, id=t.name) for t in TAMPERS])
def test_both_verifiers_name_the_same_fault(
    exported: tuple[Path, list[dict[str, Any]]], tamper: Tamper, tmp_path: Path
) -> None:
    path, _ = exported
    broken = tamper.make(path, tmp_path / "export")
    with pytest.raises(LedgerFaultError) as caught:
        verify_export(broken)
    assert (caught.value.requirement, caught.value.reason) == (tamper.requirement, tamper.reason)
    assert _reference_fault(broken) == tamper.requirement


def _last_block(root: Path) -> tuple[int, Path]:
    manifest = json.loads((root / "manifest.json").read_bytes())
    height = manifest["height"]
    return height, root / f"blocks/{height:010d}.json"


def test_a_re_signed_block_against_its_checkpoint_is_a_fork(
    exported: tuple[Path, list[dict[str, Any]]], tmp_path: Path
) -> None:
    """The validators signed two headers at one height: the block and its checkpoint."""
    source, keys = exported
    path = tmp_path / "export"
    shutil.copytree(source, path)
    height, block_file = _last_block(path)
    block = json.loads(block_file.read_bytes())
    header = block["header"]
    header["timestamp"] = header["timestamp"].replace("Z", ".5Z")
    signed: dict[str, Any] = dict(header)
    for key in keys:
        signed = sign_object(signed, key)
    block["tail"]["signatures"] = signed["signatures"]
    block_file.write_bytes(canonical(block))
    reseal(path, block_file.relative_to(path).as_posix())
    with pytest.raises(LedgerFaultError) as caught:
        verify_export(path)
    assert (caught.value.requirement, caught.value.reason, caught.value.height) == (
        "BMDX-LED-023",
        "fork",
        height,
    )


def test_two_exports_of_one_origin_that_disagree_are_a_fork(
    exported: tuple[Path, list[dict[str, Any]]], tmp_path: Path
) -> None:
    path, _ = exported
    other, _ = _export(tmp_path, 130)  # same network and origin, another last block
    assert verify_export(other).origin == verify_export(path).origin
    with pytest.raises(LedgerFaultError) as caught:
        verify_exports([path, other])
    assert (caught.value.requirement, caught.value.reason) == ("BMDX-LED-023", "fork")
    # A prefix of the same history is no fork.
    assert len(verify_exports([path, path])) == 2


def _opened(case: dict[str, Any]) -> dict[str, Any]:
    trusted = [notes.NoteKey.from_vkey(v) for v in case["verifiers"]]
    try:
        opened = notes.open_note(
            case["note"], trusted, origin=case["origin"], threshold=case["threshold"]
        )
    except notes.NoteError as e:
        return {"valid": False, "reason": e.reason, "requirement": e.requirement}
    return {
        "valid": True,
        "origin": opened.origin,
        "treeSize": opened.tree_size,
        "rootHash": "sha-256:" + opened.root_hash.hex(),
        "height": opened.height,
        "verified": [k.vkey for k in opened.signers],
    }


def test_the_note_verifier_agrees_with_every_checkpoint_vector() -> None:
    cases = json.loads((REPO / "spec/vectors/checkpoints/notes.json").read_bytes())
    assert cases
    assert [_opened(c) for c in cases] == [c["expect"] for c in cases]


def test_the_example_blocks_are_one_valid_chain() -> None:
    ledger = Ledger()
    blocks = [
        json.loads(p.read_bytes()) for p in (REPO / "spec/examples/valid/block").glob("*.json")
    ]
    for block in sorted(blocks, key=lambda b: b["header"]["height"]):
        ledger.add_block(block)
    assert ledger.head is not None
    assert ledger.head.height == len(blocks) - 1


def test_a_genesis_block_without_its_validators_signatures_is_refused() -> None:
    block = json.loads((REPO / "spec/examples/valid/block/genesis.json").read_bytes())
    block["tail"]["signatures"] = block["tail"]["signatures"][:1]
    with pytest.raises(LedgerFaultError) as caught:
        Ledger().add_block(block)
    assert (caught.value.requirement, caught.value.reason) == (
        "BMDX-LED-021",
        "insufficient-signatures",
    )


@pytest.mark.parametrize(
    "header",
    [
        {"alg": "none", "kid": "k"},
        {"alg": "HS256", "kid": "k"},
        {"alg": "Ed25519", "kid": "k", "jwk": {}},
        {"alg": "Ed25519", "kid": "k", "typ": "JWT"},
        {"alg": "Ed25519"},
    ],
)
def test_signature_entries_outside_the_profile_are_refused(header: dict[str, Any]) -> None:
    key = jwk.JWK.generate(kty="OKP", crv="Ed25519")
    public = key.export_public(as_dict=True)
    protected = jose.b64url_encode(json.dumps(header).encode())
    entry = {"protected": protected, "signature": "A" * 86}
    with pytest.raises(jose.BadSignatureError):
        jose.verify_entry(entry, b"payload", {"k": public})
