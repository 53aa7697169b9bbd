"""Validation throughput: jsonschema-rs (the validator BMDX uses) against pure-Python
``jsonschema``, over the example corpus of spec/examples, measured in the same run.

Both validators are compiled once per object type from the same schemas and registry
contents, with format assertions off (formats are annotations in BMDX); each is warmed
up, then run over the same parsed documents for at least ``--seconds`` seconds, and
collects *every* error of each document (what ``bmdx validate`` reports).  Goal: at
least 10x the baseline.

    python benchmarks/bench_validation.py [--seconds 2] [--check]

Writes benchmarks/results/validation.json.
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
import time
from collections.abc import Callable
from importlib.metadata import version
from pathlib import Path
from typing import Any

import jsonschema
import referencing
import referencing.jsonschema

from bmdx.reference._internal import ijson
from bmdx.reference._internal.errors import BmdxError
from bmdx.reference._internal.schema import schema_set
from bmdx.reference._internal.specdata import schema_by_id, spec_dir

GOAL = 10.0
RESULTS = Path(__file__).resolve().parent / "results" / "validation.json"


def corpus(root: Path) -> list[tuple[str, Any]]:
    """(object type, document) for every JSON example that parses and names a known type."""
    known = set(schema_set(root).object_types)
    out = []
    for path in sorted((root / "examples").glob("*/*/*.json")):
        try:
            document = ijson.loads(path.read_bytes())
        except BmdxError:
            continue  # invalid-syntax examples never reach a schema validator
        object_type = document.get("objectType") if isinstance(document, dict) else None
        if object_type in known:
            out.append((object_type, document))
    return out


def rust_validators(root: Path, types: set[str]) -> dict[str, Callable[[Any], int]]:
    schemas = schema_set(root)
    out: dict[str, Callable[[Any], int]] = {}
    for object_type in types:
        validator = schemas.validator_for(object_type)
        out[object_type] = lambda doc, v=validator: sum(1 for _ in v.iter_errors(doc))
    return out


def python_validators(root: Path, types: set[str]) -> dict[str, Callable[[Any], int]]:
    by_id = schema_by_id(root)
    registry: referencing.Registry[Any] = referencing.Registry().with_resources(
        (sid, referencing.jsonschema.DRAFT202012.create_resource(s)) for sid, s in by_id.items()
    )
    by_type = {s["x-object"]: s for s in by_id.values() if "x-object" in s}
    out: dict[str, Callable[[Any], int]] = {}
    for object_type in types:
        validator = jsonschema.Draft202012Validator(by_type[object_type], registry=registry)
        out[object_type] = lambda doc, v=validator: sum(1 for _ in v.iter_errors(doc))
    return out


def measure(
    validators: dict[str, Callable[[Any], int]], docs: list[tuple[str, Any]], seconds: float
) -> tuple[float, int, int]:
    """(documents per second, documents validated, errors found per corpus pass)."""
    per_pass = sum(validators[t](d) for t, d in docs)  # warm-up pass
    count = 0
    started = time.perf_counter()
    while True:
        for object_type, document in docs:
            validators[object_type](document)
        count += len(docs)
        elapsed = time.perf_counter() - started
        if elapsed >= seconds:
            return count / elapsed, count, per_pass


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=2.0, help="minimum time per validator")
    parser.add_argument("--check", action="store_true", help=f"exit 1 below {GOAL:g}x")
    parser.add_argument("--output", type=Path, default=RESULTS)
    args = parser.parse_args(argv)

    root = spec_dir()
    docs = corpus(root)
    if not docs:
        print(f"no JSON examples under {root / 'examples'}; nothing to measure", file=sys.stderr)
        return 2
    types = {t for t, _ in docs}
    rust = rust_validators(root, types)
    python = python_validators(root, types)
    rust_rate, rust_n, rust_errors = measure(rust, docs, args.seconds)
    py_rate, py_n, py_errors = measure(python, docs, args.seconds)
    if rust_errors != py_errors:
        print(f"validators disagree: {rust_errors} vs {py_errors} errors", file=sys.stderr)
        return 2
    ratio = rust_rate / py_rate
    result = {
        "benchmark": "validation-throughput",
        "corpus": {
            "documents": len(docs),
            "objectTypes": len(types),
            "errorsPerPass": rust_errors,
        },
        "jsonschema_rs": {
            "version": version("jsonschema-rs"),
            "docsPerSecond": round(rust_rate, 1),
            "documents": rust_n,
        },
        "jsonschema": {
            "version": version("jsonschema"),
            "docsPerSecond": round(py_rate, 1),
            "documents": py_n,
        },
        "ratio": round(ratio, 2),
        "goal": GOAL,
        "meetsGoal": ratio >= GOAL,
        "python": platform.python_version(),
        "machine": f"{platform.system()} {platform.machine()}",
        "measuredAt": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    }
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    print(
        f"corpus: {len(docs)} documents, {len(types)} object types, {rust_errors} errors per pass"
    )
    print(f"jsonschema-rs {result['jsonschema_rs']['version']}: {rust_rate:12,.0f} documents/s")
    print(f"jsonschema    {result['jsonschema']['version']}: {py_rate:12,.0f} documents/s")
    verdict = "meets" if ratio >= GOAL else "misses"
    print(f"ratio: {ratio:.1f}x ({verdict} the {GOAL:g}x goal); written to {args.output}")
    return 1 if args.check and ratio < GOAL else 0


if __name__ == "__main__":
    sys.exit(main())
