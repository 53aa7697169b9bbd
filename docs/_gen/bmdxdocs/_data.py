"""Data files rendered as pages: the anomaly rules, the Wycheproof profile, the benchmarks.

Each figure on these pages is read from the file that records it at build time; none is
copied by hand.
"""

from __future__ import annotations

import ast
import json
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

from bmdxdocs._interface import _comments, _ProfileTables
from bmdxdocs._md import cell, code, generated_note, link_ids, rel
from bmdxdocs._model import Catalogue, load_yaml
from bmdxdocs._schema_tables import SchemaTables

ANOMALY_PAGE = "anomaly.md"
WYCHEPROOF_PAGE = "security-wycheproof.md"
BENCHMARKS_PAGE = "benchmarks.md"


def _leading_comment(text: str) -> str:
    lines: list[str] = []
    for raw in text.splitlines():
        if not raw.startswith("#"):
            break
        lines.append(raw.lstrip("#").strip())
    return " ".join(line for line in lines if line)


# --------------------------------------------------------------------------- anomaly rules


def anomaly_page(spec_root: Path, cat: Catalogue) -> str | None:
    page = ANOMALY_PAGE
    path = spec_root / "anomaly" / "rules.yaml"
    if not path.is_file():
        return None
    known = cat.requirements
    text = path.read_text(encoding="utf-8")
    data = load_yaml(path) or {}
    schema_path = spec_root / "anomaly" / "rules.schema.json"
    schema = json.loads(schema_path.read_bytes()) if schema_path.is_file() else {}
    lines = [
        "# Anomaly rules",
        "",
        "The anomaly rules of the audit profile are data: a network tunes them in "
        "`spec/anomaly/rules.yaml`, and every implementation evaluates exactly the rules it "
        f"is given. Their semantics are normative in the [audit convention]"
        f"({rel(page, 'conventions/audit.md')}#6-anomaly-rules) (section 6); the "
        f"[anomaly vectors]({rel(page, 'vectors/anomaly/index.md')}) pin them down.",
        "",
    ]
    intro = _leading_comment(text)
    if intro:
        lines += [f"> {link_ids(intro, page, known)}", ""]
    lines += [
        f"Format version {code(data.get('version', '?'))}. The network defaults:",
        "",
        "| rule | severity | window | threshold | counts actions | with outcomes "
        "| purposes | rule parameter | what it detects |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for rule in data.get("rules") or ():
        if not isinstance(rule, dict):
            continue
        match = rule.get("match") or {}
        param = ""
        if "workingHours" in rule:
            wh = rule["workingHours"] or {}
            param = f"working hours {wh.get('start')} to {wh.get('end')} UTC"
        elif "lookback" in rule:
            param = f"lookback {_seconds(rule['lookback'])}"
        lines.append(
            f"| {code(rule.get('id', '?'))} | {rule.get('severity', '')} "
            f"| {_seconds(rule.get('window'))} | {rule.get('threshold', '')} "
            f"| {', '.join(code(a) for a in match.get('actions') or ())} "
            f"| {', '.join(code(o) for o in match.get('outcomes') or ())} "
            f"| {', '.join(code(p) for p in match.get('purposes') or ()) or 'any'} "
            f"| {cell(param) or '—'} | {link_ids(cell(rule.get('description', '')), page, known)} |"
        )
    lines += [
        "",
        "A rule fires for an actor when the number of counted events in the closed window "
        "`[now - window, now]` is strictly greater than its threshold.",
        "",
    ]
    if schema:
        lines += ["## The format", ""]
        if schema.get("description"):
            lines += [link_ids(str(schema["description"]), page, known), ""]
        lines += SchemaTables(schema, "anomaly/rules.schema.json", page, known).render(level=3)
    lines += [
        "## The file",
        "",
        '??? note "spec/anomaly/rules.yaml"',
        "",
        "    ```yaml",
        *("    " + line if line else "" for line in text.rstrip().splitlines()),
        "    ```",
    ]
    lines.append(generated_note("`spec/anomaly/rules.yaml` and `rules.schema.json`"))
    return "\n".join(lines)


def _seconds(value: Any) -> str:
    if not isinstance(value, int) or isinstance(value, bool):
        return cell(value) if value is not None else ""
    for unit, size in (("days", 86400), ("h", 3600), ("min", 60)):
        if value >= size and value % size == 0:
            return f"{value} s ({value // size} {unit})"
    return f"{value} s"


# --------------------------------------------------------------------------- Wycheproof


def wycheproof_page(spec_root: Path, cat: Catalogue) -> str | None:
    page = WYCHEPROOF_PAGE
    path = spec_root / "security" / "wycheproof-profile.yaml"
    if not path.is_file():
        return None
    text = path.read_text(encoding="utf-8")
    data = load_yaml(path) or {}
    known = cat.requirements
    lines = [
        "# Wycheproof profile",
        "",
        "How the Project Wycheproof test vectors apply to the "
        f"[security profile]({rel(page, 'security.md')}): for every vector file, the path "
        "of an implementation that runs it, the requirements it exercises, and the verdict "
        "each flagged vector must get. The vectors themselves are third-party data, read "
        "in place by the tests, never copied into the repository.",
        "",
    ]
    intro = _leading_comment(text)
    if intro:
        lines += [f"> {link_ids(intro, page, known)}", ""]
    tables = _ProfileTables(_comments(text), {}, page, known)
    for section, value in data.items():
        lines += [f"## {section.replace('_', ' ').capitalize()} {{ #{section} }}", ""]
        if isinstance(value, dict):
            lines += tables.table(value, [section])
        else:
            lines += [tables._cell(value), ""]
    lines.append(generated_note("`spec/security/wycheproof-profile.yaml`"))
    return "\n".join(lines)


# --------------------------------------------------------------------------- benchmarks


def _num(value: Any, unit: str = "") -> str:
    if isinstance(value, bool) or value is None:
        return "—" if value is None else ("yes" if value else "no")
    if isinstance(value, int):
        text = f"{value:,}"
    elif isinstance(value, float):
        text = f"{value:,.3f}".rstrip("0").rstrip(".")
    else:
        text = str(value)
    return f"{text} {unit}".strip()


def _met(value: Any) -> str:
    if value is None:
        return "—"
    return "**met**" if value else "**not met**"


Row = tuple[str, str, str, str, str, str]
_HEADER = [
    "| figure | measured | baseline (same run) | ratio | goal | goal met |",
    "|---|---|---|---|---|---|",
]


def _rows_table(rows: list[Row]) -> list[str]:
    return [*_HEADER, *("| " + " | ".join(cell(c) for c in row) + " |" for row in rows), ""]


def _validation(d: dict[str, Any]) -> list[str]:
    rs, py = d["jsonschema_rs"], d["jsonschema"]
    rows: list[Row] = [
        (
            f"documents validated per second, jsonschema-rs {rs['version']}",
            _num(rs["docsPerSecond"], "docs/s"),
            f"jsonschema {py['version']}: {_num(py['docsPerSecond'], 'docs/s')}",
            f"{_num(d['ratio'])}x",
            f"at least {_num(d['goal'])}x",
            _met(d.get("meetsGoal")),
        )
    ]
    corpus = d.get("corpus") or {}
    note = (
        f"Corpus: {corpus.get('documents')} documents of {corpus.get('objectTypes')} object "
        f"types, {corpus.get('errorsPerPass')} errors per pass."
        if corpus
        else ""
    )
    return [*_rows_table(rows), note, ""] if note else _rows_table(rows)


def _ledger_ingest(d: dict[str, Any]) -> list[str]:
    goal = d.get("goal_ratio")
    rows: list[Row] = [
        (
            f"committed transactions per second, {r['algorithm']}"
            + (f", `{r['path']}`" if r.get("path") else ""),
            _num(r["committed_tx_per_second"], "tx/s"),
            f"raw signature verification: {_num(r['raw_verify_per_second'], '/s')}",
            _num(r["ratio"]),
            f"at least {_num(goal)}" if goal is not None else "—",
            _met(r["ratio"] >= goal)
            if goal is not None and r.get("path", "submit_many") == "submit_many"
            else "—",
        )
        for r in d["results"]
    ]
    note = (
        f"Store: {d.get('store', '?')}; blocks of {d.get('block_size', '?')} transactions "
        f"from {d.get('senders', '?')} senders. `submit_many` is bulk ingestion, which "
        "verifies signatures ahead in worker processes; `submit` takes one transaction at a "
        "time, as a node does for each request."
    )
    return [*_rows_table(rows), note, ""]


def _ledger_proofs(d: dict[str, Any]) -> list[str]:
    proofs = d["proofs"]
    goal = proofs.get("goal_us")
    under = proofs.get("under_goal") or {}
    rows: list[Row] = [
        (
            f"{name.replace('_', ' ')} (median; p99 {_num(fig['p99_us'], 'µs')})",
            _num(fig["median_us"], "µs"),
            "—",
            "—",
            f"under {_num(goal, 'µs')}" if goal is not None else "—",
            _met(under.get(name)) if name in under else "—",
        )
        for name, fig in proofs["figures"].items()
    ]
    out = [
        f"Proofs on a log of {_num(proofs.get('transactions'))} transactions in "
        f"{_num(proofs.get('blocks'))} blocks, {_num(proofs.get('pairs'))} random pairs:",
        "",
        *_rows_table(rows),
    ]
    off = d.get("offline_verification")
    if isinstance(off, dict):
        floor = off.get("floor") or {}
        rows = [
            (
                "`bmdx ledger verify` of the export",
                _num(off.get("verify_export_seconds"), "s"),
                f"floor: {_num(floor.get('seconds'), 's')}",
                f"{_num(off.get('verify_export_over_floor'))}x",
                "—",
                "—",
            ),
            (
                "`bmdx ledger verify` of the database",
                _num(off.get("verify_database_seconds"), "s"),
                f"floor: {_num(floor.get('seconds'), 's')}",
                f"{_num(off.get('verify_database_over_floor'))}x",
                "—",
                "—",
            ),
        ]
        out += [
            f"Offline verification of {_num(off.get('transactions'))} transactions in "
            f"{_num(off.get('blocks'))} blocks; the floor is {floor.get('what', 'not described')}.",
            "",
            *_rows_table(rows),
        ]
    return out


def _node_reads(d: dict[str, Any]) -> list[str]:
    goal = d.get("goal") or {}
    runs = (
        [("", d)]
        if "requests_per_second" in d
        else [
            (k, v)
            for k, v in d.items()
            if k != "goal" and isinstance(v, dict) and "requests_per_second" in v
        ]
    )
    if not runs:
        raise KeyError("requests_per_second")
    rows: list[Row] = []
    for label, run in runs:
        tag = f"{label}: " if label else ""
        rows.append(
            (
                f"{tag}requests per second ({run.get('concurrency')} concurrent clients)",
                _num(run["requests_per_second"], "req/s"),
                "—",
                "—",
                f"at least {_num(goal.get('requests_per_second'), 'req/s')}"
                if "requests_per_second" in goal
                else "—",
                _met(run["requests_per_second"] >= goal["requests_per_second"])
                if "requests_per_second" in goal
                else "—",
            )
        )
        rows.append(
            (
                f"{tag}latency p99 (p50 {_num(run.get('p50_ms'), 'ms')})",
                _num(run["p99_ms"], "ms"),
                "—",
                "—",
                f"at most {_num(goal.get('p99_ms'), 'ms')}" if "p99_ms" in goal else "—",
                _met(run["p99_ms"] <= goal["p99_ms"]) if "p99_ms" in goal else "—",
            )
        )
    return _rows_table(rows)


def _signatures(d: dict[str, Any]) -> list[str]:
    goal = d.get("goal_verify_overhead")
    rows: list[Row] = []
    for r in d["results"]:
        ops = r["ops_per_second"]
        rows.append(
            (
                f"{r['alg']} verify of a {r.get('document_bytes')}-byte document",
                _num(ops["our_verify"], "/s"),
                f"raw pyca verify: {_num(ops['raw_verify'], '/s')}",
                f"{_num(r['verify_overhead'])}x slower",
                f"at most {_num(goal)}x" if goal is not None else "—",
                _met(r["verify_overhead"] <= goal) if goal is not None else "—",
            )
        )
        rows.append(
            (
                f"{r['alg']} sign",
                _num(ops["our_sign"], "/s"),
                f"raw pyca sign: {_num(ops['raw_sign'], '/s')}",
                f"{_num(r['sign_overhead'])}x slower",
                "—",
                "—",
            )
        )
    return _rows_table(rows)


def _encryption(d: dict[str, Any]) -> list[str]:
    rows: list[Row] = []
    for r in d["results"]:
        what = f"{_num(r['payload_bytes'])} bytes to {r['recipients']} recipient(s)"
        rows.append(
            (
                f"encrypt, {what}",
                _num(r["encrypt_api"], "/s"),
                f"raw pyca: {_num(r['encrypt_raw'], '/s')}",
                _num(r["encrypt_ratio"]),
                "—",
                "—",
            )
        )
        rows.append(
            (
                f"decrypt, {what}",
                _num(r["decrypt_api"], "/s"),
                f"raw pyca: {_num(r['decrypt_raw'], '/s')}",
                _num(r["decrypt_ratio"]),
                "—",
                "—",
            )
        )
    return _rows_table(rows)


def _storage_memory(d: dict[str, Any]) -> list[str]:
    rss = d["rss_mb"]
    rows: list[Row] = [
        (
            f"peak resident memory while ingesting {_num(d.get('transactions'))} transactions",
            _num(rss["peak"], "MB"),
            f"before ingest: {_num(rss.get('before_ingest'), 'MB')}",
            f"growth {_num(rss.get('growth_over_ingest'), 'MB')}",
            f"at most {_num(rss.get('limit'), 'MB')}",
            _met(d.get("within_limit")),
        ),
        (
            "ingestion rate",
            _num(d.get("transactions_per_second"), "tx/s"),
            "—",
            "—",
            "—",
            "—",
        ),
    ]
    return _rows_table(rows)


_RENDERERS: dict[str, Callable[[dict[str, Any]], list[str]]] = {
    "validation-throughput": _validation,
    "ledger_ingest": _ledger_ingest,
    "ledger_proofs": _ledger_proofs,
    "node_reads": _node_reads,
    "signatures": _signatures,
    "encryption": _encryption,
    "storage_memory": _storage_memory,
}

_ENVIRONMENT = (
    "python",
    "machine",
    "processor",
    "cryptography",
    "jwcrypto",
    "sqlite_version",
    "backend",
    "measuredAt",
)


def _flatten(value: Any, prefix: str = "") -> list[tuple[str, Any]]:
    if isinstance(value, dict):
        return [kv for k, v in value.items() for kv in _flatten(v, f"{prefix}{k}.")]
    if isinstance(value, list):
        return [kv for i, v in enumerate(value) for kv in _flatten(v, f"{prefix}{i}.")]
    return [(prefix.rstrip("."), value)]


def _generic(d: dict[str, Any]) -> list[str]:
    rows = ["| figure | value |", "|---|---|"]
    rows += [f"| {code(k)} | {cell(_num(v))} |" for k, v in _flatten(d) if k != "benchmark"]
    return [*rows, ""]


def _script_summary(script: Path) -> str:
    """The first paragraph of a benchmark script's docstring: what it measures."""
    try:
        doc = ast.get_docstring(ast.parse(script.read_text(encoding="utf-8")))
    except (SyntaxError, OSError, UnicodeDecodeError):
        return ""
    text = " ".join((doc or "").split("\n\n", 1)[0].split())
    text = re.sub(r":[a-z]+:`~?([^`]+)`", r"`\1`", text)  # reST roles
    return text.replace("``", "`")


def benchmarks_page(repo_root: Path | None, cat: Catalogue) -> str | None:
    if repo_root is None:
        return None
    page = BENCHMARKS_PAGE
    base = repo_root / "benchmarks"
    results = sorted((base / "results").glob("*.json")) if base.is_dir() else []
    lines = [
        "# Benchmarks",
        "",
        "Performance of the reference tools, each figure measured against a baseline in the "
        "same run (so the ratio, not the machine, is what counts) and compared with its "
        "goal. Every number on this page is read from `benchmarks/results/*.json` when the "
        "site is built; rerun a benchmark (`./dev bench`, or its script) to update it. A "
        "goal not met is shown as recorded, not hidden.",
        "",
    ]
    if not results:
        lines += ["No benchmark results are recorded yet."]
        lines.append(generated_note("`benchmarks/results/`"))
        return "\n".join(lines)
    lines += ["| results | benchmark script | goals |", "|---|---|---|"]
    sections: list[str] = []
    for path in results:
        try:
            data = json.loads(path.read_bytes())
        except ValueError:
            continue
        if not isinstance(data, dict):
            continue
        stem = path.stem
        script = base / f"bench_{stem}.py"
        title = stem.replace("_", " ").capitalize()
        anchor = re.sub(r"[^a-z0-9]+", "-", stem.lower())
        renderer = _RENDERERS.get(str(data.get("benchmark", "")))
        try:
            body = renderer(data) if renderer else _generic(data)
        except (KeyError, TypeError, ValueError):
            body = _generic(data)  # a changed format: show every recorded figure as is
        goals = [line for line in body if line.startswith("| ") and "**" in line]
        met = sum("**met**" in g for g in goals)
        not_met = sum("**not met**" in g for g in goals)
        summary = f"{met} met, {not_met} not met" if goals else "no goal recorded"
        lines.append(
            f"| [{title}](#{anchor}) | {code(script.relative_to(repo_root).as_posix()) if script.is_file() else '—'} "
            f"| {summary} |"
        )
        sections += [f"## {title} {{ #{anchor} }}", ""]
        summary_text = _script_summary(script) if script.is_file() else ""
        if summary_text:
            sections += [link_ids(summary_text, page, cat.requirements), ""]
        if isinstance(data.get("description"), str):
            sections += [f"Measured: {cell(data['description'])}.", ""]
        if isinstance(data.get("unit"), str):
            sections += [f"Unit: {cell(data['unit'])}.", ""]
        sections += body
        env = [f"{k} {code(data[k])}" for k in _ENVIRONMENT if isinstance(data.get(k), str)]
        if isinstance(data.get("machine"), dict):
            env += [f"{k} {code(v)}" for k, v in data["machine"].items()]
        sections += [
            f"Recorded in {code(path.relative_to(repo_root).as_posix())}"
            + (f" ({', '.join(env)})" if env else "")
            + ".",
            "",
        ]
    lines += ["", *sections]
    if (base / "README.md").is_file():
        lines.append("`benchmarks/README.md` describes the harnesses, their options and goals.")
    lines.append(generated_note("`benchmarks/results/*.json` and the benchmark scripts"))
    return "\n".join(lines)
