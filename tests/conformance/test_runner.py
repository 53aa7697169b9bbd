"""Whole runs of a fake suite: verdicts, exit codes, the six report files, redaction."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from defusedxml import ElementTree as SafeET
from jsonschema import Draft202012Validator
from referencing import Registry, Resource

from bmdx.conformance._internal.errors import InputFileError, UsageError
from bmdx.conformance._internal.redact import ELIDE_ABOVE, Redactor
from bmdx.conformance._internal.report import REPORT_FILES
from bmdx.conformance._internal.runner import RunResult

from .conftest import BROKEN_SUITE, REAL_SPEC, run_fake
from .fixtures.fake_suite.test_probes import (
    PLANTED_D,
    PLANTED_PASSPHRASE,
    PLANTED_PLAINTEXT,
    PLANTED_TOKEN,
)

Run = Callable[..., tuple[RunResult, str]]


def _verdicts(result: RunResult) -> dict[str, tuple[str, str, bool]]:
    return {
        r["id"]: (r["verdict"], r["claim"], r["claimFailure"])
        for r in result.report["requirements"]
    }


def _schema_validator(name: str) -> Draft202012Validator:
    schemas = [
        json.loads(p.read_bytes()) for p in (REAL_SPEC / "conformance").glob("*.schema.json")
    ]
    registry: Registry[Any] = Registry().with_resources(
        (s["$id"], Resource.from_contents(s)) for s in schemas
    )
    schema = next(s for s in schemas if s["$id"].endswith(f"/{name}.schema.json"))
    return Draft202012Validator(schema, registry=registry)


def test_verdicts_of_a_failing_run(module_run: Run) -> None:
    result, out = module_run(adapter="fail-002")
    assert result.exit_code == 1
    assert _verdicts(result) == {
        "BMDX-TST-001": ("pass", "claimed", False),
        "BMDX-TST-002": ("fail", "claimed", True),
        "BMDX-TST-003": ("not-observed", "claimed", True),
        "BMDX-TST-004": ("not-covered", "claimed", False),
        "BMDX-TST-005": ("not-testable", "claimed", False),
        "BMDX-TST-006": ("pass", "not-claimed", False),
        "BMDX-TST-007": ("pass", "claimed", False),
    }
    assert result.report["summary"]["result"] == "not-conformant"
    assert result.report["summary"]["tests"] == {
        "total": 6,
        "passed": 4,
        "failed": 1,
        "error": 0,
        "skipped": 1,
    }
    assert "claim failure: BMDX-TST-002 (fail)" in out
    assert "claim failure: BMDX-TST-003 (not-observed)" in out


def test_seed_is_printed_and_recorded(module_run: Run) -> None:
    result, out = module_run(adapter="fail-002")
    assert out.startswith("seed: 7 (rerun with --seed 7)\n")
    assert result.report["seed"] == 7


def test_every_report_file_is_written_and_valid(module_run: Run) -> None:
    result, _ = module_run(adapter="fail-002")
    assert sorted(p.name for p in result.report_dir.iterdir()) == sorted(REPORT_FILES)
    report = json.loads((result.report_dir / "report.json").read_bytes())
    assert list(_schema_validator("report").iter_errors(report)) == []
    assert report == json.loads(json.dumps(result.report))


def test_failure_carries_a_reproduction_recipe(module_run: Run) -> None:
    result, _ = module_run(adapter="fail-002")
    test = next(
        t for t in result.report["tests"] if t["nodeid"] == "test_probes.py::test_second_probe"
    )
    assert test["outcome"] == "failed"
    recipe = test["reproduction"]
    assert recipe["seed"] == 7
    assert (
        recipe["rerun"]
        == "bmdx-conformance run --adapter fail-002 --seed 7 --test test_probes.py::test_second_probe"
    )
    assert recipe["requests"] == [
        {
            "method": "POST",
            "url": "http://node.invalid/probe",
            "headers": {"Content-Type": "application/json"},
            "body": '{"probe": 2}',
        }
    ]
    assert recipe["curl"] == [
        "curl -sS -X POST http://node.invalid/probe -H 'Content-Type: application/json' --data-binary '{\"probe\": 2}'"
    ]


def test_junit_is_parseable_with_requirement_properties(module_run: Run) -> None:
    result, _ = module_run(adapter="fail-002")
    root = SafeET.fromstring((result.report_dir / "junit.xml").read_bytes())
    assert root.tag == "testsuites"
    assert (root.get("tests"), root.get("failures"), root.get("skipped")) == ("6", "1", "1")
    cases = {c.get("name"): c for c in root.iter("testcase")}
    assert len(cases) == 6
    failing = cases["test_second_probe"]
    assert failing.get("classname") == "test_probes"
    assert [p.get("value") for p in failing.iter("property")] == ["BMDX-TST-002:7f6a57c0547b1879"]
    failure = failing.find("failure")
    assert failure is not None
    assert "answered <wrongly> & badly" in failure.get("message", "")
    assert cases["test_unreachable_probe"].find("skipped") is not None


def test_html_is_escaped_and_self_contained(module_run: Run) -> None:
    result, _ = module_run(adapter="fail-002")
    page = (result.report_dir / "report.html").read_text(encoding="utf-8")
    assert "<script" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "answered &lt;wrongly&gt; &amp; badly" in page
    assert "http://" not in page.replace("http://node.invalid", "").replace("http://www.w3.org", "")
    assert 'id="BMDX-TST-002"' in page
    assert "claim failure" in page


def test_summary_and_badge(module_run: Run) -> None:
    result, _ = module_run(adapter="fail-002")
    summary = (result.report_dir / "summary.md").read_text(encoding="utf-8")
    assert "**Result: not-conformant** (exit code 1)" in summary
    assert "| BMDX-TST-002 | MUST | fail |" in summary
    badge = SafeET.fromstring((result.report_dir / "badge.svg").read_bytes())
    texts = [t.text for t in badge.iter("{http://www.w3.org/2000/svg}text")]
    assert texts == ["BMDX conformance", "fail 2/4"]


def test_a_passing_claim_exits_zero(module_run: Run, tmp_path: Path) -> None:
    claim = tmp_path / "claim.json"
    claim.write_text(
        json.dumps(
            {
                "claimVersion": 1,
                "implementation": {"name": "Acme <BMDX>", "version": "2.1"},
                "profiles": ["core-format"],
                "include": ["BMDX-TST-006"],
            }
        )
    )
    result, out = module_run(claim=claim)
    assert result.exit_code == 0
    assert result.report["implementation"] == {
        "name": "Acme <BMDX>",
        "version": "2.1",
        "source": "claim",
    }
    assert result.report["claim"]["source"] == "file"
    assert _verdicts(result)["BMDX-TST-006"] == ("pass", "claimed", False)
    assert "conformant: claimed requirements 4 passed, 0 failed" in out
    badge = (result.report_dir / "badge.svg").read_text()
    assert "pass 4/4" in badge


def test_profile_and_test_selection(module_run: Run) -> None:
    result, _ = module_run(adapter="fail-002", profiles=("security",))
    assert [t["nodeid"] for t in result.report["tests"]] == [
        "test_probes.py::test_unreachable_probe"
    ]
    assert _verdicts(result)["BMDX-TST-002"] == ("not-observed", "not-claimed", False)
    result, _ = module_run(adapter="fail-002", tests=("test_probes.py::test_first_probe",))
    assert [t["nodeid"] for t in result.report["tests"]] == ["test_probes.py::test_first_probe"]


def test_expected_failures_excuse_real_failures(module_run: Run, tmp_path: Path) -> None:
    listed = tmp_path / "xfail.yaml"
    listed.write_text("failures:\n  - requirement: BMDX-TST-002\n    reason: fixed in 3.0\n")
    claim = tmp_path / "claim.toml"
    claim.write_text(
        'claimVersion = 1\nprofiles = ["core-format"]\n[implementation]\nname = "Acme"\nversion = "2"\n'
    )
    result, _ = module_run(adapter="fail-002", expected_failures=listed, claim=claim)
    assert result.exit_code == 0
    assert result.report["expectedFailures"]["entries"] == [
        {"entry": "BMDX-TST-002", "reason": "fixed in 3.0", "status": "failing-as-expected"}
    ]
    test = next(
        t for t in result.report["tests"] if t["nodeid"] == "test_probes.py::test_second_probe"
    )
    assert test["expectedFailure"] == "fixed in 3.0"
    root = SafeET.fromstring((result.report_dir / "junit.xml").read_bytes())
    case = next(c for c in root.iter("testcase") if c.get("name") == "test_second_probe")
    skipped = case.find("skipped")
    assert skipped is not None
    assert skipped.get("message") == "expected failure: fixed in 3.0"


def test_expected_failure_that_passes_is_an_error(module_run: Run, tmp_path: Path) -> None:
    listed = tmp_path / "xfail.json"
    listed.write_text(
        json.dumps(
            {
                "failures": [
                    {"test": "test_probes.py::test_first_probe", "reason": "flaky"},
                    {"test": "test_gone.py::test_x", "reason": "old"},
                ]
            }
        )
    )
    result, out = module_run(expected_failures=listed, profiles=("core-format",))
    assert result.exit_code == 1
    assert result.report["expectedFailures"]["errors"] == [
        "expected failure now passes: remove test_probes.py::test_first_probe from the list",
        "expected failure test_gone.py::test_x matches no test of this suite: remove it from the list",
    ]
    assert (
        "error: expected failure now passes: remove test_probes.py::test_first_probe from the list"
        in out
    )


def test_no_secret_reaches_any_report_file(module_run: Run) -> None:
    result, _ = module_run(adapter="leak")
    assert result.exit_code == 1
    files = sorted(result.report_dir.iterdir())
    assert [f.name for f in files] == sorted(REPORT_FILES)
    for path in files:
        text = path.read_text(encoding="utf-8")
        for secret in (PLANTED_D, PLANTED_TOKEN, PLANTED_PASSPHRASE, PLANTED_PLAINTEXT):
            assert secret not in text, (path.name, secret)
    # the evidence survives, with the secret parts marked
    test = next(t for t in result.report["tests"] if t["nodeid"] == "test_probes.py::test_secrets")
    headers = test["evidence"]["exchanges"][0]["request"]["headers"]
    assert headers == {"Authorization": "Bearer [redacted]", "Signature": "sig1=:[redacted]:"}
    assert test["evidence"]["exchanges"][1]["request"]["args"]["key"] == {
        "kty": "OKP",
        "crv": "Ed25519",
        "x": "publicXvalue",
        "d": "[redacted]",
    }


def test_progress_is_plain_when_not_a_terminal(module_run: Run) -> None:
    _, out = module_run(adapter="fail-002")
    assert "\x1b[" not in out
    assert (
        "running 6 tests\nFAILED test_probes.py::test_second_probe\n6/6 tests, 1 failing\n" in out
    )


def test_suite_errors_are_reported_and_fail_the_run(tmp_path: Path, fake_spec: Path) -> None:
    result, out = run_fake(tmp_path / "r", fake_spec, suite_dir=BROKEN_SUITE)
    assert result.exit_code == 1
    assert "suite error: BMDX-TST-001 was pinned at 0000000000000000" in out
    assert sorted((e["reason"], e["test"]) for e in result.report["suiteErrors"]) == [
        ("no-requirement", "test_broken.py::test_no_requirement"),
        ("stale-pin", "test_broken.py::test_stale_pin"),
        ("unknown-requirement", "test_broken.py::test_unknown_requirement"),
    ]
    # a stale pin never certifies the requirement it names
    assert _verdicts(result)["BMDX-TST-001"][0] == "not-covered"


@pytest.mark.usefixtures("fake_spec_env")
@pytest.mark.parametrize(
    ("overrides", "error", "reason"),
    [
        ({"adapter": "x", "target_url": "http://h"}, UsageError, "usage"),
        ({"profiles": ("nonsense",)}, UsageError, "usage"),
        ({"seed": -1}, UsageError, "usage"),
    ],
)
def test_usage_errors_come_before_any_run(
    tmp_path: Path, fake_spec: Path, overrides: dict[str, Any], error: type[Exception], reason: str
) -> None:
    with pytest.raises(error) as info:
        run_fake(tmp_path / "r", fake_spec, **overrides)
    assert info.value.reason == reason  # type: ignore[attr-defined]
    assert not (tmp_path / "r").exists()


def test_invalid_claim_is_refused_with_its_violations(tmp_path: Path, fake_spec: Path) -> None:
    claim = tmp_path / "claim.json"
    claim.write_text(
        json.dumps({"claimVersion": 1, "implementation": {"name": "A"}, "profiles": ["astrology"]})
    )
    with pytest.raises(InputFileError) as info:
        run_fake(tmp_path / "r", fake_spec, claim=claim)
    assert info.value.reason == "schema"
    assert len(info.value.violations) == 2
    claim.write_text(
        json.dumps(
            {
                "claimVersion": 1,
                "implementation": {"name": "A", "version": "1"},
                "profiles": ["core-format"],
                "exclude": ["BMDX-TST-001"],
            }
        )
    )
    with pytest.raises(InputFileError) as info:
        run_fake(tmp_path / "r", fake_spec, claim=claim)
    assert info.value.reason == "mandatory-excluded"
    claim.write_text('{"claimVersion": 1, "claimVersion": 1}')
    with pytest.raises(InputFileError) as info:
        run_fake(tmp_path / "r", fake_spec, claim=claim)
    assert info.value.reason == "duplicate-key"


def test_passed_tests_keep_notes_but_not_exchanges_by_default(module_run: Run) -> None:
    result, _ = module_run(adapter="ok")
    test = next(
        t for t in result.report["tests"] if t["nodeid"] == "test_probes.py::test_second_probe"
    )
    assert test["outcome"] == "passed"
    assert test["evidence"] == {
        "exchanges": [],
        "notes": ["1 exchange(s) not kept; --evidence all keeps them"],
    }
    first = next(
        t for t in result.report["tests"] if t["nodeid"] == "test_probes.py::test_first_probe"
    )
    assert first["evidence"] == {"exchanges": [], "notes": ["first probe answered"]}


def test_evidence_all_keeps_every_exchange(module_run: Run) -> None:
    result, _ = module_run(adapter="ok", evidence="all")
    test = next(
        t for t in result.report["tests"] if t["nodeid"] == "test_probes.py::test_second_probe"
    )
    assert test["outcome"] == "passed"
    assert [x["request"]["url"] for x in test["evidence"]["exchanges"]] == [
        "http://node.invalid/probe"
    ]
    assert test["evidence"]["notes"] == []


def test_strings_too_long_to_quote_are_elided_content_and_all() -> None:
    secret = "s3cr3t-token-value"
    body = "x" * ELIDE_ABOVE + secret
    redactor = Redactor([secret])
    clean = redactor.scrub({"body": body, "short": f"a {secret} b", "exact": "y" * ELIDE_ABOVE})
    digest = hashlib.sha256(body.encode()).hexdigest()
    assert clean == {
        "body": f"[elided: {ELIDE_ABOVE + len(secret)} characters, sha256 {digest}]",
        "short": "a [redacted] b",
        "exact": "y" * ELIDE_ABOVE,
    }
