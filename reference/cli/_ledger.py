"""``bmdx ledger``: populate, export, verify, checkpoint and prove a ledger.

``DB`` is a store URL (``sqlite:///path.db``, ``postgresql://...``) or the path of an
SQLite database file.  Validator signing keys (for checkpoints) are PKCS#8 PEM files,
given with ``--keys-dir DIR`` (every ``*.pem`` in it) and/or ``--key FILE``;
``populate --keys-dir DIR`` writes a development network's keys there.

Exit codes: 0 done (verify: the ledger is valid); 1 the ledger, export or request is
bad (verify prints the first faulty block or transaction and the requirement it breaks);
2 usage (bad option, unreadable file or key, existing output directory).
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

import click

from bmdx.reference._internal.errors import (
    BmdxError,
    KeyImportError,
    LedgerError,
    StorageError,
    UsageError,
)
from bmdx.reference.cli._output import report_error

if TYPE_CHECKING:
    from bmdx.reference._internal.keys import PrivateKey

__all__ = ["ledger"]

EXIT_BAD = 1
EXIT_USAGE = 2


def _store_url(db: str) -> str:
    if "://" in db:
        return db
    return f"sqlite:///{Path(db).resolve()}"


def _fail(error: BmdxError, source: str | None = None) -> None:
    report_error(error, source=source)
    usage = isinstance(error, UsageError | KeyImportError) or (
        isinstance(error, StorageError) and error.reason in {"bad-url", "unavailable", "version"}
    )
    sys.exit(EXIT_USAGE if usage else EXIT_BAD)


@contextmanager
def _progress(description: str) -> Iterator[Callable[[int, int], None] | None]:
    """A rich progress bar on an interactive stderr; nothing otherwise."""
    if not sys.stderr.isatty():
        yield None
        return
    from rich.console import Console  # noqa: PLC0415
    from rich.progress import Progress  # noqa: PLC0415

    with Progress(console=Console(stderr=True), transient=True) as bar:
        task = bar.add_task(description, total=None)

        def update(done: int, total: int) -> None:
            bar.update(task, completed=done, total=total)

        yield update


def _load_keys(keys_dir: Path | None, key_files: tuple[Path, ...]) -> list[PrivateKey]:
    from bmdx.reference._internal.keys import load_private_pem  # noqa: PLC0415

    paths = list(key_files)
    if keys_dir is not None:
        paths += sorted(keys_dir.glob("*.pem"))
    if not paths:
        raise UsageError(
            "checkpoints are signed by validators: no validator key was given",
            reason="no-keys",
            remedy="Give --keys-dir DIR (as written by `bmdx ledger populate --keys-dir`) "
            "or --key FILE.",
        )
    keys = []
    for path in paths:
        try:
            data = path.read_bytes()
        except OSError as exc:
            raise UsageError(
                f"cannot read {path}: {exc.strerror}", reason="unreadable-file"
            ) from exc
        keys.append(load_private_pem(data))
    return keys


_keys_dir_option = click.option(
    "--keys-dir",
    type=click.Path(file_okay=False, exists=True, path_type=Path),
    default=None,
    help="Directory of validator signing keys (*.pem).",
)
_key_option = click.option(
    "--key",
    "key_files",
    multiple=True,
    type=click.Path(dir_okay=False, exists=True, path_type=Path),
    help="A validator signing key (PEM); repeatable.",
)
_network_option = click.option(
    "--network",
    default="devnet",
    show_default=True,
    help="Network name; the checkpoint origin is bmdx.ledger/<network>.",
)


@click.group("ledger")
def ledger() -> None:
    """Populate, export, verify, checkpoint and prove a BMDX ledger."""


@ledger.command("populate")
@click.option("--db", "db", required=True, help="Store URL or SQLite file of a new ledger.")
@click.option("--transactions", type=click.IntRange(min=0), required=True)
@click.option("--seed", default="1", show_default=True, help="Seed of the network's keys.")
@click.option("--block-size", type=click.IntRange(1, 10_000), default=100, show_default=True)
@click.option(
    "--keys-dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Write the validators' (development) signing keys here, for export and checkpoint.",
)
def populate_command(
    db: str, transactions: int, seed: str, block_size: int, keys_dir: Path | None
) -> None:
    """Fill a new ledger with realistic signed traffic from a development network."""
    from bmdx.reference._internal.populate import populate, write_validator_keys  # noqa: PLC0415

    try:
        with _progress("populating") as progress:
            result = populate(
                _store_url(db), transactions, seed=seed, block_size=block_size, progress=progress
            )
        if keys_dir is not None:
            write_validator_keys(result.validator_keys, keys_dir)
    except BmdxError as exc:
        _fail(exc, db)
    click.echo(
        f"{result.transactions} transactions in {result.blocks} blocks after genesis; "
        f"head height {result.height}"
    )


@ledger.command("export")
@click.argument("db")
@click.argument("outdir", type=click.Path(path_type=Path))
@_keys_dir_option
@_key_option
@_network_option
def export_command(
    db: str, outdir: Path, keys_dir: Path | None, key_files: tuple[Path, ...], network: str
) -> None:
    """Write the documented export of ledger DB to OUTDIR (blocks, sets, checkpoints)."""
    from bmdx.reference._internal.checkpoints import origin_for  # noqa: PLC0415
    from bmdx.reference._internal.export import write_export  # noqa: PLC0415
    from bmdx.reference._internal.storage import open_store  # noqa: PLC0415

    try:
        keys = _load_keys(keys_dir, key_files)
        origin = origin_for(network)
        with open_store(_store_url(db)) as store, _progress("exporting") as progress:
            manifest = write_export(store, outdir, origin=origin, keys=keys, progress=progress)
    except BmdxError as exc:
        if getattr(exc, "reason", None) == "exists":
            report_error(exc, source=str(outdir))
            sys.exit(EXIT_USAGE)
        _fail(exc, db)
    click.echo(
        f"exported {manifest['blockCount']} blocks, {manifest['treeSize']} transactions, "
        f"{len(manifest['files'])} files to {outdir}"
    )


@ledger.command("verify")
@click.argument("path")
def verify_command(path: str) -> None:
    """Re-check a ledger (database or export) from genesis; name the first fault."""
    from bmdx.reference._internal.verify import verify_path  # noqa: PLC0415

    try:
        with _progress("verifying") as progress:
            report = verify_path(
                path, progress=None if progress is None else lambda _s, d, t: progress(d, t)
            )
    except LedgerError as exc:
        where = [f"block {exc.height}"] if exc.height is not None else []
        if exc.index is not None:
            where.append(f"transaction {exc.index}")
        if exc.txid is not None:
            where.append(exc.txid)
        click.echo(
            f"INVALID: first fault at {', '.join(where) or 'the ledger as a whole'}: "
            f"{exc.requirement} ({exc.reason})"
        )
        _fail(exc, path)
    except BmdxError as exc:
        _fail(exc, path)
    result = report.result
    click.echo(
        f"OK: {report.kind} {report.source}: {result.blocks} blocks, {result.transactions} "
        f"transactions, head {result.height} {result.head_hash}, tree root {result.tree_root}"
        + (f", {report.checkpoints} checkpoints" if report.checkpoints else "")
    )


@ledger.command("checkpoint")
@click.argument("db")
@click.option("--height", type=click.IntRange(min=0), default=None, help="Default: the head.")
@_keys_dir_option
@_key_option
@_network_option
@click.option("--json", "as_json", is_flag=True, help="Print the JSON Checkpoint instead.")
def checkpoint_command(  # noqa: PLR0917 (one parameter per click option)
    db: str,
    height: int | None,
    keys_dir: Path | None,
    key_files: tuple[Path, ...],
    network: str,
    as_json: bool,
) -> None:
    """Print a block's tree head as a C2SP signed note (tlog-checkpoint)."""
    from bmdx.reference._internal import ijson  # noqa: PLC0415
    from bmdx.reference._internal.checkpoints import (  # noqa: PLC0415
        checkpoint_body,
        checkpoint_document,
        checkpoint_note,
        origin_for,
    )
    from bmdx.reference._internal.export import checkpoint_signers  # noqa: PLC0415
    from bmdx.reference._internal.storage import open_store  # noqa: PLC0415

    try:
        keys = _load_keys(keys_dir, key_files)
        origin = origin_for(network)
        with open_store(_store_url(db)) as store:
            record = store.head() if height is None else store.block(height)
            if record is None:
                raise LedgerError(
                    "no such block" if height is not None else "the ledger is empty",
                    reason="not-found",
                    requirement="BMDX-LED-030",
                )
            vset_record = store.validator_set_at(record.height)
            if vset_record is None:
                raise LedgerError(
                    f"no validator set in force at {record.height}",
                    reason="not-found",
                    requirement="BMDX-LED-030",
                )
            signers = checkpoint_signers(
                {k.kid: k for k in keys}, ijson.loads(vset_record.document), record.height
            )
            document = checkpoint_document(origin, ijson.loads(record.header), signers)
    except BmdxError as exc:
        _fail(exc, db)
    if as_json:
        click.echo(json.dumps(document, indent=2))
    else:
        click.echo(checkpoint_note(checkpoint_body(document), signers), nl=False)


@ledger.command("prove")
@click.argument("db")
@click.argument("txid")
@click.option("--height", type=click.IntRange(min=0), default=None, help="Default: the head.")
def prove_command(db: str, txid: str, height: int | None) -> None:
    """Print the InclusionProof of transaction TXID (or leaf index) against a block."""
    from bmdx.reference._internal.proofs import inclusion_proof  # noqa: PLC0415
    from bmdx.reference._internal.storage import open_store  # noqa: PLC0415

    try:
        with open_store(_store_url(db)) as store:
            proof = inclusion_proof(store, txid, height)
    except BmdxError as exc:
        _fail(exc, db)
    click.echo(json.dumps(proof, indent=2))
