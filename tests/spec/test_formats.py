"""Timestamps and dates must name real instants, not only match their pattern."""

from __future__ import annotations

import pytest

from bmdx.reference._internal.ijson import loads
from bmdx.reference._internal.schema import schema_set
from tests.thirdparty import REPO_ROOT

EXAMPLE = sorted((REPO_ROOT / "spec/examples/valid/audit-event").glob("*.json"))[0]


@pytest.mark.requirement("BMDX-DM-140")
@pytest.mark.parametrize(
    "recorded",
    ["2026-02-30T00:00:00Z", "2025-02-29T12:00:00Z", "2026-04-31T08:00:00Z"],
)
def test_a_timestamp_that_names_no_instant_is_refused(recorded: str) -> None:
    # The pattern admits these; the date-time format assertion does not, so no
    # impossible time reaches the ledger, where every reader would have to parse it.
    event = loads(EXAMPLE.read_bytes())
    assert schema_set().violations(event) == []
    event["recorded"] = recorded
    found = schema_set().violations(event)
    assert [(v.pointer, v.requirement) for v in found] == [("/recorded", "BMDX-DM-140")]


def test_a_leap_day_and_a_leap_second_are_instants() -> None:
    event = loads(EXAMPLE.read_bytes())
    for recorded in ("2024-02-29T12:00:00Z", "2016-12-31T23:59:60Z"):
        event["recorded"] = recorded
        assert schema_set().violations(event) == []
