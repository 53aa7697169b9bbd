"""Offline verification of a ledger, from a database or from an export (BMDX-LED-041).

An export is checked outside-in, so that the first fault reported is the first one a
careful reader would find: the manifest and the layout (BMDX-LED-040, BMDX-LED-045),
the digest of every file, then every block replayed from genesis by the ledger's own
rules (:func:`~.ledger.verify.verify_ledger`), each block's checkpoint checked right
after its block against the validators and keys in force at that height (BMDX-LED-044,
a validly signed checkpoint of another tree head being a fork, BMDX-LED-023), and last
the manifest's head and the validator-set file against what the replay derived.

A database is replayed the same way from its stored blocks.  Either way the first
failure is raised as a :class:`LedgerError` (or :class:`StorageError` when the database
cannot even be read) naming the block, the transaction where there is one, and the
requirement it breaks.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bmdx.reference._internal import ijson
from bmdx.reference._internal.checkpoints import (
    verify_checkpoint_against_block,
    verify_checkpoint_document,
)
from bmdx.reference._internal.errors import ExportError, UsageError
from bmdx.reference._internal.export import ExportReader
from bmdx.reference._internal.keys import PublicKey
from bmdx.reference._internal.ledger.verify import VerifyResult, verify_ledger
from bmdx.reference._internal.ledger.views import MemoryChain
from bmdx.reference._internal.storage import Store, open_store

__all__ = ["Progress", "VerifyReport", "verify_database", "verify_export", "verify_path"]

REQ_MANIFEST = "BMDX-LED-045"
REQ_LAYOUT = "BMDX-LED-040"

#: ``progress(stage, done, total)``: stage is ``digests`` or ``blocks``.
Progress = Callable[[str, int, int], None]


@dataclass(frozen=True, slots=True)
class VerifyReport:
    """A ledger that verified: what it was, its head, and how much was checked."""

    kind: str  # "export" or "database"
    source: str
    result: VerifyResult
    checkpoints: int


def _keys_at(chain: MemoryChain, kids: Any, height: int) -> dict[str, PublicKey]:
    out: dict[str, PublicKey] = {}
    for kid in kids:
        record = chain.key(kid)
        if record is None or not (
            record.valid_from <= height
            and (record.valid_until is None or height < record.valid_until)
        ):
            continue
        key = chain.public_key(kid)
        if key is not None:
            out[kid] = key
    return out


def verify_export(root: Path, *, progress: Progress | None = None) -> VerifyReport:
    """Verify an export directory written by ``bmdx ledger export``."""
    reader = ExportReader(root)
    reader.check_layout()
    reader.check_digests(None if progress is None else lambda d, t: progress("digests", d, t))
    chain = MemoryChain()
    total = reader.block_count
    sets_in_force: list[bytes] = []
    current: dict[str, Any] = {}

    def blocks() -> Iterator[dict[str, Any]]:
        for block in reader.blocks():
            current["header"] = block["header"]
            yield block

    def after_block(height: int, _tree_size: int) -> None:
        vset = chain.validator_set_at(height)
        if vset is None:  # the replay refuses such a block before this point
            raise ExportError(f"block {height}: no validator set", reason="malformed")
        if not sets_in_force or sets_in_force[-1] != vset.document:
            sets_in_force.append(vset.document)
        document, note = reader.checkpoint(height)
        vset_doc = ijson.loads(vset.document)
        keys = _keys_at(chain, (kid for _, kid in vset.members), height)
        header = current["header"]
        verify_checkpoint_document(
            document, header=header, origin=reader.origin, validator_set=vset_doc, keys=keys
        )
        verify_checkpoint_against_block(
            note, header=header, origin=reader.origin, validator_set=vset_doc, keys=keys
        )
        if progress is not None:
            progress("blocks", height + 1, total)

    result = verify_ledger(blocks(), on_progress=after_block, chain=chain)
    _check_head(reader.manifest, result)
    exported = [ijson.loads(d) for d in sets_in_force]
    if reader.validator_sets() != exported:
        raise ExportError(
            "validator-sets.json is not the sequence of validator sets in force over the "
            "exported blocks",
            reason="validator-sets",
            requirement=REQ_LAYOUT,
        )
    return VerifyReport("export", str(root), result, checkpoints=total)


def _check_head(manifest: dict[str, Any], result: VerifyResult) -> None:
    claims = {
        "height": result.height,
        "blockCount": result.blocks,
        "treeSize": result.tree_size,
        "treeRoot": result.tree_root,
        "headHash": result.head_hash,
    }
    for name, value in claims.items():
        if manifest[name] != value:
            raise ExportError(
                f"manifest.json {name} {manifest[name]!r} is not the exported blocks' {value!r}",
                reason="manifest",
                requirement=REQ_MANIFEST,
            )


def _stored_blocks(store: Store) -> Iterator[dict[str, Any]]:
    from bmdx.reference._internal.export import block_document  # noqa: PLC0415

    for record in store.blocks():
        yield block_document(store, record)


def verify_database(url: str, *, progress: Progress | None = None) -> VerifyReport:
    """Replay every block stored at ``url`` (read only) from genesis."""
    with open_store(url) as store:
        head = store.head()
        total = 0 if head is None else head.height + 1

        def after_block(height: int, _tree_size: int) -> None:
            if progress is not None:
                progress("blocks", height + 1, total)

        result = verify_ledger(_stored_blocks(store), on_progress=after_block)
    return VerifyReport("database", url, result, checkpoints=0)


def verify_path(path: str | Path, *, progress: Progress | None = None) -> VerifyReport:
    """Verify a database (a store URL or an SQLite file) or an export directory."""
    text = str(path)
    if "://" in text:
        return verify_database(text, progress=progress)
    candidate = Path(text)
    if candidate.is_dir():
        return verify_export(candidate, progress=progress)
    if candidate.is_file():
        return verify_database(f"sqlite:///{candidate.resolve()}", progress=progress)
    raise UsageError(
        f"{text} is neither a store URL, an SQLite database file nor an export directory",
        reason="no-such-ledger",
        remedy="Give sqlite:///path.db, postgresql://..., a .db file, or an export directory.",
    )
