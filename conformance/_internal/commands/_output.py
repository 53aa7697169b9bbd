"""How the suite's CLI reports its own errors: what failed and what to do."""

from __future__ import annotations

import click

from bmdx.conformance._internal.errors import ConformanceError, InputFileError

__all__ = ["fail"]


def fail(error: ConformanceError) -> None:
    """Print ``error`` to stderr and exit with its code."""
    click.echo(f"error: {error}", err=True)
    if isinstance(error, InputFileError):
        for violation in error.violations[:20]:
            click.echo(f"  {violation}", err=True)
    if error.remedy:
        click.echo(f"  hint: {error.remedy}", err=True)
    raise SystemExit(error.exit_code)
