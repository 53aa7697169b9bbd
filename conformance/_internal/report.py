"""report.json: assembling one run's results, redacting them, and writing every file.

The JSON report is the single source for the other files: JUnit XML, the HTML matrix,
the Markdown summary and the badge are rendered from the *redacted* report, so what
one file withholds no other file shows.  The certificate signs the digest of the
report's exact bytes.
"""

from __future__ import annotations

import json
import shlex
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bmdx.conformance._internal.errors import ReportError
from bmdx.conformance._internal.plugin import TestRecord
from bmdx.conformance._internal.redact import Redactor
from bmdx.conformance._internal.reports import badge, html, junit, markdown
from bmdx.conformance._internal.specdata import schema_violations
from bmdx.conformance._internal.targets import Evidence
from bmdx.conformance._internal.verdicts import Outcomes

__all__ = [
    "REPORT_FILES",
    "ReportInputs",
    "build_report",
    "curl_line",
    "dump_report",
    "write_reports",
]

REPORT_FILES = (
    "report.json",
    "junit.xml",
    "report.html",
    "summary.md",
    "badge.svg",
    "certificate.jws",
)


@dataclass(frozen=True)
class ReportInputs:
    suite_version: str
    spec_version: str
    generated: str
    seed: int
    target: Mapping[str, Any]
    implementation: Mapping[str, str]
    claim: Mapping[str, Any]
    implemented_profiles: Sequence[str]
    selected_profiles: Sequence[str]
    rerun: Sequence[str]
    duration: float
    expected_file: str | None = None
    # "failures": evidence is kept for failed and erroneous tests only; "all": every test.
    evidence: str = "failures"


def curl_line(request: Mapping[str, Any]) -> str | None:
    """A shell line that sends ``request`` (an HTTP exchange's request) again."""
    method, url = request.get("method"), request.get("url")
    if not isinstance(method, str) or not isinstance(url, str):
        return None
    parts = ["curl", "-sS", "-X", method, shlex.quote(url)]
    headers = request.get("headers") or {}
    pairs = headers.items() if isinstance(headers, dict) else headers
    for pair in pairs:
        name, value = pair
        parts += ["-H", shlex.quote(f"{name}: {value}")]
    body = request.get("body")
    if isinstance(body, str):
        parts += ["--data-binary", shlex.quote(body)]
    elif isinstance(body, dict) and isinstance(body.get("base64"), str):
        return f"printf %s {shlex.quote(body['base64'])} | base64 -d | " + " ".join(
            [*parts, "--data-binary", "@-"]
        )
    return " ".join(parts)


def _test_entry(
    record: TestRecord,
    evidence: Evidence | None,
    inputs: ReportInputs,
    expected_reason: str | None,
) -> dict[str, Any]:
    exchanges = list(evidence.exchanges) if evidence else []
    notes = list(evidence.notes) if evidence else []
    if inputs.evidence != "all" and record.outcome not in ("failed", "error") and exchanges:
        notes.append(f"{len(exchanges)} exchange(s) not kept; --evidence all keeps them")
        exchanges = []
    entry: dict[str, Any] = {
        "nodeid": record.nodeid,
        "requirements": [str(p) for p in record.pins],
        "outcome": record.outcome,
        "durationSeconds": round(record.duration, 6),
        "evidence": {"exchanges": exchanges, "notes": notes},
    }
    if record.profile:
        entry["profile"] = record.profile
    if record.message:
        entry["message"] = record.message
    if record.details:
        entry["details"] = record.details
    if expected_reason is not None:
        entry["expectedFailure"] = expected_reason
    if record.outcome in ("failed", "error"):
        requests = [x.get("request") for x in exchanges if isinstance(x.get("request"), dict)]
        curls = [
            line
            for x in exchanges
            if x.get("transport") == "http" and isinstance(x.get("request"), dict)
            for line in [curl_line(x["request"])]
            if line
        ]
        rerun = [*inputs.rerun, "--seed", str(inputs.seed), "--test", record.nodeid]
        entry["reproduction"] = {
            "seed": inputs.seed,
            "rerun": shlex.join(rerun),
            "requests": requests,
            "curl": curls,
        }
    return entry


def build_report(
    inputs: ReportInputs,
    *,
    records: Sequence[TestRecord],
    evidence: Mapping[str, Evidence],
    outcomes: Outcomes,
    suite_errors: Sequence[Mapping[str, str]],
    redactor: Redactor,
) -> dict[str, Any]:
    """The report of one run, redacted and valid against ``report.schema.json``."""
    expected_reqs = {
        e["entry"]: e["reason"] for e in outcomes.expected_entries if e["entry"].startswith("BMDX-")
    }
    tests = []
    for record in (r for r in records if r.selected):
        reason = outcomes.expected_tests.get(record.nodeid)
        if reason is None and record.pins and all(p.id in expected_reqs for p in record.pins):
            reason = "; ".join(sorted({expected_reqs[p.id] for p in record.pins}))
        if record.outcome not in ("failed", "error"):
            reason = None
        tests.append(_test_entry(record, evidence.get(record.nodeid), inputs, reason))
    tally = {
        k: sum(1 for t in tests if t["outcome"] == k)
        for k in ("passed", "failed", "error", "skipped")
    }
    exit_code = outcomes.exit_code(suite_errors)
    report: dict[str, Any] = {
        "reportVersion": 1,
        "suite": {"name": "bmdx-conformance", "version": inputs.suite_version},
        "specVersion": inputs.spec_version,
        "generated": inputs.generated,
        "seed": inputs.seed,
        "target": dict(inputs.target),
        "implementation": dict(inputs.implementation),
        "claim": dict(inputs.claim),
        "profiles": {
            "implemented": list(inputs.implemented_profiles),
            "selected": list(inputs.selected_profiles),
        },
        "summary": {
            "result": "conformant" if exit_code == 0 else "not-conformant",
            "exitCode": exit_code,
            "claimed": outcomes.counts(claimed=True),
            "notClaimed": outcomes.counts(claimed=False),
            "tests": {"total": len(tests), **tally},
            "durationSeconds": round(inputs.duration, 3),
        },
        "requirements": [v.to_dict() for v in outcomes.requirements],
        "tests": tests,
        "expectedFailures": {
            "entries": list(outcomes.expected_entries),
            "errors": list(outcomes.expected_errors),
        },
        "suiteErrors": [dict(e) for e in suite_errors],
    }
    if inputs.expected_file is not None:
        report["expectedFailures"]["file"] = inputs.expected_file
    for record_evidence in evidence.values():
        redactor.add(*record_evidence.secrets)
    redactor.learn(report)
    clean: dict[str, Any] = redactor.scrub(report)
    violations = schema_violations("report", clean)
    if violations:
        raise ReportError(
            "the report does not match report.schema.json: " + "; ".join(violations[:5]),
            reason="report-schema",
        )
    return clean


def dump_report(report: Mapping[str, Any]) -> bytes:
    return (json.dumps(report, indent=2, ensure_ascii=False) + "\n").encode("utf-8")


def write_reports(report: Mapping[str, Any], directory: Path, redactor: Redactor) -> bytes:
    """Write every report file but the certificate; return the bytes of report.json."""
    try:
        directory.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise ReportError(f"cannot create {directory}: {e.strerror}", reason="report-dir") from e
    data = dump_report(report)
    files = {
        "report.json": data,
        "junit.xml": junit.render(report),
        "report.html": html.render(report).encode("utf-8"),
        "summary.md": markdown.render(report).encode("utf-8"),
        "badge.svg": badge.render(report).encode("utf-8"),
    }
    for name, content in files.items():
        leaks = redactor.leaks(content.decode("utf-8"))
        if leaks:
            raise ReportError(
                f"{name} would contain {len(leaks)} secret(s); nothing was written",
                reason="secret-leak",
            )
    for name, content in files.items():
        try:
            (directory / name).write_bytes(content)
        except OSError as e:
            raise ReportError(
                f"cannot write {directory / name}: {e.strerror}", reason="report-dir"
            ) from e
    return data
