"""report.html: the requirement matrix, claimed vs observed, with failing evidence.

Self-contained (no script, no external resource) and escaped throughout: statements,
messages and evidence come from the target and may contain markup.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from html import escape
from typing import Any

__all__ = ["render"]

_STYLE = """
body{font-family:system-ui,sans-serif;margin:2rem;color:#222}
table{border-collapse:collapse;width:100%}th,td{border:1px solid #ccc;padding:4px 6px;
vertical-align:top;text-align:left}th{background:#f3f3f3}
.pass{background:#e8f5e9}.fail{background:#ffebee}.expected-fail{background:#fff8e1}
.not-observed{background:#fff3e0}.not-covered,.not-testable{background:#f5f5f5}
.claim-failure{font-weight:bold;color:#b71c1c}pre{white-space:pre-wrap;background:#fafafa;
padding:6px;border:1px solid #eee;max-height:30rem;overflow:auto}
"""


def _e(value: object) -> str:
    return escape(str(value), quote=True)


def _status(req: Mapping[str, Any]) -> str:
    if req["claimFailure"]:
        return "claim failure"
    if req["claim"] != "claimed":
        return "informational"
    if req["verdict"] == "fail":
        return "expected failure"
    return "met" if req["verdict"] == "pass" else "cannot be certified"


def _evidence(test: Mapping[str, Any]) -> str:
    parts = [
        f"<p><code>{_e(test['nodeid'])}</code> {_e(test['outcome'])}: {_e(test.get('message', ''))}</p>"
    ]
    if "expectedFailure" in test:
        parts.append(f"<p>Expected failure: {_e(test['expectedFailure'])}</p>")
    if test.get("details"):
        parts.append(f"<pre>{_e(test['details'])}</pre>")
    recipe = test.get("reproduction")
    if recipe:
        parts.append(f"<p>Seed {_e(recipe['seed'])}; rerun:</p><pre>{_e(recipe['rerun'])}</pre>")
        for line in recipe["curl"]:
            parts.append(f"<pre>{_e(line)}</pre>")
        if recipe["requests"]:
            requests = json.dumps(recipe["requests"], indent=2, ensure_ascii=False)
            parts.append(f"<p>Requests sent:</p><pre>{_e(requests)}</pre>")
    exchanges = test["evidence"]["exchanges"]
    if exchanges:
        dump = json.dumps(exchanges, indent=2, ensure_ascii=False)
        parts.append(
            f"<details><summary>All exchanges ({len(exchanges)})</summary><pre>{_e(dump)}</pre></details>"
        )
    if test["evidence"]["notes"]:
        parts.append(
            "<ul>" + "".join(f"<li>{_e(n)}</li>" for n in test["evidence"]["notes"]) + "</ul>"
        )
    return "".join(parts)


def render(report: Mapping[str, Any]) -> str:
    tests = {t["nodeid"]: t for t in report["tests"]}
    impl = report["implementation"]
    summary = report["summary"]
    rows = []
    for req in report["requirements"]:
        verdict = req["verdict"]
        css = "expected-fail" if verdict == "fail" and req["expectedFailure"] else verdict
        failing = [
            tests[n]
            for n in req["tests"]
            if n in tests and tests[n]["outcome"] in ("failed", "error")
        ]
        evidence = ""
        if failing:
            inner = "".join(_evidence(t) for t in failing)
            evidence = (
                f"<details><summary>{len(failing)} failing test(s)</summary>{inner}</details>"
            )
        status = _status(req)
        status_html = (
            f'<span class="claim-failure">{_e(status)}</span>'
            if req["claimFailure"]
            else _e(status)
        )
        rows.append(
            f'<tr class="{_e(css)}" id="{_e(req["id"])}"><td>{_e(req["id"])}</td><td>{_e(req["level"])}</td>'
            f"<td>{_e(req['profile'])}</td><td>{_e(req['statement'])}</td><td>{_e(req['claim'])}</td>"
            f"<td>{_e(verdict)}</td><td>{status_html}</td><td>{len(req['tests'])}{evidence}</td></tr>"
        )
    claimed = summary["claimed"]
    counts = ", ".join(f"{_e(k)}: {_e(v)}" for k, v in claimed.items())
    errors = report["expectedFailures"]["errors"] + [e["message"] for e in report["suiteErrors"]]
    error_html = ""
    if errors:
        error_html = "<h2>Errors</h2><ul>" + "".join(f"<li>{_e(e)}</li>" for e in errors) + "</ul>"
    title = f"BMDX conformance: {impl['name']} {impl['version']}"
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'">
<title>{_e(title)}</title><style>{_STYLE}</style></head>
<body>
<h1>{_e(title)}</h1>
<p><strong>{_e(summary["result"])}</strong> (exit code {_e(summary["exitCode"])}).
Suite {_e(report["suite"]["version"])}, spec {_e(report["specVersion"])},
seed {_e(report["seed"])}, target {_e(report["target"]["kind"])}, generated {_e(report["generated"])}.</p>
<p>Claim ({_e(report["claim"]["source"])}): {_e(", ".join(report["claim"]["profiles"]) or "no profile")}.
Claimed requirements: {counts}.</p>
{error_html}
<table>
<thead><tr><th>Requirement</th><th>Level</th><th>Profile</th><th>Statement</th><th>Claimed</th>
<th>Observed</th><th>Status</th><th>Tests</th></tr></thead>
<tbody>
{chr(10).join(rows)}
</tbody></table>
</body></html>
"""
