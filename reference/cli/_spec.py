"""``bmdx spec``: tools for the committee that edits spec/.

``lint`` says what an edit broke, ``build`` regenerates the derived files (XSDs, XML
examples), ``rehash`` records a reworded requirement and names the tests to review.
Each subcommand is loaded only when invoked, like the top-level commands.

Exit codes: 0 clean, 1 findings (lint errors, stale generated files, stale pins after a
rehash are *not* failures), 2 usage error or a spec that cannot be read at all.
"""

from __future__ import annotations

import importlib
import os
from pathlib import Path

import click

from bmdx.reference._internal.errors import BmdxError, UsageError
from bmdx.reference.cli._output import report_error

__all__ = ["build", "lint", "rehash", "spec"]

# name -> (module, attribute, one-line help).  Add a spec tool by adding a line here.
_SUBCOMMANDS: dict[str, tuple[str, str, str]] = {
    "lint": ("bmdx.reference.cli._spec", "lint", "Check the spec's consistency and coverage."),
    "build": ("bmdx.reference.cli._spec", "build", "Regenerate the XSDs and XML examples."),
    "rehash": ("bmdx.reference.cli._spec", "rehash", "Record reworded requirement statements."),
    "diff": ("bmdx.reference.cli._spec_diff", "diff", "Upgrade impact between two spec revisions."),
}


class _LazySpecGroup(click.Group):
    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(_SUBCOMMANDS)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        entry = _SUBCOMMANDS.get(cmd_name)
        if entry is None:
            return None
        command = getattr(importlib.import_module(entry[0]), entry[1])
        if not isinstance(command, click.Command):
            raise TypeError(f"{entry[0]}.{entry[1]} is not a click command")
        return command

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        with formatter.section("Commands"):
            formatter.write_dl([(name, _SUBCOMMANDS[name][2]) for name in self.list_commands(ctx)])


@click.group("spec", cls=_LazySpecGroup)
def spec() -> None:
    """Lint, build, rehash and diff the spec data (spec/ or BMDX_SPEC_DIR)."""


def _spec_root(spec_dir: Path | None) -> Path:
    from bmdx.reference._internal.specdata import spec_dir as installed  # noqa: PLC0415

    root = spec_dir.resolve() if spec_dir is not None else installed()
    if not (root / "requirements").is_dir():
        raise UsageError(
            f"{root} is not a spec directory (it has no requirements/)",
            reason="not-a-spec-dir",
            remedy="Point --spec-dir (or BMDX_SPEC_DIR) at the spec/ folder.",
        )
    return root


def _conformance_root(conformance_dir: Path | None) -> Path | None:
    from bmdx.reference._internal.lint import default_conformance_dir  # noqa: PLC0415

    return conformance_dir.resolve() if conformance_dir is not None else default_conformance_dir()


_spec_dir_option = click.option(
    "--spec-dir",
    type=click.Path(file_okay=False, exists=True, path_type=Path),
    default=None,
    help="The spec/ folder to work on (default: BMDX_SPEC_DIR, else the installed spec).",
)
_conformance_dir_option = click.option(
    "--conformance-dir",
    type=click.Path(file_okay=False, exists=True, path_type=Path),
    default=None,
    help="The conformance suite's sources (default: the installed bmdx.conformance).",
)


@click.command("lint")
@_spec_dir_option
@_conformance_dir_option
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["text", "json"]),
    default="text",
    show_default=True,
    help="Grouped lines for people, JSON for tools.",
)
@click.option("--verbose", "-v", is_flag=True, help="List every pending finding.")
def lint(spec_dir: Path | None, conformance_dir: Path | None, fmt: str, verbose: bool) -> None:
    """Check that the spec is consistent; exit 0 only when no error is found.

    \b
    Checks: schemas against the 2020-12 metaschema, $id and every $ref, the schema
    subset (spec/conventions/schema-subset.md); the requirement catalogue (schema,
    unique well-formed ids, hashes of statements); every example valid or failing on
    its labelled requirement, in JSON and XML; generated XSDs and XML examples up to
    date; the OpenAPI document once it exists; every requirement id cited by schemas,
    code and tests exists.

    \b
    Coverage: every MUST needs a conformance test marked
    @pytest.mark.requirement("ID:<hash16>") or a not_testable reason.  Untested MUSTs
    of profiles listed in conformance/profiles.yaml are errors; those of other profiles
    are "pending" and do not fail lint.  A test whose pinned hash differs from the
    statement's hash is an error (stale-pin).

    Exit codes: 0 clean (pending and notes allowed), 1 errors, 2 usage.
    """
    from bmdx.reference._internal.lint import findings_json, render_text  # noqa: PLC0415
    from bmdx.reference._internal.lint import lint as run_lint  # noqa: PLC0415

    try:
        report = run_lint(_spec_root(spec_dir), conformance_dir=_conformance_root(conformance_dir))
    except BmdxError as e:
        report_error(e, source="spec lint")
        raise SystemExit(2) from e
    click.echo(findings_json(report) if fmt == "json" else render_text(report, verbose=verbose))
    raise SystemExit(0 if report.ok else 1)


@click.command("build")
@_spec_dir_option
@click.option("--check", is_flag=True, help="Write nothing; exit 1 if any file is stale.")
@click.option("--prune", is_flag=True, help="Also delete generated files no source produces.")
def build(spec_dir: Path | None, check: bool, prune: bool) -> None:
    """Regenerate the XSDs (schemas/xml) and the XML examples from the JSON sources.

    Exit codes: 0 up to date (or written), 1 stale under --check, 2 usage or spec error.
    """
    from bmdx.reference._internal.lint import compare_generated, generated_outputs  # noqa: PLC0415

    try:
        root = _spec_root(spec_dir)
        outputs = generated_outputs(root)
    except BmdxError as e:
        report_error(e, source="spec build")
        raise SystemExit(2) from e
    stale, missing, extra = compare_generated(root, outputs)
    for label, names in (("stale", stale), ("missing", missing), ("extra", extra)):
        for name in names:
            click.echo(f"{label}: {name}")
    if check:
        raise SystemExit(1 if stale or missing or extra else 0)
    for name in stale + missing:
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(outputs[name])
    if prune:
        for name in extra:
            (root / name).unlink()
    written = len(stale) + len(missing)
    click.echo(f"wrote {written} file(s); {len(outputs) - written} already up to date")
    if extra and not prune:
        click.echo(f"{len(extra)} extra file(s) left in place; --prune deletes them")


@click.command("rehash")
@click.argument("ids", nargs=-1)
@_spec_dir_option
@_conformance_dir_option
def rehash(ids: tuple[str, ...], spec_dir: Path | None, conformance_dir: Path | None) -> None:
    """Update the stored hash of reworded requirements (all stale ones, or IDS).

    Only the hash: lines change; the rest of each YAML file is kept byte for byte.
    Conformance tests pinned to the old hash are then listed: review each against the
    new statement, then update its pin.  Exit codes: 0 done, 2 usage.
    """
    from bmdx.reference._internal import catalogue  # noqa: PLC0415

    try:
        root = _spec_root(spec_dir)
        current = catalogue.load_catalogue(root)
        unknown = sorted(set(ids) - set(current.by_id))
        if unknown:
            raise UsageError(
                f"not in the catalogue: {', '.join(unknown)}",
                reason="unknown-requirement",
                remedy="Give ids as BMDX-AREA-NNN, as written in spec/requirements/.",
            )
        changed: dict[str, tuple[str, str]] = {}
        for cfile in current.files:
            changed |= catalogue.rehash_file(cfile.path, ids or None)
        tests = _conformance_root(conformance_dir)
        markers = list(catalogue.scan_markers(tests)) if tests and tests.is_dir() else []
    except BmdxError as e:
        report_error(e, source="spec rehash")
        raise SystemExit(2) from e
    if not changed:
        click.echo("every hash matches its statement")
        return
    for rid, (old, new) in sorted(changed.items()):
        click.echo(f"{rid}: {old or '(none)'} -> {new}")
    new_hashes = {rid: new for rid, (_, new) in changed.items()}
    stale = catalogue.stale_pins(markers, new_hashes)
    for m in stale:
        pin = f"{m.requirement}:{new_hashes[str(m.requirement)]}"
        click.echo(
            f"now stale: {os.path.relpath(m.path)}:{m.line} pins {m.raw}; review, then pin {pin}"
        )
    if not stale:
        click.echo("no conformance test is pinned to these requirements")
