"""``bmdx keys``: create participant keys and compute their key ids.

``bmdx keys new --alg ES256|Ed25519|X25519|P-256 --out FILE`` writes the private key to
FILE (PKCS#8 PEM, readable by its owner only, encrypted when ``--passphrase-env`` names
a variable holding a passphrase) and the public key to ``FILE.pub.jwk`` (a BMDX
PublicKey object whose ``kid`` is its RFC 7638 thumbprint).  ``bmdx keys thumbprint
FILE`` prints the key id of a public JWK file or a PEM key.

Exit codes: 0 done, 2 usage (bad option, unreadable or invalid key file, existing
output without ``--force``, missing passphrase).
"""

from __future__ import annotations

import os
from pathlib import Path

import click
from cryptography.hazmat.primitives import serialization

from bmdx.reference._internal import ijson
from bmdx.reference._internal.errors import BmdxError, KeyImportError, UsageError
from bmdx.reference._internal.keys import (
    PublicKey,
    generate_key,
    import_public_jwk,
    load_private_pem,
    private_key_to_pem,
    public_key_from_spki,
)
from bmdx.reference._internal.profile import security_profile
from bmdx.reference.cli._output import report_error

__all__ = ["keys", "passphrase_from_env", "read_public_key"]

PUBLIC_SUFFIX = ".pub.jwk"


def passphrase_from_env(variable: str | None) -> bytes | None:
    """The passphrase held by environment ``variable`` (never taken from the command line)."""
    if variable is None:
        return None
    value = os.environ.get(variable)
    if not value:
        raise UsageError(
            f"environment variable {variable} is not set or empty",
            reason="passphrase-missing",
            remedy=f"export {variable}=... before running the command.",
        )
    return value.encode("utf-8")


def _read(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except OSError as e:
        raise UsageError(f"cannot read {path}: {e.strerror or e}", reason="unreadable-file") from e


def read_public_key(path: Path, *, passphrase: bytes | None = None) -> PublicKey:
    """A public key from a JWK / PublicKey JSON file, a PEM public key or a PEM private key."""
    data = _read(path)
    if data.lstrip().startswith(b"{"):
        return import_public_jwk(ijson.loads(data))
    if b"PRIVATE KEY" in data:
        try:
            return load_private_pem(data, passphrase=passphrase, use="sig").public
        except KeyImportError as e:
            if e.reason != "use-mismatch":
                raise
            return load_private_pem(data, passphrase=passphrase, use="enc").public
    try:
        der = serialization.load_pem_public_key(data).public_bytes(
            serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
        )
    except ValueError as e:
        raise UsageError(f"{path} holds no JWK or PEM key", reason="not-a-key") from e
    return public_key_from_spki(der, use="sig")


def _write_new(path: Path, data: bytes, *, mode: int, force: bool) -> None:
    if path.exists() and not force:
        raise UsageError(
            f"{path} exists", reason="file-exists", remedy="Choose another --out or use --force."
        )
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        os.chmod(path, mode)
    except OSError as e:
        raise UsageError(f"cannot write {path}: {e.strerror or e}", reason="unwritable-file") from e


@click.group("keys")
def keys() -> None:
    """Create participant keys and compute their key ids."""


@keys.command("new")
@click.option(
    "--alg",
    "name",
    required=True,
    type=click.Choice(sorted(security_profile().keys.types)),
    help="ES256 or Ed25519 to sign; P-256 or X25519 to receive encrypted payloads.",
)
@click.option(
    "--out", "out", required=True, type=click.Path(path_type=Path), help="Private key file."
)
@click.option(
    "--passphrase-env",
    "passphrase_env",
    metavar="VAR",
    help="Encrypt the private key with the passphrase held by environment variable VAR.",
)
@click.option("--force", is_flag=True, help="Overwrite existing files.")
def new(name: str, out: Path, passphrase_env: str | None, force: bool) -> None:
    """Generate a key pair: FILE (private, PKCS#8 PEM) and FILE.pub.jwk (public)."""
    try:
        passphrase = passphrase_from_env(passphrase_env)
        key = generate_key(name)
        public_path = out.with_name(out.name + PUBLIC_SUFFIX)
        _write_new(out, private_key_to_pem(key, passphrase), mode=0o600, force=force)
        _write_new(
            public_path, ijson.dumps(key.public.to_public_key_object()), mode=0o644, force=force
        )
    except BmdxError as e:
        report_error(e, source="keys new")
        raise SystemExit(2) from e
    state = "encrypted" if passphrase else "NOT encrypted"
    click.echo(f"{out}: {name} private key ({state})")
    click.echo(f"{public_path}: public key, kid {key.kid}")


@keys.command("thumbprint")
@click.argument("file", type=click.Path(path_type=Path))
@click.option("--passphrase-env", "passphrase_env", metavar="VAR", help="For an encrypted PEM.")
def thumbprint_command(file: Path, passphrase_env: str | None) -> None:
    """Print the RFC 7638 thumbprint (the BMDX key id) of a key file."""
    try:
        key = read_public_key(file, passphrase=passphrase_from_env(passphrase_env))
    except BmdxError as e:
        report_error(e, source="keys thumbprint")
        raise SystemExit(2) from e
    click.echo(key.thumbprint)
