"""``bmdx spec diff OLD NEW``: the upgrade impact of one spec revision over another.

OLD and NEW are each a spec/ directory, a repository root holding spec/, or a git
revision of the repository (``v1.0.0``, ``HEAD~3``, a commit).  The report is
informational: the command exits 0 whatever changed, 2 when OLD or NEW cannot be read.
"""

from __future__ import annotations

import json
from pathlib import Path

import click

from bmdx.reference._internal.errors import BmdxError
from bmdx.reference._internal.specdiff import diff_specs
from bmdx.reference.cli._output import report_error

__all__ = ["diff"]


@click.command("diff")
@click.argument("old")
@click.argument("new")
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["text", "json"]),
    default="text",
    show_default=True,
    help="Plain text for people, JSON for tools.",
)
@click.option(
    "--repo",
    type=click.Path(file_okay=False, exists=True, path_type=Path),
    default=None,
    help="Git repository that revisions are read from (default: the current directory).",
)
def diff(old: str, new: str, fmt: str, repo: Path | None) -> None:
    """List requirements added, removed and reworded, breaking schema changes and
    changed vectors between OLD and NEW (directories or git revisions)."""
    try:
        result = diff_specs(old, new, repo=repo)
    except BmdxError as e:
        report_error(e, source="spec diff")
        raise SystemExit(2) from e
    if fmt == "json":
        click.echo(json.dumps(result.as_dict(), indent=2, ensure_ascii=False))
    else:
        click.echo(result.to_text(), nl=False)
