"""``bmdx-conformance requirements``: the catalogue with the suite's coverage of it."""

from __future__ import annotations

import json
import sys

import click

from bmdx.conformance._internal.commands._output import fail
from bmdx.conformance._internal.errors import ConformanceError
from bmdx.conformance._internal.requirements import catalogue, implemented_profiles
from bmdx.conformance._internal.runner import collect

__all__ = ["requirements_command"]


@click.command("requirements")
@click.option(
    "--profile", "profiles", multiple=True, metavar="NAME", help="Only this profile (repeatable)."
)
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
def requirements_command(profiles: tuple[str, ...], as_json: bool) -> None:
    """List the requirements and the tests of this suite that verify each."""
    try:
        plugin = collect()
        requirements = catalogue()
        implemented = implemented_profiles()
    except ConformanceError as e:
        fail(e)
    covering: dict[str, list[str]] = {}
    for record in plugin.records.values():
        for pin in record.pins:
            covering.setdefault(pin.id, []).append(record.nodeid)
    rows = []
    for rid, req in requirements.items():
        if profiles and req.profile not in profiles:
            continue
        tests = covering.get(rid, [])
        status = "covered" if tests else ("not testable" if req.not_testable else "not covered")
        rows.append(
            {
                "id": rid,
                "level": req.level,
                "profile": req.profile,
                "coverage": status,
                "tests": tests,
            }
        )
    if as_json:
        click.echo(
            json.dumps({"implementedProfiles": list(implemented), "requirements": rows}, indent=2)
        )
    else:
        for row in rows:
            click.echo(
                f"{row['id']:<14} {row['level']:<10} {row['profile']:<13} {row['coverage']:<13} {len(row['tests'])} test(s)"
            )
        counts = {
            s: sum(1 for r in rows if r["coverage"] == s)
            for s in ("covered", "not covered", "not testable")
        }
        click.echo(", ".join(f"{n} {s}" for s, n in counts.items()))
    for error in plugin.suite_errors:
        click.echo(f"suite error: {error['message']}", err=True)
    sys.exit(1 if plugin.suite_errors else 0)
