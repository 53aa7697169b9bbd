"""The pytest plugin under ``bmdx-conformance run``: pins, selection and outcomes.

pytest runs the tests; this plugin turns each one into a :class:`TestRecord` carrying
the requirement pins it verifies and how it ended.  Verdicts per requirement are
computed afterwards (``verdicts.py``) from these records alone, so the rules live in
one place and are tested without pytest.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol

import pytest

from bmdx.conformance._internal.requirements import Pin, Requirement, parse_pin
from bmdx.conformance._internal.targets import EVIDENCE_KEY, TARGET_KEY, Evidence, Target

__all__ = ["ConformancePlugin", "Outcome", "ProgressSink", "TestRecord"]

Outcome = Literal["passed", "failed", "error", "skipped"]

MARKER_HELP = (
    "requirement(*pins): requirement ids verified by this test, each pinned as "
    "'BMDX-AREA-NNN:hash16'"
)


class ProgressSink(Protocol):
    def start(self, total: int) -> None: ...

    def test_started(self, nodeid: str, profile: str | None) -> None: ...

    def test_finished(self, nodeid: str, outcome: Outcome) -> None: ...

    def finish(self) -> None: ...


@dataclass
class TestRecord:
    """One collected test and how it ended (``skipped`` until it reports otherwise)."""

    __test__ = False  # not a test class, whatever pytest's naming rules say

    nodeid: str
    pins: tuple[Pin, ...]
    profile: str | None
    selected: bool = True
    outcome: Outcome = "skipped"
    duration: float = 0.0
    message: str | None = None
    details: str | None = None
    ran: bool = False
    reports: list[str] = field(default_factory=list)


class ConformancePlugin:
    """Registered with ``pytest.main(plugins=[...])`` for one run (or one collection)."""

    def __init__(
        self,
        *,
        catalogue: Mapping[str, Requirement],
        target: Target | None = None,
        profiles: Iterable[str] | None = None,
        tests: Sequence[str] = (),
        progress: ProgressSink | None = None,
    ) -> None:
        self.catalogue = catalogue
        self.target = target
        self.profiles = frozenset(profiles) if profiles is not None else None
        self.tests = tuple(tests)
        self.progress = progress
        self.records: dict[str, TestRecord] = {}
        self.suite_errors: list[dict[str, str]] = []
        self.config: pytest.Config | None = None

    # -- configuration and collection ------------------------------------------------

    def pytest_configure(self, config: pytest.Config) -> None:
        config.addinivalue_line("markers", MARKER_HELP)
        if self.target is not None:
            config.stash[TARGET_KEY] = self.target
        config.stash[EVIDENCE_KEY] = {}
        self.config = config

    def pytest_collectreport(self, report: pytest.CollectReport) -> None:
        if report.failed:
            self.suite_errors.append(
                {
                    "reason": "collection",
                    "message": f"{report.nodeid or 'the suite'} could not be collected: "
                    f"{_last_line(report.longreprtext)}",
                }
            )

    def _pins(self, item: pytest.Item) -> tuple[Pin, ...]:
        pins: list[Pin] = []
        texts = [arg for mark in item.iter_markers("requirement") for arg in mark.args]
        for text in texts:
            try:
                pin = parse_pin(text) if isinstance(text, str) else parse_pin(repr(text))
            except ValueError as e:
                self._suite_error(item.nodeid, "bad-pin", str(e))
                continue
            requirement = self.catalogue.get(pin.id)
            if requirement is None:
                self._suite_error(
                    item.nodeid, "unknown-requirement", f"{pin.id} is not in the catalogue"
                )
            elif requirement.hash != pin.hash:
                self._suite_error(
                    item.nodeid,
                    "stale-pin",
                    f"{pin.id} was pinned at {pin.hash} but its statement now hashes to "
                    f"{requirement.hash}: review the test against the new statement",
                )
            else:
                pins.append(pin)
        return tuple(pins)

    def _suite_error(self, nodeid: str, reason: str, message: str) -> None:
        self.suite_errors.append({"reason": reason, "message": message, "test": nodeid})

    def _wanted(self, record: TestRecord) -> bool:
        if self.profiles is not None and not any(
            self.catalogue[p.id].profile in self.profiles for p in record.pins
        ):
            return False
        if self.tests:
            return any(_matches(record.nodeid, wanted) for wanted in self.tests)
        return True

    @pytest.hookimpl(trylast=True)
    def pytest_collection_modifyitems(
        self, session: pytest.Session, config: pytest.Config, items: list[pytest.Item]
    ) -> None:
        kept: list[pytest.Item] = []
        dropped: list[pytest.Item] = []
        for item in items:
            pins = self._pins(item)
            profile = self.catalogue[pins[0].id].profile if pins else None
            record = TestRecord(nodeid=item.nodeid, pins=pins, profile=profile)
            record.selected = self._wanted(record)
            self.records[item.nodeid] = record
            (kept if record.selected else dropped).append(item)
        if dropped:
            config.hook.pytest_deselected(items=dropped)
            items[:] = kept

    def pytest_collection_finish(self, session: pytest.Session) -> None:
        if self.progress is not None:
            self.progress.start(len(session.items))

    # -- running ---------------------------------------------------------------------

    def pytest_runtest_logstart(self, nodeid: str, location: object) -> None:
        record = self.records.get(nodeid)
        if self.progress is not None:
            self.progress.test_started(nodeid, record.profile if record else None)

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        record = self.records.get(report.nodeid)
        if record is None:
            return
        record.duration += report.duration
        record.reports.append(f"{report.when}:{report.outcome}")
        if report.when == "setup":
            record.ran = True
            if report.failed:
                record.outcome = "error"
                self._describe_failure(record, report)
            elif report.skipped:
                record.outcome = "skipped"
                record.message = _skip_reason(report)
        elif report.when == "call":
            if report.failed:
                record.outcome = "failed"
                self._describe_failure(record, report)
            elif report.skipped and not hasattr(report, "wasxfail"):
                record.outcome = "skipped"
                record.message = _skip_reason(report)
            else:
                record.outcome = "passed" if report.passed else "skipped"
        elif report.when == "teardown":
            if report.failed and record.outcome in ("passed", "skipped"):
                record.outcome = "error"
                self._describe_failure(record, report)
            if self.progress is not None:
                self.progress.test_finished(report.nodeid, record.outcome)

    @staticmethod
    def _describe_failure(record: TestRecord, report: pytest.TestReport) -> None:
        longrepr: Any = report.longrepr
        crash = getattr(longrepr, "reprcrash", None)
        message = getattr(crash, "message", None)
        record.message = _first_line(message) if message else _last_line(report.longreprtext)
        record.details = report.longreprtext

    def failed_self_checks(self) -> list[dict[str, str]]:
        """Tests citing no requirement check the suite itself; one failing is a suite error."""
        return [
            {
                "reason": "no-requirement",
                "message": f"{r.nodeid}: a self-check of the suite failed: {r.message or r.outcome}",
                "test": r.nodeid,
            }
            for r in self.records.values()
            if not r.pins and r.selected and r.outcome in ("failed", "error")
        ]

    def evidence(self) -> dict[str, Evidence]:
        if self.config is None:
            return {}
        found: dict[str, Evidence] = self.config.stash.get(EVIDENCE_KEY, {})
        return dict(found)


def _matches(nodeid: str, wanted: str) -> bool:
    wanted = wanted.rstrip("/")
    return nodeid == wanted or nodeid.startswith((f"{wanted}::", f"{wanted}[", f"{wanted}/"))


def _skip_reason(report: pytest.TestReport) -> str:
    longrepr: Any = report.longrepr
    if isinstance(longrepr, tuple) and len(longrepr) == 3:
        return str(longrepr[2]).removeprefix("Skipped: ")
    return _last_line(report.longreprtext)


def _first_line(text: str) -> str:
    return text.strip().splitlines()[0] if text.strip() else ""


def _last_line(text: str) -> str:
    lines = [line for line in text.strip().splitlines() if line.strip()]
    return lines[-1].strip() if lines else ""
