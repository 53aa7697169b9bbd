"""The ``bmdx`` command line: a thin shell over the reference implementation.

Each subcommand lives in its own module of this package and is imported only when it
is invoked, so ``bmdx --help`` stays fast and one broken tool cannot break the others.
"""

from __future__ import annotations

import importlib
from typing import Any

import click

__all__ = ["main"]

# name -> (module, attribute, one-line help).  Add a tool by adding a line here.
_COMMANDS: dict[str, tuple[str, str, str]] = {
    "spec": ("bmdx.reference.cli._spec", "spec", "Lint, build, rehash and diff the spec data."),
    "validate": (
        "bmdx.reference.cli._validate",
        "validate",
        "Validate BMDX documents (JSON or XML).",
    ),
    "convert": (
        "bmdx.reference.cli._convert",
        "convert",
        "Convert a BMDX document between JSON and XML.",
    ),
    "encrypt": ("bmdx.reference.cli._crypt", "encrypt", "Encrypt a payload into a JWE envelope."),
    "decrypt": ("bmdx.reference.cli._crypt", "decrypt", "Decrypt a JWE envelope with your key."),
    "keys": ("bmdx.reference.cli._keys", "keys", "Create participant keys; print key ids."),
    "sign": ("bmdx.reference.cli._sign", "sign", "Sign a BMDX object (detached JWS over JCS)."),
    "verify": ("bmdx.reference.cli._sign", "verify", "Verify every signature of a BMDX object."),
    "ledger": (
        "bmdx.reference.cli._ledger",
        "ledger",
        "Populate, export, verify and prove a ledger.",
    ),
    "node": ("bmdx.reference.cli._node", "node", "Run a reference node (the HTTP interface)."),
    "adapter": (
        "bmdx.reference.cli._adapter",
        "adapter",
        "Serve the conformance adapter protocol.",
    ),
}


class _LazyGroup(click.Group):
    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(_COMMANDS)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        entry = _COMMANDS.get(cmd_name)
        if entry is None:
            return None
        module = importlib.import_module(entry[0])
        command = getattr(module, entry[1])
        if not isinstance(command, click.Command):
            raise TypeError(f"{entry[0]}.{entry[1]} is not a click command")
        return command

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        rows = [(name, _COMMANDS[name][2]) for name in self.list_commands(ctx)]
        with formatter.section("Commands"):
            formatter.write_dl(rows)


@click.group(cls=_LazyGroup)
@click.version_option(package_name="bmdx", prog_name="bmdx")
def cli() -> None:
    """BMDX reference tools: the standard's data, documents, keys and the reference node."""


def main(argv: list[str] | None = None) -> Any:
    """Entry point of the ``bmdx`` console script."""
    return cli.main(args=argv, prog_name="bmdx")
