"""Tampered copies of a ledger export, made on the fly, each with the fault it must raise.

Each :class:`Tamper` copies an export and breaks exactly one rule.  Those named
``*-resealed`` then rewrite the manifest's length and digest of every file they
changed, so that the fault lies past the manifest checks and the verifier has to find
it in the blocks, transactions or checkpoints themselves.  A tamper that needs
something the export lacks (two blocks, a block with transactions of two senders)
raises :class:`NotApplicableError`.
"""

from __future__ import annotations

import base64
import hashlib
import json
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

__all__ = ["TAMPERS", "NotApplicableError", "Tamper", "reseal"]


class NotApplicableError(Exception):
    """The export has nothing this tamper can change."""


@dataclass(frozen=True)
class Tamper:
    name: str
    requirement: str
    reason: str
    apply: Callable[[Path], None]

    def make(self, source: Path, into: Path) -> Path:
        """A tampered copy of ``source`` at ``into``."""
        shutil.copytree(source, into)
        self.apply(into)
        return into


def _manifest(root: Path) -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads((root / "manifest.json").read_bytes())
    return loaded


def _write_json(path: Path, value: Any) -> None:
    path.write_bytes(json.dumps(value, ensure_ascii=False, separators=(",", ":")).encode("utf-8"))


def reseal(root: Path, *changed: str) -> None:
    """Make the manifest record the current length and SHA-256 of ``changed`` files."""
    manifest = _manifest(root)
    for entry in manifest["files"]:
        if entry["path"] in changed:
            data = (root / entry["path"]).read_bytes()
            entry["size"] = len(data)
            entry["sha256"] = "sha-256:" + hashlib.sha256(data).hexdigest()
    _write_json(root / "manifest.json", manifest)


def _block_path(height: int) -> str:
    return f"blocks/{height:010d}.json"


def _heights(root: Path) -> list[int]:
    return list(range(int(_manifest(root)["blockCount"])))


def _block(root: Path, height: int) -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads((root / _block_path(height)).read_bytes())
    return loaded


def _save_block(root: Path, height: int, block: dict[str, Any]) -> None:
    _write_json(root / _block_path(height), block)
    reseal(root, _block_path(height))


def _with_transactions(root: Path, at_least: int = 1) -> int:
    """The last height whose block holds ``at_least`` transactions."""
    for height in reversed(_heights(root)):
        if len(_block(root, height)["body"]["transactions"]) >= at_least:
            return height
    raise NotApplicableError(f"no block holds {at_least} transaction(s)")


def _flip_char(text: str, index: int) -> str:
    replacement = "A" if text[index] != "A" else "B"
    return text[:index] + replacement + text[index + 1 :]


# -- manifest and files ------------------------------------------------------------------


def _flip_byte(root: Path) -> None:
    path = root / _block_path(_heights(root)[-1])
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0x01
    path.write_bytes(bytes(data))


def _truncate(root: Path) -> None:
    path = root / _block_path(_heights(root)[-1])
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])


def _drop_block_file(root: Path) -> None:
    (root / _block_path(_heights(root)[-1])).unlink()


def _add_unlisted_file(root: Path) -> None:
    (root / "blocks" / "notes.txt").write_text("not part of the export\n", encoding="utf-8")


def _manifest_head(root: Path) -> None:
    manifest = _manifest(root)
    if manifest["treeSize"] < 1:
        raise NotApplicableError("the export holds no transaction")
    manifest["treeSize"] -= 1
    _write_json(root / "manifest.json", manifest)


# -- layout and schemas (resealed) ---------------------------------------------------------


def _extra_member(root: Path) -> None:
    height = _heights(root)[-1]
    block = _block(root, height)
    block["comment"] = "an undefined member"
    _save_block(root, height, block)


def _validator_sets(root: Path) -> None:
    rel = "validator-sets.json"
    sets = json.loads((root / rel).read_bytes())
    sets = [*sets, sets[-1]] if len(sets) < 2 else sets[:-1]
    _write_json(root / rel, sets)
    reseal(root, rel)


# -- blocks (resealed) -----------------------------------------------------------------------


def _drop_block(root: Path) -> None:
    """Remove a block from the middle and close the gap by renumbering the files."""
    heights = _heights(root)
    if len(heights) < 3:
        raise NotApplicableError("fewer than three blocks")
    gone = heights[1]
    last = heights[-1]
    for height in range(gone, last):
        shutil.copyfile(root / _block_path(height + 1), root / _block_path(height))
    (root / _block_path(last)).unlink()
    for suffix in ("json", "note"):
        (root / f"checkpoints/{last:010d}.{suffix}").unlink()
    manifest = _manifest(root)
    removed = {_block_path(last), f"checkpoints/{last:010d}.json", f"checkpoints/{last:010d}.note"}
    manifest["files"] = [f for f in manifest["files"] if f["path"] not in removed]
    manifest["height"] -= 1
    manifest["blockCount"] -= 1
    _write_json(root / "manifest.json", manifest)
    reseal(root, *[_block_path(h) for h in range(gone, last)])


def _below_threshold(root: Path) -> None:
    """Keep one signature fewer than the genesis validator set's threshold in a tail."""
    sets = json.loads((root / "validator-sets.json").read_bytes())
    height = _heights(root)[-1]
    threshold = next(s["threshold"] for s in reversed(sets) if s["effectiveHeight"] <= height)
    block = _block(root, height)
    block["tail"]["signatures"] = block["tail"]["signatures"][: max(threshold - 1, 1)]
    if threshold - 1 < 1:
        raise NotApplicableError("a threshold of one cannot lose a signature")
    _save_block(root, height, block)


def _block_signature(root: Path) -> None:
    height = _heights(root)[-1]
    block = _block(root, height)
    entry = block["tail"]["signatures"][0]
    entry["signature"] = _flip_char(entry["signature"], 5)
    _save_block(root, height, block)


def _reorder(root: Path) -> None:
    """Swap two adjacent transactions of different senders that consume nothing."""
    height = _with_transactions(root, 2)
    block = _block(root, height)
    txs = block["body"]["transactions"]
    for i in range(len(txs) - 1):
        a, b = txs[i], txs[i + 1]
        if a["sender"] != b["sender"] and not a["inputs"] and not b["inputs"]:
            txs[i], txs[i + 1] = b, a
            _save_block(root, height, block)
            return
    raise NotApplicableError("no two adjacent independent transactions")


# -- transactions (resealed) -------------------------------------------------------------------


def _tx_signature(root: Path) -> None:
    height = _with_transactions(root)
    block = _block(root, height)
    entry = block["body"]["transactions"][-1]["signatures"][0]
    entry["signature"] = _flip_char(entry["signature"], 5)
    _save_block(root, height, block)


def _replay(root: Path) -> None:
    """Replace a transaction by an earlier one of the same sender: a replayed sequence."""
    for height in reversed(_heights(root)):
        block = _block(root, height)
        txs = block["body"]["transactions"]
        for j in range(len(txs) - 1, 0, -1):
            for i in range(j):
                if txs[i]["sender"] == txs[j]["sender"]:
                    # Drop everything from j on and put the earlier transaction there,
                    # padding with it, so that the count stays the header's.
                    txs[j] = txs[i]
                    _save_block(root, height, block)
                    return
    raise NotApplicableError("no sender sends twice in one block")


def _unknown_sender(root: Path) -> None:
    height = _with_transactions(root)
    block = _block(root, height)
    block["body"]["transactions"][-1]["sender"] = "urn:bmdx:participant:nobody-registered"
    _save_block(root, height, block)


# -- checkpoints (resealed) ------------------------------------------------------------------


def _note_signature(root: Path) -> None:
    rel = f"checkpoints/{_heights(root)[-1]:010d}.note"
    text = (root / rel).read_text(encoding="utf-8")
    body, _, signatures = text.rpartition("\n\n")
    lines = signatures.split("\n")
    dash, name, encoded = lines[0].split(" ")
    raw = bytearray(base64.b64decode(encoded))
    raw[-1] ^= 0x01  # inside the Ed25519 signature, after the key id
    lines[0] = " ".join((dash, name, base64.b64encode(bytes(raw)).decode("ascii")))
    (root / rel).write_text(body + "\n\n" + "\n".join(lines), encoding="utf-8")
    reseal(root, rel)


def _checkpoint_signers(root: Path) -> None:
    rel = f"checkpoints/{_heights(root)[-1]:010d}.json"
    document = json.loads((root / rel).read_bytes())
    if len(document["signatures"]) < 2:
        raise NotApplicableError("the checkpoint has one signature")
    document["signatures"] = document["signatures"][:1]
    sets = json.loads((root / "validator-sets.json").read_bytes())
    if sets[-1]["threshold"] < 2:
        raise NotApplicableError("a threshold of one")
    _write_json(root / rel, document)
    reseal(root, rel)


TAMPERS: tuple[Tamper, ...] = (
    Tamper("flip-a-byte", "BMDX-LED-045", "digest-mismatch", _flip_byte),
    Tamper("truncate", "BMDX-LED-045", "size-mismatch", _truncate),
    Tamper("missing-block-file", "BMDX-LED-045", "missing-file", _drop_block_file),
    Tamper("unlisted-file", "BMDX-LED-045", "unlisted-file", _add_unlisted_file),
    Tamper("manifest-head", "BMDX-LED-045", "manifest", _manifest_head),
    Tamper("undefined-member-resealed", "BMDX-LED-040", "schema", _extra_member),
    Tamper("validator-sets-resealed", "BMDX-LED-040", "validator-sets", _validator_sets),
    Tamper("drop-a-block-resealed", "BMDX-LED-020", "bad-height", _drop_block),
    Tamper(
        "k-minus-1-signatures-resealed", "BMDX-LED-021", "insufficient-signatures", _below_threshold
    ),
    Tamper("block-signature-resealed", "BMDX-LED-021", "bad-block-signature", _block_signature),
    Tamper("reorder-resealed", "BMDX-LED-003", "bad-tree-root", _reorder),
    Tamper("transaction-signature-resealed", "BMDX-LED-013", "bad-signature", _tx_signature),
    Tamper("replayed-transaction-resealed", "BMDX-LED-015", "replay", _replay),
    Tamper("unknown-sender-resealed", "BMDX-LED-012", "unknown-sender", _unknown_sender),
    Tamper("note-signature-resealed", "BMDX-LED-043", "bad-signature", _note_signature),
    Tamper("checkpoint-signers-resealed", "BMDX-LED-044", "below-threshold", _checkpoint_signers),
)
