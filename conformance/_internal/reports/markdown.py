"""summary.md: the run at a glance, for a pull request comment or a CI summary."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

__all__ = ["render"]


def _cell(text: str) -> str:
    return text.replace("\\", "\\\\").replace("|", "\\|").replace("\n", " ").replace("`", "'")


def render(report: Mapping[str, Any]) -> str:
    summary = report["summary"]
    impl = report["implementation"]
    claimed = summary["claimed"]
    lines = [
        f"# BMDX conformance: {_cell(impl['name'])} {_cell(impl['version'])}",
        "",
        f"**Result: {summary['result']}** (exit code {summary['exitCode']})",
        "",
        f"- Suite {report['suite']['version']}, spec {report['specVersion']}, "
        f"seed `{report['seed']}`, target `{report['target']['kind']}`",
        f"- Claim ({report['claim']['source']}): profiles "
        f"{', '.join(report['claim']['profiles']) or 'none'}",
        f"- Tests: {summary['tests']['passed']} passed, {summary['tests']['failed']} failed, "
        f"{summary['tests']['error']} errors, {summary['tests']['skipped']} skipped",
        "",
        "| claimed requirements | count |",
        "|---|---|",
        *(f"| {name} | {claimed[key]} |" for name, key in _ROWS),
        "",
    ]
    failures = [r for r in report["requirements"] if r["claimFailure"]]
    if failures:
        lines += [
            "## Claim failures",
            "",
            "| requirement | level | verdict | statement |",
            "|---|---|---|---|",
        ]
        lines += [
            f"| {r['id']} | {r['level']} | {r['verdict']} | {_cell(r['statement'])} |"
            for r in failures
        ]
        lines.append("")
    failed_tests = [t for t in report["tests"] if t["outcome"] in ("failed", "error")]
    if failed_tests:
        lines += ["## Failing tests", ""]
        for t in failed_tests:
            note = " (expected failure)" if "expectedFailure" in t else ""
            lines.append(f"- `{_cell(t['nodeid'])}`{note}: {_cell(t.get('message', ''))}")
            if "reproduction" in t:
                lines.append(f"  - rerun: `{_cell(t['reproduction']['rerun'])}`")
        lines.append("")
    errors = report["expectedFailures"]["errors"] + [e["message"] for e in report["suiteErrors"]]
    if errors:
        lines += ["## Errors", "", *(f"- {_cell(e)}" for e in errors), ""]
    return "\n".join(lines)


_ROWS = (
    ("pass", "pass"),
    ("fail", "fail"),
    ("expected failure", "expectedFail"),
    ("not observed", "notObserved"),
    ("not covered by this suite", "notCovered"),
    ("not testable", "notTestable"),
)
