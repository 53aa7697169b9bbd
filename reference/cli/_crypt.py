"""``bmdx encrypt`` and ``bmdx decrypt``: JWE envelopes for record payloads.

Exit codes: 0 success; 1 decryption failed (one message whatever failed -- the local
diagnostic line names the check, for the operator only); 2 usage error; 3 an input
file (key, JWE, record header) that cannot be read.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import click

from bmdx.reference._internal import jwe
from bmdx.reference._internal.errors import (
    BmdxError,
    DecryptionError,
    KeyImportError,
    UsageError,
)
from bmdx.reference._internal.ijson import dumps, loads
from bmdx.reference.cli._output import report_error

__all__ = ["decrypt", "encrypt"]

EXIT_DECRYPTION = 1
EXIT_USAGE = 2
EXIT_INPUT = 3


def _read_json(path: Path) -> Any:
    try:
        return loads(path.read_bytes())
    except OSError as e:
        raise UsageError(f"cannot read {path}: {e.strerror}", reason="unreadable-file") from e


def _read_key(path: Path) -> dict[str, Any]:
    value = _read_json(path)
    if not isinstance(value, dict):
        raise KeyImportError(f"{path} does not hold one JWK", reason="key-invalid")
    return value


def _exit_code(error: BmdxError) -> int:
    if isinstance(error, DecryptionError):
        return EXIT_DECRYPTION
    if isinstance(error, UsageError):
        return EXIT_USAGE
    return EXIT_INPUT  # InputError, KeyImportError and other unreadable inputs


def _fail(error: BmdxError, source: str | None = None) -> None:
    report_error(error, source=source)
    if isinstance(error, DecryptionError):
        click.echo(
            f"  local diagnostic (never send to a remote party): {error.reason} [{error.violated}]",
            err=True,
        )
    sys.exit(_exit_code(error))


def _write(output: Path | None, data: bytes) -> None:
    if output is None:
        sys.stdout.buffer.write(data)
        return
    tmp = output.with_name(output.name + ".tmp")
    tmp.write_bytes(data)
    tmp.replace(output)


@click.command("encrypt")
@click.argument("payload", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option(
    "--to",
    "recipients",
    multiple=True,
    required=True,
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="A recipient's public JWK (P-256 or X25519); repeat for each recipient.",
)
@click.option("--cty", default=None, help="Content type of the payload (protected header cty).")
@click.option(
    "-o", "--output", type=click.Path(dir_okay=False, path_type=Path), help="Write the Jwe here."
)
@click.option(
    "--digest-out",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Also write the payload's plaintextDigest (sha-256:<hex>) to this file.",
)
def encrypt(
    payload: Path,
    recipients: tuple[Path, ...],
    cty: str | None,
    output: Path | None,
    digest_out: Path | None,
) -> None:
    """Encrypt PAYLOAD (bytes, carried exactly) into a Jwe for every --to recipient."""
    try:
        data = payload.read_bytes()
        keys = [_read_key(p) for p in recipients]
        value = jwe.encrypt(data, keys, cty=cty)
    except BmdxError as e:
        _fail(e, str(payload))
        return
    _write(output, dumps(value))
    if digest_out is not None:
        digest_out.write_text(jwe.plaintext_digest(data) + "\n", encoding="ascii")


@click.command("decrypt")
@click.argument("envelope", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option(
    "--key",
    "key_path",
    required=True,
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="Your private JWK (P-256 or X25519).",
)
@click.option(
    "--digest", default=None, help="The plaintextDigest the payload must match (sha-256:<hex>)."
)
@click.option(
    "--header",
    "header_path",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="A RecordHeader whose plaintextDigest the payload must match.",
)
@click.option(
    "-o",
    "--output",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Write the payload here.",
)
def decrypt(
    envelope: Path,
    key_path: Path,
    digest: str | None,
    header_path: Path | None,
    output: Path | None,
) -> None:
    """Decrypt ENVELOPE (a Jwe, or any JWE serialisation) with --key."""
    try:
        if digest is not None and header_path is not None:
            raise UsageError("give --digest or --header, not both", reason="usage")
        if header_path is not None:
            header = _read_json(header_path)
            digest = header.get("plaintextDigest") if isinstance(header, dict) else None
            if not isinstance(digest, str):
                raise UsageError(
                    f"{header_path} has no plaintextDigest", reason="no-plaintext-digest"
                )
        key = _read_key(key_path)
        token = jwe.parse_jwe(envelope.read_bytes())
        plaintext = jwe.decrypt(token, key, expected_digest=digest)
    except BmdxError as e:
        _fail(e, str(envelope))
        return
    _write(output, plaintext)
