"""The verdict rules and the expected-failures strictness, without running pytest."""

from __future__ import annotations

import pytest

from bmdx.conformance._internal.claim import Claim, default_claim
from bmdx.conformance._internal.expected import ExpectedFailure
from bmdx.conformance._internal.plugin import TestRecord
from bmdx.conformance._internal.requirements import Pin, Requirement, statement_hash
from bmdx.conformance._internal.verdicts import judge


def _req(
    rid: str, level: str = "MUST", profile: str = "core-format", not_testable: str | None = None
) -> Requirement:
    statement = f"{rid} statement {level}"
    return Requirement(rid, level, profile, statement, statement_hash(statement), not_testable)


CATALOGUE = {
    r.id: r
    for r in (
        _req("BMDX-TST-001"),
        _req("BMDX-TST-002"),
        _req("BMDX-TST-003", profile="security"),
        _req("BMDX-TST-004"),
        _req("BMDX-TST-005", not_testable="internal state only"),
        _req("BMDX-TST-006", level="SHOULD"),
    )
}


def _rec(nodeid: str, outcome: str, *rids: str, selected: bool = True) -> TestRecord:
    pins = tuple(Pin(r, CATALOGUE[r].hash) for r in rids)
    return TestRecord(
        nodeid=nodeid,
        pins=pins,
        profile=CATALOGUE[rids[0]].profile,
        selected=selected,
        outcome=outcome,
    )  # type: ignore[arg-type]


CLAIM = default_claim(["core-format", "security"])


def _verdicts(
    records: list[TestRecord], claim: Claim = CLAIM, expected: tuple[ExpectedFailure, ...] = ()
) -> tuple[dict[str, object], object]:
    outcomes = judge(CATALOGUE, records, claim, expected)
    return {v.requirement.id: v for v in outcomes.requirements}, outcomes


def test_pass_needs_every_citing_test_passed_and_one_run() -> None:
    verdicts, _ = _verdicts(
        [_rec("a", "passed", "BMDX-TST-001"), _rec("b", "skipped", "BMDX-TST-001")]
    )
    assert verdicts["BMDX-TST-001"].verdict == "pass"


@pytest.mark.parametrize("bad", ["failed", "error"])
def test_any_failing_citing_test_fails_the_requirement(bad: str) -> None:
    verdicts, outcomes = _verdicts(
        [_rec("a", "passed", "BMDX-TST-001"), _rec("b", bad, "BMDX-TST-001", "BMDX-TST-002")]
    )
    assert verdicts["BMDX-TST-001"].verdict == "fail"
    assert verdicts["BMDX-TST-002"].verdict == "fail"
    assert verdicts["BMDX-TST-001"].claim_failure
    assert outcomes.exit_code([]) == 1


def test_not_observed_not_covered_not_testable() -> None:
    verdicts, outcomes = _verdicts(
        [
            _rec("a", "skipped", "BMDX-TST-003"),
            _rec("b", "passed", "BMDX-TST-001", selected=False),
        ]
    )
    assert verdicts["BMDX-TST-003"].verdict == "not-observed"
    assert verdicts["BMDX-TST-001"].verdict == "not-observed"
    assert verdicts["BMDX-TST-004"].verdict == "not-covered"
    assert verdicts["BMDX-TST-005"].verdict == "not-testable"
    # claimed + not observed is a failure of the claim; not covered and not testable are not
    assert verdicts["BMDX-TST-003"].claim_failure
    assert not verdicts["BMDX-TST-004"].claim_failure
    assert not verdicts["BMDX-TST-005"].claim_failure
    assert outcomes.counts(claimed=True) == {
        "pass": 0,
        "fail": 0,
        "expectedFail": 0,
        "notObserved": 2,
        "notCovered": 2,
        "notTestable": 1,
    }


def test_unclaimed_failures_are_informational() -> None:
    claim = Claim(source="file", profiles=("core-format",))
    verdicts, outcomes = _verdicts(
        [
            _rec("a", "passed", "BMDX-TST-001"),
            _rec("b", "passed", "BMDX-TST-002"),
            _rec("c", "failed", "BMDX-TST-003"),
            _rec("d", "failed", "BMDX-TST-006"),
        ],
        claim,
    )
    assert verdicts["BMDX-TST-003"].claim == "not-claimed"
    assert verdicts["BMDX-TST-006"].claim == "not-claimed"  # SHOULD: not claimed by the profile
    assert outcomes.exit_code([]) == 0
    assert outcomes.counts(claimed=False)["fail"] == 2


def test_include_and_exclude_optional_requirements() -> None:
    claim = Claim(source="file", profiles=("core-format",), include=("BMDX-TST-006",))
    verdicts, _ = _verdicts([_rec("d", "failed", "BMDX-TST-006")], claim)
    assert verdicts["BMDX-TST-006"].claim == "claimed"
    assert verdicts["BMDX-TST-006"].claim_failure
    excluded = Claim(source="file", profiles=("core-format",), exclude=("BMDX-TST-006",))
    verdicts, _ = _verdicts([_rec("d", "failed", "BMDX-TST-006")], excluded)
    assert verdicts["BMDX-TST-006"].claim == "excluded"
    assert not verdicts["BMDX-TST-006"].claim_failure


def test_profile_selection_narrows_the_claim() -> None:
    outcomes = judge(
        CATALOGUE,
        [_rec("a", "passed", "BMDX-TST-001", "BMDX-TST-002")],
        CLAIM,
        selected_profiles=["core-format"],
    )
    by_id = {v.requirement.id: v for v in outcomes.requirements}
    assert by_id["BMDX-TST-003"].claim == "not-claimed"
    assert outcomes.exit_code([]) == 0


def test_default_claim_follows_the_targets_declared_profiles() -> None:
    assert default_claim(["core-format", "security"], ["core-format", "ledger"]).profiles == (
        "core-format",
    )
    assert default_claim(["core-format", "security"], []).profiles == ("core-format", "security")


def test_expected_requirement_failure_is_excused() -> None:
    expected = (ExpectedFailure("requirement", "BMDX-TST-001", "known bug #12"),)
    verdicts, outcomes = _verdicts(
        [_rec("a", "failed", "BMDX-TST-001"), _rec("b", "passed", "BMDX-TST-002")],
        CLAIM.__class__(source="default", profiles=("core-format",)),
        expected,
    )
    assert verdicts["BMDX-TST-001"].verdict == "fail"
    assert verdicts["BMDX-TST-001"].expected_failure
    assert not verdicts["BMDX-TST-001"].claim_failure
    assert outcomes.expected_entries == [
        {"entry": "BMDX-TST-001", "reason": "known bug #12", "status": "failing-as-expected"}
    ]
    assert outcomes.expected_errors == []
    assert outcomes.counts(claimed=True)["expectedFail"] == 1


def test_expected_test_failure_excuses_only_that_test() -> None:
    expected = (ExpectedFailure("test", "a", "known"),)
    records = [_rec("a", "failed", "BMDX-TST-001"), _rec("b", "failed", "BMDX-TST-001")]
    verdicts, _ = _verdicts(records, expected=expected)
    assert not verdicts["BMDX-TST-001"].expected_failure
    verdicts, _ = _verdicts(records[:1], expected=expected)
    assert verdicts["BMDX-TST-001"].expected_failure


@pytest.mark.parametrize(
    ("entry", "records", "status"),
    [
        (
            ExpectedFailure("requirement", "BMDX-TST-001", "r"),
            [_rec("a", "passed", "BMDX-TST-001")],
            "now-passes",
        ),
        (ExpectedFailure("test", "a", "r"), [_rec("a", "passed", "BMDX-TST-001")], "now-passes"),
        (ExpectedFailure("requirement", "BMDX-TST-004", "r"), [], "matches-nothing"),
        (ExpectedFailure("requirement", "BMDX-TST-999", "r"), [], "matches-nothing"),
        (ExpectedFailure("test", "nowhere.py::test_x", "r"), [], "matches-nothing"),
    ],
)
def test_stale_expected_failures_are_errors(
    entry: ExpectedFailure, records: list[TestRecord], status: str
) -> None:
    _, outcomes = _verdicts(records, expected=(entry,))
    assert outcomes.expected_entries[0]["status"] == status
    assert len(outcomes.expected_errors) == 1
    if status == "now-passes":
        assert (
            outcomes.expected_errors[0]
            == f"expected failure now passes: remove {entry.entry} from the list"
        )
    assert outcomes.exit_code([]) == 1


def test_expected_failure_not_observed_is_not_an_error() -> None:
    _, outcomes = _verdicts(
        [_rec("a", "skipped", "BMDX-TST-001")], expected=(ExpectedFailure("test", "a", "r"),)
    )
    assert outcomes.expected_entries[0]["status"] == "not-observed"
    assert outcomes.expected_errors == []


def test_suite_errors_fail_the_run() -> None:
    _, outcomes = _verdicts(
        [_rec("a", "passed", "BMDX-TST-001"), _rec("b", "passed", "BMDX-TST-002")],
        Claim(source="file", profiles=()),
    )
    assert outcomes.exit_code([]) == 0
    assert outcomes.exit_code([{"reason": "stale-pin", "message": "m"}]) == 1
