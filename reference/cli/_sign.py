"""``bmdx sign`` and ``bmdx verify``: BMDX signatures over canonical JSON.

``bmdx sign FILE --key KEY`` appends a signature by KEY (a PKCS#8 PEM private key) to
the BMDX object in FILE and writes the signed object (to ``--out`` or standard output).
``bmdx verify FILE --key PUB`` (a public key file) or ``--keys JWKS`` (a JWK Set)
verifies every signature of the object, or of a standalone ``Jws`` object (give
``--payload`` when its payload is detached).

A failed verification says only that it failed (BMDX-SEC-010); ``--explain`` adds the
local diagnostic (which check failed), which must never be relayed to a sender.

Exit codes: ``sign`` 0 signed, 1 the document cannot be signed (not I-JSON, decimals),
2 usage; ``verify`` 0 valid, 1 invalid signature or document, 2 usage (bad key file,
unreadable file, wrong passphrase).
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import click

from bmdx.reference._internal import ijson
from bmdx.reference._internal.errors import (
    BmdxError,
    CryptoError,
    InputError,
    KeyImportError,
    SignatureError,
    UsageError,
)
from bmdx.reference._internal.jws import JWS_OBJECT_TYPE, VerifiedSignature, verify_jws_object
from bmdx.reference._internal.keys import KeySet, load_private_pem
from bmdx.reference._internal.signing import sign_document, verify_document
from bmdx.reference.cli._keys import passphrase_from_env, read_public_key
from bmdx.reference.cli._output import report_error

__all__ = ["sign", "verify"]


def _read(name: str) -> bytes:
    if name == "-":
        return sys.stdin.buffer.read()
    try:
        return Path(name).read_bytes()
    except OSError as e:
        raise UsageError(f"cannot read {name}: {e.strerror or e}", reason="unreadable-file") from e


def _document(name: str) -> Any:
    document = ijson.loads(_read(name))
    if not isinstance(document, dict):
        raise InputError(
            "a signed BMDX object is a JSON object", requirement="BMDX-SEC-011", reason="not-object"
        )
    return document


@click.command("sign")
@click.argument("file")
@click.option(
    "--key",
    "key_file",
    required=True,
    type=click.Path(path_type=Path),
    help="Private key (PKCS#8 PEM), e.g. from 'bmdx keys new'.",
)
@click.option(
    "--passphrase-env",
    "passphrase_env",
    metavar="VAR",
    help="Environment variable holding the private key's passphrase.",
)
@click.option("--out", "out", type=click.Path(path_type=Path), help="Write here, not to stdout.")
@click.option("--typ", is_flag=True, help="Add typ 'bmdx+jws' to the protected header.")
def sign(
    file: str, key_file: Path, passphrase_env: str | None, out: Path | None, typ: bool
) -> None:
    """Add a signature to the BMDX object in FILE ('-' reads standard input)."""
    try:
        passphrase = passphrase_from_env(passphrase_env)
        try:
            key_bytes = key_file.read_bytes()
        except OSError as e:
            raise UsageError(
                f"cannot read {key_file}: {e.strerror or e}", reason="unreadable-file"
            ) from e
        key = load_private_pem(key_bytes, passphrase=passphrase, use="sig")
        document = _document(file)
    except BmdxError as e:
        report_error(e, source="sign")
        raise SystemExit(1 if isinstance(e, InputError) else 2) from e
    try:
        signed = sign_document(document, key, typ="bmdx+jws" if typ else None)
    except (InputError, SignatureError) as e:
        report_error(e, source="sign")
        raise SystemExit(1) from e
    data = ijson.dumps(signed)
    if out is None:
        click.echo(data.decode("utf-8"), nl=False)
    else:
        out.write_bytes(data)
        click.echo(f"{out}: signed by {key.kid}", err=True)


def _trusted(key_file: Path | None, jwks_file: Path | None) -> KeySet:
    if (key_file is None) == (jwks_file is None):
        raise UsageError(
            "give exactly one of --key and --keys",
            reason="usage",
            remedy="--key PUB for one public key, --keys JWKS for a key set.",
        )
    if key_file is not None:
        return KeySet([read_public_key(key_file)])
    assert jwks_file is not None  # one of the two, checked above
    try:
        return KeySet.from_jwks(ijson.loads(jwks_file.read_bytes()))
    except OSError as e:
        raise UsageError(
            f"cannot read {jwks_file}: {e.strerror or e}", reason="unreadable-file"
        ) from e


@click.command("verify")
@click.argument("file")
@click.option("--key", "key_file", type=click.Path(path_type=Path), help="Public key (JWK or PEM).")
@click.option(
    "--keys", "jwks_file", type=click.Path(path_type=Path), help="JWK Set of trusted keys."
)
@click.option(
    "--signer",
    "signers",
    multiple=True,
    metavar="KID",
    help="Require a signature by this key id (repeatable).",
)
@click.option(
    "--payload",
    "payload_file",
    type=click.Path(path_type=Path),
    help="Detached payload of a standalone Jws object.",
)
@click.option("--explain", is_flag=True, help="On failure, print which check failed (local use).")
def verify(
    file: str,
    *,
    key_file: Path | None,
    jwks_file: Path | None,
    signers: tuple[str, ...],
    payload_file: Path | None,
    explain: bool,
) -> None:
    """Verify every signature of the BMDX object in FILE."""
    try:
        trusted = _trusted(key_file, jwks_file)
        document = _document(file)
        payload = _read(str(payload_file)) if payload_file is not None else None
    except (UsageError, KeyImportError) as e:
        report_error(e, source="verify")
        raise SystemExit(2) from e
    except BmdxError as e:
        report_error(e, source=file)
        raise SystemExit(1) from e
    try:
        verified: list[VerifiedSignature]
        if document.get("objectType") == JWS_OBJECT_TYPE:
            _, verified = verify_jws_object(document, trusted, payload=payload)
            if not set(signers) <= {v.kid for v in verified}:
                raise SignatureError(reason="missing-signer", violated="BMDX-SEC-024")
        else:
            verified = verify_document(document, trusted, signers=signers)
    except SignatureError as e:
        click.echo(f"{file}: INVALID: {e}", err=True)
        if explain:
            click.echo(f"  diagnostic: {e.reason} [{e.violated}]", err=True)
        raise SystemExit(1) from e
    except (InputError, CryptoError) as e:
        report_error(e, source=file)
        raise SystemExit(1) from e
    who = ", ".join(f"{v.kid} ({v.alg})" for v in verified)
    click.echo(f"{file}: valid, signed by {who}")
