"""How the CLI reports errors: what failed, which requirement, and what to do."""

from __future__ import annotations

import click

from bmdx.reference._internal.errors import BmdxError, SchemaValidationError

__all__ = ["report_error"]


def report_error(error: BmdxError, *, source: str | None = None) -> None:
    """Print ``error`` to stderr the way every ``bmdx`` tool does."""
    prefix = f"{source}: " if source else ""
    if isinstance(error, SchemaValidationError):
        click.echo(f"{prefix}invalid {error.object_type or 'document'}", err=True)
        for v in error.violations:
            where = v.xpath or v.pointer or "/"
            click.echo(f"  {where}: {v.message} [{v.requirement}]", err=True)
    else:
        click.echo(f"{prefix}error: {error}", err=True)
    if error.remedy:
        click.echo(f"  hint: {error.remedy}", err=True)
