"""``bmdx-conformance run``: certify one implementation and write the reports."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from bmdx.conformance._internal.commands._output import fail
from bmdx.conformance._internal.errors import ConformanceError
from bmdx.conformance._internal.runner import RunOptions, run

__all__ = ["run_command"]

_FILE = click.Path(exists=True, dir_okay=False, path_type=Path)


@click.command("run")
@click.option("--target", "target_url", metavar="URL", help="Base URL of an HTTP node.")
@click.option("--config", type=_FILE, help="Target configuration (TOML) of the HTTP node.")
@click.option("--adapter", metavar="CMD", help="Command of an adapter-protocol program.")
@click.option(
    "--artifacts",
    type=click.Path(file_okay=False, path_type=Path),
    help="Directory of exported ledgers and documents.",
)
@click.option("--seed", type=int, help="Seed of generated inputs (default: random, printed).")
@click.option(
    "--profile",
    "profiles",
    multiple=True,
    metavar="NAME",
    help="Run only this profile (repeatable).",
)
@click.option(
    "--test", "tests", multiple=True, metavar="ID", help="Run only this test id (repeatable)."
)
@click.option(
    "--claim",
    type=_FILE,
    help="Conformance claim (default: every MUST of the implemented profiles).",
)
@click.option("--expected-failures", type=_FILE, help="Strict list of known failures.")
@click.option(
    "--report-dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path("conformance-report"),
    show_default=True,
)
@click.option(
    "--certifier-key",
    type=_FILE,
    help="Private Ed25519 JWK signing the certificate (default: ephemeral).",
)
@click.option(
    "--implementation-name", help="Name of the implementation (default: from the claim or target)."
)
@click.option("--implementation-version", help="Version of the implementation.")
@click.option(
    "--evidence",
    type=click.Choice(["failures", "all"]),
    default="failures",
    show_default=True,
    help="Whose requests and responses report.json keeps: failed tests' or every test's.",
)
@click.option(
    "--no-progress", is_flag=True, help="Plain progress lines instead of the progress bar."
)
def run_command(  # noqa: PLR0917 - click passes one argument per option
    target_url: str | None,
    config: Path | None,
    adapter: str | None,
    artifacts: Path | None,
    seed: int | None,
    profiles: tuple[str, ...],
    tests: tuple[str, ...],
    claim: Path | None,
    expected_failures: Path | None,
    report_dir: Path,
    certifier_key: Path | None,
    implementation_name: str | None,
    implementation_version: str | None,
    evidence: str,
    no_progress: bool,
) -> None:
    """Certify a target; with none, start the embedded reference node and certify it.

    Exit status: 0 when every claimed requirement was observed passing (or is an
    expected failure) and the expected-failures list is current; 1 otherwise; 2 for a
    usage error.
    """
    options = RunOptions(
        target_url=target_url,
        config=config,
        adapter=adapter,
        artifacts=artifacts,
        seed=seed,
        profiles=profiles,
        tests=tests,
        claim=claim,
        expected_failures=expected_failures,
        report_dir=report_dir,
        certifier_key=certifier_key,
        implementation_name=implementation_name,
        implementation_version=implementation_version,
        rich_progress=not no_progress,
        evidence=evidence,
        out=sys.stdout,
    )
    try:
        result = run(options)
    except ConformanceError as e:
        fail(e)
    sys.exit(result.exit_code)
