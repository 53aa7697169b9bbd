"""``bmdx adapter``: the reference implementation behind the conformance adapter protocol.

Reads JSON-lines requests on standard input and answers on standard output, as
``spec/conformance/adapter/README.md`` specifies, so that the conformance suite can
certify the reference exactly as it certifies any vendor's library:
``bmdx-conformance run --adapter "bmdx adapter"``.

Standard output carries responses only (BMDX-ADP-010): while serving, anything else
printed by Python code goes to standard error.  Exit codes: 0 after ``stop`` or at
end of input, 2 when the spec data cannot be loaded.
"""

from __future__ import annotations

import contextlib
import sys

import click

from bmdx.reference._internal.adapter import Adapter, serve
from bmdx.reference._internal.errors import BmdxError
from bmdx.reference.cli._output import report_error

__all__ = ["adapter"]


@click.command("adapter")
def adapter() -> None:
    """Serve the conformance adapter protocol on standard input and output."""
    out = sys.stdout.buffer
    try:
        session = Adapter()
    except BmdxError as e:
        report_error(e, source="adapter")
        raise SystemExit(2) from e
    with contextlib.redirect_stdout(sys.stderr):
        status = serve(sys.stdin.buffer, out, adapter=session)
    out.close()
    raise SystemExit(status)
