"""The ``bmdx-conformance`` command line: a thin shell over the suite's runner.

Subcommands live in ``bmdx.conformance._internal.commands``, one module each.
"""

from __future__ import annotations

from typing import Any

import click

from bmdx.conformance._internal.commands.requirements import requirements_command
from bmdx.conformance._internal.commands.run import run_command
from bmdx.conformance._internal.commands.verify import verify_command

__all__ = ["main"]


@click.group()
@click.version_option(package_name="bmdx", prog_name="bmdx-conformance")
def cli() -> None:
    """Certify a BMDX implementation: per-requirement verdicts, reports and a certificate."""


cli.add_command(run_command)
cli.add_command(verify_command)
cli.add_command(requirements_command)


def main(argv: list[str] | None = None) -> Any:
    """Entry point of the ``bmdx-conformance`` console script."""
    return cli.main(args=argv, prog_name="bmdx-conformance")
