"""``bmdx-conformance verify-certificate``: check a certificate offline."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from bmdx.conformance._internal.certificate import load_public_key, verify_certificate
from bmdx.conformance._internal.commands._output import fail
from bmdx.conformance._internal.errors import ConformanceError, InputFileError

__all__ = ["verify_command"]

_FILE = click.Path(dir_okay=False, path_type=Path)


def _read(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except OSError as e:
        raise InputFileError(f"cannot read {path}: {e.strerror}", reason="unreadable") from e


@click.command("verify-certificate")
@click.argument("certificate", type=_FILE)
@click.option("--report", type=_FILE, help="report.json whose digest the certificate must carry.")
@click.option(
    "--key", type=_FILE, help="The certifier's public Ed25519 JWK (default: the embedded key)."
)
def verify_command(certificate: Path, report: Path | None, key: Path | None) -> None:
    """Verify CERTIFICATE (certificate.jws) offline.

    Exit status: 0 verified, 1 does not verify, 2 usage error.
    """
    try:
        raw = _read(certificate)
        report_bytes = _read(report) if report else None
        trusted = load_public_key(key) if key else None
        try:
            text = raw.decode("ascii")
        except UnicodeDecodeError:
            text = ""
        verified = verify_certificate(text, key=trusted, report_bytes=report_bytes)
    except ConformanceError as e:
        fail(e)
    payload = verified.payload
    impl = payload["implementation"]
    click.echo(
        f"certificate verified: {impl['name']} {impl['version']} is "
        f"{payload['verdict']['result']} (suite {payload['suite']['version']}, "
        f"spec {payload['specVersion']}, issued {payload['issued']})"
    )
    if verified.key_source == "given":
        click.echo(f"signed by the given key {verified.thumbprint}")
    else:
        click.echo(
            f"signed by the key embedded in the certificate ({verified.thumbprint}): this proves "
            "integrity only; pass --key with the certifier's public key to check who issued it"
        )
    if verified.report_checked:
        click.echo(f"report digest matches ({payload['reportDigest']})")
    else:
        click.echo("report not checked: pass --report report.json to check its digest")
    sys.exit(0)
