"""``bmdx validate FILE...``: is each file a valid BMDX document, and if not, why?

The syntax is detected from the content (XML when it starts with ``<``).  Each error is
reported with its place (JSON pointer, or XPath for XML), its message and the id of the
requirement it breaks.

Exit codes: 0 every file valid, 1 at least one invalid, 2 usage (no such file, unreadable
file) or a spec that cannot be loaded.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click

from bmdx.reference._internal.documents import DocumentReport, validate_document_bytes
from bmdx.reference._internal.errors import BmdxError, UsageError
from bmdx.reference.cli._output import report_error

__all__ = ["validate"]


def _read(name: str) -> bytes:
    if name == "-":
        return sys.stdin.buffer.read()
    try:
        return Path(name).read_bytes()
    except OSError as e:
        raise UsageError(
            f"cannot read {name}: {e.strerror or e}",
            reason="unreadable-file",
            remedy="Check the path and its permissions.",
        ) from e


def _text(report: DocumentReport) -> list[str]:
    what = report.object_type or "document"
    if report.valid:
        return [f"{report.name}: valid {what} ({report.syntax})"]
    lines = [f"{report.name}: invalid {what} ({report.syntax})"]
    for v in report.violations:
        where = v.xpath or v.pointer or "/"
        lines.append(f"  {where}: {v.message} [{v.requirement}]")
    if report.error is not None and report.error.remedy:
        lines.append(f"  hint: {report.error.remedy}")
    return lines


@click.command("validate")
@click.argument("files", nargs=-1, required=True)
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["text", "json"]),
    default="text",
    show_default=True,
    help="One line per file and error for people, a JSON array for tools.",
)
@click.option("--quiet", "-q", is_flag=True, help="Print nothing for valid files.")
def validate(files: tuple[str, ...], fmt: str, quiet: bool) -> None:
    """Validate BMDX documents (JSON or XML; '-' reads standard input).

    Exit codes: 0 all valid, 1 some invalid, 2 usage error.
    """
    reports: list[DocumentReport] = []
    try:
        for name in files:
            reports.append(validate_document_bytes(_read(name), name=name))
    except BmdxError as e:
        report_error(e, source="validate")
        raise SystemExit(2) from e
    if fmt == "json":
        click.echo(json.dumps([r.as_dict() for r in reports], indent=2, ensure_ascii=False))
    else:
        for report in reports:
            if not (quiet and report.valid):
                click.echo("\n".join(_text(report)))
    raise SystemExit(0 if all(r.valid for r in reports) else 1)
