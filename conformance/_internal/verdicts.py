"""Per-requirement verdicts, crossed with the claim and the expected failures.

The rules, in one place:

* a requirement **passes** when every test citing it that ran passed, and one did;
* it **fails** when any citing test failed (or errored);
* it is **not observed** when no citing test ran (skipped, or not selected);
* it is **not covered** when no test of this suite cites it at all, and **not
  testable** when the catalogue gives the reason none can.

Crossed with the claim: a claimed requirement that fails (and is not an expected
failure) or is not observed is a *claim failure*; unclaimed ones are informational.
An expected-failure entry that passes now, or matches nothing, is an error.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from bmdx.conformance._internal.claim import Claim, ClaimStatus
from bmdx.conformance._internal.expected import ExpectedFailure
from bmdx.conformance._internal.plugin import TestRecord
from bmdx.conformance._internal.requirements import Requirement

__all__ = ["Outcomes", "RequirementVerdict", "judge"]

_COUNT_KEYS = {
    "pass": "pass",
    "fail": "fail",
    "expected-fail": "expectedFail",
    "not-observed": "notObserved",
    "not-covered": "notCovered",
    "not-testable": "notTestable",
}


@dataclass(frozen=True)
class RequirementVerdict:
    requirement: Requirement
    verdict: str
    claim: ClaimStatus
    expected_failure: bool
    tests: tuple[str, ...]

    @property
    def claim_failure(self) -> bool:
        if self.claim != "claimed":
            return False
        return (self.verdict == "fail" and not self.expected_failure) or (
            self.verdict == "not-observed"
        )

    @property
    def bucket(self) -> str:
        return "expected-fail" if self.verdict == "fail" and self.expected_failure else self.verdict

    def to_dict(self) -> dict[str, Any]:
        r = self.requirement
        out: dict[str, Any] = {
            "id": r.id,
            "level": r.level,
            "profile": r.profile,
            "statement": r.statement,
            "hash": r.hash,
            "verdict": self.verdict,
            "claim": self.claim,
            "claimFailure": self.claim_failure,
            "expectedFailure": self.expected_failure,
            "tests": list(self.tests),
        }
        if r.not_testable:
            out["notTestable"] = r.not_testable
        return out


@dataclass
class Outcomes:
    """Everything the reports say about verdicts, computed once."""

    requirements: list[RequirementVerdict]
    expected_entries: list[dict[str, str]]
    expected_errors: list[str]
    expected_tests: dict[str, str] = field(default_factory=dict)

    def counts(self, *, claimed: bool) -> dict[str, int]:
        tally = Counter(v.bucket for v in self.requirements if (v.claim == "claimed") == claimed)
        return {key: tally.get(name, 0) for name, key in _COUNT_KEYS.items()}

    @property
    def claim_failures(self) -> list[RequirementVerdict]:
        return [v for v in self.requirements if v.claim_failure]

    def exit_code(self, suite_errors: Sequence[object]) -> int:
        return 1 if self.claim_failures or self.expected_errors or suite_errors else 0


def _verdict(requirement: Requirement, citing: Sequence[TestRecord]) -> str:
    if not citing:
        return "not-testable" if requirement.not_testable else "not-covered"
    ran = [t for t in citing if t.selected and t.outcome != "skipped"]
    if any(t.outcome in ("failed", "error") for t in ran):
        return "fail"
    if ran:
        return "pass"
    return "not-observed"


def judge(
    catalogue: Mapping[str, Requirement],
    records: Iterable[TestRecord],
    claim: Claim,
    expected: Sequence[ExpectedFailure] = (),
    *,
    selected_profiles: Iterable[str] | None = None,
) -> Outcomes:
    """Verdicts for every requirement of the catalogue."""
    records = list(records)
    citing: dict[str, list[TestRecord]] = {}
    for record in records:
        for pin in record.pins:
            citing.setdefault(pin.id, []).append(record)
    by_nodeid = {r.nodeid: r for r in records}
    selected = list(selected_profiles) if selected_profiles is not None else None

    expected_tests = {e.entry: e.reason for e in expected if e.kind == "test"}
    expected_reqs = {e.entry: e.reason for e in expected if e.kind == "requirement"}

    verdicts = []
    for rid, requirement in catalogue.items():
        tests = citing.get(rid, [])
        verdict = _verdict(requirement, tests)
        failing = [t for t in tests if t.selected and t.outcome in ("failed", "error")]
        excused = verdict == "fail" and (
            rid in expected_reqs or all(t.nodeid in expected_tests for t in failing)
        )
        verdicts.append(
            RequirementVerdict(
                requirement=requirement,
                verdict=verdict,
                claim=claim.status(requirement, selected),
                expected_failure=excused,
                tests=tuple(t.nodeid for t in tests),
            )
        )

    by_id = {v.requirement.id: v for v in verdicts}
    entries: list[dict[str, str]] = []
    errors: list[str] = []
    for item in expected:
        status = _entry_status(item, by_id, by_nodeid)
        entries.append({"entry": item.entry, "reason": item.reason, "status": status})
        if status == "now-passes":
            errors.append(f"expected failure now passes: remove {item.entry} from the list")
        elif status == "matches-nothing":
            errors.append(
                f"expected failure {item.entry} matches no {item.kind} of this suite: "
                "remove it from the list"
            )
    return Outcomes(verdicts, entries, errors, expected_tests)


def _entry_status(
    item: ExpectedFailure,
    verdicts: Mapping[str, RequirementVerdict],
    records: Mapping[str, TestRecord],
) -> str:
    if item.kind == "test":
        record = records.get(item.entry)
        if record is None:
            return "matches-nothing"
        observed: str = "skipped" if not record.selected else record.outcome
    else:
        found = verdicts.get(item.entry)
        if found is None or found.verdict in ("not-covered", "not-testable"):
            return "matches-nothing"
        observed = {"pass": "passed", "fail": "failed"}.get(found.verdict, "skipped")
    return {"passed": "now-passes", "skipped": "not-observed"}.get(observed, "failing-as-expected")
