"""Tampering with a ledger, in its export and in its database, is found and named.

One ledger is populated by a development network and exported.  Each test edits a copy
-- a block file (re-recording its digest in the manifest, as a forger would, unless the
test is about the manifest itself) or the SQLite rows -- and checks that verification
fails at the first bad block (and transaction) with the requirement it breaks, through
the function and through ``bmdx ledger verify``.  The untouched export verifies.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import sqlite3
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from bmdx.reference._internal import ijson
from bmdx.reference._internal.b64 import b64url_decode
from bmdx.reference._internal.canonical import canonical_bytes
from bmdx.reference._internal.errors import BmdxError, LedgerError, StorageError
from bmdx.reference._internal.export import (
    MANIFEST,
    block_document,
    block_path,
    checkpoint_paths,
    write_export,
)
from bmdx.reference._internal.jws import sign_detached
from bmdx.reference._internal.keys import PrivateKey
from bmdx.reference._internal.ledger import verify_ledger
from bmdx.reference._internal.populate import populate
from bmdx.reference._internal.proofs import inclusion_proof, verify_inclusion_proof
from bmdx.reference._internal.storage import digest_id, open_store
from bmdx.reference._internal.verify import verify_path
from bmdx.reference.cli import cli

pytestmark = pytest.mark.requirement("BMDX-LED-041")

ORIGIN = "bmdx.ledger/tamper-test"
# 2 governance blocks, then blocks of 10: heights 1..8, head 8 (7 and 5 transactions).
TRANSACTIONS, FORK_TRANSACTIONS, BLOCK_SIZE = 60, 58, 10
TARGET = 4  # the block most tests tamper with


@dataclass(frozen=True)
class Ledger:
    db: Path
    export: Path
    fork_db: Path
    keys: tuple[PrivateKey, ...]
    head: int


@pytest.fixture(scope="module")
def ledger(tmp_path_factory: pytest.TempPathFactory) -> Ledger:
    root = tmp_path_factory.mktemp("tamper")
    db, fork_db = root / "ledger.db", root / "fork.db"
    made = populate(f"sqlite:///{db}", TRANSACTIONS, seed="tamper", block_size=BLOCK_SIZE)
    forked = populate(f"sqlite:///{fork_db}", FORK_TRANSACTIONS, seed="tamper", block_size=10)
    assert made.height == forked.height
    with open_store(f"sqlite:///{db}") as store:
        write_export(store, root / "export", origin=ORIGIN, keys=made.validator_keys)
    return Ledger(db, root / "export", fork_db, made.validator_keys, made.height)


# --- helpers ----------------------------------------------------------------------------


def _copy_export(ledger: Ledger, tmp_path: Path) -> Path:
    target = tmp_path / "export"
    shutil.copytree(ledger.export, target)
    return target


def _copy_db(ledger: Ledger, tmp_path: Path) -> Path:
    target = tmp_path / "ledger.db"
    shutil.copy(ledger.db, target)
    return target


def _read_block(export: Path, height: int) -> dict[str, Any]:
    result: dict[str, Any] = ijson.loads((export / block_path(height)).read_bytes())
    return result


def _rerecord(export: Path, *, head: bool = False) -> None:
    """Re-record every file's digest in the manifest (and its head, if asked), as a forger."""
    manifest = json.loads((export / MANIFEST).read_text())
    files = []
    for entry in manifest["files"]:
        path = export / entry["path"]
        if not path.exists():
            continue
        data = path.read_bytes()
        files.append(
            {
                "path": entry["path"],
                "sha256": "sha-256:" + hashlib.sha256(data).hexdigest(),
                "size": len(data),
            }
        )
    manifest["files"] = files
    if head:
        last = _read_block(export, manifest["height"])["header"]
        manifest["treeSize"] = last["treeSize"]
        manifest["treeRoot"] = last["treeRoot"]
        manifest["headHash"] = digest_id(canonical_bytes(last))
    (export / MANIFEST).write_text(json.dumps(manifest, indent=2) + "\n")


def _write_block(export: Path, block: dict[str, Any]) -> None:
    (export / block_path(block["header"]["height"])).write_bytes(canonical_bytes(block))


def _edit_block(export: Path, height: int, edit: Callable[[dict[str, Any]], None]) -> None:
    block = _read_block(export, height)
    edit(block)
    _write_block(export, block)
    _rerecord(export)


def _fails(path: Path | str) -> BmdxError:
    with pytest.raises(BmdxError) as caught:
        verify_path(path)
    return caught.value


def _cli_fails(path: Path | str, requirement: str, height: int | None) -> str:
    result = CliRunner().invoke(cli, ["ledger", "verify", str(path)])
    assert result.exit_code == 1, result.output
    assert requirement in result.output
    if height is not None:
        assert f"block {height}" in result.output
    return result.output


def _assert_fault(
    path: Path | str,
    *,
    requirement: str,
    reason: str,
    height: int | None,
    index: int | None = None,
    kind: type[BmdxError] = LedgerError,
) -> BmdxError:
    error = _fails(path)
    assert isinstance(error, kind), repr(error)
    assert (error.requirement, error.reason) == (requirement, reason), str(error)
    if isinstance(error, LedgerError):
        assert (error.height, error.index) == (height, index), str(error)
    _cli_fails(path, requirement, height)
    return error


def _flip_digest_char(tx: dict[str, Any]) -> None:
    """Flip one byte of a signed value: the first hex digit after 'sha-256:' in an output."""
    text = json.dumps(tx["outputs"][0])
    at = text.index("sha-256:") + len("sha-256:")
    flipped = "1" if text[at] != "1" else "2"
    tx["outputs"][0] = json.loads(text[:at] + flipped + text[at + 1 :])


# --- the untouched ledger ---------------------------------------------------------------


def test_untouched_export_and_database_verify(ledger: Ledger) -> None:
    for path in (ledger.export, ledger.db, f"sqlite:///{ledger.db}"):
        report = verify_path(path)
        assert report.result.height == ledger.head
        assert report.result.transactions == TRANSACTIONS + 2  # genesis holds two
        result = CliRunner().invoke(cli, ["ledger", "verify", str(path)])
        assert result.exit_code == 0, result.output
        assert result.output.startswith("OK: ")
    assert verify_path(ledger.export).checkpoints == ledger.head + 1


# --- flip one byte of a transaction -----------------------------------------------------


@pytest.mark.requirement("BMDX-LED-013")
def test_flipped_byte_in_a_transaction_of_the_export(ledger: Ledger, tmp_path: Path) -> None:
    export = _copy_export(ledger, tmp_path)
    original = _read_block(export, TARGET)["body"]["transactions"][2]
    with open_store(f"sqlite:///{ledger.db}") as store:
        stored = store.transaction_by_id(digest_id(canonical_bytes(original)))
        assert stored is not None
        proof = inclusion_proof(store, stored.leaf_index)
    _edit_block(export, TARGET, lambda b: _flip_digest_char(b["body"]["transactions"][2]))
    _assert_fault(
        export, requirement="BMDX-LED-013", reason="bad-signature", height=TARGET, index=2
    )
    # The tampered transaction no longer matches its leaf in the signed tree.
    tampered = _read_block(export, TARGET)["body"]["transactions"][2]
    with pytest.raises(LedgerError) as caught:
        verify_inclusion_proof(proof, transaction=tampered)
    assert (caught.value.reason, caught.value.requirement) == ("leaf-mismatch", "BMDX-LED-001")
    verify_inclusion_proof(proof, transaction=original)


@pytest.mark.requirement("BMDX-LED-045")
def test_flipped_byte_without_updating_the_manifest(ledger: Ledger, tmp_path: Path) -> None:
    export = _copy_export(ledger, tmp_path)
    path = export / block_path(TARGET)
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0x01
    path.write_bytes(bytes(data))
    _assert_fault(export, requirement="BMDX-LED-045", reason="digest-mismatch", height=TARGET)


@pytest.mark.requirement("BMDX-LED-013")
def test_flipped_byte_in_a_database_row(ledger: Ledger, tmp_path: Path) -> None:
    db = _copy_db(ledger, tmp_path)
    with sqlite3.connect(db) as conn:
        leaf, canonical = conn.execute(
            "SELECT leaf_index, canonical FROM transactions WHERE height = ? ORDER BY leaf_index "
            "LIMIT 1 OFFSET 2",
            (TARGET,),
        ).fetchone()
        tx = ijson.loads(canonical)
        _flip_digest_char(tx)
        forged = canonical_bytes(tx)
        conn.execute(
            "UPDATE transactions SET canonical = ?, txid = ? WHERE leaf_index = ?",
            (forged, digest_id(forged), leaf),
        )
    _assert_fault(db, requirement="BMDX-LED-013", reason="bad-signature", height=TARGET, index=2)


def test_a_row_whose_id_is_not_its_digest_is_corrupt(ledger: Ledger, tmp_path: Path) -> None:
    db = _copy_db(ledger, tmp_path)
    with sqlite3.connect(db) as conn:
        conn.execute(
            "UPDATE transactions SET canonical = CAST(replace(CAST(canonical AS TEXT), "
            "'audit.append', 'audit.appenD') AS BLOB) WHERE height = ?",
            (TARGET,),
        )
    error = _fails(db)
    assert isinstance(error, StorageError)
    assert error.reason == "corrupt"
    result = CliRunner().invoke(cli, ["ledger", "verify", str(db)])
    assert result.exit_code == 1


# --- reorder transactions within a block ------------------------------------------------


def _swap(block: dict[str, Any]) -> None:
    txs = block["body"]["transactions"]
    first = next(i for i, t in enumerate(txs) if t["sender"] != txs[0]["sender"])
    txs[0], txs[first] = txs[first], txs[0]


@pytest.mark.requirement("BMDX-LED-003")
def test_reordered_transactions_in_the_export(ledger: Ledger, tmp_path: Path) -> None:
    export = _copy_export(ledger, tmp_path)
    _edit_block(export, TARGET, _swap)
    _assert_fault(export, requirement="BMDX-LED-003", reason="bad-tree", height=TARGET)


@pytest.mark.requirement("BMDX-LED-003")
def test_reordered_transactions_in_the_database(ledger: Ledger, tmp_path: Path) -> None:
    db = _copy_db(ledger, tmp_path)
    with sqlite3.connect(db) as conn:
        rows = conn.execute(
            "SELECT leaf_index, txid, sender, sequence, type, canonical FROM transactions "
            "WHERE height = ? ORDER BY leaf_index",
            (TARGET,),
        ).fetchall()
        a = rows[0]
        b = next(r for r in rows if r[2] != a[2])
        update = (
            "UPDATE transactions SET txid = ?, sender = ?, sequence = ?, type = ?, canonical = ? "
            "WHERE leaf_index = ?"
        )
        conn.execute("UPDATE transactions SET txid = 'moving' WHERE leaf_index = ?", (a[0],))
        conn.execute(update, (*a[1:], b[0]))
        conn.execute(update, (*b[1:], a[0]))
    _assert_fault(db, requirement="BMDX-LED-003", reason="bad-tree", height=TARGET)


# --- drop a block -----------------------------------------------------------------------


@pytest.mark.requirement("BMDX-LED-020")
def test_dropped_block_in_the_export(ledger: Ledger, tmp_path: Path) -> None:
    export = _copy_export(ledger, tmp_path)
    # Shift every later block (and checkpoint) down one height, as if TARGET never was.
    for height in range(TARGET, ledger.head):
        for rel, nxt in zip(
            (block_path(height), *checkpoint_paths(height)),
            (block_path(height + 1), *checkpoint_paths(height + 1)),
            strict=True,
        ):
            shutil.copy(export / nxt, export / rel)
    for rel in (block_path(ledger.head), *checkpoint_paths(ledger.head)):
        (export / rel).unlink()
    manifest = json.loads((export / MANIFEST).read_text())
    manifest["height"] -= 1
    manifest["blockCount"] -= 1
    (export / MANIFEST).write_text(json.dumps(manifest))
    _rerecord(export)
    _assert_fault(export, requirement="BMDX-LED-020", reason="bad-height", height=TARGET + 1)


@pytest.mark.requirement("BMDX-LED-020")
def test_dropped_block_in_the_database(ledger: Ledger, tmp_path: Path) -> None:
    db = _copy_db(ledger, tmp_path)
    with sqlite3.connect(db) as conn:
        conn.execute("DELETE FROM blocks WHERE height = ?", (TARGET,))
    _assert_fault(db, requirement="BMDX-LED-020", reason="bad-height", height=TARGET + 1)


# --- validator signatures ---------------------------------------------------------------


def _replay_signature(ledger: Ledger, export: Path) -> None:
    """Replace tail signature 0 with the same validator's signature of the previous header."""
    previous = _read_block(export, TARGET - 1)["header"]

    def edit(block: dict[str, Any]) -> None:
        kid = ijson.loads(b64url_decode(block["tail"]["signatures"][0]["protected"]))["kid"]
        key = next(k for k in ledger.keys if k.kid == kid)
        block["tail"]["signatures"][0] = sign_detached(
            canonical_bytes(previous), key, typ="bmdx+jws"
        )

    _edit_block(export, TARGET, edit)


@pytest.mark.requirement("BMDX-LED-021")
def test_replaced_validator_signature(ledger: Ledger, tmp_path: Path) -> None:
    export = _copy_export(ledger, tmp_path)
    _replay_signature(ledger, export)
    _assert_fault(export, requirement="BMDX-LED-021", reason="bad-block-signature", height=TARGET)


@pytest.mark.requirement("BMDX-LED-021")
def test_threshold_minus_one_signatures(ledger: Ledger, tmp_path: Path) -> None:
    export = _copy_export(ledger, tmp_path)
    threshold = json.loads((export / "validator-sets.json").read_text())[-1]["threshold"]

    def edit(block: dict[str, Any]) -> None:
        block["tail"]["signatures"] = block["tail"]["signatures"][: threshold - 1]

    _edit_block(export, TARGET, edit)
    _assert_fault(
        export, requirement="BMDX-LED-021", reason="insufficient-signatures", height=TARGET
    )


@pytest.mark.requirement("BMDX-LED-021")
def test_threshold_minus_one_signatures_in_the_database(ledger: Ledger, tmp_path: Path) -> None:
    db = _copy_db(ledger, tmp_path)
    with sqlite3.connect(db) as conn:
        (tail,) = conn.execute("SELECT tail FROM blocks WHERE height = ?", (TARGET,)).fetchone()
        doc = ijson.loads(tail)
        doc["signatures"] = doc["signatures"][:2]
        conn.execute("UPDATE blocks SET tail = ? WHERE height = ?", (canonical_bytes(doc), TARGET))
    _assert_fault(db, requirement="BMDX-LED-021", reason="insufficient-signatures", height=TARGET)


# --- truncation and forks ---------------------------------------------------------------


@pytest.mark.requirement("BMDX-LED-045")
def test_truncated_export(ledger: Ledger, tmp_path: Path) -> None:
    export = _copy_export(ledger, tmp_path)
    for height in (ledger.head - 1, ledger.head):
        for rel in (block_path(height), *checkpoint_paths(height)):
            (export / rel).unlink()
    _assert_fault(export, requirement="BMDX-LED-045", reason="missing-file", height=ledger.head - 1)


@pytest.mark.requirement("BMDX-LED-045")
def test_truncated_export_with_a_rewritten_file_list(ledger: Ledger, tmp_path: Path) -> None:
    export = _copy_export(ledger, tmp_path)
    (export / block_path(ledger.head)).unlink()
    _rerecord(export)  # drops the vanished file from the list; the head still claims it
    _assert_fault(export, requirement="BMDX-LED-045", reason="manifest", height=ledger.head)


@pytest.mark.requirement("BMDX-LED-023")
def test_fork_two_signed_blocks_at_one_height(ledger: Ledger, tmp_path: Path) -> None:
    export = _copy_export(ledger, tmp_path)
    with open_store(f"sqlite:///{ledger.fork_db}") as fork:
        record = fork.block(ledger.head)
        assert record is not None
        other = block_document(fork, record)
    original = _read_block(export, ledger.head)
    assert other["header"]["previous"] == original["header"]["previous"]
    assert other["header"] != original["header"]
    _write_block(export, other)
    _rerecord(export, head=True)
    # The replay alone accepts the forged history; the validators' checkpoint of the
    # original block at that height exposes the second history.
    _assert_fault(export, requirement="BMDX-LED-023", reason="fork", height=ledger.head)


@pytest.mark.requirement("BMDX-LED-023")
def test_fork_in_a_stream_of_blocks(ledger: Ledger) -> None:
    with open_store(f"sqlite:///{ledger.fork_db}") as fork:
        record = fork.block(ledger.head)
        assert record is not None
        other = block_document(fork, record)
    blocks = [_read_block(ledger.export, h) for h in range(ledger.head + 1)]
    with pytest.raises(LedgerError) as caught:
        verify_ledger([*blocks, other])
    assert (caught.value.reason, caught.value.requirement, caught.value.height) == (
        "fork",
        "BMDX-LED-023",
        ledger.head,
    )


# --- the export's own files -------------------------------------------------------------


@pytest.mark.requirement("BMDX-LED-045")
def test_unlisted_file(ledger: Ledger, tmp_path: Path) -> None:
    export = _copy_export(ledger, tmp_path)
    (export / "blocks" / "notes.txt").write_text("hello")
    _assert_fault(export, requirement="BMDX-LED-045", reason="unlisted-file", height=None)


@pytest.mark.requirement("BMDX-LED-044")
def test_checkpoint_with_a_forged_signature(ledger: Ledger, tmp_path: Path) -> None:
    export = _copy_export(ledger, tmp_path)
    rel = checkpoint_paths(TARGET)[0]
    document = ijson.loads((export / rel).read_bytes())
    document["treeSize"] += 1
    (export / rel).write_bytes(canonical_bytes(document))
    _rerecord(export)
    _assert_fault(export, requirement="BMDX-LED-044", reason="bad-signature", height=TARGET)


@pytest.mark.requirement("BMDX-LED-043")
def test_checkpoint_note_with_a_bad_signature(ledger: Ledger, tmp_path: Path) -> None:
    export = _copy_export(ledger, tmp_path)
    rel = checkpoint_paths(TARGET)[1]
    text = (export / rel).read_text()
    lines = text.split("\n")
    lines[1] = str(int(lines[1]) + 1)  # the tree size: every signature now fails
    (export / rel).write_text("\n".join(lines))
    _rerecord(export)
    _assert_fault(export, requirement="BMDX-LED-043", reason="bad-signature", height=TARGET)
