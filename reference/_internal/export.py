"""Ledger exports: the documented directory anyone can verify offline (BMDX-LED-040).

Layout (spec/conventions/ledger.md)::

    manifest.json              LedgerExport: origin, head, and SHA-256 + size of every file
    blocks/<height>.json       one Block per file, height zero-padded to 10 digits
    validator-sets.json        every ValidatorSet in force over the ledger's life, in order
    checkpoints/<height>.json  the block's Checkpoint (JSON, signed by validators)
    checkpoints/<height>.note  the same tree head as a C2SP tlog-checkpoint signed note

Objects are written in their RFC 8785 canonical form, so an export of a ledger is the
same bytes whoever makes it (the manifest is indented for people to read).  Writing
streams block by block from the store and keeps only the file list in memory; it goes
to a sibling ``.partial`` directory renamed into place at the end, so a failed export
leaves nothing that looks like one.  Every object is schema-validated when written and
when read back (:class:`ExportReader`), and every file read is re-hashed and compared
with the manifest before its bytes are used.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bmdx.reference._internal import ijson
from bmdx.reference._internal.canonical import canonical_bytes
from bmdx.reference._internal.checkpoints import (
    checkpoint_body,
    checkpoint_document,
    checkpoint_note,
)
from bmdx.reference._internal.errors import BmdxError, ExportError, SchemaValidationError
from bmdx.reference._internal.keys import PrivateKey
from bmdx.reference._internal.schema import schema_set
from bmdx.reference._internal.storage import BlockRecord, Store

__all__ = [
    "FORMAT_VERSION",
    "MANIFEST",
    "ExportReader",
    "Progress",
    "block_document",
    "block_path",
    "checkpoint_paths",
    "checkpoint_signers",
    "write_export",
]

REQ_LAYOUT = "BMDX-LED-040"
REQ_MANIFEST = "BMDX-LED-045"

FORMAT_VERSION = 1
MANIFEST = "manifest.json"
VALIDATOR_SETS = "validator-sets.json"
HEIGHT_DIGITS = 10
# A block holds at most 10,000 transactions of at most the profile's body size each; the
# files of an export are read with this ceiling rather than the per-request limit.
MAX_FILE_BYTES = 1 << 31
_CHUNK = 1 << 20

#: ``progress(done, total)``, called as blocks are written or read.
Progress = Callable[[int, int], None]


def block_path(height: int) -> str:
    return f"blocks/{height:0{HEIGHT_DIGITS}d}.json"


def checkpoint_paths(height: int) -> tuple[str, str]:
    stem = f"checkpoints/{height:0{HEIGHT_DIGITS}d}"
    return f"{stem}.json", f"{stem}.note"


def block_document(store: Store, record: BlockRecord) -> dict[str, Any]:
    """The ``Block`` document of a stored block: header, its transactions, tail."""
    transactions = [
        ijson.loads(t.canonical, max_bytes=MAX_FILE_BYTES)
        for t in store.iter_transactions(record.first_leaf, record.tree_size)
    ]
    return {
        "objectType": "Block",
        "header": ijson.loads(record.header),
        "body": {"transactions": transactions},
        "tail": ijson.loads(record.tail),
    }


def _validate(document: Any, object_type: str, where: str, height: int | None) -> None:
    try:
        schema_set().validate(document, object_type)
    except SchemaValidationError as exc:
        raise ExportError(
            f"{where}: {exc.message}",
            reason="schema",
            pointer=exc.pointer,
            height=height,
        ) from exc


class _Writer:
    """Writes files under a directory and records their digests for the manifest."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.files: list[dict[str, Any]] = []

    def write(self, rel: str, data: bytes) -> None:
        path = self.root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        with path.open("wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        self.files.append(
            {
                "path": rel,
                "sha256": "sha-256:" + hashlib.sha256(data).hexdigest(),
                "size": len(data),
            }
        )


def checkpoint_signers(
    keys: Mapping[str, PrivateKey], validator_set: Mapping[str, Any], height: int
) -> list[PrivateKey]:
    """The given keys of ``validator_set``'s members; at least its threshold of them."""
    signers = [keys[v["kid"]] for v in validator_set["validators"] if v["kid"] in keys]
    if len(signers) < int(validator_set["threshold"]):
        raise ExportError(
            f"block {height}: {len(signers)} validator key(s) of set "
            f"{validator_set['version']} are available to sign its checkpoint; "
            f"{validator_set['threshold']} are needed",
            reason="signers",
            requirement="BMDX-LED-044",
            height=height,
            remedy="Give the signing keys of at least the threshold of validators.",
        )
    return signers


def write_export(
    store: Store,
    outdir: Path,
    *,
    origin: str,
    keys: Sequence[PrivateKey],
    progress: Progress | None = None,
) -> dict[str, Any]:
    """Export every block of ``store`` to ``outdir``; return the manifest.

    ``keys`` are validator signing keys; each block's checkpoint is signed by those of
    its validator set in force, which must reach the set's threshold.
    """
    if outdir.exists() and (not outdir.is_dir() or any(outdir.iterdir())):
        raise ExportError(
            f"{outdir} exists and is not an empty directory",
            reason="exists",
            remedy="Export into a new directory.",
        )
    head = store.head()
    if head is None:
        raise ExportError("the ledger is empty: nothing to export", reason="empty")
    partial = outdir.with_name(outdir.name + ".partial")
    if partial.exists():
        shutil.rmtree(partial)
    partial.mkdir(parents=True)
    try:
        manifest = _write(
            store, head, writer=_Writer(partial), origin=origin, keys=keys, progress=progress
        )
        if outdir.exists():
            outdir.rmdir()
        partial.rename(outdir)
    except BaseException:
        shutil.rmtree(partial, ignore_errors=True)
        raise
    return manifest


def _write(
    store: Store,
    head: BlockRecord,
    *,
    writer: _Writer,
    origin: str,
    keys: Sequence[PrivateKey],
    progress: Progress | None,
) -> dict[str, Any]:
    by_kid = {k.kid: k for k in keys}
    validator_sets: list[Any] = []
    current: bytes | None = None
    total = head.height + 1
    for record in store.blocks(0, total):
        height = record.height
        vset_record = store.validator_set_at(height)
        if vset_record is None:
            raise ExportError(f"block {height}: no validator set in force", reason="malformed")
        vset = ijson.loads(vset_record.document)
        if vset_record.document != current:
            _validate(vset, "ValidatorSet", VALIDATOR_SETS, height)
            validator_sets.append(vset)
            current = vset_record.document
        block = block_document(store, record)
        _validate(block, "Block", block_path(height), height)
        writer.write(block_path(height), canonical_bytes(block))
        signers = checkpoint_signers(by_kid, vset, height)
        checkpoint = checkpoint_document(origin, block["header"], signers)
        json_path, note_path = checkpoint_paths(height)
        writer.write(json_path, canonical_bytes(checkpoint))
        writer.write(
            note_path,
            checkpoint_note(checkpoint_body(checkpoint), signers).encode("utf-8"),
        )
        if progress is not None:
            progress(height + 1, total)
    writer.write(VALIDATOR_SETS, canonical_bytes(validator_sets))
    manifest = {
        "objectType": "LedgerExport",
        "formatVersion": FORMAT_VERSION,
        "origin": origin,
        "height": head.height,
        "treeSize": head.tree_size,
        "treeRoot": "sha-256:" + head.tree_root.hex(),
        "headHash": head.hash,
        "blockCount": total,
        "files": sorted(writer.files, key=lambda f: str(f["path"])),
    }
    _validate(manifest, "LedgerExport", MANIFEST, None)
    data = (json.dumps(manifest, indent=2, ensure_ascii=False) + "\n").encode("utf-8")
    (writer.root / MANIFEST).write_bytes(data)
    return manifest


# --- reading ----------------------------------------------------------------------------


def _height_of(rel: str) -> int | None:
    stem = rel.rsplit("/", 1)[-1].split(".", 1)[0]
    return int(stem) if rel.startswith(("blocks/", "checkpoints/")) and stem.isdigit() else None


@dataclass(frozen=True, slots=True)
class _Entry:
    sha256: str
    size: int


class ExportReader:
    """An export directory, read defensively: every byte used is first checked against
    the manifest, every object against its schema (BMDX-LED-040, BMDX-LED-045)."""

    def __init__(self, root: Path) -> None:
        self.root = root
        path = root / MANIFEST
        if not path.is_file():
            raise ExportError(
                f"{root} has no {MANIFEST}: not a ledger export",
                reason="not-an-export",
                remedy="Give the directory written by `bmdx ledger export`, or a database URL.",
            )
        try:
            manifest = ijson.loads(path.read_bytes(), max_bytes=MAX_FILE_BYTES)
        except BmdxError as exc:
            raise ExportError(f"{MANIFEST}: {exc.message}", reason="malformed") from exc
        _validate(manifest, "LedgerExport", MANIFEST, None)
        self.manifest: dict[str, Any] = manifest
        self._entries = {
            str(f["path"]): _Entry(str(f["sha256"]), int(f["size"])) for f in manifest["files"]
        }
        if len(self._entries) != len(manifest["files"]):
            raise ExportError(
                f"{MANIFEST} lists a file twice", reason="manifest", requirement=REQ_MANIFEST
            )

    @property
    def origin(self) -> str:
        return str(self.manifest["origin"])

    @property
    def block_count(self) -> int:
        return int(self.manifest["blockCount"])

    def check_layout(self) -> None:
        """Every file the layout needs is listed and present; nothing else is there."""
        count = self.block_count
        if count != int(self.manifest["height"]) + 1:
            raise ExportError(
                f"{MANIFEST}: blockCount {count} is not height + 1",
                reason="manifest",
                requirement=REQ_MANIFEST,
            )
        needed = {VALIDATOR_SETS}
        for height in range(count):
            needed.update((block_path(height), *checkpoint_paths(height)))
        listed = set(self._entries)
        for rel in sorted(needed - listed, key=lambda r: (_height_of(r) or 0, r)):
            raise ExportError(
                f"{MANIFEST} does not list {rel}",
                reason="manifest",
                requirement=REQ_MANIFEST,
                height=_height_of(rel),
            )
        for rel in sorted(listed - needed):
            raise ExportError(
                f"{MANIFEST} lists {rel}, which is not part of a {count}-block export",
                reason="manifest",
                requirement=REQ_MANIFEST,
                height=_height_of(rel),
            )
        present = {
            p.relative_to(self.root).as_posix()
            for p in self.root.rglob("*")
            if p.is_file() or p.is_symlink()
        } - {MANIFEST}
        missing = sorted(needed - present, key=lambda r: (_height_of(r) or 0, r))
        if missing:
            raise ExportError(
                f"{missing[0]} is missing ({len(missing)} listed file(s) absent)",
                reason="missing-file",
                requirement=REQ_MANIFEST,
                height=_height_of(missing[0]),
            )
        extra = sorted(present - needed)
        if extra:
            raise ExportError(
                f"{extra[0]} is not listed in the manifest",
                reason="unlisted-file",
                requirement=REQ_MANIFEST,
                height=_height_of(extra[0]),
            )

    def read_bytes(self, rel: str) -> bytes:
        """A listed file's bytes, after checking its size and SHA-256 against the manifest."""
        entry = self._entries.get(rel)
        height = _height_of(rel)
        if entry is None:
            raise ExportError(
                f"{rel} is not listed in the manifest",
                reason="unlisted-file",
                requirement=REQ_MANIFEST,
                height=height,
            )
        path = self.root / rel
        if path.is_symlink() or not path.is_file():
            raise ExportError(
                f"{rel} is missing or not a regular file",
                reason="missing-file",
                requirement=REQ_MANIFEST,
                height=height,
            )
        data = path.read_bytes()
        if len(data) != entry.size or "sha-256:" + hashlib.sha256(data).hexdigest() != (
            entry.sha256
        ):
            raise ExportError(
                f"{rel}: its SHA-256 or length differs from the manifest's",
                reason="digest-mismatch",
                requirement=REQ_MANIFEST,
                height=height,
            )
        return data

    def check_digests(self, progress: Progress | None = None) -> None:
        """Re-hash every listed file (streaming), in path order."""
        total = len(self._entries)
        for done, (rel, entry) in enumerate(sorted(self._entries.items()), 1):
            digest = hashlib.sha256()
            size = 0
            with (self.root / rel).open("rb") as fh:
                while chunk := fh.read(_CHUNK):
                    digest.update(chunk)
                    size += len(chunk)
            if size != entry.size or "sha-256:" + digest.hexdigest() != entry.sha256:
                raise ExportError(
                    f"{rel}: its SHA-256 or length differs from the manifest's",
                    reason="digest-mismatch",
                    requirement=REQ_MANIFEST,
                    height=_height_of(rel),
                )
            if progress is not None:
                progress(done, total)

    def _load(self, rel: str) -> Any:
        try:
            return ijson.loads(self.read_bytes(rel), max_bytes=MAX_FILE_BYTES)
        except ExportError:
            raise
        except BmdxError as exc:
            raise ExportError(
                f"{rel}: {exc.message}", reason="malformed", height=_height_of(rel)
            ) from exc

    def blocks(self) -> Iterator[dict[str, Any]]:
        """The blocks in height order, each checked and schema-validated as it is read."""
        for height in range(self.block_count):
            rel = block_path(height)
            block = self._load(rel)
            _validate(block, "Block", rel, height)
            yield block

    def validator_sets(self) -> list[dict[str, Any]]:
        sets = self._load(VALIDATOR_SETS)
        if not isinstance(sets, list) or not sets:
            raise ExportError(
                f"{VALIDATOR_SETS} must be a non-empty array of ValidatorSet objects",
                reason="schema",
            )
        for i, vset in enumerate(sets):
            _validate(vset, "ValidatorSet", f"{VALIDATOR_SETS}/{i}", None)
        return sets

    def checkpoint(self, height: int) -> tuple[dict[str, Any], str]:
        """The JSON Checkpoint and the note text of block ``height``."""
        json_path, note_path = checkpoint_paths(height)
        document = self._load(json_path)
        _validate(document, "Checkpoint", json_path, height)
        try:
            note = self.read_bytes(note_path).decode("utf-8")
        except UnicodeDecodeError as exc:
            raise ExportError(
                f"{note_path} is not UTF-8",
                reason="malformed",
                requirement="BMDX-LED-030",
                height=height,
            ) from exc
        return document, note
