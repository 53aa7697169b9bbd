"""junit.xml: one testcase per test, its requirement pins as properties.

Expected failures are written as ``skipped`` with the listed reason (as pytest writes
an xfail), so CI stays green on them and red on anything new.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET  # writing only: nothing untrusted is parsed here
from collections.abc import Mapping
from typing import Any

__all__ = ["render"]


def _classname(nodeid: str) -> tuple[str, str]:
    path, _, name = nodeid.partition("::")
    module = path.removesuffix(".py").replace("/", ".")
    if "::" in name:
        cls, _, name = name.rpartition("::")
        module = f"{module}.{cls}"
    return module, name or path


def render(report: Mapping[str, Any]) -> bytes:
    tests = report["tests"]
    counts = report["summary"]["tests"]
    root = ET.Element(
        "testsuites",
        name="bmdx-conformance",
        tests=str(counts["total"]),
        failures=str(counts["failed"]),
        errors=str(counts["error"]),
        skipped=str(counts["skipped"]),
        time=str(report["summary"]["durationSeconds"]),
    )
    suite = ET.SubElement(
        root,
        "testsuite",
        name=f"bmdx-conformance {report['implementation']['name']}",
        tests=str(counts["total"]),
        failures=str(counts["failed"]),
        errors=str(counts["error"]),
        skipped=str(counts["skipped"]),
        time=str(report["summary"]["durationSeconds"]),
        timestamp=report["generated"],
    )
    props = ET.SubElement(suite, "properties")
    for name, value in (
        ("suiteVersion", report["suite"]["version"]),
        ("specVersion", report["specVersion"]),
        ("seed", str(report["seed"])),
        (
            "implementation",
            f"{report['implementation']['name']} {report['implementation']['version']}",
        ),
        ("targetKind", report["target"]["kind"]),
        ("result", report["summary"]["result"]),
    ):
        ET.SubElement(props, "property", name=name, value=value)
    for test in tests:
        classname, name = _classname(test["nodeid"])
        case = ET.SubElement(
            suite, "testcase", classname=classname, name=name, time=str(test["durationSeconds"])
        )
        case_props = ET.SubElement(case, "properties")
        for pin in test["requirements"]:
            ET.SubElement(case_props, "property", name="requirement", value=pin)
        outcome = test["outcome"]
        message = test.get("message", "")
        if outcome in ("failed", "error") and "expectedFailure" in test:
            ET.SubElement(case, "skipped", message=f"expected failure: {test['expectedFailure']}")
        elif outcome == "failed":
            failure = ET.SubElement(case, "failure", message=message)
            failure.text = _failure_text(test)
        elif outcome == "error":
            error = ET.SubElement(case, "error", message=message)
            error.text = _failure_text(test)
        elif outcome == "skipped":
            ET.SubElement(case, "skipped", message=message)
    ET.indent(root)
    data: bytes = ET.tostring(root, encoding="utf-8", xml_declaration=True)
    return data + b"\n"


def _failure_text(test: Mapping[str, Any]) -> str:
    parts = [test.get("details", "")]
    recipe = test.get("reproduction")
    if recipe:
        parts.append(f"rerun: {recipe['rerun']}")
        parts.extend(f"curl: {line}" for line in recipe["curl"])
    return "\n".join(p for p in parts if p)
