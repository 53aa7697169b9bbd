"""``bmdx convert FILE --to json|xml [-o OUT]``: one document, the other syntax.

The input syntax is detected from the content (XML when it starts with ``<``).  The
document is validated on the way in and converted by the normative mapping, so the
output carries the same RFC 8785 canonical form, hashes and signatures.  Converting to
the input's own syntax validates and re-formats.

Exit codes: 0 converted, 1 the input is not a valid BMDX document, 2 usage (bad option,
unreadable input, unwritable output) or a spec that cannot be loaded.
"""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path

import click

from bmdx.reference._internal import ijson
from bmdx.reference._internal.documents import load_document
from bmdx.reference._internal.errors import BmdxError, SpecError, UsageError
from bmdx.reference._internal.limits import limits
from bmdx.reference._internal.schema import schema_set
from bmdx.reference._internal.xmlmap import json_to_xml
from bmdx.reference.cli._output import report_error

__all__ = ["convert"]


def _read(name: str) -> bytes:
    cap = limits().max_body_bytes + 1  # one byte more lets the reader say "too large"
    try:
        if name == "-":
            return sys.stdin.buffer.read(cap)
        with Path(name).open("rb") as fh:
            return fh.read(cap)
    except OSError as e:
        raise UsageError(
            f"cannot read {name}: {e.strerror or e}",
            reason="unreadable-file",
            remedy="Check the path and its permissions.",
        ) from e


def _write(out: str | None, data: bytes) -> None:
    if out is None or out == "-":
        sys.stdout.buffer.write(data)
        sys.stdout.buffer.flush()
        return
    target = Path(out)
    try:
        # Write beside the target and rename: a failed conversion leaves no half file.
        fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.")
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        Path(tmp).replace(target)
    except OSError as e:
        raise UsageError(f"cannot write {out}: {e.strerror or e}", reason="unwritable-file") from e


@click.command("convert")
@click.argument("file")
@click.option(
    "--to",
    "syntax",
    type=click.Choice(["json", "xml"]),
    required=True,
    help="The syntax to write.",
)
@click.option("-o", "--output", "out", default=None, help="Write here instead of stdout.")
def convert(file: str, syntax: str, out: str | None) -> None:
    """Convert the BMDX document FILE ('-' for stdin) to JSON or XML."""
    try:
        data = _read(file)
    except UsageError as e:
        report_error(e, source=file)
        raise SystemExit(2) from e
    try:
        document, _ = load_document(data, name=file)
        schema_set().validate_document(document)
        result = ijson.dumps(document) if syntax == "json" else json_to_xml(document)
    except SpecError as e:
        report_error(e, source=file)
        raise SystemExit(2) from e
    except BmdxError as e:
        report_error(e, source=file)
        raise SystemExit(1) from e
    try:
        _write(out, result)
    except UsageError as e:
        report_error(e, source=out)
        raise SystemExit(2) from e
